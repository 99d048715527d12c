"""Independent numpy oracle of the redaction look, written from the formulas in csrc/core/redact.hpp,
csrc/core/shapes.hpp and csrc/core/formats.hpp (docs/redaction.md). Plain float64 / integer numpy; never calls
the C++ code.

Frames are handled as a list of planes: packed RGB formats one (h, w, bytes_per_pixel) array, I420/YV12 three
(h, w) arrays, NV12/NV21 a (h, w) luma and a (h/2, w/2, 2) chroma array, GRAY8 one (h, w) array.
"""

from __future__ import annotations

import math

import numpy as np

# format -> list of planes: (channel byte offsets, components, subsampling)
RGB4 = {"RGBA": (0, 1, 2), "BGRA": (2, 1, 0), "RGBx": (0, 1, 2), "BGRx": (2, 1, 0),
        "ARGB": (1, 2, 3), "ABGR": (3, 2, 1), "xRGB": (1, 2, 3), "xBGR": (3, 2, 1)}
RGB3 = {"RGB": (0, 1, 2), "BGR": (2, 1, 0)}
FORMATS = list(RGB4) + list(RGB3) + ["I420", "YV12", "NV12", "NV21", "GRAY8"]


def layout(fmt):
    """[(pixel_stride, offsets, comps, sub)] per plane."""
    if fmt in RGB4:
        return [(4, RGB4[fmt], "RGB", 1)]
    if fmt in RGB3:
        return [(3, RGB3[fmt], "RGB", 1)]
    if fmt == "I420":
        return [(1, (0,), "Y", 1), (1, (0,), "U", 2), (1, (0,), "V", 2)]
    if fmt == "YV12":
        return [(1, (0,), "Y", 1), (1, (0,), "V", 2), (1, (0,), "U", 2)]
    if fmt == "NV12":
        return [(1, (0,), "Y", 1), (2, (0, 1), "UV", 2)]
    if fmt == "NV21":
        return [(1, (0,), "Y", 1), (2, (0, 1), "VU", 2)]
    if fmt == "GRAY8":
        return [(1, (0,), "G", 1)]
    raise ValueError(fmt)


