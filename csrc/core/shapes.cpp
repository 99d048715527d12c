// Face shapes (formulas documented in shapes.hpp).
#include "core/shapes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
// GCC 12's AVX-512 headers warn about their own _mm512_undefined_* placeholders (GCC PR 105593)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

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

// The row loop. Written once, compiled up to three times (baseline, AVX2, AVX-512 on GCC; below); always inlined into
// each so each copy is vectorised for its own instruction set. Only IEEE +, -, *, /, sqrt and conversions (no FMA in
// any copy: the first two targets have none, the AVX-512 copy is built without contraction), so all copies give
// identical results.
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

// AVX-512 copy (GCC only): 256-bit vectors with mask registers (fewer instructions in the row fills and selects;
// measured faster on this project's AMD EPYC). AVX-512F also brings FMA, and GCC contracts a * b + c into it by
// default, which would change the floats: contraction is turned off for this copy, so it computes exactly what the
// other two do (tests/test_mask_raster.py compares with the per-cell definition).
#if defined(FACEMASK_OVAL_AVX2) && defined(__GNUC__) && !defined(__clang__)
#define FACEMASK_OVAL_AVX512 1
void oval32_avx512(const OvalRaster& P, float* out);
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq"), optimize("fp-contract=off"))) void oval_rows_avx512(
    const OvalRaster& P, float* out) {
  if (width32(P))
    oval32_avx512(P, out);
  else
    oval_rows<0>(P, out);
}
#endif

#ifdef FACEMASK_OVAL_AVX512
#define FACEMASK_AVX512_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq"), optimize("fp-contract=off")))
#define FACEMASK_AVX512_INLINE FACEMASK_AVX512_TARGET FACEMASK_ALWAYS_INLINE

// Width 32 with AVX-512 (the parse functions' default mask), in blocks of up to 32 rows and four stages, so that a
// batch of faces (oval_batch_avx512) can run each stage for several faces in a row and their dependency chains
// overlap:
//   bounds:  per row the integer bounds o0 <= a0 <= a1 <= o1 of oval_rows' classification (cells [a0, a1) surely 1,
//            cells outside [o0, o1) surely 0), from the same row spans computed in float with a margin that covers
//            the float rounding (oval32_bounds), 16 rows per vector;
//   fill:    per row two vector stores of the 0/1 cells and one or two of the flat indices of each band run
//            [o0, a0), [a1, o1) (16 consecutive uint16; the list advances by the run lengths);
//   eval:    the listed cells 16 at a time with ellipse_alpha_soft's arithmetic (vector intrinsics in its order; no
//            contraction in these functions);
//   scatter: the evaluated cells written to their places one by one (measured faster here than a vector scatter,
//            masked vector stores per run or a second pass over the rows that blends them in).
struct Oval32Bounds {
  alignas(64) uint32_t in[32];         // bit j: cell j is 1 (cells [a0, a1))
  alignas(64) int32_t sl[32], sr[32];  // flat index (row * 32 + column) of the first cell of each band run
  alignas(64) int32_t nl[32], nr[32];  // band run lengths
};
constexpr int kOval32IdxCap = 32 * 32 + 48;  // a block's band cells + the overhang of the last vector stores

// floor(clamp(v, -1, 33)) + 1 as int; NaN -> nan_to (-1 or 33) first
FACEMASK_AVX512_INLINE __m512i oval32_bound(__m512 v, __m512 nan_to) {
  const __mmask16 num = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
  const __m512 c = _mm512_min_ps(_mm512_max_ps(_mm512_mask_blend_ps(num, nan_to, v), _mm512_set1_ps(-1.f)),
                                 _mm512_set1_ps(33.f));
  return _mm512_add_epi32(_mm512_cvttps_epi32(_mm512_roundscale_ps(c, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)),
                          _mm512_set1_epi32(1));
}

