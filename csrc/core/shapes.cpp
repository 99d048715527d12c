// Face shapes (formulas documented in shapes.hpp).
#include "core/shapes.hpp"

#include <algorithm>
#include <cmath>

namespace facemask {
namespace {

constexpr float kPi = 3.14159265358979323846f;

bool box_ok(const Detection& d) {
  return std::isfinite(d.x1) && std::isfinite(d.y1) && std::isfinite(d.x2) && std::isfinite(d.y2) && d.x2 > d.x1 &&
         d.y2 > d.y1;
}

Ellipse scaled(Ellipse e, float margin) {
  if (!(margin > 0.f) || !std::isfinite(margin)) {
    e.rx = e.ry = 0.f;
    return e;
  }
  e.rx *= margin;
  e.ry *= margin;
  return e;
}

}  // namespace

Ellipse box_ellipse(const Detection& d, float margin) {
  Ellipse e;
  if (!box_ok(d)) return e;
  e.cx = 0.5f * (d.x1 + d.x2);
  e.cy = 0.5f * (d.y1 + d.y2);
  e.rx = 0.5f * (d.x2 - d.x1);
  e.ry = 0.5f * (d.y2 - d.y1);
  e.angle = 0.f;
  return scaled(e, margin);
}

namespace {

// fit_face_oval, also returning cos and sin of the final angle (*cs, *sn: exactly std::cos / std::sin of it, with
// cos(0) = 1 and sin(0) = 0), so rasterize_face_oval does not compute them twice.
Ellipse fit_face_oval_cs(const Detection& d, float margin, float* cs, float* sn) {
  *cs = 1.f;
  *sn = 0.f;
  if (!box_ok(d)) return Ellipse{};
  Ellipse base = box_ellipse(d, 1.f);
  const int n = d.num_landmarks;
  if (n < 5 || n > kMaxLandmarks) return scaled(base, margin);

  const float w = d.x2 - d.x1, h = d.y2 - d.y1;
  const float gx0 = d.x1 - 0.25f * w, gx1 = d.x2 + 0.25f * w;
  const float gy0 = d.y1 - 0.25f * h, gy1 = d.y2 + 0.25f * h;
  // Landmarks used: eyes 0, 1; 5 points: mouth corners 3, 4; 6 points (BlazeFace): nose 2.
  const int used5[4] = {0, 1, 3, 4};
  const int used6[3] = {0, 1, 2};
  const int* used = n == 5 ? used5 : used6;
  const int nused = n == 5 ? 4 : 3;
  for (int k = 0; k < nused; ++k) {
    const float x = d.lx[used[k]], y = d.ly[used[k]];
    if (!std::isfinite(x) || !std::isfinite(y) || x < gx0 || x > gx1 || y < gy0 || y > gy1) {
      return scaled(base, margin);
    }
  }

  // Roll from the eye line, modulo a half turn, clamped.
  const float ex = d.lx[1] - d.lx[0], ey = d.ly[1] - d.ly[0];
  float theta = 0.f;
  if (std::sqrt(ex * ex + ey * ey) >= 1e-3f * std::max(w, h)) {
    theta = std::atan2(ey, ex);
    if (theta > 0.5f * kPi) theta -= kPi;
    if (theta <= -0.5f * kPi) theta += kPi;
    theta = std::clamp(theta, -kPi / 3.f, kPi / 3.f);
  }

  // Extents: the rolled ellipse tangent to the four sides of the box.
  const float A = 0.5f * w, B = 0.5f * h;
  const float c = std::cos(theta), s = std::sin(theta);
  const float C = c * c, S = s * s;
  const float det = C - S;
  const float floor_sq = (0.25f * std::min(A, B)) * (0.25f * std::min(A, B));
  float rx = std::max(A, B), ry = rx;
  float ang = 0.f;
  if (det >= 0.25f) {
    const float rx2 = (A * A * C - B * B * S) / det;
    const float ry2 = (B * B * C - A * A * S) / det;
    if (rx2 > floor_sq && ry2 > floor_sq) {
      rx = std::sqrt(rx2);
      ry = std::sqrt(ry2);
      ang = theta;
      *cs = c;
      *sn = s;
    }
  }

  // Centre: half-way towards the landmark face centre, bounded.
  const float exm = 0.5f * (d.lx[0] + d.lx[1]), eym = 0.5f * (d.ly[0] + d.ly[1]);
  float lcx, lcy;
  if (n == 5) {
    const float mx = 0.5f * (d.lx[3] + d.lx[4]), my = 0.5f * (d.ly[3] + d.ly[4]);
    lcx = exm + 0.31f * (mx - exm);
    lcy = eym + 0.31f * (my - eym);
  } else {
    lcx = exm + 0.67f * (d.lx[2] - exm);
    lcy = eym + 0.67f * (d.ly[2] - eym);
  }
  const float dcx = std::clamp(0.5f * (lcx - base.cx), -0.15f * w, 0.15f * w);
  const float dcy = std::clamp(0.5f * (lcy - base.cy), -0.15f * h, 0.15f * h);

  Ellipse e;
  e.cx = base.cx + dcx;
  e.cy = base.cy + dcy;
  e.rx = rx;
  e.ry = ry;
  e.angle = ang;
  return scaled(e, margin);
}

}  // namespace

Ellipse fit_face_oval(const Detection& d, float margin) {
  float c, s;
  return fit_face_oval_cs(d, margin, &c, &s);
}

RectF ellipse_bounds(const Ellipse& e, float grow) {
  RectF r;
  r.x = e.cx;
  r.y = e.cy;
  if (ellipse_empty(e)) return r;
  if (!(grow > 0.f) || !std::isfinite(grow)) grow = 0.f;
  const float c = std::cos(e.angle), s = std::sin(e.angle);
  const float hw = std::sqrt(e.rx * e.rx * c * c + e.ry * e.ry * s * s) + grow;
  const float hh = std::sqrt(e.rx * e.rx * s * s + e.ry * e.ry * c * c) + grow;
  r.x = e.cx - hw;
  r.y = e.cy - hh;
  r.w = 2.f * hw;
  r.h = 2.f * hh;
  return r;
}

namespace {

// rasterize_face_oval, after the checks: everything the row loop needs.
struct OvalRaster {
  Ellipse e;
  float c, s;        // cos, sin of e.angle (as ellipse_alpha computes them)
  float x1, y1;      // box corner
  float cw, ch;      // cell size
  float feather;     // finite, > 0
  int mask_w, mask_h;
  // per row (dy from the centre): cells j in [mid - r, mid + r], mid = mid0 + mid1 dy, r^2 = c2 dy^2 + k_out (k_in)
  // (see rasterize_face_oval)
  double mid0, mid1, c2, k_out, k_in, cy;
  bool has_in;
};

constexpr int kRows = 64;         // rows solved per batch
constexpr int kCellListCap = 512;  // band cells evaluated per batch
constexpr int kShortRun = 4;       // band runs up to this long are queued without a data-dependent loop

// The row loop. Written once, compiled twice (baseline and AVX2, below); always inlined into both so each copy is
// vectorised for its own instruction set. Only IEEE +, -, *, /, sqrt and conversions (no FMA in either target), so
// both copies give identical results.
#if defined(__GNUC__) || defined(__clang__)
#define FACEMASK_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define FACEMASK_ALWAYS_INLINE inline
#endif

// W > 0: mask_w known at compile time (the parse functions' default 32: fully unrolled row fills); W = 0: any width.
template <int W>
FACEMASK_ALWAYS_INLINE void oval_rows(const OvalRaster& P, float* out) {
  const Ellipse& e = P.e;
  const float c = P.c, s = P.s, x1 = P.x1, y1 = P.y1, cw = P.cw, ch = P.ch, feather = P.feather;
  const int mask_w = W > 0 ? W : P.mask_w;
  const double wmax = mask_w + 1.0;
  float ys[kRows];
  double lo_out[kRows], hi_out[kRows], lo_in[kRows], hi_in[kRows];
  int o0s[kRows], o1s[kRows], a0s[kRows], a1s[kRows];
  // Band cells queued for evaluation. W > 0: the flat output index r * W + j (row and column recovered with shifts
  // or a constant division); W = 0: column and row. The sample position is recomputed from (j, r) with the
  // expressions of the per-cell definition.
  int js[kCellListCap], rs[W > 0 ? 1 : kCellListCap];
  float vals[kCellListCap];
  int n = 0;
  auto flush = [&] {
    // exactly ellipse_alpha's feathered branch at x = x1 + (j + 0.5f) * cw, y = y1 + (i + 0.5f) * ch
    if constexpr (W > 0) {
      for (int k = 0; k < n; ++k) {
        const int r = static_cast<int>(static_cast<unsigned>(js[k]) / W), j = js[k] - r * W;
        vals[k] = ellipse_alpha_soft(e, c, s, x1 + (static_cast<float>(j) + 0.5f) * cw,
                                     y1 + (static_cast<float>(r) + 0.5f) * ch, feather);
      }
      for (int k = 0; k < n; ++k) out[js[k]] = vals[k];
    } else {
      for (int k = 0; k < n; ++k)
        vals[k] = ellipse_alpha_soft(e, c, s, x1 + (static_cast<float>(js[k]) + 0.5f) * cw,
                                     y1 + (static_cast<float>(rs[k]) + 0.5f) * ch, feather);
      for (int k = 0; k < n; ++k) out[static_cast<long>(rs[k]) * mask_w + js[k]] = vals[k];
    }
    n = 0;
  };
  for (int r0 = 0; r0 < P.mask_h; r0 += kRows) {
    const int m = std::min(kRows, P.mask_h - r0);
    for (int k = 0; k < m; ++k) ys[k] = y1 + (static_cast<float>(r0 + k) + 0.5f) * ch;
    // Cell-position ranges (real j) with q^2 <= t_out and q^2 <= t_in per row: centre mid(dy) and half-width
    // r = sqrt(r2) of the roots of q^2(x) = T (see rasterize_face_oval). No branches: an empty range becomes
    // [wmax, -1]; positions are clamped to [-1, wmax] (NaN -> -1).
    for (int k = 0; k < m; ++k) {
      const double dy = static_cast<double>(ys[k]) - P.cy, dy2 = dy * dy;
      const double mid = P.mid0 + P.mid1 * dy;
      const double r2_out = P.c2 * dy2 + P.k_out, r2_in = P.c2 * dy2 + P.k_in;
      const double r_out = std::sqrt(r2_out > 0.0 ? r2_out : 0.0), r_in = std::sqrt(r2_in > 0.0 ? r2_in : 0.0);
      const bool ok_out = r2_out > 0.0, ok_in = P.has_in && r2_in > 0.0;
      auto clamp = [wmax](double v) { return std::max(-1.0, std::min(v, wmax)); };  // NaN -> -1
      lo_out[k] = ok_out ? clamp(mid - r_out) : wmax;
      hi_out[k] = ok_out ? clamp(mid + r_out) : -1.0;
      lo_in[k] = ok_in ? clamp(mid - r_in) : wmax;
      hi_in[k] = ok_in ? clamp(mid + r_in) : -1.0;
    }
    // Cells that may be non-zero: [o0, o1); ones: [a0, a1). Cell j is in a range [lo, hi] of real positions when
    // floor(lo) + 1 <= j <= floor(hi) (j = lo exactly lies on the slack threshold, outside the ramp either way).
    // floor(v) = int(v + 2) - 2 for v >= -2 (no libm call; vectorised).
    for (int k = 0; k < m; ++k) {
      const int o0 = std::max(0, std::min(static_cast<int>(lo_out[k] + 2.0) - 1, mask_w));
      const int o1 = std::max(o0, std::min(static_cast<int>(hi_out[k] + 2.0) - 1, mask_w));
      const int a0 = std::max(o0, std::min(static_cast<int>(lo_in[k] + 2.0) - 1, o1));
      o0s[k] = o0;
      o1s[k] = o1;
      a0s[k] = a0;
      a1s[k] = std::max(a0, std::min(static_cast<int>(hi_in[k] + 2.0) - 1, o1));
    }
    for (int k = 0; k < m; ++k) {
      const int o0 = o0s[k], o1 = o1s[k], a0 = a0s[k], a1 = a1s[k];
      const int r = r0 + k;
      float* row = out + static_cast<long>(r) * mask_w;
      for (int j = 0; j < mask_w; ++j) row[j] = (j >= a0 && j < a1) ? 1.f : 0.f;
      // band runs [o0, a0) and [a1, o1)
      if (n > kCellListCap - 2 * kShortRun) flush();
      if (a0 - o0 <= kShortRun && o1 - a1 <= kShortRun) {
        // fixed trip counts and independent slots; slots past a run are written but not counted (the next run or
        // row overwrites them)
        const int b0 = W > 0 ? r * W + o0 : o0, b1 = W > 0 ? r * W + a1 : a1;
        for (int t = 0; t < kShortRun; ++t) {
          js[n + t] = b0 + t;
          if constexpr (W == 0) rs[n + t] = r;
        }
        n += a0 - o0;
        for (int t = 0; t < kShortRun; ++t) {
          js[n + t] = b1 + t;
          if constexpr (W == 0) rs[n + t] = r;
        }
        n += o1 - a1;
      } else {
        for (int run = 0; run < 2; ++run) {
          const int j1 = run == 0 ? a0 : o1;
          for (int j = run == 0 ? o0 : a1; j < j1; ++j) {
            if (n == kCellListCap) flush();
            js[n] = W > 0 ? r * W + j : j;
            if constexpr (W == 0) rs[n] = r;
            ++n;
          }
        }
      }
    }
  }
  if (n > 0) flush();
}

// The compile-time width 32 (flat int cell indices: needs mask_h * 32 < 2^31).
bool width32(const OvalRaster& P) { return P.mask_w == 32 && P.mask_h <= (1 << 25); }

void oval_rows_generic(const OvalRaster& P, float* out) {
  if (width32(P))
    oval_rows<32>(P, out);
  else
    oval_rows<0>(P, out);
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(__AVX2__)
#define FACEMASK_OVAL_AVX2 1
__attribute__((target("avx2"))) void oval_rows_avx2(const OvalRaster& P, float* out) {
  if (width32(P))
    oval_rows<32>(P, out);
  else
    oval_rows<0>(P, out);
}
#endif

using OvalRowsFn = void (*)(const OvalRaster&, float*);

OvalRowsFn pick_oval_rows() {
#ifdef FACEMASK_OVAL_AVX2
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return oval_rows_avx2;
#endif
  return oval_rows_generic;
}

}  // namespace

// Per row, the squared normalised radius q^2 of ellipse_alpha is a quadratic in x, so the cells where the ramp can be
// neither 0 nor 1 form at most two short runs per row, found by solving two quadratics (vectorised over rows). Only
// those cells are evaluated (with the exact per-cell arithmetic, vectorised over a list of cells); the rest are 1
// (inside) or 0 (outside), which is what the per-cell formula returns there. Why the classification is exact: at a
// point p = q * b with b on the boundary, the estimate is sd = (q - 1) / |g(b)| and 1 / |g(b)| lies in
// [min(rx, ry), max(rx, ry)], so with delta = feather / (2 rmin)
//   q <= 1 - delta  =>  sd <= -delta * rmin = -feather / 2  =>  alpha = 1,
//   q >= 1 + delta  =>  sd >= +feather / 2                 =>  alpha = 0.
// A slack (float rounding of the sample positions and of sd, plus a relative 2 %) widens the evaluated band so that
// rounding never changes a classified cell; tests/test_mask_raster.py checks equality with the per-cell formula.
void rasterize_face_oval(const Detection& d, int mask_w, int mask_h, float* out) {
  if (mask_w <= 0 || mask_h <= 0 || out == nullptr) return;
  const long n = static_cast<long>(mask_w) * mask_h;
  if (!box_ok(d)) {
    std::fill(out, out + n, 0.f);
    return;
  }
  float c, s;  // cos, sin of e.angle as ellipse_alpha computes them (std::cos, std::sin; exactly 1, 0 for angle 0)
  const Ellipse e = fit_face_oval_cs(d, 1.f, &c, &s);
  if (ellipse_empty(e)) {
    std::fill(out, out + n, 0.f);
    return;
  }
  const float w = d.x2 - d.x1, h = d.y2 - d.y1;
  const float cw = w / mask_w, ch = h / mask_h;
  const float feather = std::max(cw, ch);
  if (!(feather > 0.f) || !std::isfinite(feather)) {  // hard edge (a box far below a float ulp per cell)
    for (int i = 0; i < mask_h; ++i) {
      const float y = d.y1 + (i + 0.5f) * ch;
      for (int j = 0; j < mask_w; ++j)
        out[static_cast<long>(i) * mask_w + j] = ellipse_alpha_cs(e, c, s, d.x1 + (j + 0.5f) * cw, y, feather);
    }
    return;
  }

  OvalRaster P;
  P.e = e;
  P.c = c;
  P.s = s;
  P.x1 = d.x1;
  P.y1 = d.y1;
  P.cw = cw;
  P.ch = ch;
  P.feather = feather;
  P.mask_w = mask_w;
  P.mask_h = mask_h;
  // q^2(dx, dy) (dx, dy from the centre), exactly as ellipse_alpha_soft computes it from the same float c, s, rx, ry
  // (up to rounding): q^2 = qa dx^2 + qb dx dy + qc dy^2.
  const double rx = e.rx, ry = e.ry, cd = c, sd = s;
  const double irx2 = 1.0 / (rx * rx), iry2 = 1.0 / (ry * ry);
  const double qa = cd * cd * irx2 + sd * sd * iry2;
  const double qb = 2.0 * cd * sd * (irx2 - iry2);
  const double rmin = std::min(rx, ry), rmax = std::max(rx, ry);
  const double delta = 0.5 * static_cast<double>(feather) / rmin;
  const double mag = std::max(std::max(std::fabs(static_cast<double>(d.x1)), std::fabs(static_cast<double>(d.x2))),
                              std::max(std::max(std::fabs(static_cast<double>(d.y1)), std::fabs(static_cast<double>(d.y2))), rmax));
  const double slack = 1e-4 + 0.02 * delta + 1e-6 * mag / rmin;
  const double q_in = 1.0 - delta - slack, q_out = 1.0 + delta + slack;
  P.has_in = q_in > 0.0;
  const double t_in = P.has_in ? q_in * q_in : 0.0, t_out = q_out * q_out;
  // Per row, q^2 = T at dx = (-qb dy +- sqrt(D)) / (2 qa) with D = (qb^2 - 4 qa qc) dy^2 + 4 qa T, and
  // qb^2 - 4 qa qc = -4 irx2 iry2 (c^2 + s^2)^2 exactly (no cancellation when computed that way). Cell j samples
  // dx = x0 + (j + 0.5) cw with x0 = x1 - cx, so in cells: mid = (-qb dy / (2 qa) - x0) / cw - 0.5 and
  // r^2 = D / (2 qa cw)^2.
  const double x0 = static_cast<double>(d.x1) - e.cx, icw = 1.0 / static_cast<double>(cw);
  const double cs2 = cd * cd + sd * sd, s2 = icw * icw / (qa * qa);
  P.mid0 = -x0 * icw - 0.5;
  P.mid1 = -qb / (2.0 * qa) * icw;
  P.c2 = -(irx2 * iry2) * (cs2 * cs2) * s2;
  P.k_out = t_out * qa * s2;
  P.k_in = t_in * qa * s2;
  P.cy = e.cy;
  static const OvalRowsFn rows = pick_oval_rows();
  rows(P, out);
}

}  // namespace facemask
