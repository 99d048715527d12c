// nvinfer scaling and back-mapping; see nvinfer_geometry.hpp and deepstream-contract.md §2.5.
#include "core/nvinfer_geometry.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace facemask {

namespace {

constexpr uint32_t round_up_2(uint32_t v) { return (v + 1u) & ~1u; }
constexpr uint32_t round_down_2(uint32_t v) { return v & ~1u; }

bool to_unsigned(float v, const char* what, uint32_t* out, std::string* error) {
  if (!std::isfinite(v) || v < 0.f || v > 1.0e9f) {
    if (error) *error = std::string("source rect ") + what + " must be a finite value in [0, 1e9], got " +
                        std::to_string(v);
    return false;
  }
  *out = static_cast<uint32_t>(v);  // nvinfer: (unsigned int) crop_rect_params->left etc. (truncation)
  return true;
}

}  // namespace

bool nvinfer_compute_scaling(float src_left, float src_top, float src_width, float src_height, uint32_t net_w,
                             uint32_t net_h, bool maintain_aspect_ratio, bool symmetric_padding, NvinferScaling* out,
                             std::string* error) {
  if (!out) {
    if (error) *error = "nvinfer_compute_scaling: null output";
    return false;
  }
  *out = NvinferScaling{};
  if (net_w == 0 || net_h == 0) {
    if (error) *error = "network input size must be positive, got " + std::to_string(net_w) + "x" +
                        std::to_string(net_h);
    return false;
  }
  uint32_t l = 0, t = 0, w = 0, h = 0;
  if (!to_unsigned(src_left, "left", &l, error) || !to_unsigned(src_top, "top", &t, error) ||
      !to_unsigned(src_width, "width", &w, error) || !to_unsigned(src_height, "height", &h, error))
    return false;
  NvinferScaling s;
  s.src_left = round_up_2(l);
  s.src_top = round_up_2(t);
  s.src_width = round_down_2(w);
  s.src_height = round_down_2(h);
  if (s.src_width == 0 || s.src_height == 0) {
    if (error) *error = "source rect is smaller than 2x2 pixels after nvinfer's even rounding (" +
                        std::to_string(w) + "x" + std::to_string(h) + " -> " + std::to_string(s.src_width) + "x" +
                        std::to_string(s.src_height) + ")";
    return false;
  }
  if (maintain_aspect_ratio) {
    // Unsigned products as in nvinfer (dest_frame->width * src_height), then double division.
    const double hdest = static_cast<uint32_t>(net_w * s.src_height) / static_cast<double>(s.src_width);
    const double wdest = static_cast<uint32_t>(net_h * s.src_width) / static_cast<double>(s.src_height);
    if (hdest <= net_h) {
      s.dest_width = net_w;
      s.dest_height = static_cast<uint32_t>(hdest);
    } else {
      s.dest_width = static_cast<uint32_t>(wdest);
      s.dest_height = net_h;
    }
    if (symmetric_padding) {
      s.offset_left = (net_w - s.dest_width) / 2;
      s.offset_top = (net_h - s.dest_height) / 2;
    }
  } else {
    s.dest_width = net_w;
    s.dest_height = net_h;
  }
  if (s.dest_width == 0 || s.dest_height == 0) {
    if (error) *error = "source aspect ratio is too extreme: the scaled image would be " +
                        std::to_string(s.dest_width) + "x" + std::to_string(s.dest_height) + " pixels";
    return false;
  }
  s.ratio_x = static_cast<double>(s.dest_width) / s.src_width;
  s.ratio_y = static_cast<double>(s.dest_height) / s.src_height;
  *out = s;
  return true;
}

NvinferBox nvinfer_back_map_box(const NvinferBox& b, const NvinferScaling& s, float roi_left, float roi_top) {
  NvinferBox o = b;
  // float - unsigned (converted to float), divided by a double ratio, plus roi offset; stored back to float.
  o.left = static_cast<float>((b.left - static_cast<float>(s.offset_left)) / s.ratio_x + roi_left);
  o.top = static_cast<float>((b.top - static_cast<float>(s.offset_top)) / s.ratio_y + roi_top);
  o.width = static_cast<float>(b.width / s.ratio_x);
  o.height = static_cast<float>(b.height / s.ratio_y);
  // Quirk: clamped at 0 without shrinking width/height (the box grows past its true right/bottom edge).
  if (o.top < 0) o.top = 0;
  if (o.left < 0) o.left = 0;
  return o;
}

