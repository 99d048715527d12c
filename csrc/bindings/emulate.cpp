// Python edge of nvinfer's post-processing: clustering (core/cluster) and scaling / back-mapping
// (core/nvinfer_geometry). Objects cross as float64 arrays of shape (N, 6): left, top, width, height, confidence,
// class_id. Thin: every rule lives in csrc/core.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "core/cluster.hpp"
#include "core/nvinfer_geometry.hpp"

namespace py = pybind11;

namespace facemask_bind {

namespace {

using facemask::NvinferBox;
using facemask::NvinferScaling;

std::vector<NvinferBox> boxes_from_array(const py::handle& obj) {
  auto arr = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(obj);
  if (!arr) throw py::type_error("objects must be a numeric array of shape (N, 6)");
  if (arr.ndim() == 1 && arr.shape(0) == 0) return {};
  if (arr.ndim() != 2 || arr.shape(1) != 6)
    throw py::value_error("objects must have shape (N, 6): left, top, width, height, confidence, class_id");
  std::vector<NvinferBox> out(static_cast<size_t>(arr.shape(0)));
  auto a = arr.unchecked<2>();
  for (py::ssize_t i = 0; i < arr.shape(0); ++i) {
    NvinferBox& b = out[static_cast<size_t>(i)];
    b.left = static_cast<float>(a(i, 0));
    b.top = static_cast<float>(a(i, 1));
    b.width = static_cast<float>(a(i, 2));
    b.height = static_cast<float>(a(i, 3));
    b.confidence = static_cast<float>(a(i, 4));
    const double c = a(i, 5);
    if (!std::isfinite(c) || c < 0 || c > 1e6 || c != std::floor(c))
      throw py::value_error("class_id (column 5) must be a non-negative integer, got " + std::to_string(c));
    b.class_id = static_cast<int>(c);
  }
  return out;
}

py::array_t<double> boxes_to_array(const std::vector<NvinferBox>& boxes) {
  py::array_t<double> arr({static_cast<py::ssize_t>(boxes.size()), static_cast<py::ssize_t>(6)});
  auto a = arr.mutable_unchecked<2>();
  for (size_t i = 0; i < boxes.size(); ++i) {
    const auto& b = boxes[i];
    const py::ssize_t r = static_cast<py::ssize_t>(i);
    a(r, 0) = b.left;
    a(r, 1) = b.top;
    a(r, 2) = b.width;
    a(r, 3) = b.height;
    a(r, 4) = b.confidence;
    a(r, 5) = b.class_id;
  }
  return arr;
}

py::dict scaling_to_dict(const NvinferScaling& s) {
  py::dict d;
  d["src_left"] = s.src_left;
  d["src_top"] = s.src_top;
  d["src_width"] = s.src_width;
  d["src_height"] = s.src_height;
  d["dest_width"] = s.dest_width;
  d["dest_height"] = s.dest_height;
  d["offset_left"] = s.offset_left;
  d["offset_top"] = s.offset_top;
  d["ratio_x"] = s.ratio_x;
  d["ratio_y"] = s.ratio_y;
  return d;
}

template <typename T>
T get_or(const py::dict& d, const char* key, T def) {
  if (!d.contains(key)) return def;
  return d[key].cast<T>();
}

NvinferScaling scaling_from_dict(const py::dict& d) {
  NvinferScaling s;
  s.src_left = get_or<uint32_t>(d, "src_left", 0);
  s.src_top = get_or<uint32_t>(d, "src_top", 0);
  s.src_width = get_or<uint32_t>(d, "src_width", 0);
  s.src_height = get_or<uint32_t>(d, "src_height", 0);
  s.dest_width = get_or<uint32_t>(d, "dest_width", 0);
  s.dest_height = get_or<uint32_t>(d, "dest_height", 0);
  s.offset_left = get_or<uint32_t>(d, "offset_left", 0);
  s.offset_top = get_or<uint32_t>(d, "offset_top", 0);
  if (!d.contains("ratio_x") || !d.contains("ratio_y"))
    throw py::value_error("scaling needs ratio_x and ratio_y (use nvinfer_scaling())");
  s.ratio_x = d["ratio_x"].cast<double>();
  s.ratio_y = d["ratio_y"].cast<double>();
  if (!(s.ratio_x > 0) || !(s.ratio_y > 0) || !std::isfinite(s.ratio_x) || !std::isfinite(s.ratio_y))
    throw py::value_error("scaling ratios must be positive and finite");
  return s;
}

facemask::NvinferObjectFilter filter_from_dict(const py::dict& d) {
  facemask::NvinferObjectFilter f;
  auto u = [&](const char* k, uint32_t def) -> uint32_t {
    if (!d.contains(k)) return def;
    const long long v = d[k].cast<long long>();
    if (v < 0 || v > 0xffffffffLL) throw py::value_error(std::string(k) + " must be in [0, 2^32)");
    return static_cast<uint32_t>(v);
  };
  f.detected_min_w = u("detected-min-w", 0);
  f.detected_min_h = u("detected-min-h", 0);
  f.detected_max_w = u("detected-max-w", 0);
  f.detected_max_h = u("detected-max-h", 0);
  f.roi_top_offset = u("roi-top-offset", 0);
  f.roi_bottom_offset = u("roi-bottom-offset", 0);
  return f;
}

}  // namespace

void init_emulate(py::module_& m) {
  m.def(
      "nvinfer_scaling",
      [](py::sequence src_rect, uint32_t net_w, uint32_t net_h, bool maintain_aspect_ratio, bool symmetric_padding) {
        if (py::len(src_rect) != 4) throw py::value_error("src_rect must be (left, top, width, height)");
        NvinferScaling s;
        std::string err;
        if (!facemask::nvinfer_compute_scaling(src_rect[0].cast<float>(), src_rect[1].cast<float>(),
                                               src_rect[2].cast<float>(), src_rect[3].cast<float>(), net_w, net_h,
                                               maintain_aspect_ratio, symmetric_padding, &s, &err))
          throw py::value_error(err);
        return scaling_to_dict(s);
      },
      py::arg("src_rect"), py::arg("net_width"), py::arg("net_height"), py::arg("maintain_aspect_ratio") = false,
      py::arg("symmetric_padding") = false,
      "nvinfer's scaling of a source rect (left, top, width, height) to the network input: dict with the "
      "even-rounded src rect, dest size, padding offsets and ratios (deepstream-contract.md §2.5).");

  m.def(
      "nvinfer_back_map",
      [](py::handle objects, py::dict scaling, py::dict params) {
        const auto boxes = boxes_from_array(objects);
        const NvinferScaling s = scaling_from_dict(scaling);
        facemask::NvinferBackMapParams p;
        p.surface_width = get_or<uint32_t>(params, "surface_width", 0);
        p.surface_height = get_or<uint32_t>(params, "surface_height", 0);
        if (p.surface_width == 0 || p.surface_height == 0)
          throw py::value_error("params need surface_width and surface_height (the frame size)");
        p.roi_left = get_or<float>(params, "roi_left", 0.f);
        p.roi_top = get_or<float>(params, "roi_top", 0.f);
        p.crop_objects_to_roi_boundary = get_or<bool>(params, "crop_objects_to_roi_boundary", false);
        if (params.contains("parent") && !params["parent"].is_none()) {
          auto par = params["parent"].cast<py::sequence>();
          if (py::len(par) < 2) throw py::value_error("parent must be (left, top)");
          p.has_parent = true;
          p.parent_left = par[0].cast<float>();
          p.parent_top = par[1].cast<float>();
        }
        p.filter_out_class_ids = get_or<std::vector<int>>(params, "filter_out_class_ids", {});
        if (params.contains("per_class"))
          for (auto item : params["per_class"].cast<py::list>()) p.per_class.push_back(filter_from_dict(item.cast<py::dict>()));
        std::vector<facemask::NvinferDropReason> reasons;
        const auto kept = facemask::nvinfer_map_objects(boxes, s, p, &reasons);
        py::list rs;
        for (auto r : reasons) rs.append(facemask::drop_reason_name(r));
        py::dict out;
        out["objects"] = boxes_to_array(kept);
        out["reasons"] = rs;
        return out;
      },
      py::arg("objects"), py::arg("scaling"), py::arg("params"),
      "Map parser objects (N, 6) from network pixels to frame pixels as nvinfer's attach_metadata_detector does "
      "(left/top clamp without shrinking, per-class filters, crop-objects-to-roi-boundary). Returns "
      "{'objects': kept (M, 6), 'reasons': one string per input object ('kept' or the filter that dropped it)}.");

  m.def(
      "nvinfer_back_map_points",
      [](py::handle points, py::dict scaling, float roi_left, float roi_top) {
        auto arr = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(points);
        if (!arr || arr.ndim() != 2 || arr.shape(1) != 2) throw py::value_error("points must have shape (N, 2)");
        const NvinferScaling s = scaling_from_dict(scaling);
        py::array_t<double> out({arr.shape(0), static_cast<py::ssize_t>(2)});
        auto a = arr.unchecked<2>();
        auto o = out.mutable_unchecked<2>();
        for (py::ssize_t i = 0; i < arr.shape(0); ++i) {
          float x = 0, y = 0;
          facemask::nvinfer_back_map_point(s, static_cast<float>(a(i, 0)), static_cast<float>(a(i, 1)), roi_left,
                                           roi_top, &x, &y);
          o(i, 0) = x;
          o(i, 1) = y;
        }
        return out;
      },
      py::arg("points"), py::arg("scaling"), py::arg("roi_left") = 0.f, py::arg("roi_top") = 0.f,
      "Map (N, 2) points (landmarks) from network pixels to frame pixels with the boxes' affine transform.");

  m.def(
      "nvinfer_cluster",
      [](py::handle objects, unsigned num_detected_classes, int cluster_mode, py::list per_class,
         bool instance_mask) {
        facemask::ClusterConfig cfg;
        cfg.num_detected_classes = num_detected_classes;
        cfg.cluster_mode = cluster_mode;
        cfg.instance_mask = instance_mask;
        for (auto item : per_class) {
          auto d = item.cast<py::dict>();
          facemask::ClusterClassParams c;
          c.pre_cluster_threshold = get_or<float>(d, "pre-cluster-threshold", c.pre_cluster_threshold);
          c.post_cluster_threshold = get_or<float>(d, "post-cluster-threshold", c.post_cluster_threshold);
          c.nms_iou_threshold = get_or<float>(d, "nms-iou-threshold", c.nms_iou_threshold);
          c.topk = get_or<int>(d, "topk", c.topk);
          cfg.per_class.push_back(c);
        }
        const auto r = facemask::nvinfer_cluster(boxes_from_array(objects), cfg);
        py::dict out;
        out["objects"] = boxes_to_array(r.objects);
        out["source_index"] = r.source_index;
        out["warnings"] = r.warnings;
        out["error"] = r.error;
        out["effective_mode"] = r.effective_mode;
        return out;
      },
      py::arg("objects"), py::arg("num_detected_classes"), py::arg("cluster_mode"), py::arg("per_class"),
      py::arg("instance_mask") = false,
      "nvinfer's post-parser processing (pre-cluster filter, per-class cluster-mode 2/4, mode 0 rewrite). "
      "per_class: list of dicts with [class-attrs] keys (pre-cluster-threshold, post-cluster-threshold, "
      "nms-iou-threshold, topk). Returns {'objects', 'source_index', 'warnings', 'error', 'effective_mode'}; "
      "a non-empty error means nvinfer would fail or the mode cannot be emulated.");
}

}  // namespace facemask_bind
