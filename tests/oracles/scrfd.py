"""SCRFD oracle, face-models.md §2.2: anchor centres (c s, r s) without half-cell offset, distance decode."""

from __future__ import annotations

import math

import numpy as np

from .common import finalize


def decode(levels, net_w, net_h, thr, anchors=2, top_k=300):
    """levels: list of (stride, score [K*A,1], bbox [K*A,4], kps [K*A,10] or None), in stride order."""
    boxes, scores, lms = [], [], []
    with_kps = all(kp is not None for _, _, _, kp in levels)
    for s, sc, bb, kp in levels:
        sc = np.asarray(sc, np.float64).reshape(-1)
        bb = np.asarray(bb, np.float64).reshape(-1, 4)
        gw = math.ceil(net_w / s)
        gh = math.ceil(net_h / s)
        ys, xs = np.mgrid[:gh, :gw]
        centres = np.stack([xs, ys], -1).reshape(-1, 2).astype(np.float64) * s
        centres = np.repeat(centres, anchors, axis=0)
        keep = np.nonzero(sc >= thr)[0]
        c = centres[keep]
        d = bb[keep] * s
        boxes.append(np.concatenate([c - d[:, :2], c + d[:, 2:]], 1))
        scores.append(sc[keep])
        if with_kps:
            k = np.asarray(kp, np.float64).reshape(-1, 5, 2)[keep] * s
            lms.append(c[:, None, :] + k)
        else:
            lms.append(np.zeros((len(keep), 0, 2)))
    return finalize(np.concatenate(boxes), np.concatenate(scores), np.concatenate(lms), net_w, net_h, top_k)