// The row spans in float, 16 rows per vector, each widened (outer) or narrowed (inner) by a margin that covers the
// float rounding (below), so that [a0, a1) only holds cells with (j - mid)^2 <= r2_in and every cell with
// (j - mid)^2 < r2_out lies in [o0, o1) (mid, r2 as oval_rows computes them in double; the classification argument
// at rasterize_face_oval covers those). Float errors, relative to u = 2^-24 and the magnitudes involved: dy = y - cy
// and every product and sum are rounded once each, and mid0, mid1, c2, k are rounded from double, so
// |mid_f - mid| <= 4 u (|mid0| + |mid1 dy|) and |r2_f - r2| <= 6 u (|c2 dy^2| + |k|) (+ tiny); the square root and
// the sums mid +- w add <= 3 u (|mid| + w). The margins used are 1e-6 (~17 u) times those magnitudes (+ 1e-6), and
// bounds are taken with an exact floor. Anything non-finite: every cell of the row goes to the exact evaluation.
FACEMASK_AVX512_INLINE void oval32_bounds(const OvalRaster& P, int r0, Oval32Bounds* B) {
  const __m512 v_cy = _mm512_set1_ps(P.e.cy), v_mid0 = _mm512_set1_ps(static_cast<float>(P.mid0)),
               v_mid1 = _mm512_set1_ps(static_cast<float>(P.mid1)), v_c2 = _mm512_set1_ps(static_cast<float>(P.c2)),
               v_kout = _mm512_set1_ps(static_cast<float>(P.k_out)), v_kin = _mm512_set1_ps(static_cast<float>(P.k_in));
  const __m512 v_zero = _mm512_setzero_ps(), v_eps = _mm512_set1_ps(1e-6f), v_one = _mm512_set1_ps(1.f),
               v_wmax = _mm512_set1_ps(33.f), v_m1 = _mm512_set1_ps(-1.f), v_inf = _mm512_set1_ps(INFINITY);
  const __m512i z = _mm512_setzero_si512(), w32 = _mm512_set1_epi32(32), one = _mm512_set1_epi32(1);
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __mmask16 has_in = P.has_in ? 0xffff : 0;
  for (int k = 0; k < 32; k += 16) {
    const __m512 rowf = _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_set1_epi32(r0 + k), iota));
    // y = y1 + (i + 0.5f) * ch in float, as the per-cell definition
    const __m512 ys = _mm512_add_ps(_mm512_set1_ps(P.y1),
                                    _mm512_mul_ps(_mm512_add_ps(rowf, _mm512_set1_ps(0.5f)), _mm512_set1_ps(P.ch)));
    const __m512 dy = _mm512_sub_ps(ys, v_cy), dy2 = _mm512_mul_ps(dy, dy);
    const __m512 m1dy = _mm512_mul_ps(v_mid1, dy);
    const __m512 mid = _mm512_add_ps(v_mid0, m1dy);
    const __m512 c2dy2 = _mm512_mul_ps(v_c2, dy2);
    const __m512 r2o = _mm512_add_ps(c2dy2, v_kout), r2i = _mm512_add_ps(c2dy2, v_kin);
    const __m512 emid = _mm512_mul_ps(v_eps, _mm512_add_ps(_mm512_add_ps(_mm512_abs_ps(v_mid0), _mm512_abs_ps(m1dy)), v_one));
    const __m512 r2o_hi = _mm512_add_ps(r2o, _mm512_mul_ps(v_eps, _mm512_add_ps(_mm512_abs_ps(c2dy2), _mm512_abs_ps(v_kout))));
    const __m512 r2i_lo = _mm512_sub_ps(r2i, _mm512_mul_ps(v_eps, _mm512_add_ps(_mm512_abs_ps(c2dy2), _mm512_abs_ps(v_kin))));
    const __m512 ro = _mm512_sqrt_ps(_mm512_max_ps(r2o_hi, v_zero));  // NaN -> 0 (max returns the second operand)
    const __m512 ri = _mm512_sqrt_ps(_mm512_max_ps(r2i_lo, v_zero));
    const __m512 amid = _mm512_abs_ps(mid);
    const __m512 wo = _mm512_add_ps(_mm512_add_ps(ro, emid), _mm512_mul_ps(v_eps, _mm512_add_ps(_mm512_add_ps(amid, ro), v_one)));
    const __m512 wi = _mm512_sub_ps(_mm512_sub_ps(ri, emid), _mm512_mul_ps(v_eps, _mm512_add_ps(_mm512_add_ps(amid, ri), v_one)));
    // outer: all cells when anything is not finite (|x| < inf is false for NaN and inf)
    const __mmask16 fin_o = _mm512_cmp_ps_mask(_mm512_abs_ps(r2o_hi), v_inf, _CMP_LT_OQ) & _mm512_cmp_ps_mask(amid, v_inf, _CMP_LT_OQ) &
                            _mm512_cmp_ps_mask(_mm512_abs_ps(wo), v_inf, _CMP_LT_OQ);
    const __m512 lo_o = _mm512_mask_blend_ps(fin_o, v_m1, _mm512_sub_ps(mid, wo));
    const __m512 hi_o = _mm512_mask_blend_ps(fin_o, v_wmax, _mm512_add_ps(mid, wo));
    // inner: none unless has_in, r2i_lo > 0, wi > 0 and everything finite
    const __mmask16 ok_i = has_in & _mm512_cmp_ps_mask(r2i_lo, v_zero, _CMP_GT_OQ) & _mm512_cmp_ps_mask(wi, v_zero, _CMP_GT_OQ) &
                           _mm512_cmp_ps_mask(r2i_lo, v_inf, _CMP_LT_OQ) & _mm512_cmp_ps_mask(amid, v_inf, _CMP_LT_OQ) &
                           _mm512_cmp_ps_mask(wi, v_inf, _CMP_LT_OQ);
    const __m512 lo_i = _mm512_mask_blend_ps(ok_i, v_wmax, _mm512_sub_ps(mid, wi));
    const __m512 hi_i = _mm512_mask_blend_ps(ok_i, v_m1, _mm512_add_ps(mid, wi));
    const __m512i o0 = _mm512_max_epi32(z, _mm512_min_epi32(oval32_bound(lo_o, v_m1), w32));
    const __m512i o1 = _mm512_max_epi32(o0, _mm512_min_epi32(oval32_bound(hi_o, v_wmax), w32));
    const __m512i a0 = _mm512_max_epi32(o0, _mm512_min_epi32(oval32_bound(lo_i, v_wmax), o1));
    const __m512i a1 = _mm512_max_epi32(a0, _mm512_min_epi32(oval32_bound(hi_i, v_m1), o1));
    const __m512i base = _mm512_slli_epi32(_mm512_add_epi32(_mm512_set1_epi32(k), iota), 5);
    // bits [a, b): (2^b - 1) & ~(2^a - 1) (a shift by 32 gives 0)
    const __m512i m1 = _mm512_set1_epi32(-1);
    const __m512i below_a0 = _mm512_add_epi32(_mm512_sllv_epi32(one, a0), m1);
    const __m512i below_a1 = _mm512_add_epi32(_mm512_sllv_epi32(one, a1), m1);
    _mm512_store_si512(B->in + k, _mm512_andnot_si512(below_a0, below_a1));
    _mm512_store_si512(B->sl + k, _mm512_add_epi32(base, o0));
    _mm512_store_si512(B->sr + k, _mm512_add_epi32(base, a1));
    _mm512_store_si512(B->nl + k, _mm512_sub_epi32(a0, o0));
    _mm512_store_si512(B->nr + k, _mm512_sub_epi32(o1, a1));
  }
}

