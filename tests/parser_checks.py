"""Checks of a built parser library (libnvdsinfer_facemask.so), shared by tests/test_parser_lib.py (the installed
library) and tests/test_parser_abi.py (the same checks against a library built with the DeepStream SDK headers).

Everything goes through the offline harness ``_native.call_parse_function`` (dlopen + dlsym + NvDsInferLayerInfo per
frame, as nvinfer). Expected values come from the independent numpy oracles in tests/oracles/ (written from
face-models.md), never from the C++.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from oracles import centerface as o_centerface
from oracles import common as o_common

FAMILIES = ["CenterFace", "RetinaFace", "Scrfd", "YuNet", "YoloV5Face", "YoloV8Face", "BlazeFace"]
PARSE_FUNCTIONS = [f"NvDsInferParse{f}{s}" for f in FAMILIES for s in ("", "Mask")]
INFO_FUNCTIONS = ["FacemaskParserAbi", "FacemaskParserBuildInfo"]
FORBIDDEN = ["NvDsInferCreateModelParser", "NvDsInferCudaEngineGet", "NvDsInferInitializeInputLayers",
             "NvDsInferPluginFactoryRuntimeGet"]
CENTERFACE_NAMES = ("537", "538", "539", "540")
CENTERFACE_NMS_IOU = 0.3  # docs/parser-options.md default for CenterFace


def exported_symbols(lib: str | Path) -> set[str]:
    out = subprocess.run(["nm", "-D", "--defined-only", str(lib)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def planted_centerface(rng, net_w: int, net_h: int, n_faces: int, duplicates: bool = True) -> dict:
    """CenterFace maps [C, H/4, W/4] (no batch) with `n_faces` well-separated planted faces above 0.5, each (if
    `duplicates`) with a weaker neighbour cell that decodes to a heavily overlapping box (NMS must remove it), plus
    background noise below 0.2."""
    h, w = net_h // 4, net_w // 4
    heat = (rng.random((1, h, w)) * 0.15).astype(np.float32)
    scale = np.zeros((2, h, w), np.float32)
    off = rng.random((2, h, w)).astype(np.float32)
    lm = rng.random((10, h, w)).astype(np.float32)
    # grid of candidate centres at least 12 cells (48 px) apart
    cand = [(r, c) for r in range(4, h - 4, 12) for c in range(4, w - 5, 12)]
    assert len(cand) >= n_faces, (net_w, net_h, n_faces)
    pick = rng.choice(len(cand), size=n_faces, replace=False)
    for k, i in enumerate(pick):
        r, c = cand[i]
        size_h, size_w = rng.uniform(16, 40), rng.uniform(14, 36)
        heat[0, r, c] = np.float32(0.99 - 0.4 * k / max(n_faces, 1))
        scale[0, r, c], scale[1, r, c] = np.log(size_h / 4), np.log(size_w / 4)
        # plausible landmarks (fractions of the box: eyes at 0.35 h, nose 0.55, mouth 0.75), stored (y, x)
        pts = [(0.35, 0.3), (0.35, 0.7), (0.55, 0.5), (0.75, 0.35), (0.75, 0.65)]
        for j, (fy, fx) in enumerate(pts):
            lm[2 * j, r, c], lm[2 * j + 1, r, c] = fy, fx
        if duplicates:
            heat[0, r, c + 1] = heat[0, r, c] - 0.01
            scale[:, r, c + 1] = scale[:, r, c]
            off[:, r, c + 1] = off[:, r, c]
            off[1, r, c + 1] -= 0.2  # 0.8 px shift after x4: IoU ~0.9
    return dict(zip(CENTERFACE_NAMES, (heat, scale, off, lm)))


def oracle_centerface(outs: dict, net_w: int, net_h: int, thr: float, nms_iou=CENTERFACE_NMS_IOU, top_k=300):
    """Oracle decode (face-models.md §2.6) + greedy NMS + top-K -> (boxes x1y1x2y2 [N,4], scores [N])."""
    b, s, _ = o_centerface.decode(*(np.asarray(outs[n], np.float64) for n in CENTERFACE_NAMES), net_w, net_h, thr,
                                  top_k=0)
    keep = o_common.nms(b, s, nms_iou, top_k)
    return b[keep].reshape(-1, 4), s[keep]


def batch_layers(frames: list[dict], names=CENTERFACE_NAMES) -> list:
    """Per-frame dicts -> harness layers (name, array with batch dim)."""
    return [(n, np.ascontiguousarray(np.stack([f[n] for f in frames]))) for n in names]


def xyxy(res: dict) -> np.ndarray:
    b = np.asarray(res["boxes"], np.float64).reshape(-1, 4)
    return np.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]], 1)


def assert_matches(res: dict, want, rtol=1e-4, atol=2e-3):
    wb, ws = want
    assert res["returned"] is True
    assert len(res["scores"]) == len(ws), (res["scores"], ws)
    np.testing.assert_allclose(res["scores"], ws, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(xyxy(res), wb, rtol=rtol, atol=atol)
    assert (np.asarray(res["classes"]) == 0).all()


# ---- checks (each takes the harness module and a library path) -------------------------------------------------

def check_exports(lib) -> None:
    syms = exported_symbols(lib)
    missing = [s for s in PARSE_FUNCTIONS + INFO_FUNCTIONS if s not in syms]
    assert not missing, f"not exported: {missing}"
    assert not [s for s in FORBIDDEN if s in syms], "a parser-only library must not hijack the engine build"
    extra = syms - set(PARSE_FUNCTIONS) - set(INFO_FUNCTIONS)
    assert not extra, f"unexpected exports (export map): {sorted(extra)[:10]}"


def check_centerface_vs_oracle(native, lib, seed=0) -> None:
    rng = np.random.default_rng(seed)
    for net_w, net_h, n, thr in [(640, 384, 7, 0.5), (320, 320, 0, 0.5), (256, 192, 3, 0.3), (640, 640, 12, 0.6)]:
        outs = planted_centerface(rng, net_w, net_h, n)
        want = oracle_centerface(outs, net_w, net_h, thr)
        params = {"num_classes": 1, "pre_cluster_thresholds": [thr]}
        for sym in ("NvDsInferParseCenterFace", "NvDsInferParseCenterFaceMask"):
            res = native.call_parse_function(str(lib), sym, batch_layers([outs]), (net_w, net_h, 3), params)
            assert len(res) == 1
            assert_matches(res[0], want)
        if n:
            assert len(want[1]) == n  # every planted face found once (duplicates suppressed)
    # bbox output carries rotation_angle = 0 on DeepStream >= 9.0
    res = native.call_parse_function(str(lib), "NvDsInferParseCenterFace", batch_layers([outs]), (640, 640, 3),
                                     {"num_classes": 1, "pre_cluster_thresholds": [0.6]})[0]
    if native.harness_abi["sizeof_detection_info"] == 28:
        assert "rotation_angle" in res and (res["rotation_angle"] == 0).all()


def check_batch_rebasing(native, lib) -> None:
    """Three frames with different faces in one batch: frame i must see exactly its own slice."""
    rng = np.random.default_rng(7)
    frames = [planted_centerface(rng, 256, 192, n) for n in (2, 0, 4)]
    res = native.call_parse_function(str(lib), "NvDsInferParseCenterFace", batch_layers(frames), (256, 192, 3),
                                     {"num_classes": 1, "pre_cluster_thresholds": [0.5]})
    assert len(res) == 3
    for f, r in zip(frames, res):
        assert_matches(r, oracle_centerface(f, 256, 192, 0.5))
    # FP16 outputs decode the same faces (values rounded to half)
    half = [{k: v.astype(np.float16) for k, v in f.items()} for f in frames]
    res16 = native.call_parse_function(str(lib), "NvDsInferParseCenterFace", batch_layers(half), (256, 192, 3),
                                       {"num_classes": 1, "pre_cluster_thresholds": [0.5]})
    for f, r in zip(half, res16):
        assert_matches(r, oracle_centerface({k: v.astype(np.float64) for k, v in f.items()}, 256, 192, 0.5))


def check_masks(native, lib) -> None:
    rng = np.random.default_rng(3)
    outs = planted_centerface(rng, 640, 384, 6)
    want_b, want_s = oracle_centerface(outs, 640, 384, 0.5)
    res = native.call_parse_function(str(lib), "NvDsInferParseCenterFaceMask", batch_layers([outs]), (640, 384, 3),
                                     {"num_classes": 1, "pre_cluster_thresholds": [0.5]})[0]
    assert len(res["masks"]) == len(want_s) == 6  # NMS inside the parser: no duplicate masks reach nvinfer
    for m, size, mw, mh in zip(res["masks"], res["mask_size"], res["mask_width"], res["mask_height"]):
        assert (mw, mh) == (32, 32) and size == 32 * 32 * 4  # bytes, not elements
        assert m.shape == (32, 32) and m.dtype == np.float32
        assert np.isfinite(m).all() and m.min() >= 0.0 and m.max() <= 1.0
        assert m[16, 16] == 1.0 and m[15, 15] == 1.0  # the face centre is inside the oval
        assert m[0, 0] == 0.0 and m[0, -1] == 0.0 and m[-1, 0] == 0.0 and m[-1, -1] == 0.0  # box corners are not
        # an oval fitted to the box covers about pi/4 of it (landmarks shift it a little)
        assert 0.6 < float(m.mean()) < 0.86, m.mean()


# ---- private CMake builds of the parser library (ABI variants, SDK headers, sanitizers) ------------------------

ROOT = Path(__file__).resolve().parent.parent
BUILD_CACHE = Path(os.environ.get("FACEMASK_TEST_CACHE", ROOT / "tests" / ".cache")) / "parser-builds"


def cmake_build(name: str, defines: dict, targets=("nvdsinfer_facemask", "parser_probe"), timeout=900):
    """Configure + build targets of this checkout into tests/.cache/parser-builds/<name> (reused across runs).
    Returns (build_dir, CompletedProcess of the build); raises AssertionError with the log tail on failure unless
    the caller asks for the process (see cmake_build_result)."""
    bdir, r = cmake_build_result(name, defines, targets, timeout)
    assert r.returncode == 0, f"build {name} failed:\n{(r.stdout + r.stderr)[-4000:]}"
    return bdir


def cmake_build_result(name: str, defines: dict, targets, timeout=900):
    bdir = BUILD_CACHE / name
    bdir.mkdir(parents=True, exist_ok=True)
    defs = {"FACEMASK_GST": "OFF", "FACEMASK_CUDA": "OFF", "FACEMASK_BUILD_TOOLS": "ON",
            "CMAKE_BUILD_TYPE": "Release", **defines}
    gen = ["-G", "Ninja"] if shutil.which("ninja") and not (bdir / "Makefile").exists() else []
    cfg = ["cmake", "-S", str(ROOT), "-B", str(bdir), *gen] + [f"-D{k}={v}" for k, v in defs.items()]
    r = subprocess.run(cfg, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        return bdir, r
    r = subprocess.run(["cmake", "--build", str(bdir), "-j2", "--target", *targets], capture_output=True, text=True,
                       timeout=timeout)
    return bdir, r


def built_library(bdir: Path) -> Path:
    return bdir / "csrc" / "nvdsinfer" / "libnvdsinfer_facemask.so"


def built_tool(bdir: Path, name: str) -> Path:
    return bdir / "tests" / "native" / name


def run_probe(bdir: Path, symbol: str, outs: dict, net_w: int, net_h: int, thr: float, tmp: Path) -> dict:
    """Runs tests/native/parser_probe (same ABI as the library in bdir) on one frame of float32 maps."""
    specs = []
    for name in CENTERFACE_NAMES:
        a = np.ascontiguousarray(outs[name], np.float32)
        f = tmp / f"{name}.f32"
        a.tofile(f)
        specs.append(f"{name}:{'x'.join(str(d) for d in a.shape)}:{f}")
    r = subprocess.run([str(built_tool(bdir, "parser_probe")), str(built_library(bdir)), symbol, str(net_w),
                        str(net_h), str(thr), *specs], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)
