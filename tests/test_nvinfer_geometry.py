"""nvinfer scaling and back-mapping (csrc/core/nvinfer_geometry) against a numpy oracle written from
shared/spec/deepstream-contract.md §2.5 (gstnvinfer.cpp get_converted_buffer, gstnvinfer_meta_utils.cpp)."""

from __future__ import annotations

import numpy as np
import pytest


# ---------------------------------------------------------------------------------------------------------------
# oracle


def oracle_scaling(l, t, w, h, nw, nh, keep_aspect, symmetric):
    sl = (int(l) + 1) // 2 * 2          # left/top rounded UP to even
    st = (int(t) + 1) // 2 * 2
    sw = int(w) // 2 * 2                # width/height rounded DOWN to even
    sh = int(h) // 2 * 2
    ol = ot = 0
    if keep_aspect:
        hdest = nw * sh / sw
        wdest = nh * sw / sh
        if hdest <= nh:
            dw, dh = nw, int(hdest)
        else:
            dw, dh = int(wdest), nh
        if symmetric:
            ol, ot = (nw - dw) // 2, (nh - dh) // 2
    else:
        dw, dh = nw, nh
    return dict(src_left=sl, src_top=st, src_width=sw, src_height=sh, dest_width=dw, dest_height=dh,
                offset_left=ol, offset_top=ot, ratio_x=dw / sw, ratio_y=dh / sh)


def oracle_map(objs, s, surf_w, surf_h, crop=False, per_class=None, filter_out=(), parent=None):
    """objs: rows (l, t, w, h, conf, cls) in network pixels -> kept rows in frame pixels."""
    out = []
    for l, t, w, h, conf, cls in objs:
        L = (l - s["offset_left"]) / s["ratio_x"]
        T = (t - s["offset_top"]) / s["ratio_y"]
        W = w / s["ratio_x"]
        H = h / s["ratio_y"]
        L, T = max(L, 0.0), max(T, 0.0)      # clamp, no shrink
        f = (per_class or {}).get(int(cls), {})
        if int(cls) in filter_out:
            continue
        if W < f.get("detected-min-w", 0) or H < f.get("detected-min-h", 0):
            continue
        if f.get("detected-max-w", 0) > 0 and W > f["detected-max-w"]:
            continue
        if f.get("detected-max-h", 0) > 0 and H > f["detected-max-h"]:
            continue
        top_off, bot_off = f.get("roi-top-offset", 0), f.get("roi-bottom-offset", 0)
        if crop:
            T = max(T, top_off)
            if L + W >= surf_w:
                W = surf_w - L
            if T + H > surf_h - bot_off:
                H = surf_h - bot_off - T
        else:
            if T < top_off or T + H > surf_h - bot_off:
                continue
        if parent is not None:
            L, T = L + parent[0], T + parent[1]
        out.append((L, T, W, H, conf, cls))
    return np.array(out, dtype=np.float64).reshape(-1, 6)


# ---------------------------------------------------------------------------------------------------------------


CASES = [
    # (src rect, net, keep_aspect, symmetric)
    ((0, 0, 1920, 1080), (640, 384), False, False),
    ((0, 0, 1920, 1080), (640, 384), True, False),
    ((0, 0, 1920, 1080), (640, 384), True, True),
    ((0, 0, 1921, 1081), (640, 640), True, True),       # odd sizes: rounded down to even
    ((0, 0, 1081, 1921), (640, 640), True, True),       # portrait: pads left/right
    ((33.7, 17.2, 101.9, 55.5), (128, 96), True, True),  # secondary-mode crop: left/top rounded up to even
    ((3, 5, 640, 480), (320, 240), True, True),           # exact aspect: no padding
    ((0, 0, 512, 512), (640, 384), True, False),
    ((0, 0, 7, 3), (32, 32), True, True),
]


