// CPU redaction (specification in redact.hpp).
#include "core/redact.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace facemask {

const char* redact_mode_name(RedactMode m) {
  switch (m) {
    case RedactMode::kBlur: return "blur";
    case RedactMode::kPixelate: return "pixelate";
    case RedactMode::kFill: return "fill";
  }
  return "?";
}

const char* redact_shape_name(RedactShape s) {
  switch (s) {
    case RedactShape::kBox: return "box";
    case RedactShape::kEllipse: return "ellipse";
    case RedactShape::kOval: return "oval";
  }
  return "?";
}

bool redact_mode_from_name(const std::string& s, RedactMode* out) {
  for (RedactMode m : {RedactMode::kBlur, RedactMode::kPixelate, RedactMode::kFill}) {
    if (s == redact_mode_name(m)) {
      if (out) *out = m;
      return true;
    }
  }
  return false;
}

bool redact_shape_from_name(const std::string& s, RedactShape* out) {
  for (RedactShape m : {RedactShape::kBox, RedactShape::kEllipse, RedactShape::kOval}) {
    if (s == redact_shape_name(m)) {
      if (out) *out = m;
      return true;
    }
  }
  return false;
}

int box_radius_for_sigma(double sigma) {
  if (!(sigma > 0.0) || !std::isfinite(sigma)) return sigma > 0.0 ? kMaxBoxRadius : 1;
  const double r = std::floor((std::sqrt(1.0 + 4.0 * sigma * sigma) - 1.0) / 2.0 + 0.5);
  if (r < 1.0) return 1;
  if (r > kMaxBoxRadius) return kMaxBoxRadius;
  return static_cast<int>(r);
}

int blur_factor(double s) {
  if (!(s >= 8.0)) return 1;  // also NaN
  int f = 1;
  while (f < kMaxBlurFactor && 2.0 * f <= s / 4.0) f *= 2;
  return f;
}

BlurAxis plane_blur(const RegionPlan& plan, int sub) {
  BlurAxis a;
  const double s = static_cast<double>(plan.sigma) / (sub > 0 ? sub : 1);
  a.factor = blur_factor(s);
  while ((1 << a.log2_factor) < a.factor) ++a.log2_factor;
  a.radius = box_radius_for_sigma(s / a.factor);
  return a;
}

namespace {

constexpr float kCoordLimit = 1e8f;

float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

int floor_even(int v) { return v >= 0 ? (v & ~1) : -((-v + 1) & ~1); }
int ceil_even(int v) { return v >= 0 ? ((v + 1) & ~1) : -((-v) & ~1); }

}  // namespace

RegionPlan plan_region(const Region& r, const RedactParams& p, int frame_w, int frame_h) {
  RegionPlan pl;
  const Detection& d = r.det;
  if (frame_w <= 0 || frame_h <= 0) return pl;
  if (!std::isfinite(d.x1) || !std::isfinite(d.y1) || !std::isfinite(d.x2) || !std::isfinite(d.y2)) return pl;
  if (!(d.x2 > d.x1) || !(d.y2 > d.y1)) return pl;
  if (!(p.margin > 0.f) || !std::isfinite(p.margin)) return pl;
  const float w = d.x2 - d.x1, h = d.y2 - d.y1;
  const float S = std::max(w, h);
  if (!std::isfinite(S)) return pl;
  pl.face_size = S;
  pl.feather_px = (p.feather > 0.f && std::isfinite(p.feather)) ? p.feather * S : 0.f;
  if (!std::isfinite(pl.feather_px)) pl.feather_px = 0.f;
  pl.mask_threshold = p.mask_threshold;

  float left, top, right, bottom;
  const float cx = 0.5f * (d.x1 + d.x2), cy = 0.5f * (d.y1 + d.y2);
  if (r.mask != nullptr && r.mask_w > 0 && r.mask_h > 0) {
    pl.kind = 2;
    pl.mask = r.mask;
    pl.mask_w = r.mask_w;
    pl.mask_h = r.mask_h;
    pl.bcx = cx;
    pl.bcy = cy;
    pl.bhw = p.margin * 0.5f * w;
    pl.bhh = p.margin * 0.5f * h;
    left = cx - pl.bhw;
    right = cx + pl.bhw;
    top = cy - pl.bhh;
    bottom = cy + pl.bhh;
  } else if (p.shape == RedactShape::kBox) {
    pl.kind = 0;
    pl.bcx = cx;
    pl.bcy = cy;
    pl.bhw = p.margin * 0.5f * w;
    pl.bhh = p.margin * 0.5f * h;
    const float g = 0.5f * pl.feather_px;
    left = cx - pl.bhw - g;
    right = cx + pl.bhw + g;
    top = cy - pl.bhh - g;
    bottom = cy + pl.bhh + g;
  } else {
    pl.kind = 1;
    pl.ellipse = p.shape == RedactShape::kEllipse ? box_ellipse(d, p.margin) : fit_face_oval(d, p.margin);
    if (ellipse_empty(pl.ellipse)) return pl;
    pl.ca = std::cos(pl.ellipse.angle);
    pl.sa = std::sin(pl.ellipse.angle);
    const RectF b = ellipse_bounds(pl.ellipse, 0.5f * pl.feather_px);
    left = b.x;
    top = b.y;
    right = b.x + b.w;
    bottom = b.y + b.h;
  }
  if (!std::isfinite(left) || !std::isfinite(top) || !std::isfinite(right) || !std::isfinite(bottom)) return pl;
  const int bx0 = static_cast<int>(std::floor(clampf(left, -kCoordLimit, kCoordLimit)));
  const int by0 = static_cast<int>(std::floor(clampf(top, -kCoordLimit, kCoordLimit)));
  const int bx1 = static_cast<int>(std::ceil(clampf(right, -kCoordLimit, kCoordLimit)));
  const int by1 = static_cast<int>(std::ceil(clampf(bottom, -kCoordLimit, kCoordLimit)));
  pl.x0 = std::max(0, floor_even(bx0));
  pl.y0 = std::max(0, floor_even(by0));
  pl.x1 = std::min(frame_w, ceil_even(bx1));
  pl.y1 = std::min(frame_h, ceil_even(by1));
  if (pl.x1 <= pl.x0 || pl.y1 <= pl.y0) return pl;

  const float strength = (p.strength > 0.f && std::isfinite(p.strength)) ? p.strength : 0.f;
  pl.sigma = strength * 0.15f * S;
  pl.radius = box_radius_for_sigma(pl.sigma);
  const double cells = std::floor(static_cast<double>(strength) * S / 12.0 + 0.5);
  pl.cell = 2 * static_cast<int>(std::clamp(cells, 1.0, static_cast<double>(1 << 20)));
  pl.empty = false;
  return pl;
}

std::string validate_image(const ImageView& img) {
  const int fi_idx = static_cast<int>(img.format);
  if (fi_idx < 0 || fi_idx >= kNumPixelFormats) return "unknown pixel format";
  if (img.width < 0 || img.height < 0) return "negative image size";
  if (img.width > 65535 || img.height > 65535) return "image larger than 65535 pixels on a side";
  if (img.width == 0 || img.height == 0) return "";
  const FormatInfo& fi = format_info(img.format);
  for (int p = 0; p < fi.num_planes; ++p) {
    if (img.data[p] == nullptr) return std::string("plane ") + std::to_string(p) + " has no data";
    const long need = static_cast<long>(plane_width(fi, p, img.width)) * fi.planes[p].pixel_stride;
    if (img.stride[p] < need) {
      return std::string("plane ") + std::to_string(p) + " stride " + std::to_string(img.stride[p]) +
             " is smaller than its row (" + std::to_string(need) + " bytes)";
    }
  }
  return "";
}

