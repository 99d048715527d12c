"""YuNet oracle, face-models.md §2.7."""

from __future__ import annotations

import math

import numpy as np

from .common import finalize


def decode(levels, net_w, net_h, thr, top_k=300):
    """levels: list of (stride, cls [K,1], obj [K,1], bbox [K,4], kps [K,10]) for strides 8, 16, 32."""
    boxes, scores, lms = [], [], []
    for s, cls, obj, bb, kp in levels:
        gw = math.ceil(net_w / s)
        gh = math.ceil(net_h / s)
        cls = np.asarray(cls, np.float64).reshape(-1)
        obj = np.asarray(obj, np.float64).reshape(-1)
        score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
        keep = np.nonzero(score >= thr)[0]
        r, c = keep // gw, keep % gw
        b = np.asarray(bb, np.float64).reshape(-1, 4)[keep]
        with np.errstate(over="ignore", invalid="ignore"):
            cx, cy = (c + b[:, 0]) * s, (r + b[:, 1]) * s
            w, h = np.exp(b[:, 2]) * s, np.exp(b[:, 3]) * s
        boxes.append(np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1))
        k = np.asarray(kp, np.float64).reshape(-1, 5, 2)[keep]
        lms.append(np.stack([(k[..., 0] + c[:, None]) * s, (k[..., 1] + r[:, None]) * s], -1))
        scores.append(score[keep])
        assert gh * gw == len(cls)
    return finalize(np.concatenate(boxes), np.concatenate(scores), np.concatenate(lms), net_w, net_h, top_k)
