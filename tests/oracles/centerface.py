"""CenterFace oracle, face-models.md §2.6: stride 4, scale ch0 = height, offset ch0 = y, landmarks (y, x)."""

from __future__ import annotations

import numpy as np

from .common import f32_finite, finalize


def decode(heatmap, scale, offset, landmarks, net_w, net_h, thr, top_k=300):
    """Maps as [C, H/4, W/4] (batch removed)."""
    hm = np.asarray(heatmap, np.float64)[0]
    sc = np.asarray(scale, np.float64)
    of = np.asarray(offset, np.float64)
    lm = np.asarray(landmarks, np.float64)
    rows, cols = np.nonzero(hm >= thr)  # row-major scan order
    boxes, scores, lms = [], [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for r, c in zip(rows, cols):
            sh, sw = 4 * np.exp(sc[0, r, c]), 4 * np.exp(sc[1, r, c])
            cx = (c + of[1, r, c] + 0.5) * 4
            cy = (r + of[0, r, c] + 0.5) * 4
            x1, y1 = cx - sw / 2, cy - sh / 2
            if not f32_finite(x1, y1, sw, sh, hm[r, c]):
                continue
            x1 = min(max(0.0, x1), net_w)
            y1 = min(max(0.0, y1), net_h)
            x2, y2 = min(x1 + sw, net_w), min(y1 + sh, net_h)
            pts = [(x1 + sw * lm[2 * i + 1, r, c], y1 + sh * lm[2 * i, r, c]) for i in range(5)]
            boxes.append([x1, y1, x2, y2])
            scores.append(hm[r, c])
            lms.append(pts)
    return finalize(boxes, scores, np.array(lms).reshape(-1, 5, 2), net_w, net_h, top_k)