namespace {

// Hot loops get an AVX2 clone next to the baseline one (GCC, x86-64; chosen at load time). AVX2 alone does not
// enable FMA contraction, and integer / IEEE float (+ - * / sqrt) results are the same in every clone.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define FACEMASK_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FACEMASK_AVX2_CLONES
#endif
// Per-row helpers are forced inline into their (cloned) callers, so each clone gets them compiled for its target and
// the row loops make no calls.
#if defined(__GNUC__)
#define FACEMASK_INLINE __attribute__((always_inline)) inline
#define FACEMASK_LAMBDA_INLINE __attribute__((always_inline))
#else
#define FACEMASK_INLINE inline
#define FACEMASK_LAMBDA_INLINE
#endif

struct Workspace {
  std::vector<uint8_t> alpha;  // a8 per plane-rect pixel
  // per row of alpha: every a8 outside [lo, hi) is 0, every a8 inside [ilo, ihi) (a sub-range) is 255
  std::vector<int> row_lo, row_hi, row_ilo, row_ihi;
  std::vector<uint8_t> red;    // redacted value per plane-rect pixel and channel
  std::vector<uint32_t> acc;   // column sums (32-bit path)
  std::vector<uint16_t> acc16; // column sums (16-bit path)
  std::vector<uint8_t> t0, t1; // blur work buffers (transposed rect for the horizontal passes)
  // decimated blur: column sums, the cell grid before / after the cascade, upsampling tables, two horizontally
  // upsampled grid rows (a 2-slot cache keyed by grid row), one row of redacted values
  std::vector<uint16_t> colsum16;
  std::vector<uint8_t> grid, gridb;
  std::vector<int> uj0, uj1;
  std::vector<uint16_t> uwx;
  std::vector<uint16_t> hrow[2];
  std::vector<uint8_t> redrow;
  // ws.alpha currently holds the coverage of this plane rect/subsampling (I420/YV12: U and V share it)
  bool alpha_valid = false, alpha_any = false;
  int alpha_key[6] = {0, 0, 0, 0, 0, 0};
};

inline uint8_t div_round(uint32_t n, float inv) {
  // floor(n / d) for n < 256 d, d <= 2047 (exact: see the error bound in the notes of redact.hpp's spec comment).
  return static_cast<uint8_t>(static_cast<int>(static_cast<float>(n) * inv + 1e-4f));
}

// Exact floor(n / d) for 0 <= n <= 255 d + r (d = 2r + 1 odd, 3 <= d <= 255) as a 16-bit multiply-high and a shift:
// q = (n * m) >> (16 + s) with s = floor(log2 d), m = ceil(2^(16+s) / d) < 2^16 (d is odd, never a power of 2).
// Writing n = q d + rho (rho <= d - 1) and e = m d - 2^k (k = 16 + s):  n m / 2^k = q + rho / d + n e / (d 2^k), so
// the result is q exactly whenever n_max e < 2^k. usable() checks that bound per radius (it holds for most radii
// up to 127; the others, and larger radii, take the float path below).
struct U16Div {
  uint16_t m = 0;
  int s = 0;
  bool usable = false;
  explicit U16Div(int r) {
    if (r < 1 || r > 127) return;
    const uint32_t d = 2u * static_cast<uint32_t>(r) + 1u;
    while ((2u << s) <= d) ++s;
    const uint64_t k2 = uint64_t{1} << (16 + s);
    const uint64_t mm = (k2 + d - 1) / d;
    const uint64_t e = mm * d - k2;
    const uint64_t nmax = 255u * d + static_cast<uint32_t>(r);
    if (mm >= 65536u || nmax >= 65536u || nmax * e >= k2) return;
    m = static_cast<uint16_t>(mm);
    usable = true;
  }
};

// One output row of vpass_u16: acc holds the window sum + r, out = floor(acc / d); then acc += add - sub
// (distinct arrays: vectorises).
inline void vrow_u16(const uint8_t* __restrict add, const uint8_t* __restrict sub, uint16_t* __restrict acc,
                     uint8_t* __restrict out, int m, uint16_t mul, int sh) {
  for (int i = 0; i < m; ++i) {
    const uint32_t n = acc[i];
    out[i] = static_cast<uint8_t>(static_cast<uint16_t>((n * mul) >> 16) >> sh);
    acc[i] = static_cast<uint16_t>(acc[i] + add[i] - sub[i]);
  }
}

// One vertical box pass: src -> dst, both w x h x nc.
// 16-bit running sums (the sum of a (2r+1) window of bytes fits for r <= 127) and the exact multiply-high division:
// twice the lanes of the 32-bit float path, same integers.
FACEMASK_AVX2_CLONES
void vpass_u16(const uint8_t* __restrict src, uint8_t* __restrict dst, int w, int h, int nc, int r, const U16Div& dv,
               Workspace& ws) {
  const int m = w * nc;
  ws.acc16.resize(static_cast<size_t>(m));
  uint16_t* __restrict acc = ws.acc16.data();
  const uint16_t r1 = static_cast<uint16_t>(r + 1), rr = static_cast<uint16_t>(r), mul = dv.m;
  const int sh = dv.s;
  for (int i = 0; i < m; ++i) acc[i] = static_cast<uint16_t>(src[i] * r1 + rr);  // + r: the rounding term
  for (int k = 1; k <= r; ++k) {
    const uint8_t* rk = src + static_cast<size_t>(std::min(k, h - 1)) * m;
    for (int i = 0; i < m; ++i) acc[i] = static_cast<uint16_t>(acc[i] + rk[i]);
  }
  for (int y = 0; y < h; ++y) {
    vrow_u16(src + static_cast<size_t>(std::min(y + r + 1, h - 1)) * m,
             src + static_cast<size_t>(std::max(y - r, 0)) * m, acc, dst + static_cast<size_t>(y) * m, m, mul, sh);
  }
}

// One vertical box pass: src -> dst, both w x h x nc (any radius; 32-bit sums, float reciprocal).
FACEMASK_AVX2_CLONES
void vpass_u32(const uint8_t* src, uint8_t* dst, int w, int h, int nc, int r, Workspace& ws) {
  const int d = 2 * r + 1;
  const float inv = 1.f / static_cast<float>(d);
  const int m = w * nc;
  ws.acc.resize(static_cast<size_t>(m));
  uint32_t* acc = ws.acc.data();
  const uint8_t* row0 = src;
  for (int i = 0; i < m; ++i) acc[i] = static_cast<uint32_t>(row0[i]) * static_cast<uint32_t>(r + 1);
  for (int k = 1; k <= r; ++k) {
    const uint8_t* rk = src + static_cast<size_t>(std::min(k, h - 1)) * m;
    for (int i = 0; i < m; ++i) acc[i] += rk[i];
  }
  const uint32_t rr = static_cast<uint32_t>(r);
  for (int y = 0; y < h; ++y) {
    uint8_t* out = dst + static_cast<size_t>(y) * m;
    for (int i = 0; i < m; ++i) out[i] = div_round(acc[i] + rr, inv);
    if (y + 1 < h) {
      const uint8_t* add = src + static_cast<size_t>(std::min(y + r + 1, h - 1)) * m;
      const uint8_t* sub = src + static_cast<size_t>(std::max(y - r, 0)) * m;
      for (int i = 0; i < m; ++i) acc[i] = acc[i] + add[i] - sub[i];
    }
  }
}

void vpass(const uint8_t* src, uint8_t* dst, int w, int h, int nc, int r, Workspace& ws) {
  const U16Div dv(r);
  if (dv.usable) {
    vpass_u16(src, dst, w, h, nc, r, dv, ws);
  } else {
    vpass_u32(src, dst, w, h, nc, r, ws);
  }
}

inline bool little_endian() {
  const uint16_t one = 1;
  uint8_t b = 0;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

// Transpose of one 8 x 8 block of bytes held as 8 little-endian words (byte b of r[k] = element (k, b)): three
// rounds of swapping 1-, 2- and 4-byte groups between word pairs leave element (k, b) in byte k of r[b].
inline void transpose8x8(uint64_t r[8]) {
  const uint64_t m1 = 0x00FF00FF00FF00FFull, m2 = 0x0000FFFF0000FFFFull, m4 = 0x00000000FFFFFFFFull;
  for (int a = 0; a < 8; a += 2) {
    const uint64_t t = ((r[a] >> 8) ^ r[a + 1]) & m1;
    r[a + 1] ^= t;
    r[a] ^= t << 8;
  }
  for (int a : {0, 1, 4, 5}) {
    const uint64_t t = ((r[a] >> 16) ^ r[a + 2]) & m2;
    r[a + 2] ^= t;
    r[a] ^= t << 16;
  }
  for (int a = 0; a < 4; ++a) {
    const uint64_t t = ((r[a] >> 32) ^ r[a + 4]) & m4;
    r[a + 4] ^= t;
    r[a] ^= t << 32;
  }
}

// dst(j, i) = src(i, j) for i < rows, j < cols, in units of NC bytes: the unit at row i, column j of src starts at
// src + i * sstride + j * SPS, the one at row j, column i of dst at dst + j * dstride + i * NC. Blocked so that both
// sides stay in cache; single bytes move as 8 x 8 blocks of words where the machine is little-endian.
template <int NC, int SPS>
void transpose_units(const uint8_t* __restrict src, long sstride, uint8_t* __restrict dst, long dstride, int rows,
                     int cols) {
  int rows8 = 0, cols8 = 0;  // the part done in 8 x 8 blocks
  if (NC == 1 && SPS == 1 && little_endian()) {
    rows8 = rows & ~7;
    cols8 = cols & ~7;
    for (int i0 = 0; i0 < rows8; i0 += 8) {
      for (int j0 = 0; j0 < cols8; j0 += 8) {
        uint64_t r[8];
        for (int k = 0; k < 8; ++k) std::memcpy(&r[k], src + (i0 + k) * sstride + j0, 8);
        transpose8x8(r);
        for (int k = 0; k < 8; ++k) std::memcpy(dst + (j0 + k) * dstride + i0, &r[k], 8);
      }
    }
  }
  constexpr int T = 16;
  for (int i0 = 0; i0 < rows; i0 += T) {
    const int i1 = std::min(rows, i0 + T);
    for (int j0 = 0; j0 < cols; j0 += T) {
      const int j1 = std::min(cols, j0 + T);
      for (int j = j0; j < j1; ++j) {
        uint8_t* d = dst + j * dstride;
        const uint8_t* s = src + static_cast<long>(j) * SPS;
        // skip the units the 8 x 8 blocks already moved (i < rows8 and j < cols8)
        const int ib = (j < cols8) ? std::max(i0, rows8) : i0;
        for (int i = ib; i < i1; ++i) {
          std::memcpy(d + i * NC, s + i * sstride, NC);
        }
      }
    }
  }
}

// Blur of one plane rect: copies the frame's pixels (first processed byte at src, pixel stride PS, row stride
// sstride) straight into a transposed work buffer (all NC channels of a pixel together), runs the three horizontal
// passes there as vertical passes (vectorised across the rect's rows and channels), transposes back into `out`
// (pw x ph x NC, row-major) and runs the three vertical passes. Same integers as the passes written out directly.
template <int NC, int PS>
void blur_rect(const uint8_t* src, long sstride, int pw, int ph, int rx, int ry, uint8_t* out, Workspace& ws) {
  const size_t n = static_cast<size_t>(pw) * ph * NC;
  ws.t0.resize(n);
  ws.t1.resize(n);
  uint8_t* t0 = ws.t0.data();
  uint8_t* t1 = ws.t1.data();
  // t0: pw rows (one per x) of ph * NC bytes
  transpose_units<NC, PS>(src, sstride, t0, static_cast<long>(ph) * NC, ph, pw);
  vpass(t0, t1, ph, pw, NC, rx, ws);
  vpass(t1, t0, ph, pw, NC, rx, ws);
  vpass(t0, t1, ph, pw, NC, rx, ws);
  transpose_units<NC, NC>(t1, static_cast<long>(ph) * NC, t0, static_cast<long>(pw) * NC, pw, ph);
  vpass(t0, out, pw, ph, NC, ry, ws);
  vpass(out, t1, pw, ph, NC, ry, ws);
  vpass(t1, out, pw, ph, NC, ry, ws);
}

// Conservative per-row spans for an ellipse plan: frame x ranges where alpha is certainly 0 (outside
// [out_lo, out_hi]) or certainly 1 (inside [in_lo, in_hi]); pixels in between evaluate region_alpha_f exactly, so
// the result is identical to evaluating every pixel. Bounds: for q = the normalised radius and g the gradient term,
// g lies in [q / rmax, q / rmin], hence |sd| >= |q - 1| rmin; alpha is 0 when sd >= f/2 and 1 when sd <= -f/2.
struct RowSpan {
  bool any_out = true;   // false: the whole row is certainly 0
  double out_lo = 0, out_hi = 0;
  bool any_in = false;
  double in_lo = 0, in_hi = 0;
};

// Per-plan constants of the row quadratic A t^2 + B t + C = 0 (t = x - cx) for the level q = k of the rotated
// ellipse at row offset dy: A = c^2/rx^2 + s^2/ry^2 (constant), B = dy b1, C = dy^2 c1 - k^2, so the discriminant
// is dy^2 (b1^2 - 4 A c1) + 4 A k^2 and the roots (-B -+ sqrt(disc)) / (2A).
struct RowSpanCoef {
  double A = 0, b1 = 0, d1 = 0, inv2a = 0, k_out = 0, k_in = 0, cx = 0, cy = 0;
  bool ok = false;
};

RowSpanCoef row_span_coef(const RegionPlan& pl, float feather) {
  RowSpanCoef k;
  const Ellipse& e = pl.ellipse;
  const double c = pl.ca, s = pl.sa;
  const double irx2 = 1.0 / (static_cast<double>(e.rx) * e.rx), iry2 = 1.0 / (static_cast<double>(e.ry) * e.ry);
  k.A = c * c * irx2 + s * s * iry2;
  k.b1 = 2.0 * c * s * (irx2 - iry2);
  const double c1 = s * s * irx2 + c * c * iry2;
  k.d1 = k.b1 * k.b1 - 4.0 * k.A * c1;
  k.ok = k.A > 0.0 && std::isfinite(k.A) && std::isfinite(k.d1);
  k.inv2a = 1.0 / (2.0 * k.A);
  const double rmin = std::min(e.rx, e.ry);
  const double f = feather > 0.f ? feather : 0.0;
  k.k_out = 1.0 + (0.5 * f) / rmin * 1.001 + 1e-3;
  k.k_in = 1.0 - (0.5 * f) / rmin * 1.001 - 1e-3;
  k.cx = e.cx;
  k.cy = e.cy;
  return k;
}

FACEMASK_INLINE RowSpan ellipse_row_span(const RowSpanCoef& k, double fy) {
  RowSpan sp;
  if (!k.ok) {
    sp.any_out = false;
    return sp;
  }
  const double dy = fy - k.cy;
  const double B = dy * k.b1, base = dy * dy * k.d1;
  const double disc_out = base + 4.0 * k.A * (k.k_out * k.k_out);
  if (!(disc_out >= 0.0)) {
    sp.any_out = false;
    return sp;
  }
  const double so = std::sqrt(disc_out);
  sp.out_lo = k.cx + (-B - so) * k.inv2a - 1e-3;
  sp.out_hi = k.cx + (-B + so) * k.inv2a + 1e-3;
  if (k.k_in > 0.0) {
    const double disc_in = base + 4.0 * k.A * (k.k_in * k.k_in);
    if (disc_in >= 0.0) {
      const double si = std::sqrt(disc_in);
      sp.any_in = true;
      sp.in_lo = k.cx + (-B - si) * k.inv2a + 1e-3;
      sp.in_hi = k.cx + (-B + si) * k.inv2a - 1e-3;
    }
  }
  return sp;
}

// a8 of an ellipse plan with feather > 0 for x in [x0, x1) of one row (vectorisable: ellipse_alpha_soft is
// branch-free; same arithmetic as region_alpha_f). Returns true if any a8 != 0.
FACEMASK_INLINE bool alpha_span_soft(const RegionPlan& pl, int px0, int sx, float fy, float feather, uint8_t* a, int x0, int x1) {
  if (x1 <= x0) return false;
  const Ellipse e = pl.ellipse;
  const float c = pl.ca, s = pl.sa, fsx = static_cast<float>(sx);
  // chunks of <= 64 pixels through 32-bit staging: the formula loop has only 32-bit types (8 lanes per AVX2 vector,
  // so a span of whole blocks of 8 runs without a scalar remainder), the narrowing to bytes is a separate loop
  constexpr int kChunk = 64;
  int32_t t[kChunk];
  unsigned acc = 0;
  for (int xc = x0; xc < x1; xc += kChunk) {
    const int n = std::min(kChunk, x1 - xc);
    for (int k = 0; k < n; ++k) {
      const float fx = (static_cast<float>(px0 + xc + k) + 0.5f) * fsx;
      t[k] = static_cast<int>(ellipse_alpha_soft(e, c, s, fx, fy, feather) * 255.f + 0.5f);
    }
    for (int k = 0; k < n; ++k) {
      a[xc + k] = static_cast<uint8_t>(t[k]);
      acc |= static_cast<unsigned>(t[k]);
    }
  }
  return acc != 0;
}

// Grow [x0, x1) (non-empty) to whole blocks of V inside [0, n): to the right, then to the left where the rect ends.
// The result is a multiple of V unless n < that multiple. Used where evaluating / compositing extra pixels is exact
// (alpha formula: any pixel; composite: pixels of alpha 0 give the frame byte, of alpha 255 give red).
inline void grow_to_blocks(int* x0, int* x1, int n, int V) {
  const int want = std::min(n, (*x1 - *x0 + V - 1) / V * V);
  *x1 = *x0 + want;
  if (*x1 > n) {
    *x0 -= *x1 - n;
    *x1 = n;
  }
}

// alpha_span_soft over [x0, x1) grown to whole blocks of kAlphaBlock inside [0, pw) (the formula is exact at every
// pixel, so the extra pixels get their true a8): the vector loop runs without its scalar remainder.
constexpr int kAlphaBlock = 8;
FACEMASK_INLINE bool alpha_range_soft(const RegionPlan& pl, int px0, int sx, float fy, float feather, uint8_t* a, int x0, int x1,
                      int pw) {
  if (x1 <= x0) return false;
  grow_to_blocks(&x0, &x1, pw, kAlphaBlock);
  return alpha_span_soft(pl, px0, sx, fy, feather, a, x0, x1);
}

constexpr int kAlphaMargin = 32;

// Fill ws.alpha (pw x ph) for a plane rect whose first sample is (px0, py0) with subsampling (sx, sy).
// Returns false if every alpha is 0. zero_all: every a8 outside the row spans is written 0 (draw_outline reads them
// all); otherwise only kAlphaMargin pixels on either side of each row's span are (the composite's vector blocks read
// at most that far outside a span).
FACEMASK_AVX2_CLONES
bool compute_alpha(const RegionPlan& pl, int px0, int py0, int pw, int ph, int sx, int sy, float feather,
                   Workspace& ws, bool zero_all) {
  if (zero_all) {
    ws.alpha.assign(static_cast<size_t>(pw) * ph, 0);
  } else {
    ws.alpha.resize(static_cast<size_t>(pw) * ph);
  }
  ws.row_lo.assign(static_cast<size_t>(ph), 0);
  ws.row_hi.assign(static_cast<size_t>(ph), 0);
  ws.row_ilo.assign(static_cast<size_t>(ph), 0);
  ws.row_ihi.assign(static_cast<size_t>(ph), 0);
  bool any = false;
  const bool spans = pl.kind == 1 && !ellipse_empty(pl.ellipse);
  const bool soft = spans && feather > 0.f && std::isfinite(feather);
  const RowSpanCoef coef = spans ? row_span_coef(pl, feather) : RowSpanCoef{};
  const double isx = 1.0 / sx;  // sx is 1 or 2: v * isx == v / sx exactly
  for (int y = 0; y < ph; ++y) {
    const float fy = (static_cast<float>(py0 + y) + 0.5f) * static_cast<float>(sy);
    uint8_t* a = ws.alpha.data() + static_cast<size_t>(y) * pw;
    int xb = 0, xe = pw;            // exact evaluation range
    int ib = pw, ie = pw;           // certainly-1 range inside it
    if (spans) {
      const RowSpan sp = ellipse_row_span(coef, fy);
      if (!sp.any_out) continue;
      // sample x centre: (px0 + x + 0.5) * sx
      auto first_ge = [&](double v) {  // smallest x with centre >= v
        const double t = std::ceil(v * isx - 0.5) - px0;
        return static_cast<int>(std::clamp(t, 0.0, static_cast<double>(pw)));
      };
      auto last_le = [&](double v) {  // one past the largest x with centre <= v
        const double t = std::floor(v * isx - 0.5) - px0 + 1;
        return static_cast<int>(std::clamp(t, 0.0, static_cast<double>(pw)));
      };
      xb = first_ge(sp.out_lo);
      xe = last_le(sp.out_hi);
      if (xe <= xb) continue;
      if (sp.any_in) {
        ib = std::max(xb, first_ge(sp.in_lo));
        ie = std::min(xe, last_le(sp.in_hi));
        if (ie <= ib) ib = ie = xe;
      } else {
        ib = ie = xe;
      }
    }
    if (!zero_all) {
      const int m0 = std::max(0, xb - kAlphaMargin), m1 = std::min(pw, xe + kAlphaMargin);
      std::memset(a + m0, 0, static_cast<size_t>(xb - m0));
      std::memset(a + xe, 0, static_cast<size_t>(m1 - xe));
    }
    if (soft) {
      any = alpha_range_soft(pl, px0, sx, fy, feather, a, xb, ib, pw) || any;
      any = alpha_range_soft(pl, px0, sx, fy, feather, a, ie, xe, pw) || any;
    } else {
      for (int x = xb; x < ib; ++x) {
        const float fx = (static_cast<float>(px0 + x) + 0.5f) * static_cast<float>(sx);
        const int a8 = static_cast<int>(region_alpha_f(pl, fx, fy, feather) * 255.f + 0.5f);
        a[x] = static_cast<uint8_t>(a8);
        any = any || a8 != 0;
      }
      for (int x = ie; x < xe; ++x) {
        const float fx = (static_cast<float>(px0 + x) + 0.5f) * static_cast<float>(sx);
        const int a8 = static_cast<int>(region_alpha_f(pl, fx, fy, feather) * 255.f + 0.5f);
        a[x] = static_cast<uint8_t>(a8);
        any = any || a8 != 0;
      }
    }
    if (ie > ib) {
      std::memset(a + ib, 255, static_cast<size_t>(ie - ib));
      any = true;
    }
    ws.row_lo[static_cast<size_t>(y)] = xb;
    ws.row_hi[static_cast<size_t>(y)] = xe;
    ws.row_ilo[static_cast<size_t>(y)] = ie > ib ? ib : xe;
    ws.row_ihi[static_cast<size_t>(y)] = ie > ib ? ie : xe;
  }
  return any;
}

// Composite one row span: d[x * PS + c] = (d (255 - a8) + red a8 + 127) / 255 for each processed byte c.
// Branch-free over the span (vectorises): the formula gives d itself for a8 == 0 and red for a8 == 255, so pixels
// with alpha 0 are rewritten with their own value; the bytes are identical to skipping them.
// 16-bit lanes: t = d (255 - a8) + red a8 + 127 <= 255 * 255 + 127 = 65152, and for every t <= 65152
// t / 255 == (t + 1 + (t >> 8)) >> 8 (checked exhaustively), which vectorises without a division.
inline uint8_t blend255(uint16_t d, uint16_t red, uint16_t a8) {
  const uint16_t t = static_cast<uint16_t>(d * static_cast<uint16_t>(255 - a8) + red * a8 + 127);
  return static_cast<uint8_t>(static_cast<uint16_t>(t + 1 + (t >> 8)) >> 8);
}

// keep[c] is 0xFF for a processed byte and 0 for the unprocessed 4th byte of 4-byte pixels (weight 0: unchanged).
template <int NW, int PS>
FACEMASK_INLINE void composite_row(uint8_t* __restrict d, const uint8_t* __restrict a, const uint8_t* __restrict red,
                   const uint8_t* keep, int n) {
  uint16_t k[NW];
  for (int c = 0; c < NW; ++c) k[c] = keep[c];
  for (int x = 0; x < n; ++x) {
    const uint16_t a8 = a[x];
    for (int c = 0; c < NW; ++c) d[x * PS + c] = blend255(d[x * PS + c], red[x * NW + c], a8 & k[c]);
  }
}

template <int NW, int PS>
FACEMASK_INLINE void composite_row_const(uint8_t* __restrict d, const uint8_t* __restrict a, const uint8_t* v, const uint8_t* keep,
                         int n) {
  uint16_t vv[NW], k[NW];
  for (int c = 0; c < NW; ++c) {
    vv[c] = v[c];
    k[c] = keep[c];
  }
  for (int x = 0; x < n; ++x) {
    const uint16_t a8 = a[x];
    for (int c = 0; c < NW; ++c) d[x * PS + c] = blend255(d[x * PS + c], vv[c], a8 & k[c]);
  }
}

// ---- blur on a decimated grid (spec: "Blur" steps 1-3) -------------------------------------------------------------

// Step 1, one row of cells: colsum (m = pw * PS values, u16) holds the column sums of the cell row's fy frame rows;
// out[j * NW + c] = (sum_{b < fx} colsum[min(j fx + b, pw - 1) * PS + wo + c] + fx fy / 2) >> sh for j < nx.
template <int NW, int PS>
FACEMASK_INLINE void decimate_cells(const uint16_t* __restrict colsum, uint8_t* __restrict out, int pw, int nx,
                                         int wo, int fx, uint32_t half, int sh) {
  const int full = pw / fx;  // cells whose fx columns all lie inside the rect
  for (int j = 0; j < full; ++j) {
    uint32_t s[NW];
    for (int c = 0; c < NW; ++c) s[c] = half;
    const uint16_t* q = colsum + static_cast<size_t>(j) * fx * PS + wo;
    for (int b = 0; b < fx; ++b) {
      for (int c = 0; c < NW; ++c) s[c] += q[b * PS + c];
    }
    for (int c = 0; c < NW; ++c) out[j * NW + c] = static_cast<uint8_t>(s[c] >> sh);
  }
  for (int j = full; j < nx; ++j) {  // the last cell: columns past the rect repeat column pw - 1
    uint32_t s[NW];
    for (int c = 0; c < NW; ++c) s[c] = half;
    for (int b = 0; b < fx; ++b) {
      const uint16_t* q = colsum + static_cast<size_t>(std::min(j * fx + b, pw - 1)) * PS + wo;
      for (int c = 0; c < NW; ++c) s[c] += q[c];
    }
    for (int c = 0; c < NW; ++c) out[j * NW + c] = static_cast<uint8_t>(s[c] >> sh);
  }
}

// decimate_cells with the factor as a template argument (FX = fx): the cell loop has fixed-length inner loops, so
// the compiler vectorises across cells. Same integers.
template <int NW, int PS, int FX>
FACEMASK_INLINE void decimate_cells_fx(const uint16_t* __restrict colsum, uint8_t* __restrict out, int pw, int nx,
                                            int wo, uint32_t half, int sh) {
  const int full = pw / FX;
  const uint16_t* __restrict q = colsum + wo;
  for (int j = 0; j < full; ++j) {
    for (int c = 0; c < NW; ++c) {
      uint32_t sum = half;
      for (int b = 0; b < FX; ++b) sum += q[(j * FX + b) * PS + c];
      out[j * NW + c] = static_cast<uint8_t>(sum >> sh);
    }
  }
  for (int j = full; j < nx; ++j) {
    for (int c = 0; c < NW; ++c) {
      uint32_t sum = half;
      for (int b = 0; b < FX; ++b) sum += q[std::min(j * FX + b, pw - 1) * PS + c];
      out[j * NW + c] = static_cast<uint8_t>(sum >> sh);
    }
  }
}

template <int NW, int PS>
FACEMASK_INLINE void decimate_row(const uint16_t* colsum, uint8_t* out, int pw, int nx, int wo, int fx, uint32_t half, int sh) {
  switch (fx) {
    case 1: return decimate_cells_fx<NW, PS, 1>(colsum, out, pw, nx, wo, half, sh);
    case 2: return decimate_cells_fx<NW, PS, 2>(colsum, out, pw, nx, wo, half, sh);
    case 4: return decimate_cells_fx<NW, PS, 4>(colsum, out, pw, nx, wo, half, sh);
    case 8: return decimate_cells_fx<NW, PS, 8>(colsum, out, pw, nx, wo, half, sh);
    default: return decimate_cells<NW, PS>(colsum, out, pw, nx, wo, fx, half, sh);
  }
}

// Column sums of rows [y, y + fy) of the rect (rows past ph - 1 repeat row ph - 1), over every byte of the pixels
// (m = pw * PS; the unprocessed bytes are summed and ignored). fy * 255 <= 16320 fits 16 bits.
FACEMASK_INLINE void add_row_u16(uint16_t* __restrict acc, const uint8_t* __restrict r, int m) {
  for (int i = 0; i < m; ++i) acc[i] = static_cast<uint16_t>(acc[i] + r[i]);
}

// (restrict-qualified parameters: the compiler vectorises without a run-time overlap check)
FACEMASK_INLINE
void add_row_u32(uint32_t* __restrict acc, const uint8_t* __restrict r, int m) {
  for (int i = 0; i < m; ++i) acc[i] += r[i];
}

FACEMASK_INLINE void widen_row_u16(uint16_t* __restrict acc, const uint8_t* __restrict r, int m) {
  for (int i = 0; i < m; ++i) acc[i] = r[i];
}

FACEMASK_INLINE
void column_sums_u16(const uint8_t* first_row, long stride, int rows_avail, int fy, int m, uint16_t* __restrict acc) {
  widen_row_u16(acc, first_row, m);
  for (int a = 1; a < fy; ++a) add_row_u16(acc, first_row + static_cast<long>(std::min(a, rows_avail - 1)) * stride, m);
}

// Step 3, horizontal half of one grid row: H[x * NW + c] = L[j0(x)][c] (2 fx - wx(x)) + L[j1(x)][c] wx(x) for
// x in [x0, x1) (<= 255 * 128: 16 bits). Column tables j0, j1 (cell index * NW) and wx per pixel column.
template <int NW>
FACEMASK_INLINE void upsample_row_h(const uint8_t* __restrict L, const int* __restrict j0, const int* __restrict j1,
                                         const uint16_t* __restrict wx, uint16_t f2, uint16_t* __restrict H, int x0,
                                         int x1) {
  for (int x = x0; x < x1; ++x) {
    const uint8_t* a = L + j0[x];
    const uint8_t* b = L + j1[x];
    const uint16_t w1 = wx[x], w0 = static_cast<uint16_t>(f2 - w1);
    for (int c = 0; c < NW; ++c) H[x * NW + c] = static_cast<uint16_t>(a[c] * w0 + b[c] * w1);
  }
}

// upsample_row_h for x in [0, pw) with the factor as a template argument, by runs of cells: pixels
// x = j FX + FX/2 + k (k < FX) lie between cells j and j + 1 with wx = 2k + 1; x < FX/2 and
// x >= (nx - 1) FX + FX/2 have both taps on the first / last cell (clamped). Same integers as the tables.
template <int NW, int FX>
FACEMASK_INLINE void upsample_row_h_fx(const uint8_t* __restrict L, int nx, int pw, uint16_t* __restrict H) {
  constexpr int kHalf = FX / 2;
  const int x_first = std::min(pw, kHalf);
  for (int x = 0; x < x_first; ++x) {
    for (int c = 0; c < NW; ++c) H[x * NW + c] = static_cast<uint16_t>(L[c] * (2 * FX));
  }
  // runs j whose FX pixels all lie inside [0, pw) and have a right cell
  const int nrun = std::max(0, std::min(nx - 1, (pw - kHalf) / FX));
  for (int j = 0; j < nrun; ++j) {
    const uint8_t* __restrict a = L + j * NW;
    uint16_t* __restrict o = H + (j * FX + kHalf) * NW;
    for (int k = 0; k < FX; ++k) {
      for (int c = 0; c < NW; ++c) {
        o[k * NW + c] = static_cast<uint16_t>(a[c] * (2 * FX - 2 * k - 1) + a[NW + c] * (2 * k + 1));
      }
    }
  }
  for (int x = std::max(x_first, nrun * FX + kHalf); x < pw; ++x) {  // the rest, general formula
    const int m = 2 * x + 1 - FX;
    const int j0 = m / (2 * FX);  // m >= 0 here
    const int wx = m - 2 * FX * j0;
    const int i0 = std::min(j0, nx - 1), i1 = std::min(j0 + 1, nx - 1);
    for (int c = 0; c < NW; ++c) {
      H[x * NW + c] = static_cast<uint16_t>(L[i0 * NW + c] * (2 * FX - wx) + L[i1 * NW + c] * wx);
    }
  }
}

// Step 3, vertical half for n bytes: out = (H0 w0 + H1 w1 + rnd) >> sh (32-bit lanes: <= 255 * 4 * 64 * 64).
FACEMASK_INLINE
void upsample_row_v(const uint16_t* __restrict H0, const uint16_t* __restrict H1, int w0, int w1, uint32_t rnd, int sh,
                    uint8_t* __restrict out, int n) {
  const uint32_t u0 = static_cast<uint32_t>(w0), u1 = static_cast<uint32_t>(w1);
  for (int i = 0; i < n; ++i) out[i] = static_cast<uint8_t>((H0[i] * u0 + H1[i] * u1 + rnd) >> sh);
}

// The same in 16-bit lanes, for fx fy <= 64: H0 w0 + H1 w1 + rnd <= 255 * 4 fx fy + 2 fx fy <= 65408.
FACEMASK_INLINE
void upsample_row_v16(const uint16_t* __restrict H0, const uint16_t* __restrict H1, int w0, int w1, int rnd, int sh,
                      uint8_t* __restrict out, int n) {
  const uint16_t u0 = static_cast<uint16_t>(w0), u1 = static_cast<uint16_t>(w1), r = static_cast<uint16_t>(rnd);
  for (int i = 0; i < n; ++i) {
    out[i] = static_cast<uint8_t>(static_cast<uint16_t>(H0[i] * u0 + H1[i] * u1 + r) >> sh);
  }
}

// upsample_row_v16 for n 4-byte pixels written straight into the frame (alpha 255): processed bytes from the
// sample, the 4th byte kept (keep[c] = 0xFF / 0).
FACEMASK_INLINE
void upsample_put4_v16(const uint16_t* __restrict H0, const uint16_t* __restrict H1, int w0, int w1, int rnd, int sh,
                       uint8_t* __restrict d, const uint8_t* keep, int n) {
  const uint16_t u0 = static_cast<uint16_t>(w0), u1 = static_cast<uint16_t>(w1), r = static_cast<uint16_t>(rnd);
  uint8_t k[4];
  for (int c = 0; c < 4; ++c) k[c] = keep[c];
  for (int x = 0; x < n; ++x) {
    for (int c = 0; c < 4; ++c) {
      const int i = x * 4 + c;
      const uint8_t v = static_cast<uint8_t>(static_cast<uint16_t>(H0[i] * u0 + H1[i] * u1 + r) >> sh);
      d[i] = static_cast<uint8_t>((d[i] & ~k[c]) | (v & k[c]));
    }
  }
}

inline int floor_div(int a, int b) {  // b > 0
  const int q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

// How one row's span is composited: up to two blend ranges and one "put" range (alpha 255: red itself), laid out so
// that every blend loop runs on whole vector blocks. The ramps [lo, ilo) and [ihi, hi) are grown to blocks of V
// pixels inside [0, pw) (exact: the blend gives the frame byte where a8 = 0 - ws.alpha is 0 outside [lo, hi) - and
// red where a8 = 255); ramps whose grown blocks meet become one blend (then no put). Every pixel with 0 < a8 < 255
// is blended exactly once; hull is the range whose red values the blends and the put read.
struct SpanPlan {
  int nb = 0;
  int b0[2] = {0, 0}, b1[2] = {0, 0};
  int p0 = 0, p1 = 0;
  int h0 = 0, h1 = 0;
};

inline SpanPlan plan_span(int lo, int ilo, int ihi, int hi, int pw, int V) {
  SpanPlan sp;
  int a0 = lo, a1 = ilo, c0 = ihi, c1 = hi;
  const bool ha = a1 > a0, hc = c1 > c0;
  if (ha) grow_to_blocks(&a0, &a1, pw, V);
  if (hc) grow_to_blocks(&c0, &c1, pw, V);
  sp.h0 = lo;
  sp.h1 = hi;
  if (ha && hc && a1 > c0) {
    int m0 = std::min(a0, c0), m1 = std::max(a1, c1);
    grow_to_blocks(&m0, &m1, pw, V);
    sp.nb = 1;
    sp.b0[0] = m0;
    sp.b1[0] = m1;
  } else {
    if (ha) {
      sp.b0[sp.nb] = a0;
      sp.b1[sp.nb++] = a1;
    }
    if (hc) {
      sp.b0[sp.nb] = c0;
      sp.b1[sp.nb++] = c1;
    }
    sp.p0 = ha ? std::max(ilo, a1) : ilo;
    sp.p1 = hc ? std::min(ihi, c0) : ihi;
    if (sp.p1 < sp.p0) sp.p1 = sp.p0;
  }
  for (int k = 0; k < sp.nb; ++k) {
    sp.h0 = std::min(sp.h0, sp.b0[k]);
    sp.h1 = std::max(sp.h1, sp.b1[k]);
  }
  return sp;
}

// Blend blocks (pixels) per format: 16 or 32 work bytes, one AVX2 vector of 16-bit lanes or two.
template <int NW>
constexpr int blend_block() {
  return NW == 4 ? 8 : 16;
}
// plan_span's blocks reach at most 2 V - 2 pixels outside a row span; compute_alpha zeroes kAlphaMargin there
static_assert(2 * blend_block<1>() <= kAlphaMargin && 2 * blend_block<2>() <= kAlphaMargin &&
                  2 * blend_block<3>() <= kAlphaMargin && 2 * blend_block<4>() <= kAlphaMargin,
              "alpha margin too small for the blend blocks");

// 4-byte pixels, alpha 255: the processed bytes from red, the 4th byte kept (keep[c] = 0xFF / 0).
FACEMASK_INLINE
void put_masked4(uint8_t* __restrict d, const uint8_t* __restrict red, const uint8_t* keep, int n) {
  uint8_t k[4];
  for (int c = 0; c < 4; ++c) k[c] = keep[c];
  for (int x = 0; x < n; ++x) {
    for (int c = 0; c < 4; ++c) {
      d[x * 4 + c] = static_cast<uint8_t>((d[x * 4 + c] & ~k[c]) | (red[x * 4 + c] & k[c]));
    }
  }
}

// Composite one row span of redacted values rr (indexed by rect column, NW bytes each, valid over sp's hull) into
// the frame row d (rect column 0).
template <int NC, int PS>
FACEMASK_INLINE void composite_planned(uint8_t* d, const uint8_t* a, const uint8_t* rr, const uint8_t* keep,
                              const SpanPlan& sp) {
  constexpr int NW = PS == 4 ? 4 : NC;
  for (int k = 0; k < sp.nb; ++k) {
    composite_row<NW, PS>(d + static_cast<long>(sp.b0[k]) * PS, a + sp.b0[k], rr + static_cast<size_t>(sp.b0[k]) * NW,
                          keep, sp.b1[k] - sp.b0[k]);
  }
  if (sp.p1 <= sp.p0) return;
  if (PS != NC) {
    put_masked4(d + static_cast<long>(sp.p0) * PS, rr + static_cast<size_t>(sp.p0) * NW, keep, sp.p1 - sp.p0);
  } else {
    std::memcpy(d + static_cast<long>(sp.p0) * PS, rr + static_cast<size_t>(sp.p0) * NW,
                static_cast<size_t>(sp.p1 - sp.p0) * NW);
  }
}

// Blur with a decimation factor > 1 in at least one direction (spec "Blur" 1-3), composited through ws.alpha and its
// row spans. base: the rect's first pixel (pixel start, not the first work byte); wo: first work byte in a pixel.
template <int NC, int PS>
FACEMASK_INLINE void blur_decimated(uint8_t* base, long stride, int pw, int ph, int wo, const BlurAxis& bx, const BlurAxis& by,
                    const uint8_t* keep, Workspace& ws) {
  constexpr int NW = PS == 4 ? 4 : NC;
  const int fx = bx.factor, fy = by.factor;
  const int nx = (pw + fx - 1) / fx, ny = (ph + fy - 1) / fy;
  const int sh = bx.log2_factor + by.log2_factor;
  // 1. decimate: column sums over fy rows (16-bit), then sums of fx columns per cell
  const int m = pw * PS;
  ws.colsum16.resize(static_cast<size_t>(m));
  const size_t gn = static_cast<size_t>(nx) * ny * NW;
  ws.grid.resize(gn);
  ws.gridb.resize(gn);
  const uint32_t half = static_cast<uint32_t>(fx * fy / 2);
  for (int i = 0; i < ny; ++i) {
    column_sums_u16(base + static_cast<long>(i) * fy * stride, stride, ph - i * fy, fy, m, ws.colsum16.data());
    decimate_row<NW, PS>(ws.colsum16.data(), ws.grid.data() + static_cast<size_t>(i) * nx * NW, pw, nx, wo, fx, half,
                         sh);
  }
  // 2. the 3 + 3 cascade on the nx x ny grid
  blur_rect<NW, NW>(ws.grid.data(), static_cast<long>(nx) * NW, nx, ny, bx.radius, by.radius, ws.gridb.data(), ws);
  const uint8_t* G = ws.gridb.data();
  // 3. bilinear upsampling fused with the composite, row by row
  const bool tables = !(fx == 2 || fx == 4 || fx == 8 || fx == 16);  // the others have a per-factor loop
  ws.uj0.resize(static_cast<size_t>(pw));
  ws.uj1.resize(static_cast<size_t>(pw));
  ws.uwx.resize(static_cast<size_t>(pw));
  for (int x = 0; tables && x < pw; ++x) {
    const int mm = 2 * x + 1 - fx;
    const int j0 = floor_div(mm, 2 * fx);
    ws.uwx[static_cast<size_t>(x)] = static_cast<uint16_t>(mm - 2 * fx * j0);
    ws.uj0[static_cast<size_t>(x)] = std::clamp(j0, 0, nx - 1) * NW;
    ws.uj1[static_cast<size_t>(x)] = std::clamp(j0 + 1, 0, nx - 1) * NW;
  }
  for (auto& h : ws.hrow) h.resize(static_cast<size_t>(pw) * NW);
  ws.redrow.resize(static_cast<size_t>(pw) * NW);
  int cached[2] = {-1, -1};
  const uint16_t f2x = static_cast<uint16_t>(2 * fx);
  // grid row i upsampled horizontally, from the 2-slot cache; `other` is the slot that must be kept
  auto hrow = [&](int i, int keep_slot) FACEMASK_LAMBDA_INLINE -> const uint16_t* {
    for (int k = 0; k < 2; ++k) {
      if (cached[k] == i) return ws.hrow[k].data();
    }
    const int k = keep_slot == 0 ? 1 : 0;
    const uint8_t* Li = G + static_cast<size_t>(i) * nx * NW;
    uint16_t* Hk = ws.hrow[k].data();
    switch (fx) {
      case 2: upsample_row_h_fx<NW, 2>(Li, nx, pw, Hk); break;
      case 4: upsample_row_h_fx<NW, 4>(Li, nx, pw, Hk); break;
      case 8: upsample_row_h_fx<NW, 8>(Li, nx, pw, Hk); break;
      case 16: upsample_row_h_fx<NW, 16>(Li, nx, pw, Hk); break;
      default: upsample_row_h<NW>(Li, ws.uj0.data(), ws.uj1.data(), ws.uwx.data(), f2x, Hk, 0, pw);
    }
    cached[k] = i;
    return ws.hrow[k].data();
  };
  const uint32_t rnd = static_cast<uint32_t>(2 * fx * fy);
  const bool small = fx * fy <= 64;  // the sample fits 16-bit lanes
  for (int y = 0; y < ph; ++y) {
    const int lo = ws.row_lo[static_cast<size_t>(y)], hi = ws.row_hi[static_cast<size_t>(y)];
    if (hi <= lo) continue;
    const int ilo = ws.row_ilo[static_cast<size_t>(y)], ihi = ws.row_ihi[static_cast<size_t>(y)];
    const int my = 2 * y + 1 - fy;
    const int i0r = ((my + 2 * fy) >> (by.log2_factor + 1)) - 1;  // floor(my / 2fy); my + 2 fy > 0
    const int wy = my - 2 * fy * i0r;
    const int i0 = std::clamp(i0r, 0, ny - 1), i1 = std::clamp(i0r + 1, 0, ny - 1);
    const uint16_t* H0 = hrow(i0, -1);
    const int s0 = cached[0] == i0 ? 0 : 1;
    const uint16_t* H1 = (wy == 0 || i1 == i0) ? H0 : hrow(i1, s0);
    uint8_t* rr = ws.redrow.data();
    const SpanPlan sp = plan_span(lo, ilo, ihi, hi, pw, blend_block<NW>());
    uint8_t* d = base + static_cast<long>(y) * stride + wo;
    const uint8_t* a = ws.alpha.data() + static_cast<size_t>(y) * pw;
    // red into the row buffer for the blend ranges, straight into the frame for the put range (alpha 255)
    auto sample = [&](int x0, int x1, uint8_t* out) FACEMASK_LAMBDA_INLINE {
      if (small) {
        upsample_row_v16(H0 + static_cast<size_t>(x0) * NW, H1 + static_cast<size_t>(x0) * NW, 2 * fy - wy, wy,
                         static_cast<int>(rnd), sh + 2, out, (x1 - x0) * NW);
      } else {
        upsample_row_v(H0 + static_cast<size_t>(x0) * NW, H1 + static_cast<size_t>(x0) * NW, 2 * fy - wy, wy, rnd,
                       sh + 2, out, (x1 - x0) * NW);
      }
    };
    for (int k = 0; k < sp.nb; ++k) {
      sample(sp.b0[k], sp.b1[k], rr + static_cast<size_t>(sp.b0[k]) * NW);
      composite_row<NW, PS>(d + static_cast<long>(sp.b0[k]) * PS, a + sp.b0[k], rr + static_cast<size_t>(sp.b0[k]) * NW,
                            keep, sp.b1[k] - sp.b0[k]);
    }
    if (sp.p1 > sp.p0) {
      if (PS == NC) {
        sample(sp.p0, sp.p1, d + static_cast<long>(sp.p0) * PS);
      } else if (small) {
        upsample_put4_v16(H0 + static_cast<size_t>(sp.p0) * NW, H1 + static_cast<size_t>(sp.p0) * NW, 2 * fy - wy, wy,
                          static_cast<int>(rnd), sh + 2, d + static_cast<long>(sp.p0) * PS, keep, sp.p1 - sp.p0);
      } else {
        sample(sp.p0, sp.p1, rr + static_cast<size_t>(sp.p0) * NW);
        put_masked4(d + static_cast<long>(sp.p0) * PS, rr + static_cast<size_t>(sp.p0) * NW, keep, sp.p1 - sp.p0);
      }
    }
  }
}

// d[x * PS + c] = v[c] for the processed bytes c, x in [x0, x1) (the 4th byte of 4-byte pixels kept).
template <int NW, int PS>
FACEMASK_INLINE void fill_span(uint8_t* __restrict d, const uint8_t* v, const uint8_t* keep, int x0, int x1) {
  uint8_t vv[NW], k[NW];
  for (int c = 0; c < NW; ++c) {
    vv[c] = static_cast<uint8_t>(v[c] & keep[c]);
    k[c] = keep[c];
  }
  for (int x = x0; x < x1; ++x) {
    for (int c = 0; c < NW; ++c) d[x * PS + c] = static_cast<uint8_t>((d[x * PS + c] & ~k[c]) | vv[c]);
  }
}

template <int NC, int PS>
FACEMASK_AVX2_CLONES void process_plane_t(const ImageView& img, const FormatInfo& fi, int p, const RegionPlan& pl,
                     const RedactParams& prm, Workspace& ws) {
  const PlaneLayout& L = fi.planes[p];
  const int sx = L.sub_x, sy = L.sub_y;
  const int plw = plane_width(fi, p, img.width), plh = plane_height(fi, p, img.height);
  const int px0 = pl.x0 / sx, py0 = pl.y0 / sy;
  const int px1 = std::min(plw, (pl.x1 + sx - 1) / sx), py1 = std::min(plh, (pl.y1 + sy - 1) / sy);
  const int pw = px1 - px0, ph = py1 - py0;
  if (pw <= 0 || ph <= 0) return;
  const int key[6] = {px0, py0, pw, ph, sx, sy};
  if (!(ws.alpha_valid && std::equal(key, key + 6, ws.alpha_key))) {
    ws.alpha_any = compute_alpha(pl, px0, py0, pw, ph, sx, sy, pl.feather_px, ws, false);
    std::copy(key, key + 6, ws.alpha_key);
    ws.alpha_valid = true;
  }
  if (!ws.alpha_any) return;

  // The processed bytes of a pixel are contiguous (4-byte formats: a triple at offset 0 or 1; others: the whole
  // pixel), so every loop below addresses them in memory order from off0; only fill needs the component order,
  // which it applies to its colour instead (vm[k] = colour of the byte at off0 + k).
  int off0 = L.offset[0];
  for (int c = 1; c < NC; ++c) off0 = std::min(off0, L.offset[c]);
  // Work layout: 4-byte pixels are processed whole (NW = 4 work bytes from the pixel start; the unprocessed byte
  // rides along through blur / pixelate and gets composite weight 0, so it is written back unchanged), which makes
  // the copies word moves and the composite a whole-pixel loop that vectorises. Otherwise the NC processed bytes.
  constexpr int NW = PS == 4 ? 4 : NC;
  const int wo = PS == 4 ? 0 : off0;  // first work byte inside a pixel
  uint8_t keep[NW];
  for (int k = 0; k < NW; ++k) keep[k] = 0;
  for (int c = 0; c < NC; ++c) keep[L.offset[c] - wo] = 0xFF;
  uint8_t* base = img.data[p];
  const long stride = img.stride[p];
  auto pix = [&](int x, int y) { return base + (py0 + y) * stride + static_cast<long>(px0 + x) * PS + wo; };

  if (prm.mode == RedactMode::kFill) {
    uint8_t vm[NW];
    for (int k = 0; k < NW; ++k) vm[k] = 0;
    for (int c = 0; c < NC; ++c) {
      vm[L.offset[c] - wo] = fill_value(fi, L.comp[c], prm.fill_rgb[0], prm.fill_rgb[1], prm.fill_rgb[2]);
    }
    for (int y = 0; y < ph; ++y) {
      const int lo = ws.row_lo[static_cast<size_t>(y)], hi = ws.row_hi[static_cast<size_t>(y)];
      if (hi <= lo) continue;
      const int ilo = ws.row_ilo[static_cast<size_t>(y)], ihi = ws.row_ihi[static_cast<size_t>(y)];
      const uint8_t* a = ws.alpha.data() + static_cast<size_t>(y) * pw;
      uint8_t* d = pix(0, y);
      const SpanPlan sp = plan_span(lo, ilo, ihi, hi, pw, blend_block<NW>());
      for (int k = 0; k < sp.nb; ++k) {
        composite_row_const<NW, PS>(d + static_cast<long>(sp.b0[k]) * PS, a + sp.b0[k], vm, keep, sp.b1[k] - sp.b0[k]);
      }
      fill_span<NW, PS>(d, vm, keep, sp.p0, sp.p1);  // alpha 255: the colour itself
    }
    return;
  }

  if (prm.mode == RedactMode::kBlur) {
    const BlurAxis bx = plane_blur(pl, sx), by = plane_blur(pl, sy);
    if (bx.factor > 1 || by.factor > 1) {
      blur_decimated<NC, PS>(pix(0, 0) - wo, stride, pw, ph, wo, bx, by, keep, ws);
      return;
    }
  }
  const size_t n = static_cast<size_t>(pw) * ph * NW;
  ws.red.resize(n);
  uint8_t* red = ws.red.data();
  int red_rows_per_band = 1;  // composite reads red row y / red_rows_per_band
  if (prm.mode == RedactMode::kBlur) {  // f = 1 both ways: the 3 + 3 cascade at full resolution
    const BlurAxis bx = plane_blur(pl, sx), by = plane_blur(pl, sy);
    blur_rect<NW, PS>(pix(0, 0), stride, pw, ph, bx.radius, by.radius, red, ws);
  } else {  // pixelate: one row of cell values per band of ch rows (red row y / ch); frame read, not copied
    const int cw = std::max(1, pl.cell / sx), ch = std::max(1, pl.cell / sy);
    red_rows_per_band = ch;
    const int m = pw * PS;
    ws.acc.resize(static_cast<size_t>(m));
    uint32_t* __restrict colsum = ws.acc.data();
    for (int cy0 = 0, band = 0; cy0 < ph; cy0 += ch, ++band) {
      const int cy1 = std::min(ph, cy0 + ch);
      // column sums of the band over every byte of the pixels (the unprocessed 4th byte is summed and ignored)
      std::fill(colsum, colsum + m, 0u);
      for (int y = cy0; y < cy1; ++y) add_row_u32(colsum, pix(0, y) - wo, m);
      uint8_t* out = red + static_cast<size_t>(band) * pw * NW;
      for (int cx0 = 0; cx0 < pw; cx0 += cw) {
        const int cx1 = std::min(pw, cx0 + cw);
        const uint32_t cnt = static_cast<uint32_t>((cy1 - cy0) * (cx1 - cx0));
        for (int c = 0; c < NW; ++c) {
          uint32_t sum = 0;
          for (int x = cx0; x < cx1; ++x) sum += colsum[x * PS + wo + c];
          const uint8_t v = static_cast<uint8_t>((sum + cnt / 2) / cnt);
          for (int x = cx0; x < cx1; ++x) out[x * NW + c] = v;
        }
      }
    }
  }

  // composite
  for (int y = 0; y < ph; ++y) {
    const int lo = ws.row_lo[static_cast<size_t>(y)], hi = ws.row_hi[static_cast<size_t>(y)];
    if (hi <= lo) continue;
    const int ilo = ws.row_ilo[static_cast<size_t>(y)], ihi = ws.row_ihi[static_cast<size_t>(y)];
    const uint8_t* a = ws.alpha.data() + static_cast<size_t>(y) * pw;
    const uint8_t* rr = red + static_cast<size_t>(y / red_rows_per_band) * pw * NW;
    composite_planned<NC, PS>(pix(0, y), a, rr, keep, plan_span(lo, ilo, ihi, hi, pw, blend_block<NW>()));
  }
}

void process_plane(const ImageView& img, const FormatInfo& fi, int p, const RegionPlan& pl, const RedactParams& prm,
                   Workspace& ws) {
  const PlaneLayout& L = fi.planes[p];
  if (L.num_channels == 3 && L.pixel_stride == 4) return process_plane_t<3, 4>(img, fi, p, pl, prm, ws);
  if (L.num_channels == 3 && L.pixel_stride == 3) return process_plane_t<3, 3>(img, fi, p, pl, prm, ws);
  if (L.num_channels == 2 && L.pixel_stride == 2) return process_plane_t<2, 2>(img, fi, p, pl, prm, ws);
  if (L.num_channels == 1 && L.pixel_stride == 1) return process_plane_t<1, 1>(img, fi, p, pl, prm, ws);
}

void draw_outline(const ImageView& img, const FormatInfo& fi, const RegionPlan& plan, const RedactParams& prm,
                  Workspace& ws) {
  RegionPlan pl = plan;
  if (pl.kind == 2) {  // outline the mask rect
    pl.kind = 0;
  }
  // grow the rect by 2 px (the outline may lie just outside a hard-edged shape's rect)
  const int x0 = std::max(0, floor_even(pl.x0 - 2)), y0 = std::max(0, floor_even(pl.y0 - 2));
  const int x1 = std::min(img.width, ceil_even(pl.x1 + 2)), y1 = std::min(img.height, ceil_even(pl.y1 + 2));
  for (int p = 0; p < fi.num_planes; ++p) {
    const PlaneLayout& L = fi.planes[p];
    const int sx = L.sub_x, sy = L.sub_y;
    const int plw = plane_width(fi, p, img.width), plh = plane_height(fi, p, img.height);
    const int px0 = x0 / sx, py0 = y0 / sy;
    const int px1 = std::min(plw, (x1 + sx - 1) / sx), py1 = std::min(plh, (y1 + sy - 1) / sy);
    const int pw = px1 - px0, ph = py1 - py0;
    if (pw <= 0 || ph <= 0) continue;
    compute_alpha(pl, px0, py0, pw, ph, sx, sy, 2.f * static_cast<float>(sx), ws, true);
    uint8_t v[3];
    for (int c = 0; c < L.num_channels; ++c) {
      v[c] = fill_value(fi, L.comp[c], prm.outline_rgb[0], prm.outline_rgb[1], prm.outline_rgb[2]);
    }
    for (int y = 0; y < ph; ++y) {
      uint8_t* row = img.data[p] + static_cast<long>(py0 + y) * img.stride[p];
      for (int x = 0; x < pw; ++x) {
        const uint8_t a = ws.alpha[static_cast<size_t>(y) * pw + x];
        if (a == 0 || a == 255) continue;
        uint8_t* q = row + static_cast<long>(px0 + x) * L.pixel_stride;
        for (int c = 0; c < L.num_channels; ++c) q[L.offset[c]] = v[c];
      }
    }
  }
}

}  // namespace

bool redact(const ImageView& img, const Region* regions, size_t num_regions, const RedactParams& params,
            std::string* error, RedactStats* stats) {
  if (stats) *stats = RedactStats{};
  auto fail = [&](const std::string& e) {
    if (error) *error = e;
    return false;
  };
  const std::string bad = validate_image(img);
  if (!bad.empty()) return fail(bad);
  if (!std::isfinite(params.strength) || params.strength < 0.f) return fail("strength must be finite and >= 0");
  if (!std::isfinite(params.margin) || params.margin < 0.f) return fail("margin must be finite and >= 0");
  if (!std::isfinite(params.feather) || params.feather < 0.f) return fail("feather must be finite and >= 0");
  if (!std::isfinite(params.mask_threshold)) return fail("mask threshold must be finite");
  const int mode = static_cast<int>(params.mode), shape = static_cast<int>(params.shape);
  if (mode < 0 || mode > 2) return fail("unknown redaction mode");
  if (shape < 0 || shape > 2) return fail("unknown redaction shape");
  if (num_regions > 0 && regions == nullptr) return fail("regions is null");
  if (stats) stats->regions = static_cast<int>(num_regions);
  if (error) error->clear();
  if (img.width == 0 || img.height == 0) return true;

  const FormatInfo& fi = format_info(img.format);
  static thread_local Workspace ws;  // reused between frames (no page faults per frame); per thread, so reentrant
  for (size_t i = 0; i < num_regions; ++i) {
    const RegionPlan pl = plan_region(regions[i], params, img.width, img.height);
    if (pl.empty) continue;
    if (stats) stats->regions_drawn++;
    ws.alpha_valid = false;
    for (int p = 0; p < fi.num_planes; ++p) process_plane(img, fi, p, pl, params, ws);
    ws.alpha_valid = false;
    if (params.draw_outline) draw_outline(img, fi, pl, params, ws);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------------
float box_iou(const Detection& a, const Detection& b) {
  const float ix = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const float iy = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (!(ix > 0.f) || !(iy > 0.f)) return 0.f;
  const float inter = ix * iy;
  const float ua = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return ua > 0.f ? inter / ua : 0.f;
}

void HoldTracker::set_hold_frames(int n) {
  hold_ = n < 0 ? 0 : n;
  if (hold_ == 0) mem_.clear();
}

std::vector<Region> HoldTracker::update(const std::vector<Region>& current) {
  std::vector<Region> out = current;
  if (hold_ <= 0) {
    mem_.clear();
    return out;
  }
  // age the memory; add remembered regions not covered by a current one
  std::vector<Item> next;
  next.reserve(mem_.size() + current.size());
  for (Item& it : mem_) {
    it.age += 1;
    if (it.age > hold_) continue;
    bool covered = false;
    for (const Region& c : current) {
      if (box_iou(c.det, it.region.det) >= 0.5f) {
        covered = true;
        break;
      }
    }
    if (covered) continue;
    out.push_back(it.region);
    next.push_back(it);
  }
  for (const Region& c : current) {
    Item it{c, 0};
    it.region.mask = nullptr;
    it.region.mask_w = it.region.mask_h = 0;
    next.push_back(it);
  }
  // bound the memory (a detector flooding boxes must not grow it without limit)
  constexpr size_t kMaxRemembered = 4096;
  if (next.size() > kMaxRemembered) next.erase(next.begin(), next.begin() + (next.size() - kMaxRemembered));
  mem_.swap(next);
  return out;
}

}  // namespace facemask
