"""The parser library built for other DeepStream releases (kit declarations: full builds for 6.3 and 8.0, layouts
of every release 6.2-9.2) and against the real
DeepStream SDK headers (when present), each checked end to end: reported ABI and struct sizes, exports, and faces
through a caller compiled with the same ABI.

Builds go to tests/.cache/parser-builds/<name> and are reused across runs.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import parser_checks as pc

DS_SDK_DIR = Path(os.environ.get("FACEMASK_DS_SDK_DIR", "/work/deps/deepstream-9.1"))
TRT_INCLUDE = Path(os.environ.get("FACEMASK_TRT_INCLUDE_DIR", "/work/deps/tensorrt/include"))
CUDA_INCLUDES = [Path(os.environ.get("CUDA_HOME", "/usr/local/cuda")) / "include", Path("/usr/local/cuda/include"),
                 Path("/usr/include")]


def _planted(seed=4):
    return pc.planted_centerface(np.random.default_rng(seed), 320, 256, 5)


@pytest.mark.slow
@pytest.mark.parametrize("version,det_size", [("6.3", 24), ("8.0", 24)])
def test_kit_declarations_for_other_releases(native, tmp_path, version, det_size):
    bdir = pc.cmake_build(f"kit-{version}", {"FACEMASK_DEEPSTREAM_VERSION": version})
    lib = pc.built_library(bdir)
    info = native.parser_build_info(str(lib))
    assert native.parser_abi(str(lib)) == version == info["deepstream_abi"]
    assert info["sizeof_detection_info"] == det_size and info["has_rotation_angle"] is (det_size == 28)
    assert (info["sizeof_instance_mask_info"], info["sizeof_layer_info"], info["sizeof_detection_params"]) == (48, 72,
                                                                                                                 64)
    assert info["sdk_headers"] is False
    pc.check_exports(lib)
    outs = _planted()
    want_b, want_s = pc.oracle_centerface(outs, 320, 256, 0.5)
    for sym in ("NvDsInferParseCenterFace", "NvDsInferParseCenterFaceMask"):
        res = pc.run_probe(bdir, sym, outs, 320, 256, 0.5, tmp_path)
        assert res["returned"] is True and res["sizeof_detection_info"] == det_size
        objs = res["objects"]
        assert len(objs) == len(want_s) == 5
        got = np.array([[o["left"], o["top"], o["left"] + o["width"], o["top"] + o["height"]] for o in objs])
        np.testing.assert_allclose(got, want_b, rtol=1e-4, atol=2e-3)
        np.testing.assert_allclose([o["score"] for o in objs], want_s, rtol=1e-6)
        if sym.endswith("Mask"):
            assert all(o["mask_size"] == 4 * o["mask_width"] * o["mask_height"] == 4096 for o in objs)
        else:
            assert all(("rotation_angle" in o) is (det_size == 28) for o in objs)
            assert all(o.get("rotation_angle", 0.0) == 0.0 for o in objs)
    # the Python module's harness is built for its own ABI and must refuse a library with another object size
    if native.harness_abi["sizeof_detection_info"] != det_size:
        with pytest.raises(ValueError, match="ABI mismatch"):
            native.call_parse_function(str(lib), "NvDsInferParseCenterFace", pc.batch_layers([outs]), (320, 256, 3))


KIT_PROBE = r"""
#include <cstdio>
#include "nvds_compat.h"
int main() {
  std::printf("%zu %zu %zu %zu %zu %d\n", sizeof(NvDsInferObjectDetectionInfo), sizeof(NvDsInferInstanceMaskInfo),
              sizeof(NvDsInferLayerInfo), sizeof(NvDsInferParseDetectionParams), sizeof(NvDsInferDims),
#if FACEMASK_DS_MAJOR >= 7
              static_cast<int>(UINT8));
#else
              static_cast<int>(INT32));