// Rows [0, m) of a block (blk = its first row): 0/1 cells, band-cell list. Returns the list length.
FACEMASK_AVX512_INLINE int oval32_fill(const Oval32Bounds& B, int m, float* blk, uint16_t* idx) {
  const __m256i iota16 = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m256i sixteen = _mm256_set1_epi16(16);
  const __m512 v_one = _mm512_set1_ps(1.f);
  int n = 0;
  for (int k = 0; k < m; ++k) {
    const uint32_t in = B.in[k];
    float* row = blk + k * 32;
    _mm512_storeu_ps(row, _mm512_maskz_mov_ps(static_cast<__mmask16>(in), v_one));
    _mm512_storeu_ps(row + 16, _mm512_maskz_mov_ps(static_cast<__mmask16>(in >> 16), v_one));
    const int nl = B.nl[k], nr = B.nr[k];
    const __m256i l = _mm256_add_epi16(iota16, _mm256_set1_epi16(static_cast<short>(B.sl[k])));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + n), l);
    if (nl > 16) _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + n + 16), _mm256_add_epi16(l, sixteen));
    n += nl;
    const __m256i r = _mm256_add_epi16(iota16, _mm256_set1_epi16(static_cast<short>(B.sr[k])));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + n), r);
    if (nr > 16) _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + n + 16), _mm256_add_epi16(r, sixteen));
    n += nr;
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + n), _mm256_setzero_si256());  // defined tail lanes
  return n;
}

