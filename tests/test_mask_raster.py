"""rasterize_face_oval (the instance mask of the nvinfer ...Mask parse functions) is defined cell by cell in
shapes.hpp: cell (i, j) = ellipse_alpha(fit_face_oval(d, 1), x1 + (j + 0.5) cw, y1 + (i + 0.5) ch, max(cw, ch)).
The implementation only evaluates the cells near the boundary and fills the rest with 0 / 1, so it is checked here
against that definition evaluated per cell through the ellipse_alpha binding (same float32 sample positions, built
with numpy's IEEE float32 arithmetic) on thousands of random detections, and against the float64 numpy oracle."""

from __future__ import annotations

import numpy as np

from oracles import redact as orc


def _random_detection(rng, k):
    kind = k % 6
    scale = {0: 1e5 * rng.random(), 1: 1e-2}.get(kind, 640.0)
    x1, y1 = (rng.random(2) * 2 - 0.5) * scale
    w = 10 ** (rng.random() * 4 - 1.5)
    h = w * (10 ** (rng.random() * 6 - 3) if kind == 2 else 2 ** (rng.random() * 3 - 1.5))
    box = np.float32([x1, y1, x1 + w, y1 + h])
    n_lm = (0, 5, 6)[k % 3]
    lms = None
    if n_lm:
        bw, bh = float(box[2] - box[0]), float(box[3] - box[1])
        lms = np.stack([box[0] + bw * (rng.random(n_lm) * 1.4 - 0.2),
                        box[1] + bh * (rng.random(n_lm) * 1.4 - 0.2)], axis=1)
        if rng.random() < 0.6:  # plausible eyes with a roll
            roll = (rng.random() - 0.5) * 2.5
            cx, cy, r = box[0] + 0.5 * bw, box[1] + 0.4 * bh, 0.2 * bw
            lms[0] = (cx - r * np.cos(roll), cy - r * np.sin(roll))
            lms[1] = (cx + r * np.cos(roll), cy + r * np.sin(roll))
        lms = lms.astype(np.float32)
    if k % 4 == 1:
        mw, mh = (int(v) for v in rng.integers(1, 80, 2))
    elif k % 97 == 3:
        mw, mh = (int(v) for v in rng.integers(100, 300, 2))
    else:
        mw, mh = 32, 32
    return box, lms, mw, mh


def _per_cell(native, box, lms, mw, mh):
    """The per-cell definition, sample positions in float32 exactly as the C++ computes them."""
    f = np.float32
    x1, y1, x2, y2 = (f(v) for v in box)
    cw, ch = f(x2 - x1) / f(mw), f(y2 - y1) / f(mh)
    xs = x1 + (np.arange(mw, dtype=f) + f(0.5)) * cw
    ys = y1 + (np.arange(mh, dtype=f) + f(0.5)) * ch
    X, Y = np.meshgrid(xs, ys)
    e = native.fit_face_oval([float(v) for v in box], lms, 1.0)
    return native.ellipse_alpha(list(e), X, Y, float(max(cw, ch))), e


def test_rasterize_face_oval_equals_per_cell_definition(native):
    rng = np.random.default_rng(20261122)
    max_diff, cells, ramp = 0.0, 0, 0
    for k in range(4000):
        box, lms, mw, mh = _random_detection(rng, k)
        got = native.rasterize_face_oval([float(v) for v in box], lms, mw, mh)
        exp, _ = _per_cell(native, box, lms, mw, mh)
        assert got.shape == (mh, mw)
        max_diff = max(max_diff, float(np.abs(got.astype(np.float64) - exp).max()))
        cells += got.size
        ramp += int(((exp > 0) & (exp < 1)).sum())
    print(f"rasterize_face_oval vs per-cell ellipse_alpha: 4000 detections, {cells} cells ({ramp} on the ramp), "
          f"max abs diff {max_diff:g}")
    assert ramp > 10000  # the comparison exercised the feathered band, not only 0 / 1 cells
    assert max_diff <= 1e-6


def test_rasterize_face_oval_against_float64_oracle(native):
    rng = np.random.default_rng(7)
    for k in range(200):
        mw, mh = (32, 32) if k % 2 else (int(v) for v in rng.integers(1, 64, 2))
        box = np.float32([100.25, 80.5, 100.25 + 20 + 90 * rng.random(), 80.5 + 20 + 120 * rng.random()])
        x1, y1, x2, y2 = (float(v) for v in box)
        got = native.rasterize_face_oval([x1, y1, x2, y2], None, mw, mh)
        cw, ch = (x2 - x1) / mw, (y2 - y1) / mh
        X, Y = np.meshgrid(x1 + (np.arange(mw) + 0.5) * cw, y1 + (np.arange(mh) + 0.5) * ch)
        exp = orc.ellipse_alpha(orc.fit_face_oval([x1, y1, x2, y2], None, 1.0), X, Y, max(cw, ch))
        assert np.abs(got - exp).max() < 1e-3


def test_rasterize_face_oval_degenerate(native):
    for box in ([5, 5, 5, 9], [5, 5, 4, 9], [float("nan"), 0, 4, 4], [0, 0, float("inf"), 4]):
        m = native.rasterize_face_oval(box, None, 8, 8)
        assert m.shape == (8, 8) and not m.any()
    # one cell: the box centre is inside the oval
    assert native.rasterize_face_oval([0, 0, 10, 10], None, 1, 1)[0, 0] == 1.0
