"""CPU redaction core (csrc/core/redact.*, shapes.*) through the bindings, against the independent numpy oracle in
tests/oracles/redact.py (written from the formulas in redact.hpp / docs/redaction.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oracles import redact as orc

MODES = ["blur", "pixelate", "fill"]
SHAPES = ["box", "ellipse", "oval"]

# Boxes with fractional corners (no pixel centre sits exactly on a hard boundary), one partly outside the frame.
BOXES = np.array([[10.3, 8.7, 41.6, 47.2], [50.2, 20.4, 77.9, 39.8], [-9.4, 30.1, 14.8, 70.6]], np.float32)
LMS = np.array([
    [[19.0, 22.0], [32.0, 24.5], [26.0, 30.0], [20.5, 37.0], [30.5, 38.5]],   # rolled face
    [[57.0, 26.0], [70.0, 26.0], [63.5, 30.0], [58.5, 34.0], [69.0, 34.0]],   # upright
    [[-3.0, 43.0], [8.0, 43.5], [2.5, 49.0], [-2.0, 56.0], [7.0, 56.0]],
], np.float32)


def _check(native, fmt, w, h, mode, shape, rng, **kw):
    planes = orc.random_planes(fmt, w, h, rng)
    # smooth-ish content so blur/pixelate are not all-mean
    expect = orc.redact(planes, fmt, w, h, BOXES, landmarks=LMS, mode=mode, shape=shape, **kw)
    got = [p.copy() for p in planes]
    st = native.redact(got, fmt, w, h, BOXES, landmarks=LMS, mode=mode, shape=shape, **kw)
    assert st["regions"] == 3 and st["regions_drawn"] == 3
    for p, (g, e, o) in enumerate(zip(got, expect, planes)):
        d = np.abs(g.astype(int) - e.astype(int))
        assert d.max() <= 1, f"{fmt} {mode} {shape} plane {p}: max diff {d.max()} at {np.argwhere(d > 1)[:5]}"
        assert (d == 0).mean() > 0.995, f"{fmt} {mode} {shape} plane {p}: {(d != 0).sum()} pixels off by 1"
        assert (g != o).any(), "nothing changed"


@pytest.mark.parametrize("fmt", orc.FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_formats_and_modes_match_oracle(native, fmt, mode):
    rng = np.random.default_rng(hash((fmt, mode)) % 2**32)
    _check(native, fmt, 83, 61, mode, "oval", rng)  # odd sizes


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("feather", [0.0, 0.25])
def test_shapes_match_oracle(native, shape, mode, feather):
    rng = np.random.default_rng(7)
    for fmt in ("RGBA", "I420"):
        _check(native, fmt, 96, 72, mode, shape, rng, feather=feather, margin=1.1, strength=1.5)


# ---- blur on the decimated grid (factor f >= 2 per direction once the per-plane sigma reaches 8) -------------------


@pytest.mark.parametrize("fmt", orc.FORMATS)
@pytest.mark.parametrize("strength", [2.0, 6.0])
def test_decimated_blur_matches_oracle(native, fmt, strength):
    """Face boxes of ~30 px at strength 2 / 6: sigma ~9 / ~27 luma px, i.e. f = 2 / 4 on luma and RGB planes and
    f = 1 / 2 on the half-size chroma planes."""
    rng = np.random.default_rng(hash((fmt, strength)) % 2**32)
    _check(native, fmt, 83, 61, "blur", "oval", rng, strength=strength)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("feather", [0.0, 0.25])
def test_decimated_blur_shapes_match_oracle(native, shape, feather):
    rng = np.random.default_rng(17)
    for fmt in ("RGBA", "RGB", "NV12", "I420"):
        _check(native, fmt, 96, 72, "blur", shape, rng, feather=feather, margin=1.1, strength=5.0)


def _blur_check(native, fmt, w, h, boxes, strength, rng, feather=0.1, shape="ellipse"):
    planes = orc.random_planes(fmt, w, h, rng)
    exp = orc.redact(planes, fmt, w, h, boxes, mode="blur", shape=shape, strength=strength, feather=feather)
    got = [p.copy() for p in planes]
    st = native.redact(got, fmt, w, h, boxes, mode="blur", shape=shape, strength=strength, feather=feather)
    assert st["regions_drawn"] == len(boxes)
    for p, (g, e, o) in enumerate(zip(got, exp, planes)):
        d = np.abs(g.astype(int) - e.astype(int))
        assert d.max() <= 1, f"{fmt} plane {p}: max diff {d.max()} at {np.argwhere(d > 1)[:5]}"
        assert (d == 0).mean() > 0.995, f"{fmt} plane {p}: {(d != 0).sum()} pixels off by 1"
        assert (g != o).any(), "nothing changed"


@pytest.mark.parametrize("fmt", ["RGBA", "xBGR", "BGR", "I420", "NV21", "GRAY8"])
def test_decimated_blur_large_strength_and_clipping(native, fmt):
    """f capped at 64 (sigma 360 luma px: f = 64 luma, 32 chroma), rects clipped at every frame edge (boxes hanging
    over the left/top and right/bottom corners), and rects smaller than one cell (an 8 px box at sigma 48: f = 8,
    one or two cells across)."""
    rng = np.random.default_rng(23)
    w, h = 101, 77
    big = np.array([[20.3, 10.6, 80.2, 70.9]], np.float32)  # S = 60.3, strength 40: sigma ~362
    _blur_check(native, fmt, w, h, big, 40.0, rng)
    corners = np.array([[-20.5, -15.2, 30.7, 40.1], [70.4, 45.3, 130.8, 99.6]], np.float32)
    _blur_check(native, fmt, w, h, corners, 3.0, rng)
    tiny = np.array([[40.2, 30.1, 48.2, 38.1], [3.1, 60.2, 9.9, 66.8]], np.float32)
    _blur_check(native, fmt, w, h, tiny, 40.0, rng, feather=0.0, shape="box")


def test_decimated_blur_on_a_real_face_frame(native):
    """Bench-like content: smooth image, faces of 80-250 px at the default strength (f = 2 / 4 / 8 on luma)."""
    rng = np.random.default_rng(3)
    w, h = 320, 240
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(xx * 0.7 + 40 * np.sin(yy / 9.0)) % 256, (yy * 0.9 + xx * 0.2) % 256,
                    128 + 100 * np.sin(xx / 13.0) * np.cos(yy / 7.0)], -1).astype(np.uint8)
    rgb = np.clip(rgb.astype(int) + rng.integers(-8, 9, rgb.shape), 0, 255).astype(np.uint8)
    boxes = np.array([[10.5, 12.2, 90.5, 108.2], [100.1, 20.7, 250.8, 201.5], [230.2, 100.4, 330.2, 220.4]],
                     np.float32)
    for fmt in ("RGBA", "I420", "NV12"):
        planes = orc.to_rgb_planes(rgb, fmt)
        exp = orc.redact(planes, fmt, w, h, boxes)
        got = [p.copy() for p in planes]
        native.redact(got, fmt, w, h, boxes)
        for g, e in zip(got, exp):
            d = np.abs(g.astype(int) - e.astype(int))
            assert d.max() <= 1 and (d == 0).mean() > 0.995, fmt


@pytest.mark.parametrize("w,strength", [(400, 1.0), (400, 0.5), (300, 1.0), (160, 0.2)])
def test_blur_strength_matches_sigma(native, w, strength):
    """How strong the blur is (docs/redaction.md): a step edge through a hard-edged box region comes out with the
    10-90 % width of a Gaussian of the target sigma (2.563 sigma), within 10 %, for decimation factors 8, 4, 8, 1."""
    h = 64
    g = np.zeros((h, w), np.uint8)
    g[:, w // 2:] = 255
    native.redact([g], "GRAY8", w, h, np.array([[0, -h, w, 2 * h]], np.float32), shape="box", margin=1.0,
                  feather=0.0, strength=strength)
    sigma = 0.15 * max(w, 3 * h) * strength
    row = g[h // 2].astype(float)
    width = int(np.argmax(row >= 0.9 * 255)) - int(np.argmax(row >= 0.1 * 255))
    assert abs(width / 2.563 / sigma - 1) <= 0.1, (width / 2.563, sigma)


def test_fill_colour_and_untouched_alpha_byte(native):
    for fmt in ("RGBA", "ARGB", "BGRx", "xBGR"):
        planes = orc.random_planes(fmt, 40, 30, np.random.default_rng(1))
        orig = planes[0].copy()
        native.redact(planes, fmt, 40, 30, np.array([[0, 0, 40, 30]], np.float32), mode="fill", shape="box",
                      margin=1.0, feather=0.0, fill=(10, 200, 30))
        offs = orc.RGB4[fmt]
        a = ({0, 1, 2, 3} - set(offs)).pop()
        assert (planes[0][..., offs[0]] == 10).all() and (planes[0][..., offs[1]] == 200).all()
        assert (planes[0][..., offs[2]] == 30).all()
        assert (planes[0][..., a] == orig[..., a]).all(), "alpha/x byte must never be written"
    # YUV black = (16, 128, 128), white = (235, 128, 128); GRAY8 white = 255
    y, u, v = orc.random_planes("I420", 8, 8, np.random.default_rng(2))
    native.redact([y, u, v], "I420", 8, 8, np.array([[0, 0, 8, 8]], np.float32), mode="fill", shape="box",
                  margin=1.0, feather=0.0, fill=(255, 255, 255))
    assert (y == 235).all() and (u == 128).all() and (v == 128).all()
    (g,) = orc.random_planes("GRAY8", 8, 8, np.random.default_rng(3))
    native.redact([g], "GRAY8", 8, 8, np.array([[0, 0, 8, 8]], np.float32), mode="fill", shape="box", margin=1.0,
                  feather=0.0, fill=(255, 255, 255))
    assert (g == 255).all()


def test_masks_match_oracle(native):
    rng = np.random.default_rng(5)
    m0 = rng.random((7, 9)).astype(np.float32)
    masks = [m0, None, (rng.random((4, 4)) > 0.5).astype(np.float32)]
    for fmt in ("RGBA", "NV12"):
        planes = orc.random_planes(fmt, 90, 75, rng)
        exp = orc.redact(planes, fmt, 90, 75, BOXES, landmarks=LMS, masks=masks, mode="fill", margin=1.2,
                         fill=(255, 0, 0))
        got = [p.copy() for p in planes]
        native.redact(got, fmt, 90, 75, BOXES, landmarks=LMS, masks=masks, mode="fill", margin=1.2, fill=(255, 0, 0))
        for g, e in zip(got, exp):
            assert np.abs(g.astype(int) - e.astype(int)).max() <= 1


def test_padded_strides(native):
    """Rows with padding (as GStreamer lays out odd widths) are honoured; padding bytes are never written."""
    w, h = 37, 29
    rng = np.random.default_rng(11)
    big = rng.integers(0, 256, size=(h, 48, 4), dtype=np.uint8)
    before = big.copy()
    view = big[:, :w]
    exp = orc.redact([view.copy()], "RGBA", w, h, BOXES[:1], landmarks=LMS[:1])[0]
    native.redact([view], "RGBA", w, h, BOXES[:1], landmarks=LMS[:1])
    assert np.abs(view.astype(int) - exp.astype(int)).max() <= 1
    assert (big[:, w:] == before[:, w:]).all()


def test_strength_scales_with_face_size(native):
    p40 = native.plan_region([0, 0, 40, 40])
    p400 = native.plan_region([0, 0, 400, 400])
    assert p400["sigma"] == pytest.approx(10 * p40["sigma"])
    assert p40["sigma"] == pytest.approx(0.15 * 40)
    # 3 passes of a (2r+1) box have variance r (r + 1) ~ sigma^2
    for p in (p40, p400):
        r = p["radius"]
        assert abs(math.sqrt(r * (r + 1)) - p["sigma"]) <= 0.6
        assert r == orc.box_radius(p["sigma"])
    assert p400["cell"] == 2 * round(400 / 12) and p40["cell"] == 2 * round(40 / 12)
    assert native.plan_region([0, 0, 100, 100], strength=2.0)["sigma"] == pytest.approx(30.0)


def test_default_blur_destroys_face_detail(native):
    """At the default strength a face's fine detail (eyes-scale frequencies) is gone: a 1-px checkerboard inside a
    100 px face box becomes flat (every pixel within a few levels of the mean)."""
    w = h = 160
    img = np.zeros((h, w, 4), np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    img[..., :3] = (((xx // 4 + yy // 4) % 2) * 255)[..., None]
    native.redact([img], "RGBA", w, h, np.array([[30, 30, 130, 130]], np.float32), shape="box", margin=1.0,
                  feather=0.0)
    inner = img[50:110, 50:110, 0].astype(int)
    assert inner.max() - inner.min() <= 6


def test_blur_is_constant_time_in_kernel_size(native):
    """O(1) per pixel: a 10x larger sigma on the same pixel count costs about the same (not 10x)."""
    import time

    img = np.random.default_rng(0).integers(0, 256, size=(400, 400, 4), dtype=np.uint8)
    box = np.array([[0, 0, 400, 400]], np.float32)

    def t(strength):
        best = 1e9
        for _ in range(5):
            a = img.copy()
            t0 = time.perf_counter()
            native.redact([a], "RGBA", 400, 400, box, shape="box", margin=1.0, strength=strength)
            best = min(best, time.perf_counter() - t0)
        return best

    small, large = t(0.1), t(1.0)
    assert native.plan_region([0, 0, 400, 400], strength=1.0)["radius"] >= 9 * native.plan_region(
        [0, 0, 400, 400], strength=0.1)["radius"]
    assert large < 2.5 * small, (small, large)


@pytest.mark.parametrize("box", [
    [10, 10, 10, 30],          # zero width
    [30, 10, 10, 40],          # negative width
    [-500, -500, -400, -400],  # fully outside
    [1000, 10, 1100, 50],      # fully outside (right)
    [float("nan"), 0, 10, 10],
    [0, 0, float("inf"), 10],
])
def test_degenerate_regions_are_skipped(native, box):
    for fmt in ("RGBA", "I420", "NV12", "RGB"):
        planes = orc.random_planes(fmt, 33, 21, np.random.default_rng(0))
        orig = [p.copy() for p in planes]
        st = native.redact(planes, fmt, 33, 21, np.array([box], np.float32))
        assert st["regions_drawn"] == 0
        for a, b in zip(planes, orig):
            assert (a == b).all()


def test_region_covering_more_than_frame_and_tiny_frames(native):
    for fmt in orc.FORMATS:
        for w, h in ((1, 1), (2, 1), (1, 3), (3, 3), (5, 2)):
            planes = orc.random_planes(fmt, w, h, np.random.default_rng(w * 7 + h))
            box = np.array([[-50.5, -40.5, 60.5, 70.5]], np.float32)
            for mode in MODES:
                exp = orc.redact(planes, fmt, w, h, box, mode=mode)
                got = [p.copy() for p in planes]
                native.redact(got, fmt, w, h, box, mode=mode)
                for g, e in zip(got, exp):
                    assert np.abs(g.astype(int) - e.astype(int)).max() <= 1, (fmt, w, h, mode)


def test_bad_input_is_a_clear_error(native):
    img = np.zeros((10, 10, 4), np.uint8)
    box = np.array([[0, 0, 5, 5]], np.float32)
    with pytest.raises(ValueError, match="unknown pixel format"):
        native.redact([img], "YUY2", 10, 10, box)
    with pytest.raises(ValueError, match="mode"):
        native.redact([img], "RGBA", 10, 10, box, mode="smudge")
    with pytest.raises(ValueError, match="shape"):
        native.redact([img], "RGBA", 10, 10, box, shape="star")
    with pytest.raises(ValueError, match="smaller"):
        native.redact([img], "RGBA", 20, 10, box)
    with pytest.raises(ValueError, match="plane"):
        native.redact([img], "I420", 10, 10, box)
    with pytest.raises(ValueError, match="strength"):
        native.redact([img], "RGBA", 10, 10, box, strength=float("nan"))
    with pytest.raises(ValueError, match="margin"):
        native.redact([img], "RGBA", 10, 10, box, margin=-1)
    with pytest.raises(ValueError, match="writable"):
        ro = img.copy()
        ro.setflags(write=False)
        native.redact([ro], "RGBA", 10, 10, box)
    with pytest.raises(ValueError, match="boxes"):
        native.redact([img], "RGBA", 10, 10, np.zeros((2, 3), np.float32))
    # zero-sized frame: fine, nothing to do
    assert native.redact([np.zeros((0, 0, 4), np.uint8)], "RGBA", 0, 0, box)["regions_drawn"] == 0


# ---- shapes ------------------------------------------------------------------------------------------------------


def test_box_ellipse_and_oval_without_landmarks(native):
    assert native.box_ellipse([10, 20, 90, 120], 1.3) == pytest.approx((50, 70, 52, 65, 0))
    assert native.fit_face_oval([10, 20, 90, 120], None, 1.3) == pytest.approx((50, 70, 52, 65, 0))


@pytest.mark.parametrize("roll_deg", [-25, -10, 0, 12, 28])
def test_oval_follows_landmark_roll(native, roll_deg):
    """Landmarks of a face rolled by `roll_deg`: the fitted oval's angle is the eye-line angle, and its
    axis-aligned bounds equal the box (tangent ellipse)."""
    th = math.radians(roll_deg)
    c, s = math.cos(th), math.sin(th)
    cx, cy = 100.0, 120.0
    local = np.array([[-18, -12], [18, -12], [0, 6], [-13, 24], [13, 24]], np.float64)  # upright, y down
    pts = np.stack([cx + c * local[:, 0] - s * local[:, 1], cy + s * local[:, 0] + c * local[:, 1]], 1)
    # box of an upright 70x90 face rotated by th
    a, b = 35.0, 45.0
    hw = math.sqrt(a * a * c * c + b * b * s * s)
    hh = math.sqrt(a * a * s * s + b * b * c * c)
    box = [cx - hw, cy - hh, cx + hw, cy + hh]
    e = native.fit_face_oval(box, pts.astype(np.float32), 1.0)
    o = orc.fit_face_oval(box, pts, 1.0)
    assert e == pytest.approx(o, rel=1e-4, abs=1e-3)
    assert e[4] == pytest.approx(th, abs=1e-4)
    assert e[2] == pytest.approx(a, rel=2e-3) and e[3] == pytest.approx(b, rel=2e-3)


def test_oval_rejects_implausible_landmarks(native):
    box = [0, 0, 100, 100]
    far = np.array([[500, 500], [510, 500], [505, 510], [500, 520], [510, 520]], np.float32)
    assert native.fit_face_oval(box, far, 1.0) == pytest.approx(native.box_ellipse(box, 1.0))
    nan = np.full((5, 2), np.nan, np.float32)
    assert native.fit_face_oval(box, nan, 1.0) == pytest.approx(native.box_ellipse(box, 1.0))


def test_ellipse_alpha_profile(native):
    e = (50.0, 50.0, 20.0, 10.0, 0.3)
    xs = np.linspace(0, 100, 301, dtype=np.float32)
    X, Y = np.meshgrid(xs, xs)
    got = native.ellipse_alpha(list(e), X, Y, 4.0)
    exp = orc.ellipse_alpha(e, X.astype(np.float64), Y.astype(np.float64), 4.0)
    assert np.abs(got - exp).max() < 1e-4
    assert native.ellipse_alpha(list(e), np.float32([50]), np.float32([50]), 4.0)[0] == 1.0
    # on the boundary along the major axis: exactly half
    pt = (50 + 20 * math.cos(0.3), 50 + 20 * math.sin(0.3))
    assert native.ellipse_alpha(list(e), np.float32([pt[0]]), np.float32([pt[1]]), 4.0)[0] == pytest.approx(0.5, abs=1e-3)


def test_rasterize_face_oval(native):
    lm = LMS[1]
    m = native.rasterize_face_oval(list(BOXES[1]), lm, 16, 12)
    assert m.shape == (12, 16) and m.dtype == np.float32
    assert 0 <= m.min() and m.max() <= 1
    x1, y1, x2, y2 = (float(v) for v in BOXES[1])
    cw, ch = (x2 - x1) / 16, (y2 - y1) / 12
    X, Y = np.meshgrid(x1 + (np.arange(16) + 0.5) * cw, y1 + (np.arange(12) + 0.5) * ch)
    exp = orc.ellipse_alpha(orc.fit_face_oval([x1, y1, x2, y2], lm, 1.0), X, Y, max(cw, ch))
    assert np.abs(m - exp).max() < 1e-3
    assert m[6, 8] == 1.0 and m[0, 0] == 0.0


def test_hold_tracker(native):
    h = native.HoldTracker(2)
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[50, 50, 60, 60]], np.float32)
    assert len(h.update(a)) == 1
    assert len(h.update(np.zeros((0, 4), np.float32))) == 1   # held 1
    assert len(h.update(np.zeros((0, 4), np.float32))) == 1   # held 2
    assert len(h.update(np.zeros((0, 4), np.float32))) == 0   # expired
    h.update(a)
    out = h.update(np.array([[1, 1, 11, 11]], np.float32))   # moved slightly: covered, not duplicated
    assert len(out) == 1
    out = h.update(b)
    assert len(out) == 2                                      # the vanished face is still held
    assert len(native.HoldTracker(0).update(a)) == 1


# ---- randomised: any box, any format, any mode --------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_coord = st.floats(min_value=-80, max_value=120, allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(orc.FORMATS), mode=st.sampled_from(MODES), shape=st.sampled_from(SHAPES),
       w=st.integers(1, 41), h=st.integers(1, 37),
       boxes=st.lists(st.tuples(_coord, _coord, _coord, _coord), min_size=0, max_size=3),
       strength=st.sampled_from([0.0, 0.3, 1.0, 4.0]), margin=st.sampled_from([0.0, 0.5, 1.3, 3.0]),
       feather=st.sampled_from([0.0, 0.1, 0.6]), seed=st.integers(0, 2**16))
def test_random_regions_match_oracle(native, fmt, mode, shape, w, h, boxes, strength, margin, feather, seed):
    planes = orc.random_planes(fmt, w, h, np.random.default_rng(seed))
    b = np.array(boxes, np.float32).reshape(-1, 4)
    # half of the boxes as given (often degenerate), half made proper
    proper = b.copy()
    proper[:, 2:] = np.maximum(b[:, 2:], b[:, :2] + 0.75)
    b = np.where((np.arange(len(b)) % 2 == 0)[:, None], b, proper)
    exp = orc.redact(planes, fmt, w, h, b, mode=mode, shape=shape, strength=strength, margin=margin,
                     feather=feather)
    got = [p.copy() for p in planes]
    native.redact(got, fmt, w, h, b, mode=mode, shape=shape, strength=strength, margin=margin, feather=feather)
    for g, e in zip(got, exp):
        assert np.abs(g.astype(int) - e.astype(int)).max() <= 1