// The n listed cells of a block starting at row r0 (blk = its first row), exactly as ellipse_alpha_soft.
FACEMASK_AVX512_INLINE void oval32_eval(const OvalRaster& P, int r0, const uint16_t* idx, int n, float* vals) {
  const Ellipse& e = P.e;
  // ellipse_alpha_soft's loop invariants
  const float irx = 1.f / e.rx, iry = 1.f / e.ry, ifeather = 1.f / P.feather;
  const float rmin = e.rx < e.ry ? e.rx : e.ry;
  const __m512 v_c = _mm512_set1_ps(P.c), v_s = _mm512_set1_ps(P.s), v_ms = _mm512_set1_ps(-P.s);
  const __m512 v_cx = _mm512_set1_ps(e.cx), v_cy = _mm512_set1_ps(e.cy);
  const __m512 v_irx = _mm512_set1_ps(irx), v_iry = _mm512_set1_ps(iry), v_if = _mm512_set1_ps(ifeather);
  const __m512 v_rmin = _mm512_set1_ps(rmin), v_half = _mm512_set1_ps(0.5f), v_zero = _mm512_setzero_ps();
  const __m512 v_one = _mm512_set1_ps(1.f);
  const __m512 v_x1 = _mm512_set1_ps(P.x1), v_y1 = _mm512_set1_ps(P.y1), v_cw = _mm512_set1_ps(P.cw),
               v_ch = _mm512_set1_ps(P.ch);
  for (int k = 0; k < n; k += 16) {
    const __m512i id = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(idx + k)));
    const __m512 fj = _mm512_cvtepi32_ps(_mm512_and_si512(id, _mm512_set1_epi32(31)));
    const __m512 fr = _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_srli_epi32(id, 5), _mm512_set1_epi32(r0)));
    // x = x1 + (j + 0.5f) * cw, y = y1 + (i + 0.5f) * ch, then ellipse_alpha_soft
    const __m512 px = _mm512_add_ps(v_x1, _mm512_mul_ps(_mm512_add_ps(fj, v_half), v_cw));
    const __m512 py = _mm512_add_ps(v_y1, _mm512_mul_ps(_mm512_add_ps(fr, v_half), v_ch));
    const __m512 dx = _mm512_sub_ps(px, v_cx), dy = _mm512_sub_ps(py, v_cy);
    const __m512 u = _mm512_add_ps(_mm512_mul_ps(v_c, dx), _mm512_mul_ps(v_s, dy));
    const __m512 v = _mm512_add_ps(_mm512_mul_ps(v_ms, dx), _mm512_mul_ps(v_c, dy));
    const __m512 ux = _mm512_mul_ps(u, v_irx), vy = _mm512_mul_ps(v, v_iry);
    const __m512 q2 = _mm512_add_ps(_mm512_mul_ps(ux, ux), _mm512_mul_ps(vy, vy));
    const __m512 q = _mm512_sqrt_ps(q2);
    const __m512 gx = _mm512_mul_ps(ux, v_irx), gy = _mm512_mul_ps(vy, v_iry);
    const __m512 g = _mm512_sqrt_ps(_mm512_add_ps(_mm512_mul_ps(gx, gx), _mm512_mul_ps(gy, gy)));
    const __mmask16 gpos = _mm512_cmp_ps_mask(g, v_zero, _CMP_GT_OQ);
    const __m512 gs = _mm512_mask_blend_ps(gpos, v_one, g);
    const __m512 sd = _mm512_mask_blend_ps(gpos, _mm512_sub_ps(v_zero, v_rmin), _mm512_div_ps(_mm512_sub_ps(q2, q), gs));
    const __m512 a = _mm512_sub_ps(v_half, _mm512_mul_ps(sd, v_if));
    // a > 0 ? (a < 1 ? a : 1) : 0 (NaN -> 0)
    const __m512 a1 = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, v_one, _CMP_LT_OQ), v_one, a);
    _mm512_store_ps(vals + k, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, v_zero, _CMP_GT_OQ), a1));
  }
}

