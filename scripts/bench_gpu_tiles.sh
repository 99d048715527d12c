#!/usr/bin/env bash
# One device-machine call for the upsampling tile launch (FACEMASK_CUDA_FLAT, docs/benchmarks.md round 6): build for
# the local GPU's architecture, the CUDA tests as they are and with the tile launch forced on, the kernel time with the
# tile launch off / on in separate processes alternated three times (scripts/bench_gpu_ab.py: same output checksums
# expected), then the full benchmark JSON. Needs a CUDA GPU, PyTorch and this checkout; writes under ${OUT:-.}.
#   bash scripts/bench_gpu_tiles.sh            (about 6-8 minutes on an H100)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-.}"
t0=$(date +%s)
stamp() { echo "== $1: $(( $(date +%s) - t0 )) s"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '.')
python3 -m pip install --no-build-isolation --no-deps . "-Ccmake.define.CMAKE_CUDA_ARCHITECTURES=${arch}" \
  > "$out/pip.log" 2>&1 || { tail -40 "$out/pip.log"; exit 1; }
stamp build
python3 -m pytest tests/test_cuda_redact.py -q -p no:cacheprovider --maxfail=3 2>&1 | tail -8
FACEMASK_CUDA_FLAT=1 python3 -m pytest tests/test_cuda_redact.py -q -p no:cacheprovider --maxfail=3 2>&1 | tail -8
stamp tests
for i in 1 2 3; do
  FACEMASK_CUDA_FLAT=0 python3 scripts/bench_gpu_ab.py flat0
  FACEMASK_CUDA_FLAT=1 python3 scripts/bench_gpu_ab.py flat1
done
stamp side-by-side
python3 scripts/bench_gpu.py --json "$out/bench.json" --torch-iters 1 > "$out/bench.log" 2>&1
grep -i "kernel\|bound\|identical\|error" "$out/bench.log" | head -60
stamp bench
