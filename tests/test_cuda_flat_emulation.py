"""The CUDA flat and cluster blur paths' device code (csrc/cuda/redact_cuda.cu, FACEMASK_CUDA_FLAT=1 and
FACEMASK_CUDA_CLUSTER=1) run on the CPU.

tests/native/cuda_flat_emu.cpp includes the device functions copied unchanged out of redact_cuda.cu (by the markers
below) with shims for the CUDA qualifiers and intrinsics, runs the flat path's three stages per dependency wave, and
in its second mode the cluster path's steps per plane part (1-16 parts, each with its own shared memory; the other
parts' rows read from theirs), on random frames (11 formats, padded and odd pitches, box and oval shapes, instance
masks, strengths 0.4-3.5, faces clipped at the edges and overlapping) and compares every byte of every plane buffer,
row padding included, with the CPU core's redact() (the independent oracle). Built with ASan + UBSan. Needs no GPU,
so CI checks the arithmetic and the index math of paths whose GPU tests (tests/test_cuda_redact.py) only run on a
CUDA machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import parser_checks as pc

SRC = pc.ROOT / "csrc" / "cuda" / "redact_cuda.cu"
# (first line's start, end marker) of each piece the flat path needs, in source order.
PIECES = [
    ("constexpr int kSmemBytes", "constexpr int kFillPixelsPerItem"),
    ("struct DevPlaneJob {", "struct DevItem {"),
    ("__host__ __device__ __forceinline__ int pad4", "\n"),
    ("// 0: a8 == 0 for sure", "// ---- phase B"),  # cov_class, magic_for, pixel_ptr, box passes, copy2d
    ("constexpr double kSpanMargin", "// Pixel access of the upsampling phase"),  # row_spans
    ("template <int NCH, int PS>\nstruct PixIO", "template <int NCH, int PS>\n__device__ void run_upsample_t"),
    ("struct FlatBlock {", "__global__ void __launch_bounds__(kFlatThreads, 4) flat_decimate_kernel"),
    ("// Shared memory of a plane's box passes", "constexpr int kFlatBoxThreadsMax"),
    ("// Upsampling of one plane-rect row per warp", "__global__ void __launch_bounds__(kFlatThreads, 4) flat_up_kernel"),
    ("// ---- cluster blur path", "// ---- cluster kernel"),
    ("void cov_thresholds(", "std::string cuda_msg"),
]


def extract(src: str) -> str:
    out = []
    for start, end in PIECES:
        i = src.find(start)
        assert i >= 0, f"marker {start!r} not found in {SRC.name}: update PIECES in {Path(__file__).name}"
        j = src.find(end, i + len(start))
        assert j >= 0, f"end marker {end!r} not found after {start!r}"
        out.append(src[i:j + (1 if end == "\n" else 0)])
    return "\n".join(out)


@pytest.mark.slow
def test_flat_and_cluster_device_code_on_cpu_matches_core(tmp_path):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    sanitize = "address,undefined,float-cast-overflow"
    bdir = pc.cmake_build("asan-ubsan", {"FACEMASK_SANITIZE": sanitize}, targets=("facemask_core",))
    core = bdir / "csrc" / "core" / "libfacemask_core.a"
    assert core.is_file(), core
    (tmp_path / "flat_extract.inc").write_text(extract(SRC.read_text()))
    exe = tmp_path / "cuda_flat_emu"
    r = subprocess.run([cxx, "-std=c++17", "-O1", "-g", f"-fsanitize={sanitize}", "-fno-sanitize-recover=all",
                        "-fno-omit-frame-pointer", "-Wall", "-Wno-unknown-pragmas", "-Wno-unused-function", "-Werror",
                        f"-I{pc.ROOT / 'csrc'}", f"-I{tmp_path}", "-o", str(exe),
                        str(pc.ROOT / "tests" / "native" / "cuda_flat_emu.cpp"), str(core)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env["ASAN_OPTIONS"] = "detect_leaks=1:halt_on_error=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    for mode in ("flat", "cluster"):
        r = subprocess.run([str(exe), "300", mode], capture_output=True, text=True, env=env, timeout=300)
        out = r.stdout + r.stderr
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert marker not in out, f"{mode}: " + out[-4000:]
        assert r.returncode == 0, f"{mode}: " + out[-4000:]
        assert out.strip().endswith("300 cases, 0 plane failures"), f"{mode}: " + out[-2000:]
