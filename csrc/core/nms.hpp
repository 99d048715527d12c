// Greedy non-maximum suppression over Detection boxes (x1, y1, x2, y2), shared by the mask parsers, the plugin's
// tensor-meta mode and the bindings. Plain C++17.
#pragma once
#include <vector>

#include "core/types.hpp"

namespace facemask {

/// Intersection over union of two boxes (areas without the +1 pixel convention). 0 when either box is empty or
/// non-finite.
float iou(const Detection& a, const Detection& b);

/// Greedy NMS: visits detections by score (descending; ties by index), keeps one unless its IoU with an already kept
/// detection is > iou_threshold, stops after top_k kept (top_k <= 0: no limit). Returns the kept indices into `dets`,
/// sorted by score descending. Detections with a NaN score are never kept.
std::vector<int> nms_indices(const std::vector<Detection>& dets, float iou_threshold, int top_k);

}  // namespace facemask