@pytest.mark.parametrize("rect,net,keep,sym", CASES)
def test_scaling_matches_oracle(native, rect, net, keep, sym):
    got = native.nvinfer_scaling(rect, net[0], net[1], keep, sym)
    exp = oracle_scaling(*rect, *net, keep, sym)
    for k in ("src_left", "src_top", "src_width", "src_height", "dest_width", "dest_height", "offset_left",
              "offset_top"):
        assert got[k] == exp[k], (k, got, exp)
    assert got["ratio_x"] == pytest.approx(exp["ratio_x"], rel=1e-12)
    assert got["ratio_y"] == pytest.approx(exp["ratio_y"], rel=1e-12)


def test_scaling_random_against_oracle(native):
    rng = np.random.default_rng(7)
    for _ in range(400):
        rect = (float(rng.uniform(0, 50)), float(rng.uniform(0, 50)), float(rng.uniform(2, 3000)),
                float(rng.uniform(2, 3000)))
        net = (int(rng.integers(8, 1300)), int(rng.integers(8, 1300)))
        keep, sym = bool(rng.integers(2)), bool(rng.integers(2))
        exp = oracle_scaling(*rect, *net, keep, sym)
        if exp["dest_width"] == 0 or exp["dest_height"] == 0:
            with pytest.raises(ValueError):
                native.nvinfer_scaling(rect, *net, keep, sym)
            continue
        got = native.nvinfer_scaling(rect, *net, keep, sym)
        assert {k: got[k] for k in exp if not k.startswith("ratio")} == \
               {k: exp[k] for k in exp if not k.startswith("ratio")}


@pytest.mark.parametrize("rect", [(0, 0, 1, 100), (0, 0, 100, 1), (-1, 0, 100, 100), (0, 0, float("nan"), 10),
                                  (0, 0, float("inf"), 10)])
def test_scaling_rejects_bad_rect(native, rect):
    with pytest.raises(ValueError):
        native.nvinfer_scaling(rect, 640, 384, True, True)


def test_scaling_rejects_zero_network(native):
    with pytest.raises(ValueError, match="network input size"):
        native.nvinfer_scaling((0, 0, 100, 100), 0, 384, False, False)


def _check_map(native, objs, s, surf, **kw):
    params = {"surface_width": surf[0], "surface_height": surf[1],
              "crop_objects_to_roi_boundary": kw.get("crop", False),
              "filter_out_class_ids": list(kw.get("filter_out", ())),
              "parent": kw.get("parent")}
    pc = kw.get("per_class")
    if pc:
        params["per_class"] = [pc.get(c, {}) for c in range(max(pc) + 1)]
    got = native.nvinfer_back_map(np.asarray(objs, dtype=np.float64).reshape(-1, 6), s, params)
    exp = oracle_map(objs, s, *surf, **kw)
    assert got["objects"].shape == exp.shape, (got, exp)
    np.testing.assert_allclose(got["objects"], exp, rtol=1e-5, atol=1e-3)
    return got


def test_back_map_stretch_is_per_axis(native):
    s = native.nvinfer_scaling((0, 0, 1920, 1080), 640, 384, False, False)
    got = _check_map(native, [(100, 50, 40, 30, 0.9, 0)], s, (1920, 1080))
    np.testing.assert_allclose(got["objects"][0, :4], [300, 140.625, 120, 84.375], rtol=1e-6)


def test_back_map_negative_left_top_clamped_without_shrinking(native):
    # symmetric padding: offset_top = 12; a box starting in the padding maps above the frame
    s = native.nvinfer_scaling((0, 0, 1920, 1080), 640, 384, True, True)
    assert s["offset_top"] == 12
    got = _check_map(native, [(-6, 3, 60, 90, 0.8, 0)], s, (1920, 1080))
    left, top, w, h = got["objects"][0, :4]
    assert left == 0 and top == 0
    assert w == pytest.approx(180.0) and h == pytest.approx(270.0)   # NOT reduced by the clamped part


