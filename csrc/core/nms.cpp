#include "core/nms.hpp"

#include <algorithm>
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

std::vector<int> nms_indices(const std::vector<Detection>& dets, float iou_threshold, int top_k) {
  std::vector<int> order;
  order.reserve(dets.size());
  for (size_t i = 0; i < dets.size(); ++i)
    if (!std::isnan(dets[i].score)) order.push_back(static_cast<int>(i));
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return dets[a].score > dets[b].score; });
  std::vector<int> keep;
  for (int i : order) {
    if (top_k > 0 && keep.size() >= static_cast<size_t>(top_k)) break;
    bool suppressed = false;
    for (int k : keep)
      if (iou(dets[i], dets[k]) > iou_threshold) {
        suppressed = true;
        break;
      }
    if (!suppressed) keep.push_back(i);
  }
  return keep;
}

}  // namespace facemask
