#!/usr/bin/env python3
"""Per-work-item timeline of the CUDA redaction kernel on the bench_gpu.py workload, and its summary.

The kernel writes the timeline only in a profiling build (the stamps change the register allocation of the default
kernels, so they are compiled out otherwise):

  python3 -m pip install --no-build-isolation --no-deps . -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=90 \\
      "-Ccmake.define.CMAKE_CUDA_FLAGS=-DFACEMASK_CUDA_TRACE=1"
  python3 scripts/trace_gpu.py run --out traces          (GPU machine: one CSV per format, configuration, repeat)
  python3 scripts/trace_gpu.py summary traces/trace_NV12_default_0.csv   (anywhere: numpy only)

Each CSV line is one work item of the launch: kind (0 decimation + horizontal passes per band of grid rows, 1 vertical
passes per band of grid columns, 2 upsampling + composite per set of rows), its plane job's rect (w x h), grid (nx x
ny), decimation factors and channels, the block and SM that ran it, and global-timer stamps in ns from the launch's
first one: when the block asked for the item, when its waits (for the plane's grid) ended, when it was done, and
steps inside the item (s4-s7, -1 where not reached): decimation bands s4 decimation done, s5 horizontal passes done,
s6 band copied out and counted, s7 the plane's fused vertical passes done (only the band that completes the plane);
upsampling items s4 plan, spans and V rows ready, s5 warp 0's rows done. `summary` prints per kind the busy time
(done - go) and its fit against the item's pixels, the median time of each step, the fused vertical passes (the item
that completes a plane runs them), busy blocks over time, and the items that finish last.
"""
import argparse
import csv
import os
import statistics
import sys

import numpy as np

KINDS = {0: "rows", 1: "cols", 2: "up", 3: "cell", 4: "fill"}
# Steps inside an item (kind: [(label, from, to)]); "go" / "done" are the item's own stamps.
STEPS = {0: [("decimate", "go", "s4"), ("horizontal passes", "s4", "s5"), ("copy out + count", "s5", "s6"),
             ("fused vertical passes", "s6", "s7"), ("to done", "s7|s6", "done")],
         2: [("plan + spans + V rows", "go", "s4"), ("warp 0's rows", "s4", "s5"), ("other warps after warp 0", "s5", "done")]}
CONFIGS = {"default": {}, "barrier": {"FACEMASK_CUDA_BARRIER": "1"}, "nofuse": {"FACEMASK_CUDA_NOFUSE": "1"},
           "items2": {"FACEMASK_CUDA_ITEMS": "2"}, "items05": {"FACEMASK_CUDA_ITEMS": "0.5"},
           "greedy": {"FACEMASK_CUDA_GREEDY": "1"}}


def run(args):
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_gpu as bg
    from facemask_ds import _native as native

    os.makedirs(args.out, exist_ok=True)
    faces = bg.make_faces(np.random.default_rng(2026))
    regions = bg.regions_for(faces)
    stream = torch.cuda.current_stream().cuda_stream
    knobs = {k for env in CONFIGS.values() for k in env} | {"FACEMASK_CUDA_TRACE"}
    for fmt in args.formats.split(","):
        shape = (bg.N, bg.H, bg.W, 4) if fmt == "RGBA" else (bg.N, bg.H * 3 // 2, bg.W)
        frames = torch.from_numpy(np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)).cuda()
        for name in args.configs.split(","):
            for k in knobs:
                os.environ.pop(k, None)
            os.environ.update(CONFIGS[name])
            for _ in range(10):
                native.cuda_redact(frames, fmt, regions, stream=stream, timing=True)
            plain = statistics.median(native.cuda_redact(frames, fmt, regions, stream=stream, timing=True)["kernel_us"]
                                      for _ in range(30))
            traced = []
            for r in range(args.repeats):
                path = os.path.join(args.out, f"trace_{fmt}_{name}_{r}.csv")
                if os.path.exists(path):
                    os.remove(path)
                os.environ["FACEMASK_CUDA_TRACE"] = path
                traced.append(native.cuda_redact(frames, fmt, regions, stream=stream, timing=True)["kernel_us"])
                os.environ.pop("FACEMASK_CUDA_TRACE")
                if not os.path.exists(path):
                    sys.exit(f"no trace written to {path}: {args.out} is not writable, the device trace buffer could "
                             "not be allocated, or this build has no trace code (rebuild with "
                             "-Ccmake.define.CMAKE_CUDA_FLAGS=-DFACEMASK_CUDA_TRACE=1, see --help)")
            print(f"{fmt} {name}: kernel {plain:.1f} us untraced (median of 30), traced "
                  f"{', '.join(f'{t:.1f}' for t in traced)} us -> {args.out}/trace_{fmt}_{name}_*.csv", flush=True)