def test_back_map_right_edge_never_clipped_without_crop(native):
    s = native.nvinfer_scaling((0, 0, 1920, 1080), 640, 384, True, True)
    got = _check_map(native, [(600, 100, 100, 50, 0.8, 0)], s, (1920, 1080))
    left, _, w, _ = got["objects"][0, :4]
    assert left + w > 1920  # sticks out of the frame


def test_back_map_bottom_overflow_dropped_without_crop_and_cut_with_crop(native):
    s = native.nvinfer_scaling((0, 0, 1920, 1080), 640, 384, True, True)
    objs = [(100, 340, 50, 60, 0.8, 0), (600, 100, 100, 50, 0.7, 0)]
    got = _check_map(native, objs, s, (1920, 1080))
    assert got["reasons"][0].startswith("roi-bottom-offset") and got["reasons"][1] == "kept"
    got = _check_map(native, objs, s, (1920, 1080), crop=True)
    assert got["objects"].shape[0] == 2
    l0, t0, w0, h0 = got["objects"][0, :4]
    assert t0 + h0 == pytest.approx(1080.0)
    l1, _, w1, _ = got["objects"][1, :4]
    assert l1 + w1 == pytest.approx(1920.0)


def test_back_map_filters_and_parent(native):
    s = native.nvinfer_scaling((40, 30, 200, 100), 128, 64, False, False)
    objs = [(10, 10, 20, 20, 0.9, 0), (10, 10, 2, 2, 0.9, 0), (10, 10, 20, 20, 0.9, 1), (50, 5, 60, 40, 0.9, 2)]
    per_class = {0: {"detected-min-w": 10, "detected-min-h": 10}, 2: {"detected-max-w": 50, "roi-top-offset": 3}}
    got = _check_map(native, objs, s, (1920, 1080), per_class=per_class, filter_out=(1,), parent=(40.5, 30.25))
    assert got["reasons"] == ["kept", "detected-min-w", "filter-out-class-ids", "detected-max-w"]


def test_back_map_random_against_oracle(native):
    rng = np.random.default_rng(11)
    for _ in range(60):
        surf = (int(rng.integers(64, 2000)), int(rng.integers(64, 2000)))
        net = (int(rng.integers(16, 700)), int(rng.integers(16, 700)))
        keep, sym, crop = (bool(rng.integers(2)) for _ in range(3))
        s = native.nvinfer_scaling((0, 0, *surf), *net, keep, sym)
        n = int(rng.integers(0, 12))
        objs = np.column_stack([rng.uniform(-20, net[0], n), rng.uniform(-20, net[1], n), rng.uniform(0, net[0], n),
                                rng.uniform(0, net[1], n), rng.uniform(0, 1, n), rng.integers(0, 3, n)])
        pc = {1: {"roi-top-offset": int(rng.integers(0, 30)), "roi-bottom-offset": int(rng.integers(0, 30))}}
        _check_map(native, [tuple(r) for r in objs], s, surf, crop=crop, per_class=pc)


def test_back_map_points_same_transform(native):
    s = native.nvinfer_scaling((0, 0, 1920, 1080), 640, 384, True, True)
    pts = native.nvinfer_back_map_points(np.array([[320.0, 192.0], [0.0, 12.0]]), s)
    np.testing.assert_allclose(pts, [[960.0, 540.0], [0.0, 0.0]], atol=1e-3)


def test_back_map_rejects_bad_arrays(native):
    s = native.nvinfer_scaling((0, 0, 100, 100), 64, 64, False, False)
    with pytest.raises(ValueError):
        native.nvinfer_back_map(np.zeros((2, 5)), s, {"surface_width": 100, "surface_height": 100})
    with pytest.raises(ValueError):
        native.nvinfer_back_map(np.zeros((1, 6)), s, {"surface_width": 0, "surface_height": 100})
    with pytest.raises(ValueError):
        native.nvinfer_back_map(np.array([[0, 0, 1, 1, 0.5, -1.0]]), s, {"surface_width": 9, "surface_height": 9})
