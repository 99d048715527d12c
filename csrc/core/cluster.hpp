// nvinfer's post-parser processing of a detector's objects (fillDetectionOutput), reproduced from
// shared/spec/deepstream-contract.md §2.3/§2.4: pre-cluster filter, per-class bucketing, cluster-mode.
// Works on the objects a parse function returned, in network-input pixels. Plain C++17; NMS comes from
// core/nms.hpp (the one NMS of the code base).
#pragma once
#include <string>
#include <vector>

#include "core/nvinfer_geometry.hpp"

namespace facemask {

/// Per-class [class-attrs-*] values that clustering reads (defaults are nvinfer's, deepstream-contract.md §4.3).
struct ClusterClassParams {
  float pre_cluster_threshold = 0.2f;
  float post_cluster_threshold = 0.0f;
  float nms_iou_threshold = 0.3f;
  int topk = -1;  // < 0 = keep all
};

/// cluster-mode values (NvDsInferClusterMode).
enum class ClusterMode : int { kGroupRectangles = 0, kDbscan = 1, kNms = 2, kDbscanNmsHybrid = 3, kNone = 4 };

struct ClusterConfig {
  unsigned num_detected_classes = 0;      // num-detected-classes (0 = unset: everything is dropped, as in nvinfer)
  int cluster_mode = 0;                   // absent key = 0, as in nvinfer (memset)
  bool instance_mask = false;             // network-type=3 path: only pre-cluster filter + per-class topK (mode 4)
  std::vector<ClusterClassParams> per_class;  // indexed by class id; missing entries use the defaults
};

struct ClusterResult {
  std::vector<NvinferBox> objects;    // in nvinfer's output order: class 0's objects, then class 1's, ...
  std::vector<int> source_index;      // for each output object, its index in the parser's list
  std::vector<std::string> warnings;  // behaviour a DeepStream user would not expect (mode 0 rewrite, ...)
  std::string error;                  // non-empty: nvinfer would fail (or the emulator cannot reproduce the mode)
  int effective_mode = 0;             // the mode actually applied (0 becomes 2 on stock builds)
};

/// Apply nvinfer's processing for `cfg` to the parser output `objects`:
/// 1. drop objects with class_id >= num-detected-classes or confidence < pre-cluster-threshold[class];
/// 2. bucket per class and cluster:
///    * 2 NMS: per class, stable sort by confidence descending, greedy NMS (suppress IoU > nms-iou-threshold),
///      keep confidence strictly > post-cluster-threshold, then per-class topk;
///    * 4 NONE: per-class topk only (stable sort by confidence, truncate);
///    * 0 GROUP_RECTANGLES: stock DeepStream (built without OpenCV) rewrites it to NMS and overwrites every class's
///      topk=20 and IoU=0.5; reproduced, with a warning;
///    * 1 DBSCAN / 3 hybrid: closed-source clustering, not reproducible: error;
///    * instance_mask: only mode 4 is valid (nvinfer fails otherwise): error for other modes.
/// Never throws; malformed input (NaN confidence) follows nvinfer's comparisons (NaN never passes the filter).
ClusterResult nvinfer_cluster(const std::vector<NvinferBox>& objects, const ClusterConfig& cfg);

}  // namespace facemask
