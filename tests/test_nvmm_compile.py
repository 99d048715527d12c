"""DeepStream NVMM backend (csrc/gst/nvmm_*.cpp): compile every source against the real DeepStream SDK headers.

No libnvbufsurface / libnvds_meta binaries exist here, so nothing is linked (and nothing is faked): the object
files must build with -Wall -Werror against the SDK headers (and with -Wall -Wextra -Werror when the SDK is a
system include dir, which is how CMake builds them), and must reference the SDK entry points the backend is
supposed to use. Skips with the reason when the SDK headers, GStreamer dev files or the CUDA toolkit are absent.
SDK location: $DEEPSTREAM_DIR (sources/includes or includes), else /work/deps/deepstream-9.1/includes, else
/opt/nvidia/deepstream/deepstream/sources/includes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "csrc" / "gst").glob("nvmm_*.cpp"))


def _sdk_include():
    cands = []
    if os.environ.get("DEEPSTREAM_DIR"):
        d = Path(os.environ["DEEPSTREAM_DIR"])
        cands += [d / "sources" / "includes", d / "includes"]
    cands += [Path("/work/deps/deepstream-9.1/includes"), Path("/opt/nvidia/deepstream/deepstream/sources/includes")]
    for c in cands:
        if (c / "nvbufsurface.h").is_file() and (c / "nvdsmeta.h").is_file():
            return c
    return None


def _cuda_include():
    for c in [os.environ.get("CUDA_HOME", ""), "/usr/local/cuda"]:
        if c and (Path(c) / "include" / "cuda_runtime_api.h").is_file():
            return Path(c) / "include"
    return None


def _flags():
    sdk = _sdk_include()
    if sdk is None:
        pytest.skip("DeepStream SDK headers not found (set DEEPSTREAM_DIR); the NVMM backend is compiled only "
                    "against a real SDK")
    cuda = _cuda_include()
    if cuda is None:
        pytest.skip("CUDA toolkit headers not found (/usr/local/cuda or $CUDA_HOME)")
    cxx = shutil.which("g++") or shutil.which("c++")
    if not cxx or not shutil.which("pkg-config"):
        pytest.skip("no C++ compiler or pkg-config")
    pc = subprocess.run(["pkg-config", "--cflags", "gstreamer-1.0", "gstreamer-base-1.0", "gstreamer-video-1.0"],
                        capture_output=True, text=True)
    if pc.returncode != 0:
        pytest.skip("GStreamer development files not found")
    return cxx, sdk, cuda, pc.stdout.split()


def _version(sdk: Path) -> str:
    text = (sdk / "nvds_version.h").read_text()
    parts = [re.search(rf"#define NVDS_VERSION_{k}\s+(\d+)", text).group(1) for k in ("MAJOR", "MINOR", "MICRO")]
    return ".".join(parts)


@pytest.mark.parametrize("mode", ["plain-I", "isystem-Wextra"])
def test_nvmm_sources_compile_against_sdk_headers(tmp_path, mode):
    cxx, sdk, cuda, gst = _flags()
    assert SOURCES, "csrc/gst/nvmm_*.cpp missing"
    if mode == "plain-I":
        inc, warn = ["-I", str(sdk), "-I", str(cuda)], ["-Wall", "-Werror"]
    else:
        inc, warn = ["-isystem", str(sdk), "-isystem", str(cuda)], ["-Wall", "-Wextra", "-Werror"]
    undefined = set()
    for src in SOURCES:
        obj = tmp_path / (src.stem + ".o")
        cmd = [cxx, "-std=c++17", "-fPIC", *warn, "-c", str(src), "-o", str(obj), "-I", str(ROOT / "csrc"),
               "-I", str(ROOT / "csrc" / "gst"), *inc, *gst, "-DFACEMASK_HAVE_NVMM=1", "-DGST_USE_UNSTABLE_API=1"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{src.name} does not compile against DeepStream {_version(sdk)} headers:\n{r.stderr}"
        nm = subprocess.run(["nm", "-u", "-C", str(obj)], capture_output=True, text=True)
        undefined |= set(nm.stdout.split())
    # The backend really calls the SDK (no stubs): surfaces, EGL mapping, private pool, metas, version check.
    for sym in ["NvBufSurfaceMapEglImage", "NvBufSurfaceCopy", "gst_nvds_buffer_pool_new", "nvds_version",
                "gst_buffer_get_nvds_batch_meta", "nvds_acquire_obj_meta_from_pool", "nvds_add_obj_meta_to_frame",
                "nvds_acquire_user_meta_from_pool", "nvds_add_user_meta_to_obj", "nvds_get_user_meta_type",
                "cuGraphicsEGLRegisterImage"]:
        assert any(s == sym or s.startswith(sym + "(") for s in undefined), f"{sym} not referenced"


def test_nvmm_layout_guard_matches_release():
    """The backend pins the object-meta layout of the release it is compiled against (rotation_angle in 9.1):
    the offsets it asserts are the ones these headers really have (deepstream-contract.md 3.2)."""
    cxx, sdk, cuda, gst = _flags()
    src = (ROOT / "csrc" / "gst" / "nvmm_backend.cpp").read_text()
    major, minor, _ = (int(v) for v in _version(sdk).split("."))
    if (major, minor) >= (9, 1):
        want_off, want_rect = 216, 112
    else:
        want_off, want_rect = 208, 104
    assert f"sizeof(NvOSD_RectParams) == {want_rect}" in src
    check = ("#include <gstnvdsmeta.h>\n#include <cstddef>\n"
             f"static_assert(offsetof(NvDsObjectMeta, mask_params) == {want_off}, \"mask_params\");\n"
             f"static_assert(sizeof(NvOSD_RectParams) == {want_rect}, \"rect\");\n")
    r = subprocess.run([cxx, "-std=c++17", "-fsyntax-only", "-x", "c++", "-", "-I", str(sdk), *gst],
                       input=check, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