def plane_shapes(fmt, w, h):
    out = []
    for ps, _, _, sub in layout(fmt):
        pw, ph = -(-w // sub), -(-h // sub)
        out.append((ph, pw) if ps == 1 else (ph, pw, ps))
    return out


def random_planes(fmt, w, h, rng):
    return [rng.integers(0, 256, size=s, dtype=np.uint8) for s in plane_shapes(fmt, w, h)]


def to_rgb_planes(rgb, fmt):
    """An RGB uint8 image -> planes of fmt (BT.601 limited range for YUV, integer formulas of formats.hpp; chroma of
    the top-left pixel of each 2x2 block). Used only to make realistic test content."""
    h, w, _ = rgb.shape
    R, G, B = (rgb[..., i].astype(np.int64) for i in range(3))
    if fmt in RGB4 or fmt in RGB3:
        ps = 4 if fmt in RGB4 else 3
        offs = (RGB4 if fmt in RGB4 else RGB3)[fmt]
        p = np.full((h, w, ps), 255, np.uint8)
        for c, o in enumerate(offs):
            p[..., o] = rgb[..., c]
        return [p]
    Y = ((66 * R + 129 * G + 25 * B + 128) >> 8) + 16
    U = ((-38 * R - 74 * G + 112 * B + 128) >> 8) + 128
    V = ((112 * R - 94 * G - 18 * B + 128) >> 8) + 128
    if fmt == "GRAY8":
        return [(((77 * R + 150 * G + 29 * B + 128) >> 8)).clip(0, 255).astype(np.uint8)]
    Y, U, V = (np.clip(a, 0, 255).astype(np.uint8) for a in (Y, U, V))
    u, v = U[::2, ::2], V[::2, ::2]
    if fmt == "I420":
        return [Y, u.copy(), v.copy()]
    if fmt == "YV12":
        return [Y, v.copy(), u.copy()]
    if fmt == "NV12":
        return [Y, np.stack([u, v], -1)]
    if fmt == "NV21":
        return [Y, np.stack([v, u], -1)]
    raise ValueError(fmt)


def fill_value(fmt, comp, rgb):
    R, G, B = (int(c) for c in rgb)
    if comp == "R":
        return R
    if comp == "G" and fmt != "GRAY8":
        return G
    if comp == "B":
        return B
    if fmt == "GRAY8":
        return min(255, (77 * R + 150 * G + 29 * B + 128) >> 8)
    if comp == "Y":
        return min(255, max(0, ((66 * R + 129 * G + 25 * B + 128) >> 8) + 16))
    if comp == "U":
        return min(255, max(0, ((-38 * R - 74 * G + 112 * B + 128) >> 8) + 128))
    if comp == "V":
        return min(255, max(0, ((112 * R - 94 * G - 18 * B + 128) >> 8) + 128))
    raise ValueError(comp)


# ----------------------------------------------------------------------------------------------------------------------
# shapes


def box_ellipse(box, margin):
    x1, y1, x2, y2 = box
    return ((x1 + x2) / 2, (y1 + y2) / 2, margin * (x2 - x1) / 2, margin * (y2 - y1) / 2, 0.0)


def fit_face_oval(box, lms, margin):
    """shapes.hpp fit_face_oval, in float64."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx0, cy0 = (x1 + x2) / 2, (y1 + y2) / 2
    A, B = w / 2, h / 2
    if lms is None or len(lms) < 5 or len(lms) > 6:
        return box_ellipse(box, margin)
    lms = np.asarray(lms, np.float64)
    used = [0, 1, 3, 4] if len(lms) == 5 else [0, 1, 2]
    for i in used:
        x, y = lms[i]
        if not (x1 - w / 4 <= x <= x2 + w / 4 and y1 - h / 4 <= y <= y2 + h / 4):
            return box_ellipse(box, margin)
    ex, ey = lms[1] - lms[0]
    th = 0.0
    if math.hypot(ex, ey) >= 1e-3 * max(w, h):
        th = math.atan2(ey, ex)
        if th > math.pi / 2:
            th -= math.pi
        if th <= -math.pi / 2:
            th += math.pi
        th = min(max(th, -math.pi / 3), math.pi / 3)
    C, S = math.cos(th) ** 2, math.sin(th) ** 2
    rx = ry = max(A, B)
    ang = 0.0
    if C - S >= 0.25:
        rx2 = (A * A * C - B * B * S) / (C - S)
        ry2 = (B * B * C - A * A * S) / (C - S)
        fl = (0.25 * min(A, B)) ** 2
        if rx2 > fl and ry2 > fl:
            rx, ry, ang = math.sqrt(rx2), math.sqrt(ry2), th
    E = (lms[0] + lms[1]) / 2
    if len(lms) == 5:
        c = E + 0.31 * ((lms[3] + lms[4]) / 2 - E)
    else:
        c = E + 0.67 * (lms[2] - E)
    dcx = min(max(0.5 * (c[0] - cx0), -0.15 * w), 0.15 * w)
    dcy = min(max(0.5 * (c[1] - cy0), -0.15 * h), 0.15 * h)
    return (cx0 + dcx, cy0 + dcy, rx * margin, ry * margin, ang)


def ellipse_alpha(e, px, py, feather):
    cx, cy, rx, ry, a = e
    dx, dy = px - cx, py - cy
    c, s = math.cos(a), math.sin(a)
    u = c * dx + s * dy
    v = -s * dx + c * dy
    q2 = (u / rx) ** 2 + (v / ry) ** 2
    if feather <= 0:
        return (q2 <= 1).astype(np.float64)
    q = np.sqrt(q2)
    g = np.sqrt((u / rx ** 2) ** 2 + (v / ry ** 2) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.where(g > 0, (q2 - q) / np.where(g > 0, g, 1), -min(rx, ry))
    return np.clip(0.5 - sd / feather, 0, 1)


def box_alpha(cx, cy, hw, hh, px, py, feather):
    sd = np.maximum(np.abs(px - cx) - hw, np.abs(py - cy) - hh)
    if feather <= 0:
        return (sd <= 0).astype(np.float64)
    return np.clip(0.5 - sd / feather, 0, 1)


# ----------------------------------------------------------------------------------------------------------------------
# pixel passes


def box_radius(sigma):
    r = math.floor((math.sqrt(1 + 4 * sigma * sigma) - 1) / 2 + 0.5)
    return int(min(max(r, 1), 1023))


def box_pass(a, r, axis):
    """One (2r+1) box pass with clamp-to-edge along axis; integers in, integers out (floor((sum + r) / d))."""
    d = 2 * r + 1
    pad = [(0, 0)] * a.ndim
    pad[axis] = (r + 1, r)
    p = np.pad(a.astype(np.int64), pad, mode="edge")
    c = np.cumsum(p, axis=axis)
    n = a.shape[axis]
    hi = np.take(c, np.arange(d, d + n), axis=axis)
    lo = np.take(c, np.arange(0, n), axis=axis)
    return (hi - lo + r) // d


def blur_block(block, rx, ry):
    """block: (h, w, nc) ints -> 3 horizontal then 3 vertical passes."""
    b = block
    for _ in range(3):
        b = box_pass(b, rx, 1)
    for _ in range(3):
        b = box_pass(b, ry, 0)
    return b


MAX_BLUR_FACTOR = 64


def blur_factor(s):
    """Decimation factor of one direction for a per-plane sigma s: the largest power of two <= s / 4, in [1, 64]."""
    if not s >= 8:
        return 1
    f = 1
    while f < MAX_BLUR_FACTOR and 2 * f <= s / 4:
        f *= 2
    return f


def decimate(block, fx, fy):
    """Spec step 1: (h, w, nc) ints -> (ceil(h/fy), ceil(w/fx), nc) rounded cell means (last row / column repeated)."""
    h, w = block.shape[:2]
    nx, ny = -(-w // fx), -(-h // fy)
    ys = np.minimum(np.arange(ny * fy), h - 1)
    xs = np.minimum(np.arange(nx * fx), w - 1)
    p = block[ys][:, xs].astype(np.int64)
    sums = p.reshape(ny, fy, nx, fx, -1).sum(axis=(1, 3))
    return (sums + fx * fy // 2) // (fx * fy)


def upsample_taps(n_out, f, n_cells):
    """Spec step 3 for one axis: (i0, i1, w) per output index (w = weight of i1 out of 2f)."""
    m = 2 * np.arange(n_out) + 1 - f
    j0 = np.floor_divide(m, 2 * f)
    w = m - 2 * f * j0
    return np.clip(j0, 0, n_cells - 1), np.clip(j0 + 1, 0, n_cells - 1), w


def upsample(grid, fx, fy, w, h):
    """Spec step 3: exact-integer bilinear upsampling of (ny, nx, nc) cells to (h, w, nc)."""
    ny, nx = grid.shape[:2]
    j0, j1, wx = upsample_taps(w, fx, nx)
    i0, i1, wy = upsample_taps(h, fy, ny)
    g = grid.astype(np.int64)
    wx, wy = wx[None, :, None], wy[:, None, None]
    top = g[i0][:, j0] * (2 * fx - wx) + g[i0][:, j1] * wx
    bot = g[i1][:, j0] * (2 * fx - wx) + g[i1][:, j1] * wx
    return (top * (2 * fy - wy) + bot * wy + 2 * fx * fy) // (4 * fx * fy)


def blur_plane_block(block, sigma, sub_x, sub_y):
    """The blur of one plane rect (h, w, nc) for a luma sigma: per direction s = sigma / sub, f = blur_factor(s),
    r = box_radius(s / f); decimate, 3 + 3 box passes on the grid, bilinear upsampling."""
    sxs, sys_ = sigma / sub_x, sigma / sub_y
    fx, fy = blur_factor(sxs), blur_factor(sys_)
    rx, ry = box_radius(sxs / fx), box_radius(sys_ / fy)
    h, w = block.shape[:2]
    return upsample(blur_block(decimate(block, fx, fy), rx, ry), fx, fy, w, h)


def pixelate_block(block, cw, ch):
    out = np.empty_like(block)
    h, w = block.shape[:2]
    for y0 in range(0, h, ch):
        for x0 in range(0, w, cw):
            cell = block[y0:y0 + ch, x0:x0 + cw].astype(np.int64)
            n = cell.shape[0] * cell.shape[1]
            out[y0:y0 + ch, x0:x0 + cw] = (cell.sum(axis=(0, 1)) + n // 2) // n
    return out


def redact(planes, fmt, width, height, boxes, landmarks=None, masks=None, mode="blur", shape="oval", strength=1.0,
           margin=1.3, feather=0.1, fill=(0, 0, 0), mask_threshold=0.5):
    """Return new planes with every region redacted (in order)."""
    planes = [p.copy() for p in planes]
    for i, box in enumerate(boxes):
        box = [float(v) for v in box]
        x1, y1, x2, y2 = box
        if not all(math.isfinite(v) for v in box) or not (x2 > x1 and y2 > y1) or margin <= 0:
            continue
        w, h = x2 - x1, y2 - y1
        S = max(w, h)
        fpx = feather * S
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        mask = None if masks is None else masks[i]
        if mask is not None:
            hw, hh = margin * w / 2, margin * h / 2
            bounds = (cx - hw, cy - hh, cx + hw, cy + hh)

            def alpha_fn(px, py, hw=hw, hh=hh, mask=np.asarray(mask, np.float64)):
                mh, mw = mask.shape
                fj = (px - (cx - hw)) / (2 * hw) * mw
                fi = (py - (cy - hh)) / (2 * hh) * mh
                j, ii = np.floor(fj).astype(int), np.floor(fi).astype(int)
                ok = (fj >= 0) & (fi >= 0) & (j < mw) & (ii < mh)
                v = mask[np.clip(ii, 0, mh - 1), np.clip(j, 0, mw - 1)]
                return np.where(ok & (v > mask_threshold), 1.0, 0.0)
        elif shape == "box":
            hw, hh = margin * w / 2, margin * h / 2
            g = fpx / 2
            bounds = (cx - hw - g, cy - hh - g, cx + hw + g, cy + hh + g)

            def alpha_fn(px, py, hw=hw, hh=hh):
                return box_alpha(cx, cy, hw, hh, px, py, fpx)
        else:
            lm = None if landmarks is None else landmarks[i]
            e = box_ellipse(box, margin) if shape == "ellipse" else fit_face_oval(box, lm, margin)
            ecx, ecy, rx, ry, ang = e
            if rx < 1e-3 or ry < 1e-3:  # shapes.hpp: semi-axes below 1e-3 px make the ellipse empty
                continue
            c, s = math.cos(ang), math.sin(ang)
            hw = math.sqrt(rx * rx * c * c + ry * ry * s * s) + fpx / 2
            hh = math.sqrt(rx * rx * s * s + ry * ry * c * c) + fpx / 2
            bounds = (ecx - hw, ecy - hh, ecx + hw, ecy + hh)

            def alpha_fn(px, py, e=e):
                return ellipse_alpha(e, px, py, fpx)

        bx0, by0 = math.floor(bounds[0]), math.floor(bounds[1])
        bx1, by1 = math.ceil(bounds[2]), math.ceil(bounds[3])
        X0 = max(0, bx0 - (bx0 % 2))
        Y0 = max(0, by0 - (by0 % 2))
        X1 = min(width, bx1 + (bx1 % 2))
        Y1 = min(height, by1 + (by1 % 2))
        if X1 <= X0 or Y1 <= Y0:
            continue
        # RegionPlan::sigma is a float: round like it, so that the power-of-two and radius thresholds of the blur
        # are taken on the same value
        S32 = max(np.float32(x2) - np.float32(x1), np.float32(y2) - np.float32(y1))
        sigma = float(np.float32(np.float32(strength) * np.float32(0.15)) * S32)
        cell = 2 * max(1, math.floor(strength * S / 12 + 0.5))
        for p, (ps, offs, comps, sub) in enumerate(layout(fmt)):
            pl = planes[p]
            ph, pw = pl.shape[:2]
            px0, py0 = X0 // sub, Y0 // sub
            px1, py1 = min(pw, -(-X1 // sub)), min(ph, -(-Y1 // sub))
            if px1 <= px0 or py1 <= py0:
                continue
            xs = (np.arange(px0, px1) + 0.5) * sub
            ys = (np.arange(py0, py1) + 0.5) * sub
            PX, PY = np.meshgrid(xs, ys)
            al = alpha_fn(PX, PY)
            a8 = np.floor(al * 255 + 0.5).astype(np.int64)
            view = pl[py0:py1, px0:px1]
            if view.ndim == 2:
                view = view[..., None]
            chans = [ch for ch in offs]
            src = view[..., chans].astype(np.int64)
            if mode == "fill":
                comp_names = list(comps) if comps not in ("Y", "G", "U", "V") else [comps]
                if fmt == "GRAY8":
                    comp_names = ["Y"]
                red = np.empty_like(src)
                for k, cn in enumerate(comp_names):
                    red[..., k] = fill_value(fmt, cn, fill)
            elif mode == "blur":
                red = blur_plane_block(src, sigma, sub, sub)
            else:
                cs = max(1, cell // sub)
                red = pixelate_block(src, cs, cs)
            out = (src * (255 - a8[..., None]) + red * a8[..., None] + 127) // 255
            res = view.copy()
            res[..., chans] = out.astype(np.uint8)
            if pl.ndim == 2:
                pl[py0:py1, px0:px1] = res[..., 0]
            else:
                pl[py0:py1, px0:px1] = res
    return planes
