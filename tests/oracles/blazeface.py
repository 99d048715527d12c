"""BlazeFace oracle, face-models.md §2.10: SSD anchors, short range 896 / full range 2304."""

from __future__ import annotations

import numpy as np

from .common import finalize


def anchors(full: bool):
    """[N,2] anchor centres (normalised), cell-major: row, column, then the anchors of that cell."""
    layers = [(48, 1)] if full else [(16, 2), (8, 6)]
    out = []
    for grid, per in layers:
        for r in range(grid):
            for c in range(grid):
                out.extend([((c + 0.5) / grid, (r + 0.5) / grid)] * per)
    return np.array(out, np.float64)


def decode(regressors, classificators, net_w, net_h, thr, full=None, top_k=300):
    reg = np.asarray(regressors, np.float64)
    raw = np.asarray(classificators, np.float64).reshape(-1)
    if full is None:
        full = len(raw) == 2304
    S = 192.0 if full else 128.0
    a = anchors(full)
    assert len(a) == len(raw)
    score = 1.0 / (1.0 + np.exp(-np.clip(raw, -100, 100)))
    keep = np.nonzero(score >= thr)[0]
    reg, a, score = reg[keep], a[keep], score[keep]
    cxy = reg[:, :2] / S + a
    wh = reg[:, 2:4] / S
    boxes = np.concatenate([cxy - wh / 2, cxy + wh / 2], 1) * [net_w, net_h, net_w, net_h]
    pts = (reg[:, 4:16].reshape(-1, 6, 2) / S + a[:, None, :]) * [net_w, net_h]
    return finalize(boxes, score, pts, net_w, net_h, top_k)
