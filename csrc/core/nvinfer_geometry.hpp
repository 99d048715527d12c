// nvinfer's geometry, reproduced exactly: how gst-nvinfer scales a source rectangle (full frame or parent object)
// to the network input, and how it maps detector boxes back to frame pixels, including its quirks.
// Spec: shared/spec/deepstream-contract.md §2.5 (DeepStream 9.1 gstnvinfer.cpp get_converted_buffer and
// gstnvinfer_meta_utils.cpp attach_metadata_detector). Plain C++17, no dependency.
//
// Users: the nvinfer emulator (bindings), the plugin's tensor-meta mode (nvinfer's tensor meta carries no scale
// ratios or offsets, so they are recomputed here from the surface size), tests.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace facemask {

/// How nvinfer placed one source rectangle into the network input.
struct NvinferScaling {
  // Source rectangle actually sampled: left/top rounded UP to even, width/height rounded DOWN to even
  // (GST_ROUND_UP_2 / GST_ROUND_DOWN_2 of the values truncated to unsigned).
  uint32_t src_left = 0, src_top = 0, src_width = 0, src_height = 0;
  // Size of the scaled image inside the network input (== network size without maintain-aspect-ratio).
  uint32_t dest_width = 0, dest_height = 0;
  // Where the scaled image starts in the network input (non-zero only with symmetric padding).
  uint32_t offset_left = 0, offset_top = 0;
  // dest / src per axis (double, as nvinfer keeps them).
  double ratio_x = 1.0, ratio_y = 1.0;
};

/// nvinfer's scaling of `src` (left, top, width, height in surface pixels; floats as in NvOSD_RectParams) to a
/// net_w x net_h input. maintain_aspect: largest same-aspect box that fits, truncated to unsigned, black padding;
/// symmetric: centred with integer-division offsets, else top-left. Returns false with `error` set when the
/// input is unusable (zero network size, source narrower/shorter than 2 px after even rounding, negative or
/// non-finite values); never throws.
bool nvinfer_compute_scaling(float src_left, float src_top, float src_width, float src_height, uint32_t net_w,
                             uint32_t net_h, bool maintain_aspect_ratio, bool symmetric_padding, NvinferScaling* out,
                             std::string* error);

/// One detector object: network-input pixels before mapping, frame pixels after.
struct NvinferBox {
  float left = 0, top = 0, width = 0, height = 0;
  float confidence = 0;
  int class_id = 0;
};

/// Per-class filters nvinfer applies after back-mapping ([class-attrs-*] keys, deepstream-contract.md §4.3).
// Unsigned as in GstNvInferDetectionFilterParams (guint), so `height - roi_bottom_offset` wraps like nvinfer's.
struct NvinferObjectFilter {
  uint32_t detected_min_w = 0, detected_min_h = 0;
  uint32_t detected_max_w = 0, detected_max_h = 0;  // 0 = off
  uint32_t roi_top_offset = 0, roi_bottom_offset = 0;
};

struct NvinferBackMapParams {
  uint32_t surface_width = 0, surface_height = 0;  // the streammux surface (input_surf_params width/height)
  float roi_left = 0, roi_top = 0;              // added after un-scaling (0 for full frames)
  bool crop_objects_to_roi_boundary = false;
  // Secondary mode (process-mode=2): the parent object's rect left/top, added after filtering (unrounded, as
  // nvinfer does, while the scaling used the even-rounded crop). has_parent=false for primary mode.
  bool has_parent = false;
  float parent_left = 0, parent_top = 0;
  std::vector<int> filter_out_class_ids;
  // Per-class filters indexed by class id; a class without an entry uses the defaults (all off).
  std::vector<NvinferObjectFilter> per_class;
};

/// Map one box from network-input pixels to frame pixels exactly as nvinfer does, without any filtering:
/// left = (l - offset_left)/ratio_x + roi_left, top likewise, width /= ratio_x, height /= ratio_y; then negative
/// left/top are clamped to 0 WITHOUT shrinking width/height. Arithmetic in double, stored as float (as nvinfer).
NvinferBox nvinfer_back_map_box(const NvinferBox& net_box, const NvinferScaling& s, float roi_left = 0,
                                float roi_top = 0);

/// Why an object was dropped after back-mapping (for diagnostics / the emulator's report).
enum class NvinferDropReason { kKept = 0, kFilterOutClass, kMinWidth, kMinHeight, kMaxWidth, kMaxHeight,
                               kAboveRoiTop, kBelowRoiBottom };
const char* drop_reason_name(NvinferDropReason r);

/// The whole per-object path of attach_metadata_detector: back-map, clamp left/top at 0, drop by
/// filter-out-class-ids and detected-min/max-w/h, then either crop (crop-objects-to-roi-boundary=1: top raised to
/// roi-top-offset without shrinking height; width cut when left+width >= surface width; height cut when the
/// bottom passes surface height - roi-bottom-offset) or drop objects whose top is above roi-top-offset or whose
/// bottom is below surface height - roi-bottom-offset. The right edge is never clipped without the crop flag.
/// Returns the kept objects in input order (with their frame rects as nvinfer writes them to rect_params,
/// including the parent offset in secondary mode). `reasons`, if given, gets one entry per input object.
std::vector<NvinferBox> nvinfer_map_objects(const std::vector<NvinferBox>& net_boxes, const NvinferScaling& s,
                                            const NvinferBackMapParams& p,
                                            std::vector<NvinferDropReason>* reasons = nullptr);

/// Map a point (landmark) from network-input pixels to frame pixels with the same affine transform as the boxes
/// (no clamping: nvinfer maps no points itself; this is the inverse consumers of tensor meta need).
void nvinfer_back_map_point(const NvinferScaling& s, float x_net, float y_net, float roi_left, float roi_top,
                            float* x_frame, float* y_frame);

}  // namespace facemask
