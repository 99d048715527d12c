"""RetinaFace oracle, face-models.md §2.1: priors 8/16/32 x {16,32},{64,128},{256,512}, variances 0.1/0.2."""

from __future__ import annotations

import math

import numpy as np

from .common import finalize

STEPS = (8, 16, 32)
SIZES = ((16, 32), (64, 128), (256, 512))


def priors(net_w, net_h):
    """[N,4] (cx, cy, w, h) normalised, ordered level -> row -> column -> anchor size."""
    out = []
    for s, sizes in zip(STEPS, SIZES):
        for r in range(math.ceil(net_h / s)):
            for c in range(math.ceil(net_w / s)):
                for m in sizes:
                    out.append(((c + 0.5) * s / net_w, (r + 0.5) * s / net_h, m / net_w, m / net_h))
    return np.array(out, np.float64)


def decode(loc, conf, landms, net_w, net_h, thr, probs=True, top_k=300):
    loc, conf, landms = (np.asarray(a, np.float64) for a in (loc, conf, landms))
    p = priors(net_w, net_h)
    if probs:
        score = conf[:, 1]
    else:
        e = np.exp(conf - conf.max(1, keepdims=True))
        score = e[:, 1] / e.sum(1)
    keep = np.nonzero(score >= thr)[0]
    p, l, lm, sc = p[keep], loc[keep], landms[keep], score[keep]
    with np.errstate(over="ignore", invalid="ignore"):
        cxy = p[:, :2] + l[:, :2] * 0.1 * p[:, 2:]
        wh = p[:, 2:] * np.exp(l[:, 2:] * 0.2)
        boxes = np.concatenate([cxy - wh / 2, cxy + wh / 2], 1) * [net_w, net_h, net_w, net_h]
        pts = p[:, None, :2] + lm.reshape(-1, 5, 2) * 0.1 * p[:, None, 2:]
        pts = pts * [net_w, net_h]
    return finalize(boxes, sc, pts, net_w, net_h, top_k)
