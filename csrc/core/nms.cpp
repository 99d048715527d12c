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

// Greedy NMS. A candidate is first tested against all kept boxes at once for any overlap (iw > 0 and ih > 0, the
// first condition under which iou() can be non-zero): structure-of-arrays copy of the kept boxes, no branches, no
// division, so the loop vectorises. Only when some kept box overlaps it (or the threshold is negative, where
// IoU 0 suppresses) are the kept boxes checked with iou() itself, in order, as before: identical decisions.
std::vector<int> nms_indices(const std::vector<Detection>& dets, float iou_threshold, int top_k) {
  std::vector<int> order;
  order.reserve(dets.size());
  for (size_t i = 0; i < dets.size(); ++i)
    if (!std::isnan(dets[i].score)) order.push_back(static_cast<int>(i));
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return dets[a].score > dets[b].score; });
  const size_t cap = top_k > 0 ? std::min(order.size(), static_cast<size_t>(top_k)) : order.size();
  std::vector<int> keep;
  keep.reserve(cap);
  std::vector<float> soa(4 * cap);
  float* const kx1 = soa.data();
  float* const ky1 = kx1 + cap;
  float* const kx2 = ky1 + cap;
  float* const ky2 = kx2 + cap;
  const bool zero_suppresses = 0.f > iou_threshold;  // (NaN threshold: never suppresses, as in iou() > NaN)
  for (int i : order) {
    if (keep.size() >= cap) break;
    const Detection& a = dets[static_cast<size_t>(i)];
    const float ax1 = a.x1, ay1 = a.y1, ax2 = a.x2, ay2 = a.y2;
    const size_t nk = keep.size();
    int overlap = 0;
    for (size_t k = 0; k < nk; ++k) {
      // the iw, ih of iou(a, kept k): std::min(a.x2, b.x2) - std::max(a.x1, b.x1)
      const float iw = (kx2[k] < ax2 ? kx2[k] : ax2) - (ax1 < kx1[k] ? kx1[k] : ax1);
      const float ih = (ky2[k] < ay2 ? ky2[k] : ay2) - (ay1 < ky1[k] ? ky1[k] : ay1);
      overlap |= static_cast<int>(iw > 0.f) & static_cast<int>(ih > 0.f);
    }
    bool suppressed = false;
    if (overlap || (zero_suppresses && nk > 0)) {
      for (int k : keep)
        if (iou(a, dets[static_cast<size_t>(k)]) > iou_threshold) {
          suppressed = true;
          break;
        }
    }
    if (suppressed) continue;
    kx1[nk] = ax1;
    ky1[nk] = ay1;
    kx2[nk] = ax2;
    ky2[nk] = ay2;
    keep.push_back(i);
  }
  return keep;
}

}  // namespace facemask
