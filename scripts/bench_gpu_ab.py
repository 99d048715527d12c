#!/usr/bin/env python3
"""Kernel-only time of the bench_gpu.py workload for side-by-side comparisons of two builds (run on a CUDA machine).

Prints one JSON line: the median kernel us (CUDA events around the launch, 5 warm-up + N timed launches) per format,
and an output checksum per format (two builds that agree byte for byte print the same checksums). Compare two builds
by installing one elsewhere and alternating processes, e.g.

  python3 -m pip install --no-build-isolation --no-deps --target /tmp/old <old checkout>
  for i in 1 2 3; do PYTHONPATH=/tmp/old python3 scripts/bench_gpu_ab.py old; python3 scripts/bench_gpu_ab.py new; done
"""

import json
import os
import statistics
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_gpu as bg  # noqa: E402  (the workload)
from facemask_ds import _native as native  # noqa: E402


def main():
    tag = sys.argv[1] if len(sys.argv) > 1 else "?"
    iters = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    faces = bg.make_faces(np.random.default_rng(2026))
    regions = bg.regions_for(faces)
    out = {"tag": tag, "module": native.__file__}
    stream = torch.cuda.current_stream().cuda_stream
    for fmt in ("NV12", "RGBA"):
        shape = (bg.N, bg.H, bg.W, 4) if fmt == "RGBA" else (bg.N, bg.H * 3 // 2, bg.W)
        host = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
        frames = torch.from_numpy(host).cuda()
        for _ in range(5):
            native.cuda_redact(frames, fmt, regions, stream=stream, timing=True)
        kt = [native.cuda_redact(frames, fmt, regions, stream=stream, timing=True)["kernel_us"] for _ in range(iters)]
        out[fmt] = round(statistics.median(kt), 1)
        d = torch.from_numpy(host).cuda()
        native.cuda_redact(d, fmt, regions, stream=stream, synchronize=True)
        w = torch.arange(d.numel(), device="cuda").view(d.shape) % 7919 + 1
        out[fmt + "_checksum"] = int((d.to(torch.int64) * w).sum().item())
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