// The evaluated cells written to their places one by one.
FACEMASK_AVX512_INLINE void oval32_scatter(const uint16_t* idx, const float* vals, int n, float* blk) {
  for (int k = 0; k < n; ++k) {
    blk[idx[k]] = vals[k];
    __asm__("" : "+r"(k));  // keeps this loop scalar (GCC's vector scatter is slower here)
  }
}

FACEMASK_AVX512_TARGET void oval32_avx512(const OvalRaster& P, float* out) {
  Oval32Bounds B;
  alignas(64) uint16_t idx[kOval32IdxCap];
  alignas(64) float vals[kOval32IdxCap];
  for (int r0 = 0; r0 < P.mask_h; r0 += 32) {
    float* const blk = out + static_cast<long>(r0) * 32;
    const int m = std::min(32, P.mask_h - r0);
    oval32_bounds(P, r0, &B);
    const int n = oval32_fill(B, m, blk, idx);
    oval32_eval(P, r0, idx, n, vals);
    oval32_scatter(idx, vals, n, blk);
  }
}
#endif

using OvalRowsFn = void (*)(const OvalRaster&, float*);

OvalRowsFn pick_oval_rows() {
#ifdef FACEMASK_OVAL_AVX2
  __builtin_cpu_init();
#ifdef FACEMASK_OVAL_AVX512
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq"))
    return oval_rows_avx512;
#endif
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
namespace {

// rasterize_face_oval up to the row loop: fills out and returns false for the cases without one (empty or non-finite
// box or oval, hard edge), else sets *P.
bool prepare_oval(const Detection& d, int mask_w, int mask_h, float* out, OvalRaster* P) {
  const long n = static_cast<long>(mask_w) * mask_h;
  if (!box_ok(d)) {
    std::fill(out, out + n, 0.f);
    return false;
  }
  float c, s;  // cos, sin of e.angle as ellipse_alpha computes them (std::cos, std::sin; exactly 1, 0 for angle 0)
  const Ellipse e = fit_face_oval_cs(d, 1.f, &c, &s);
  if (ellipse_empty(e)) {
    std::fill(out, out + n, 0.f);
    return false;
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
    return false;
  }

  P->e = e;
  P->c = c;
  P->s = s;
  P->x1 = d.x1;
  P->y1 = d.y1;
  P->cw = cw;
  P->ch = ch;
  P->feather = feather;
  P->mask_w = mask_w;
  P->mask_h = mask_h;
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
  P->has_in = q_in > 0.0;
  const double t_in = P->has_in ? q_in * q_in : 0.0, t_out = q_out * q_out;
  // Per row, q^2 = T at dx = (-qb dy +- sqrt(D)) / (2 qa) with D = (qb^2 - 4 qa qc) dy^2 + 4 qa T, and
  // qb^2 - 4 qa qc = -4 irx2 iry2 (c^2 + s^2)^2 exactly (no cancellation when computed that way). Cell j samples
  // dx = x0 + (j + 0.5) cw with x0 = x1 - cx, so in cells: mid = (-qb dy / (2 qa) - x0) / cw - 0.5 and
  // r^2 = D / (2 qa cw)^2.
  const double x0 = static_cast<double>(d.x1) - e.cx, icw = 1.0 / static_cast<double>(cw);
  const double cs2 = cd * cd + sd * sd, s2 = icw * icw / (qa * qa);
  P->mid0 = -x0 * icw - 0.5;
  P->mid1 = -qb / (2.0 * qa) * icw;
  P->c2 = -(irx2 * iry2) * (cs2 * cs2) * s2;
  P->k_out = t_out * qa * s2;
  P->k_in = t_in * qa * s2;
  P->cy = e.cy;
  return true;
}

using OvalBatchFn = void (*)(const Detection* const*, int, int, int, float* const*);

void oval_batch_generic(const Detection* const* dets, int n, int mask_w, int mask_h, float* const* outs) {
  static const OvalRowsFn rows = pick_oval_rows();
  for (int k = 0; k < n; ++k) {
    OvalRaster P;
    if (prepare_oval(*dets[k], mask_w, mask_h, outs[k], &P)) rows(P, outs[k]);
  }
}

#ifdef FACEMASK_OVAL_AVX512
// Width 32, at most 32 rows, AVX-512: the stages of oval32_avx512 run for kBatch faces at a time (the oval fit and
// row bounds of several faces, then their row fills, then their band cells), so the long dependency chains of one
// face (atan2 -> sin/cos -> divisions -> square roots -> bounds -> list -> evaluation) overlap with the other faces'.
FACEMASK_AVX512_TARGET void oval_batch_avx512(const Detection* const* dets, int n, int mask_w, int mask_h,
                                              float* const* outs) {
  if (mask_w != 32 || mask_h > 32) {
    oval_batch_generic(dets, n, mask_w, mask_h, outs);
    return;
  }
  constexpr int kBatch = 4;
  OvalRaster P[kBatch];
  Oval32Bounds B[kBatch];
  alignas(64) uint16_t idx[kBatch][kOval32IdxCap];
  alignas(64) float vals[kOval32IdxCap];
  int cnt[kBatch];
  for (int k0 = 0; k0 < n; k0 += kBatch) {
    const int g = std::min(kBatch, n - k0);
    bool live[kBatch];
    for (int t = 0; t < g; ++t) live[t] = prepare_oval(*dets[k0 + t], 32, mask_h, outs[k0 + t], &P[t]);
    for (int t = 0; t < g; ++t)
      if (live[t]) oval32_bounds(P[t], 0, &B[t]);
    for (int t = 0; t < g; ++t)
      if (live[t]) cnt[t] = oval32_fill(B[t], mask_h, outs[k0 + t], idx[t]);
    for (int t = 0; t < g; ++t)
      if (live[t]) {
        oval32_eval(P[t], 0, idx[t], cnt[t], vals);
        oval32_scatter(idx[t], vals, cnt[t], outs[k0 + t]);
      }
  }
}
#endif

OvalBatchFn pick_oval_batch() {
#ifdef FACEMASK_OVAL_AVX512
  if (pick_oval_rows() == oval_rows_avx512) return oval_batch_avx512;
#endif
  return oval_batch_generic;
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
  static const OvalRowsFn rows = pick_oval_rows();
  OvalRaster P;
  if (prepare_oval(d, mask_w, mask_h, out, &P)) rows(P, out);
}

void rasterize_face_ovals(const Detection* const* dets, int n, int mask_w, int mask_h, float* const* outs) {
  if (mask_w <= 0 || mask_h <= 0 || n <= 0 || dets == nullptr || outs == nullptr) return;
  for (int k = 0; k < n; ++k)
    if (dets[k] == nullptr || outs[k] == nullptr) {  // rare: one face at a time, skipping those
      for (int t = 0; t < n; ++t)
        if (dets[t] != nullptr && outs[t] != nullptr) rasterize_face_oval(*dets[t], mask_w, mask_h, outs[t]);
      return;
    }
  static const OvalBatchFn batch = pick_oval_batch();
  batch(dets, n, mask_w, mask_h, outs);
}

}  // namespace facemask
