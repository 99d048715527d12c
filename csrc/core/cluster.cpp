// nvinfer clustering; see cluster.hpp and deepstream-contract.md §2.3.
#include "core/cluster.hpp"

#include <algorithm>
#include <numeric>

#include "core/nms.hpp"

namespace facemask {

namespace {

// Stable sort by confidence descending, then truncate to topk (topk < 0: keep all), as filterTopKOutputs.
void topk_filter(std::vector<int>* idx, const std::vector<NvinferBox>& objs, int topk) {
  if (topk < 0) return;
  std::stable_sort(idx->begin(), idx->end(),
                   [&](int a, int b) { return objs[a].confidence > objs[b].confidence; });
  if (static_cast<size_t>(topk) < idx->size()) idx->resize(static_cast<size_t>(topk));
}

Detection to_detection(const NvinferBox& b) {
  Detection d;
  d.x1 = b.left;
  d.y1 = b.top;
  d.x2 = b.left + b.width;  // nvinfer's IoU also works on left + width
  d.y2 = b.top + b.height;
  d.score = b.confidence;
  d.class_id = b.class_id;
  return d;
}

}  // namespace

ClusterResult nvinfer_cluster(const std::vector<NvinferBox>& objects, const ClusterConfig& cfg) {
  ClusterResult r;
  r.effective_mode = cfg.cluster_mode;
  const unsigned nc = cfg.num_detected_classes;
  std::vector<ClusterClassParams> params(nc);
  for (unsigned c = 0; c < nc && c < cfg.per_class.size(); ++c) params[c] = cfg.per_class[c];

  int mode = cfg.cluster_mode;
  if (cfg.instance_mask) {
    if (mode != static_cast<int>(ClusterMode::kNone)) {
      r.error = "cluster-mode=" + std::to_string(mode) +
                " is invalid for instance-mask models (network-type=3 / output-instance-mask=1): nvinfer only "
                "accepts cluster-mode=4 there and fails with \"Invalid cluster mode for instance mask detection\"";
      return r;
    }
  } else if (mode == static_cast<int>(ClusterMode::kGroupRectangles)) {
    r.warnings.push_back(
        "cluster-mode=0 (GROUP_RECTANGLES, also the default when the key is absent): stock DeepStream is built "
        "without OpenCV and silently switches to NMS with topk=20 and nms-iou-threshold=0.5 for every class, "
        "overriding [class-attrs-*]; emulating that. Set cluster-mode=2 (or 4) explicitly.");
    mode = static_cast<int>(ClusterMode::kNms);
    for (auto& p : params) {
      p.topk = 20;
      p.nms_iou_threshold = 0.5f;
    }
  } else if (mode == static_cast<int>(ClusterMode::kDbscan) ||
             mode == static_cast<int>(ClusterMode::kDbscanNmsHybrid)) {
    r.error = "cluster-mode=" + std::to_string(mode) +
              (mode == 1 ? " (DBSCAN)" : " (DBSCAN+NMS hybrid)") +
              " uses NVIDIA's closed-source DBSCAN and cannot be emulated; use cluster-mode=2 (NMS) or 4 (none)";
    return r;
  } else if (mode != static_cast<int>(ClusterMode::kNms) && mode != static_cast<int>(ClusterMode::kNone)) {
    r.error = "cluster-mode=" + std::to_string(mode) + " is not a valid nvinfer cluster mode (0..4)";
    return r;
  }
  r.effective_mode = mode;

  if (nc == 0) {
    if (!objects.empty())
      r.warnings.push_back("num-detected-classes is unset (0): nvinfer drops every object before clustering");
    return r;
  }

  // 1. pre-cluster filter (remove_if keeps the parser's order).
  std::vector<std::vector<int>> per_class(nc);
  for (size_t i = 0; i < objects.size(); ++i) {
    const NvinferBox& o = objects[i];
    if (o.class_id < 0 || static_cast<unsigned>(o.class_id) >= nc) continue;  // classId is unsigned in nvinfer
    if (o.confidence < params[o.class_id].pre_cluster_threshold) continue;
    if (!(o.confidence >= params[o.class_id].pre_cluster_threshold)) continue;  // NaN: drop
    per_class[o.class_id].push_back(static_cast<int>(i));
  }

  // 2. per-class clustering; output class by class.
  for (unsigned c = 0; c < nc; ++c) {
    std::vector<int>& idx = per_class[c];
    if (idx.empty()) continue;
    std::vector<int> out;
    if (mode == static_cast<int>(ClusterMode::kNms)) {
      std::vector<Detection> dets;
      dets.reserve(idx.size());
      for (int i : idx) dets.push_back(to_detection(objects[i]));
      // nms_indices sorts stably by score descending (ties by index, as nvinfer's stable_sort) and suppresses
      // IoU > threshold (nvinfer keeps overlap <= threshold).
      const std::vector<int> keep = nms_indices(dets, params[c].nms_iou_threshold, 0);
      for (int k : keep) {
        const int src = idx[k];
        if (objects[src].confidence > params[c].post_cluster_threshold) out.push_back(src);
      }
    } else {
      out = idx;
    }
    topk_filter(&out, objects, params[c].topk);
    for (int i : out) {
      r.objects.push_back(objects[i]);
      r.source_index.push_back(i);
    }
  }
  return r;
}

}  // namespace facemask
