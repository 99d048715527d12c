#include "core/nms.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>

namespace facemask {

float iou(const Detection& a, const Detection& b) {
  const float aw = a.x2 - a.x1, ah = a.y2 - a.y1, bw = b.x2 - b.x1, bh = b.y2 - b.y1;
  if (!(aw > 0.f && ah > 0.f && bw > 0.f && bh > 0.f)) return 0.f;  // also false for NaN
  const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (!(iw > 0.f && ih > 0.f)) return 0.f;
  const float inter = iw * ih;
  const float uni = aw * ah + bw * bh - inter;
  if (!(uni > 0.f) || !std::isfinite(uni)) return 0.f;
  return inter / uni;
}

namespace {

#if defined(__GNUC__) || defined(__clang__)
#define FACEMASK_NMS_INLINE __attribute__((always_inline)) inline
#else
#define FACEMASK_NMS_INLINE inline
#endif

// Kept boxes as structure of arrays (area NaN for an empty or non-finite box, so that every IoU with it is 0).
struct KeptBoxes {
  const float *x1, *y1, *x2, *y2, *area;
  size_t n;
};

// Whether iou(a, kept k) > thr for some kept k, with iou() evaluated for all of them at once: the same float
// operations in the same order per pair (std::min(a.x2, b.x2) - std::max(a.x1, b.x1), ..., (area_a + area_b) -
// inter, inter / uni), the branches of iou() turned into selects, no early exit, so the loop vectorises and the
// decisions are those of calling iou() pair by pair (IoU 0 > thr for a negative threshold included).
FACEMASK_NMS_INLINE bool suppressed_by(const KeptBoxes& K, float ax1, float ay1, float ax2, float ay2, float aarea,
                                       float thr) {
  int sup = 0;
  const int zero_sup = 0.f > thr;
  for (size_t k = 0; k < K.n; ++k) {
    const float iw = (K.x2[k] < ax2 ? K.x2[k] : ax2) - (ax1 < K.x1[k] ? K.x1[k] : ax1);
    const float ih = (K.y2[k] < ay2 ? K.y2[k] : ay2) - (ay1 < K.y1[k] ? K.y1[k] : ay1);
    const float inter = iw * ih;
    const float uni = aarea + K.area[k] - inter;
    const float r = inter / uni;
    const int ok = static_cast<int>(iw > 0.f) & static_cast<int>(ih > 0.f) & static_cast<int>(uni > 0.f) &
                   static_cast<int>(uni <= FLT_MAX);  // uni > 0 and finite
    sup |= (ok & static_cast<int>(r > thr)) | ((ok ^ 1) & zero_sup);
  }
  return sup != 0;
}

bool suppressed_generic(const KeptBoxes& K, float ax1, float ay1, float ax2, float ay2, float aarea, float thr) {
  return suppressed_by(K, ax1, ay1, ax2, ay2, aarea, thr);
}

using SuppressedFn = bool (*)(const KeptBoxes&, float, float, float, float, float, float);

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(__AVX2__)
// AVX2 copy (no FMA in either copy: same floats), picked at run time
__attribute__((target("avx2"))) bool suppressed_avx2(const KeptBoxes& K, float ax1, float ay1, float ax2, float ay2,
                                                     float aarea, float thr) {
  return suppressed_by(K, ax1, ay1, ax2, ay2, aarea, thr);
}
SuppressedFn pick_suppressed() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") ? suppressed_avx2 : suppressed_generic;
}
#else
SuppressedFn pick_suppressed() { return suppressed_generic; }
#endif

}  // namespace

// Greedy NMS; the test of a candidate against the kept boxes is suppressed_by() (iou() for all of them at once).
std::vector<int> nms_indices(const std::vector<Detection>& dets, float iou_threshold, int top_k) {
  static const SuppressedFn suppressed = pick_suppressed();
  std::vector<int> order;
  order.reserve(dets.size());
  for (size_t i = 0; i < dets.size(); ++i)
    if (!std::isnan(dets[i].score)) order.push_back(static_cast<int>(i));
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return dets[a].score > dets[b].score; });
  const size_t cap = top_k > 0 ? std::min(order.size(), static_cast<size_t>(top_k)) : order.size();
  std::vector<int> keep;
  keep.reserve(cap);
  std::vector<float> soa(5 * cap);
  float* const kx1 = soa.data();
  float* const ky1 = kx1 + cap;
  float* const kx2 = ky1 + cap;
  float* const ky2 = kx2 + cap;
  float* const karea = ky2 + cap;
  for (int i : order) {
    if (keep.size() >= cap) break;
    const Detection& a = dets[static_cast<size_t>(i)];
    const float aw = a.x2 - a.x1, ah = a.y2 - a.y1;
    const float aarea = (aw > 0.f && ah > 0.f) ? aw * ah : NAN;  // iou() is 0 for such a box
    const KeptBoxes K{kx1, ky1, kx2, ky2, karea, keep.size()};
    if (suppressed(K, a.x1, a.y1, a.x2, a.y2, aarea, iou_threshold)) continue;
    const size_t nk = keep.size();
    kx1[nk] = a.x1;
    ky1[nk] = a.y1;
    kx2[nk] = a.x2;
    ky2[nk] = a.y2;
    karea[nk] = aarea;
    keep.push_back(i);
  }
  return keep;
}

}  // namespace facemask
