#!/usr/bin/env python3
"""Benchmark the CPU redaction core (what facemaskblur runs per frame) against OpenCV implementations of the same
look, one thread, side by side in one process.

Frame: 1280x720, 6 faces of 80..250 px (box height 1.2 x width), every mode, RGBA and I420.
  * facemask-ds: facemask_ds._native.redact (csrc/core/redact.cpp; the element calls exactly this), shape=ellipse,
    default margin 1.3 / feather 0.1 / strength 1.
  * facemask-ds, feather 0: the same with a hard edge, the look every OpenCV row below has (they paste through a
    hard-edged cv2.ellipse mask); the apples-to-apples row. "fastest OpenCV" = the quickest OpenCV variant of the row.
  * OpenCV "same look": per face, the same margin-scaled rect; blur = cv2.GaussianBlur with the same sigma
    (0.15 x face size), pixelate = INTER_AREA down to the same cell size + INTER_NEAREST up, fill = the colour;
    then composited through an ellipse mask drawn with cv2.ellipse (np.where), as deface does.
  * OpenCV stackBlur: the same look with an O(1) OpenCV filter (tent kernel, same sigma), blur row only.
  * OpenCV "same look incl. feathered edge": the same with the core's feathered edge (the hard mask box-filtered
    by cv2.blur over the ramp width feather x S = a linear ramp of that width, then cv2.blendLinear); blur by
    cv2.stackBlur of the same sigma. Compared with the core at its default feather (the apples-to-apples row for
    the default, feathered look).
  * OpenCV "deface": deface's own blur (cv2.blur mean filter with kernel (w/2, h/2) over the box scaled by 1.3,
    ellipse composite) for the blur row; its box std is w / (2 sqrt 12) = 0.144 w, i.e. slightly *weaker* than ours.
I420: OpenCV works on the Y plane and on the half-size U and V planes separately (sigma and rects halved).

Prints a table (median ms per frame, ratio) and optionally writes markdown (--markdown FILE) and the before/after
picture for docs/redaction.md (--picture PNG). --core-only times just the core's two variants (for before/after
comparisons of builds: put another build's facemask_ds first on PYTHONPATH and alternate).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

FACES = [(60, 80, 80), (230, 300, 110), (420, 60, 140), (640, 330, 170), (860, 40, 200), (1000, 380, 250)]
W, H = 1280, 720


def faces():
    return np.array([[x, y, x + s, y + 1.2 * s] for x, y, s in FACES], np.float32)


def make_frame():
    try:
        from skimage import data

        img = data.astronaut()
    except Exception:  # pragma: no cover - content only
        rng = np.random.default_rng(0)
        img = rng.integers(0, 256, size=(512, 512, 3), dtype=np.uint8)
    import cv2

    rgb = cv2.resize(img, (W, H), interpolation=cv2.INTER_LINEAR)
    rgba = np.dstack([rgb, np.full((H, W), 255, np.uint8)])
    return rgb, rgba


def rgb_to_i420(rgb):
    R, G, B = (rgb[..., i].astype(np.int32) for i in range(3))
    Y = (((66 * R + 129 * G + 25 * B + 128) >> 8) + 16).clip(0, 255).astype(np.uint8)
    U = (((-38 * R - 74 * G + 112 * B + 128) >> 8) + 128).clip(0, 255).astype(np.uint8)[::2, ::2].copy()
    V = (((112 * R - 94 * G - 18 * B + 128) >> 8) + 128).clip(0, 255).astype(np.uint8)[::2, ::2].copy()
    return [Y, U, V]


# ---- OpenCV paths ------------------------------------------------------------------------------------------------


def cv_same_look(planes, subs, boxes, mode, margin=1.3, fill=(0, 0, 0), stack=False, feather=0.0):
    """feather > 0: the same feathered edge as the core (a linear ramp of width feather x S centred on the ellipse):
    the hard cv2.ellipse mask box-filtered with cv2.blur over the ramp width (a box-filtered step is a linear ramp of
    the box's width), then a float blend with cv2.blendLinear."""
    import cv2

    for x1, y1, x2, y2 in boxes:
        w, h = x2 - x1, y2 - y1
        S = max(w, h)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        for pl, sub, fv in zip(planes, subs, fill):
            ph, pw = pl.shape[:2]
            rx, ry = margin * w / 2 / sub, margin * h / 2 / sub
            g = feather * S / sub / 2  # the rect grows by half the ramp, as the core's
            pcx, pcy = cx / sub, cy / sub
            X0, Y0 = max(0, int(pcx - rx - g)), max(0, int(pcy - ry - g))
            X1, Y1 = min(pw, int(math.ceil(pcx + rx + g))), min(ph, int(math.ceil(pcy + ry + g)))
            if X1 <= X0 or Y1 <= Y0:
                continue
            roi = pl[Y0:Y1, X0:X1]
            if mode == "blur":
                sigma = 0.15 * S / sub
                if stack:
                    # stack blur = tent kernel of radius r, variance r (r + 2) / 6 = sigma^2
                    r = max(1, int(round(math.sqrt(1 + 6 * sigma * sigma) - 1)))
                    red = cv2.stackBlur(roi, (2 * r + 1, 2 * r + 1))
                else:
                    k = 2 * int(math.ceil(3 * sigma)) + 1
                    red = cv2.GaussianBlur(roi, (k, k), sigma, borderType=cv2.BORDER_REPLICATE)
            elif mode == "pixelate":
                cell = max(1, (2 * max(1, math.floor(S / 12 + 0.5))) // sub)
                small = cv2.resize(roi, (max(1, (X1 - X0) // cell), max(1, (Y1 - Y0) // cell)),
                                   interpolation=cv2.INTER_AREA)
                red = cv2.resize(small, (X1 - X0, Y1 - Y0), interpolation=cv2.INTER_NEAREST)
            else:
                red = np.empty_like(roi)
                red[...] = fv
            mask = np.zeros((Y1 - Y0, X1 - X0), np.uint8)
            cv2.ellipse(mask, (int(round(pcx - X0)), int(round(pcy - Y0))), (int(rx), int(ry)), 0, 0, 360, 255, -1)
            if feather > 0:
                k = max(1, int(round(2 * g)))
                wa = cv2.blur(mask, (k, k), borderType=cv2.BORDER_CONSTANT).astype(np.float32) * (1 / 255)
                roi[...] = cv2.blendLinear(red, roi, wa, 1 - wa)
                continue
            m = mask.astype(bool)
            if roi.ndim == 3:
                m = m[..., None]
            roi[...] = np.where(m, red, roi)


def cv_deface_blur(planes, subs, boxes, margin=1.3):
    """deface's anonymize_frame(replacewith='blur', ellipse=True): box scaled by mask_scale, cv2.blur with kernel
    (w//2, h//2), pasted through the inscribed ellipse."""
    import cv2

    for x1, y1, x2, y2 in boxes:
        w, h = x2 - x1, y2 - y1
        for pl, sub in zip(planes, subs):
            ph, pw = pl.shape[:2]
            cx, cy = (x1 + x2) / 2 / sub, (y1 + y2) / 2 / sub
            bw, bh = margin * w / sub, margin * h / sub
            X0, Y0 = max(0, int(cx - bw / 2)), max(0, int(cy - bh / 2))
            X1, Y1 = min(pw, int(cx + bw / 2)), min(ph, int(cy + bh / 2))
            if X1 <= X0 or Y1 <= Y0:
                continue
            roi = pl[Y0:Y1, X0:X1]
            bw_, bh_ = X1 - X0, Y1 - Y0
            blurred = cv2.blur(roi, (max(1, bw_ // 2), max(1, bh_ // 2)))
            mask = np.zeros((bh_, bw_), np.uint8)
            cv2.ellipse(mask, (bw_ // 2, bh_ // 2), (bw_ // 2, bh_ // 2), 0, 0, 360, 255, -1)
            m = mask.astype(bool)
            if roi.ndim == 3:
                m = m[..., None]
            roi[...] = np.where(m, blurred, roi)


# ---- timing --------------------------------------------------------------------------------------------------------


def medians_ms(fns, frames, reps):
    """Interleaved timing (one call of each variant per round) so load changes on a shared machine hit all alike."""
    ts = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            work = [p.copy() for p in frames]
            t0 = time.perf_counter()
            fn(work)
            ts[k].append((time.perf_counter() - t0) * 1e3)
    return {k: statistics.median(v) for k, v in ts.items()}


def run_core_only(reps):
    """Only the core's two variants (default, feather 0): for before/after comparisons of builds (run the script with
    PYTHONPATH pointing at another build's facemask_ds, alternating)."""
    from facemask_ds import _native

    rgb, rgba = make_frame()
    boxes = faces()
    print(f"facemask_ds._native: {_native.__file__}")
    for fmt in ("RGBA", "I420"):
        frames = [rgba] if fmt == "RGBA" else rgb_to_i420(rgb)
        for mode in ("blur", "pixelate", "fill"):
            m = medians_ms({
                "ours": lambda p, mode=mode: _native.redact(p, fmt, W, H, boxes, mode=mode, shape="ellipse"),
                "ours_hard": lambda p, mode=mode: _native.redact(p, fmt, W, H, boxes, mode=mode, shape="ellipse",
                                                                feather=0.0),
            }, frames, reps)
            print(f"{fmt:5s} {mode:9s} core {m['ours']:6.2f} ms, feather 0 {m['ours_hard']:6.2f} ms", flush=True)


def run(reps):
    import cv2

    from facemask_ds import _native

    cv2.setNumThreads(1)
    rgb, rgba = make_frame()
    boxes = faces()
    rows = []
    for fmt in ("RGBA", "I420"):
        frames = [rgba] if fmt == "RGBA" else rgb_to_i420(rgb)
        subs = [1] if fmt == "RGBA" else [1, 2, 2]
        fills = [16, 128, 128] if fmt == "I420" else [(0, 0, 0, 255)]
        for mode in ("blur", "pixelate", "fill"):
            fns = {
                "ours": lambda p, mode=mode: _native.redact(p, fmt, W, H, boxes, mode=mode, shape="ellipse"),
                "ours_hard": lambda p, mode=mode: _native.redact(p, fmt, W, H, boxes, mode=mode, shape="ellipse",
                                                                feather=0.0),
                "cv_same": lambda p, mode=mode: cv_same_look(p, subs, boxes, mode, fill=fills),
            }
            # the same look including the feathered edge (blur: stackBlur of the same sigma, OpenCV's fastest
            # equal-strength filter); compared with the core at its default feather
            fns["cv_feather"] = lambda p, mode=mode: cv_same_look(p, subs, boxes, mode, fill=fills, stack=True,
                                                                 feather=0.1)
            if mode == "blur":
                fns["cv_stack"] = lambda p: cv_same_look(p, subs, boxes, "blur", stack=True)
                fns["cv_deface"] = lambda p: cv_deface_blur(p, subs, boxes)
            row = {"format": fmt, "mode": mode, **medians_ms(fns, frames, reps)}
            row["cv_best"] = min(v for k, v in row.items() if k.startswith("cv_") and k != "cv_feather")
            rows.append(row)
            line = f"{fmt:5s} {mode:9s} facemask-ds {row['ours']:7.2f} ms | OpenCV same look {row['cv_same']:7.2f} ms " \
                   f"({row['cv_same'] / row['ours']:5.1f}x) | same look + feather {row['cv_feather']:6.2f} ms " \
                   f"({row['cv_feather'] / row['ours']:4.1f}x)"
            if mode == "blur":
                line += f" | stackBlur {row['cv_stack']:6.2f} ms ({row['cv_stack'] / row['ours']:4.1f}x)" \
                        f" | deface box {row['cv_deface']:6.2f} ms ({row['cv_deface'] / row['ours']:4.1f}x)"
            line += f" | feather 0: {row['ours_hard']:6.2f} ms, fastest OpenCV {row['cv_best'] / row['ours_hard']:4.1f}x"
            print(line, flush=True)
    return rows


def markdown(rows, reps, cmd):
    import cv2

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    out = [f"Command: `{cmd}`  ",
           f"Machine: {cpu}, {os.cpu_count()} logical CPUs (shared), Python {platform.python_version()}, "
           f"OpenCV {cv2.__version__}, one thread (cv2.setNumThreads(1)); median of {reps} frames.", "",
           "| format | mode | facemask-ds core (ms) | OpenCV same look (ms) | ratio | OpenCV same look incl. "
           "feathered edge (ms) | ratio | OpenCV stackBlur, same "
           "sigma (ms) | ratio | OpenCV deface box blur (ms) | ratio | core, feather 0 (ms) | fastest hard-edged "
           "OpenCV / core feather 0 |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        d = "– | – | – | –"
        if "cv_deface" in r:
            d = (f"{r['cv_stack']:.2f} | {r['cv_stack'] / r['ours']:.1f}x | "
                 f"{r['cv_deface']:.2f} | {r['cv_deface'] / r['ours']:.1f}x")
        out.append(f"| {r['format']} | {r['mode']} | {r['ours']:.2f} | {r['cv_same']:.2f} | "
                   f"{r['cv_same'] / r['ours']:.1f}x | {r['cv_feather']:.2f} | {r['cv_feather'] / r['ours']:.1f}x | "
                   f"{d} | {r['ours_hard']:.2f} | "
                   f"{r['cv_best'] / r['ours_hard']:.1f}x |")
    return "\n".join(out) + "\n"


def picture(path):
    """Before/after strip of the astronaut's head: original, blur, pixelate, fill, oval with outline."""
    import cv2
    from skimage import data

    from facemask_ds import _native

    img = data.astronaut()
    box = np.array([[175, 64, 272, 161]], np.float32)   # facedetect's box on the full-size image
    panels = [img]
    for mode, extra in (("blur", {}), ("pixelate", {}), ("fill", {"fill": (40, 40, 40)}),
                        ("blur", {"draw_outline": True})):
        rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
        _native.redact([rgba], "RGBA", 512, 512, box, mode=mode, **extra)
        panels.append(rgba[..., :3])
    crops = [p[20:260, 110:340] for p in panels]
    strip = np.concatenate([np.pad(c, ((0, 0), (0, 6), (0, 0)), constant_values=255) for c in crops], 1)
    cv2.imwrite(path, cv2.cvtColor(strip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=40, help="frames per measurement (median is reported)")
    ap.add_argument("--markdown", help="also write the results table as markdown to this file")
    ap.add_argument("--picture", help="write the before/after PNG for docs/redaction.md")
    ap.add_argument("--core-only", action="store_true", help="time only the core (default and feather 0)")
    a = ap.parse_args()
    if a.core_only:
        run_core_only(a.reps)
        return
    if a.picture:
        picture(a.picture)
    rows = run(a.reps)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(markdown(rows, a.reps, "python scripts/bench_redact.py " + " ".join(sys.argv[1:])))
        print(f"wrote {a.markdown}")


if __name__ == "__main__":
    main()