def load(path):
    with open(path) as f:
        rows = [{k: int(v) for k, v in r.items()} for r in csv.DictReader(f)]
    return [r for r in rows if r["done"] >= 0]


def item_pixels(r):
    if r["kind"] == 0:
        return r["n"] * r["fy"] * r["w"]  # rect pixels the band decimates
    if r["kind"] == 2:
        return -(-(r["h"] - r["a"]) // r["n"]) * r["w"]  # rows a, a + n, a + 2n, ... of the rect
    return r["n"] * r["w"]


def summary(args):
    for path in args.csv:
        try:
            rows = load(path)
        except (OSError, ValueError, KeyError) as e:
            sys.exit(f"trace_gpu.py: cannot read {path}: {e}")
        if not rows:
            print(f"== {path}: no items")
            continue
        end = max(r["done"] for r in rows)
        print(f"== {path}: {len(rows)} items, {len({r['block'] for r in rows})} blocks, "
              f"first ask to last done {end / 1e3:.1f} us")
        last = {}
        for r in rows:
            if r["kind"] == 0 and (r["job"] not in last or r["done"] > last[r["job"]]["done"]):
                last[r["job"]] = r
        for kind in sorted({r["kind"] for r in rows}):
            v = [r for r in rows if r["kind"] == kind]
            busy = np.array([(r["done"] - r["go"]) / 1e3 for r in v])
            wait = np.array([(r["go"] - r["ask"]) / 1e3 for r in v])
            px = np.array([item_pixels(r) for r in v], float)
            line = (f"  {KINDS.get(kind, kind):5s} n={len(v):4d} busy median {np.median(busy):5.1f} "
                    f"p90 {np.percentile(busy, 90):5.1f} max {busy.max():5.1f} us, waits {wait.sum():6.0f} block-us, "
                    f"go {min(r['go'] for r in v) / 1e3:.1f}-{max(r['go'] for r in v) / 1e3:.1f} us, "
                    f"last done {max(r['done'] for r in v) / 1e3:.1f} us")
            if len(v) > 2 and np.ptp(px) > 0:
                c = np.polyfit(px, busy, 1)
                pred = np.polyval(c, px)
                r2 = 1 - ((busy - pred) ** 2).sum() / max(((busy - busy.mean()) ** 2).sum(), 1e-12)
                line += f"; fit {c[1]:.1f} us + {c[0] * 1e3:.2f} us per 1000 px (R^2 {r2:.2f})"
            print(line)
            for label, a, b in STEPS.get(kind, []) if "s4" in v[0] else []:
                d = []
                for r in v:
                    ta = next((r[x] for x in a.split("|") if r[x] >= 0), -1)
                    if ta >= 0 and r[b] >= 0:
                        d.append((r[b] - ta) / 1e3)
                if d:
                    print(f"        step {label}: n={len(d)} median {np.median(d):.2f} p90 {np.percentile(d, 90):.2f} us")
            if kind == 0 and last:
                fin = np.array([last[r["job"]] is r for r in v])
                if fin.any() and (~fin).any():
                    print(f"        items that complete a plane (run its fused vertical passes): n={fin.sum()}, busy "
                          f"median {np.median(busy[fin]):.1f} us; the others {np.median(busy[~fin]):.1f} us")
        nb = int(end / 2000) + 1
        acc = np.zeros(nb)
        for r in rows:
            for i in range(int(r["go"] / 2000), int(r["done"] / 2000) + 1):
                lo, hi = max(r["go"], i * 2000), min(r["done"], (i + 1) * 2000)
                if hi > lo:
                    acc[i] += (hi - lo) / 2000
        print("  busy blocks per 2 us:", " ".join(f"{x:.0f}" for x in acc))
        for r in sorted(rows, key=lambda r: -r["done"])[:args.tail]:
            print(f"    last: {KINDS.get(r['kind'], r['kind'])} job {r['job']} {r['w']}x{r['h']} f{r['fx']} "
                  f"nch {r['nch']} a {r['a']} n {r['n']}: ask {r['ask'] / 1e3:.1f} go {r['go'] / 1e3:.1f} "
                  f"done {r['done'] / 1e3:.1f} us")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="trace the bench workload (GPU, profiling build)")
    r.add_argument("--out", default="traces", help="directory for the CSV files")
    r.add_argument("--formats", default="NV12,RGBA")
    r.add_argument("--configs", default="default,barrier", help="comma list of: " + ", ".join(CONFIGS))
    r.add_argument("--repeats", type=int, default=3)
    s = sub.add_parser("summary", help="summarise trace CSV files")
    s.add_argument("csv", nargs="+")
    s.add_argument("--tail", type=int, default=5, help="items that finish last to list")
    args = ap.parse_args()
    run(args) if args.cmd == "run" else summary(args)


if __name__ == "__main__":
    main()
