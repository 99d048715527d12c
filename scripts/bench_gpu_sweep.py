#!/usr/bin/env python3
"""Kernel-only times of the bench_gpu.py workload under several tuning-knob settings, in one process (run on a CUDA
machine): the redaction reads its FACEMASK_CUDA_* knobs at every call, so one process can switch them between
measurements. Configurations run interleaved (the order reverses every repeat), each 5 warm-up + --iters timed
launches per format; prints per configuration the repeats' medians, their median, the work items of the launch and an
output checksum per format (a knob that only re-cuts the work must keep the checksums of the default).

  python3 scripts/bench_gpu_sweep.py                       (built in: the blur paths side by side)
  python3 scripts/bench_gpu_sweep.py --configs '{"default": {}, "nofuse": {"FACEMASK_CUDA_NOFUSE": 1}}'
"""

import argparse
import json
import os
import statistics
import sys

import numpy as np

SWEEP = {  # the blur paths side by side (docs/benchmarks.md rounds 9-11)
    "default": {},
    "item": {"FACEMASK_CUDA_FLAT": 0, "FACEMASK_CUDA_CLUSTER": 0},
    "cluster": {"FACEMASK_CUDA_CLUSTER": 1},
    "cluster_c16": {"FACEMASK_CUDA_CLUSTER": 1, "FACEMASK_CUDA_CSIZE": 16},
    "flat": {"FACEMASK_CUDA_FLAT": 1},
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", help="JSON object: name -> {knob: value} (default: flat path vs item kernel)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--iters", type=int, default=50)
    args = ap.parse_args()
    try:
        configs = json.loads(args.configs) if args.configs else SWEEP
    except json.JSONDecodeError as e:
        sys.exit(f"--configs is not valid JSON: {e}")
    if not isinstance(configs, dict) or not configs or not all(isinstance(v, dict) for v in configs.values()):
        sys.exit("--configs must be a JSON object of name -> {knob: value}")
    try:
        import torch
    except ImportError:
        sys.exit("bench_gpu_sweep.py needs PyTorch with CUDA")
    if not torch.cuda.is_available():
        sys.exit("bench_gpu_sweep.py needs a CUDA device")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_gpu as bg
    from facemask_ds import _native as native

    knobs = sorted({k for c in configs.values() for k in c})
    faces = bg.make_faces(np.random.default_rng(2026))
    regions = bg.regions_for(faces)
    stream = torch.cuda.current_stream().cuda_stream
    data = {}
    for fmt in ("NV12", "RGBA"):
        shape = (bg.N, bg.H, bg.W, 4) if fmt == "RGBA" else (bg.N, bg.H * 3 // 2, bg.W)
        host = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
        data[fmt] = (host, torch.from_numpy(host).cuda())

    def setenv(cfg):
        for k in knobs:
            os.environ.pop(k, None)
        os.environ.update({k: str(v) for k, v in cfg.items()})

    times = {(n, f): [] for n in configs for f in data}
    info = {}
    for rep in range(args.repeats):
        for name in (list(configs) if rep % 2 == 0 else list(reversed(configs))):
            setenv(configs[name])
            for fmt, (host, frames) in data.items():
                for _ in range(5):
                    st = native.cuda_redact(frames, fmt, regions, stream=stream, timing=True)
                kt = [native.cuda_redact(frames, fmt, regions, stream=stream, timing=True)["kernel_us"]
                      for _ in range(args.iters)]
                times[(name, fmt)].append(statistics.median(kt))
                if rep == 0:
                    d = torch.from_numpy(host).cuda()
                    native.cuda_redact(d, fmt, regions, stream=stream, synchronize=True)
                    w = torch.arange(d.numel(), device="cuda").view(d.shape) % 7919 + 1
                    info[(name, fmt)] = (st.get("work_items"), int((d.to(torch.int64) * w).sum().item()))
        print(f"repeat {rep + 1}/{args.repeats} done", file=sys.stderr, flush=True)
    setenv({})
    print(f"{'config':16s} {'NV12 repeats (us)':36s} {'median':>6s}  {'RGBA repeats (us)':36s} {'median':>6s}  "
          "items NV12/RGBA  checksums NV12 RGBA")
    for name in configs:
        a, b = times[(name, "NV12")], times[(name, "RGBA")]
        print(f"{name:16s} {' '.join(f'{x:5.1f}' for x in a):36s} {statistics.median(a):6.1f}  "
              f"{' '.join(f'{x:5.1f}' for x in b):36s} {statistics.median(b):6.1f}  "
              f"{info[(name, 'NV12')][0]}/{info[(name, 'RGBA')][0]}  {info[(name, 'NV12')][1]} "
              f"{info[(name, 'RGBA')][1]}", flush=True)


if __name__ == "__main__":
    main()
