"""YOLOv5-Face / YOLOv8-Face oracles on decoded exports, face-models.md §2.3, §2.5, §5.1 (DeepStream-Yolo-Face)."""

from __future__ import annotations

import numpy as np

from .common import finalize


def _boxes(cxcywh):
    c = np.asarray(cxcywh, np.float64)
    return np.concatenate([c[:, :2] - c[:, 2:] / 2, c[:, :2] + c[:, 2:] / 2], 1)


def decode_v5_rows(rows, net_w, net_h, thr, top_k=300):
    """[N,16]: cx, cy, w, h, obj, 5 x (x, y), cls; score = obj * cls."""
    t = np.asarray(rows, np.float64)
    score = t[:, 4] * t[:, 15]
    keep = np.nonzero(score >= thr)[0]
    t = t[keep]
    return finalize(_boxes(t[:, :4]), score[keep], t[:, 5:15].reshape(-1, 5, 2), net_w, net_h, top_k)


def decode_v8_rows(rows, net_w, net_h, thr, top_k=300):
    """[N,20]: cx, cy, w, h, score, 5 x (x, y, vis). Pass channel-major [20,N] exports transposed."""
    t = np.asarray(rows, np.float64)
    keep = np.nonzero(t[:, 4] >= thr)[0]
    t = t[keep]
    return finalize(_boxes(t[:, :4]), t[:, 4], t[:, 5:20].reshape(-1, 5, 3)[..., :2], net_w, net_h, top_k)


def decode_split(boxes, scores, landmarks, net_w, net_h, thr, top_k=300):
    """boxes [N,4] cx,cy,w,h; scores [N,1]; landmarks [N,10] (x,y) or [N,15] (x,y,vis)."""
    s = np.asarray(scores, np.float64).reshape(-1)
    lm = np.asarray(landmarks, np.float64)
    per = 3 if lm.shape[1] == 15 else 2
    keep = np.nonzero(s >= thr)[0]
    return finalize(_boxes(np.asarray(boxes)[keep]), s[keep], lm[keep].reshape(-1, 5, per)[..., :2], net_w, net_h,
                    top_k)