void nvinfer_back_map_point(const NvinferScaling& s, float x_net, float y_net, float roi_left, float roi_top,
                            float* x_frame, float* y_frame) {
  if (x_frame) *x_frame = static_cast<float>((x_net - static_cast<float>(s.offset_left)) / s.ratio_x + roi_left);
  if (y_frame) *y_frame = static_cast<float>((y_net - static_cast<float>(s.offset_top)) / s.ratio_y + roi_top);
}

const char* drop_reason_name(NvinferDropReason r) {
  switch (r) {
    case NvinferDropReason::kKept: return "kept";
    case NvinferDropReason::kFilterOutClass: return "filter-out-class-ids";
    case NvinferDropReason::kMinWidth: return "detected-min-w";
    case NvinferDropReason::kMinHeight: return "detected-min-h";
    case NvinferDropReason::kMaxWidth: return "detected-max-w";
    case NvinferDropReason::kMaxHeight: return "detected-max-h";
    case NvinferDropReason::kAboveRoiTop: return "roi-top-offset";
    case NvinferDropReason::kBelowRoiBottom: return "roi-bottom-offset (bottom edge below the frame)";
  }
  return "unknown";
}

std::vector<NvinferBox> nvinfer_map_objects(const std::vector<NvinferBox>& net_boxes, const NvinferScaling& s,
                                            const NvinferBackMapParams& p,
                                            std::vector<NvinferDropReason>* reasons) {
  std::vector<NvinferBox> kept;
  kept.reserve(net_boxes.size());
  if (reasons) reasons->assign(net_boxes.size(), NvinferDropReason::kKept);
  const NvinferObjectFilter defaults{};
  for (size_t i = 0; i < net_boxes.size(); ++i) {
    NvinferBox o = nvinfer_back_map_box(net_boxes[i], s, p.roi_left, p.roi_top);
    const NvinferObjectFilter& f =
        (o.class_id >= 0 && static_cast<size_t>(o.class_id) < p.per_class.size()) ? p.per_class[o.class_id]
                                                                                   : defaults;
    auto drop = [&](NvinferDropReason r) {
      if (reasons) (*reasons)[i] = r;
    };
    if (std::find(p.filter_out_class_ids.begin(), p.filter_out_class_ids.end(), o.class_id) !=
        p.filter_out_class_ids.end()) {
      drop(NvinferDropReason::kFilterOutClass);
      continue;
    }
    if (o.width < static_cast<float>(f.detected_min_w)) { drop(NvinferDropReason::kMinWidth); continue; }
    if (o.height < static_cast<float>(f.detected_min_h)) { drop(NvinferDropReason::kMinHeight); continue; }
    if (f.detected_max_w > 0 && o.width > static_cast<float>(f.detected_max_w)) {
      drop(NvinferDropReason::kMaxWidth);
      continue;
    }
    if (f.detected_max_h > 0 && o.height > static_cast<float>(f.detected_max_h)) {
      drop(NvinferDropReason::kMaxHeight);
      continue;
    }
    // guint arithmetic as in nvinfer: wraps when roi-bottom-offset > surface height.
    const uint32_t bottom_limit = p.surface_height - f.roi_bottom_offset;
    if (p.crop_objects_to_roi_boundary) {
      if (o.top < static_cast<float>(f.roi_top_offset)) o.top = static_cast<float>(f.roi_top_offset);
      if (o.left + o.width >= static_cast<float>(p.surface_width))
        o.width = static_cast<float>(p.surface_width) - o.left;
      if (o.top + o.height > static_cast<float>(bottom_limit)) o.height = static_cast<float>(bottom_limit) - o.top;
    } else {
      if (o.top < static_cast<float>(f.roi_top_offset)) { drop(NvinferDropReason::kAboveRoiTop); continue; }
      if (o.top + o.height > static_cast<float>(bottom_limit)) {
        drop(NvinferDropReason::kBelowRoiBottom);
        continue;
      }
    }
    if (p.has_parent) {
      o.left += p.parent_left;
      o.top += p.parent_top;
    }
    kept.push_back(o);
  }
  return kept;
}

}  // namespace facemask
