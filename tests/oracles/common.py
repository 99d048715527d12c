"""Shared post-processing of the oracles: clamp, drop empty/non-finite, sort by score, top-k."""

from __future__ import annotations

import numpy as np


def finalize(boxes, scores, lms, net_w, net_h, top_k=300):
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scores = np.asarray(scores, np.float64).reshape(-1)
    k = lms.shape[1] if lms is not None and np.ndim(lms) == 3 else 0
    lms = np.zeros((len(scores), k, 2)) if k == 0 else np.asarray(lms, np.float64)
    ok = np.isfinite(boxes).all(1) & np.isfinite(scores) & np.isfinite(lms.reshape(len(scores), k * 2)).all(1)
    boxes, scores, lms = boxes[ok], scores[ok], lms[ok]
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, net_w)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, net_h)
    ne = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes, scores, lms = boxes[ne], scores[ne], lms[ne]
    order = np.argsort(-scores, kind="stable")
    if top_k and top_k > 0:
        order = order[:top_k]
    return boxes[order], scores[order], lms[order]


F32_MAX = float(np.finfo(np.float32).max)


def f32_finite(*vals) -> bool:
    """True when every value is finite *as a float32* (the decoders compute and output float32)."""
    v = np.asarray(vals, np.float64)
    return bool(np.all(np.isfinite(v) & (np.abs(v) <= F32_MAX)))


def sigmoid(x):
    x = np.asarray(x, np.float64)
    return 1.0 / (1.0 + np.exp(-x))


def nms(boxes, scores, iou_thr, top_k=0):
    """Greedy NMS, IoU > iou_thr suppresses; returns kept indices by score desc."""
    boxes = np.asarray(boxes, np.float64)
    order = [i for i in np.argsort(-np.asarray(scores, np.float64), kind="stable") if not np.isnan(scores[i])]
    keep = []
    for i in order:
        if top_k and len(keep) >= top_k:
            break
        ok = True
        for j in keep:
            if iou(boxes[i], boxes[j]) > iou_thr:
                ok = False
                break
        if ok:
            keep.append(i)
    return np.array(keep, np.int64)


def iou(a, b):
    aw, ah, bw, bh = a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1]
    if not (aw > 0 and ah > 0 and bw > 0 and bh > 0):
        return 0.0
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)