#endif
}
"""


@pytest.mark.parametrize("version,det_size,last_dtype", [("6.2", 24, 3), ("6.3", 24, 3), ("7.0", 24, 5),
                                                         ("7.1", 24, 5), ("8.0", 24, 5), ("9.0", 28, 5),
                                                         ("9.1", 28, 5), ("9.2", 28, 5)])
def test_kit_declaration_layouts_per_release(tmp_path, version, det_size, last_dtype):
    """The kit's declarations compile for every supported release with the contract's sizes (the layout
    static_asserts in nvds_compat.h hold); rotation_angle from 9.0 on, INT64/UINT8 from 7.0 on."""
    src = tmp_path / "probe.cpp"
    src.write_text(KIT_PROBE)
    exe = tmp_path / "probe"
    major, minor = version.split(".")
    subprocess.run(["c++", "-std=c++17", "-Wall", "-Wextra", "-Werror", f"-I{pc.ROOT / 'csrc' / 'nvdsinfer'}",
                    f"-DFACEMASK_DS_MAJOR={major}", f"-DFACEMASK_DS_MINOR={minor}", str(src), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    assert [int(x) for x in out] == [det_size, 48, 72, 64, 40, last_dtype]


def _sdk_or_skip():
    inc = DS_SDK_DIR / "includes" if (DS_SDK_DIR / "includes").is_dir() else DS_SDK_DIR / "sources" / "includes"
    if not (inc / "nvdsinfer_custom_impl.h").exists():
        pytest.skip(f"DeepStream SDK headers not found at {DS_SDK_DIR} (set FACEMASK_DS_SDK_DIR); the kit's own "
                    "declarations are tested instead")
    if not (TRT_INCLUDE / "NvInfer.h").exists() or not (TRT_INCLUDE / "NvOnnxParser.h").exists():
        pytest.skip(f"TensorRT headers (NvInfer.h, NvOnnxParser.h) not found at {TRT_INCLUDE} (set "
                    "FACEMASK_TRT_INCLUDE_DIR): the SDK's nvdsinfer_custom_impl.h includes them")
    if not any((d / "cuda_runtime_api.h").exists() for d in CUDA_INCLUDES):
        pytest.skip("cuda_runtime_api.h not found (TensorRT's headers include it)")
    txt = (inc / "nvds_version.h").read_text()
    major = re.search(r"#define NVDS_VERSION_MAJOR (\d+)", txt).group(1)
    minor = re.search(r"#define NVDS_VERSION_MINOR (\d+)", txt).group(1)
    return f"{major}.{minor}"


def _sdk_defines(version):
    return {"DEEPSTREAM_DIR": str(DS_SDK_DIR), "TENSORRT_INCLUDE_DIR": str(TRT_INCLUDE),
            "FACEMASK_DEEPSTREAM_VERSION": version}


@pytest.mark.slow
def test_sdk_headers_build_passes_the_same_harness_checks(native, tmp_path):
    version = _sdk_or_skip()
    bdir = pc.cmake_build(f"sdk-{version}", _sdk_defines(version))
    lib = pc.built_library(bdir)
    info = native.parser_build_info(str(lib))
    assert info["sdk_headers"] is True and info["deepstream_abi"] == version
    pc.check_exports(lib)
    if native.harness_abi["deepstream_abi"] == version:
        pc.check_centerface_vs_oracle(native, lib)
        pc.check_batch_rebasing(native, lib)
        pc.check_masks(native, lib)
    else:  # the Python module targets another release: use the probe compiled with the same ABI as the library
        outs = _planted()
        want_b, want_s = pc.oracle_centerface(outs, 320, 256, 0.5)
        res = pc.run_probe(bdir, "NvDsInferParseCenterFace", outs, 320, 256, 0.5, tmp_path)
        assert len(res["objects"]) == len(want_s)


def test_sdk_headers_of_another_release_are_a_build_error(tmp_path):
    """nvds_compat.h refuses SDK headers whose nvds_version.h disagrees with FACEMASK_DEEPSTREAM_VERSION."""
    version = _sdk_or_skip()
    other = (8, 0) if version != "8.0" else (9, 1)
    inc = DS_SDK_DIR / "includes" if (DS_SDK_DIR / "includes").is_dir() else DS_SDK_DIR / "sources" / "includes"
    cuda = next(d for d in CUDA_INCLUDES if (d / "cuda_runtime_api.h").exists())
    src = tmp_path / "tu.cpp"
    src.write_text('#include "nvds_compat.h"\nint main() { return 0; }\n')
    base = ["c++", "-std=c++17", "-fsyntax-only", "-w", f"-I{pc.ROOT / 'csrc' / 'nvdsinfer'}", f"-isystem{inc}",
            f"-isystem{TRT_INCLUDE}", f"-isystem{cuda}", "-DFACEMASK_USE_SDK_HEADERS=1", str(src)]
    major, minor = version.split(".")
    ok = subprocess.run(base + [f"-DFACEMASK_DS_MAJOR={major}", f"-DFACEMASK_DS_MINOR={minor}"], capture_output=True,
                        text=True)
    assert ok.returncode == 0, ok.stderr[-2000:]
    bad = subprocess.run(base + [f"-DFACEMASK_DS_MAJOR={other[0]}", f"-DFACEMASK_DS_MINOR={other[1]}"],
                         capture_output=True, text=True)
    assert bad.returncode != 0
    assert "DEEPSTREAM_DIR holds headers of another DeepStream release" in bad.stderr
