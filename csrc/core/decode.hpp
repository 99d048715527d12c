// Face-detector output decoding: the one entry point every edge (nvinfer parser, plugin tensor-meta mode,
// Python bindings) calls. One implementation file per family (decode_<family>.cpp); formulas in
// ../shared/spec/face-models.md. Plain C++17.
//
// Output contract of every decoder: boxes in network-input pixels clamped to [0, net]; candidates whose box is empty
// after clamping are dropped; score >= threshold kept; sorted by score (descending, ties in the model's scan order);
// at most options.top_k (<= 0: no cap). No NMS here (nvinfer clusters; mask parsers call nms_indices). A candidate
// with any NaN/Inf value is skipped and counted in skipped_nonfinite. Landmarks are not clamped.
// Landmark order (what each family's point i is; options.landmark_order remaps):
//   CenterFace, RetinaFace, SCRFD, YOLOv5-Face, YOLOv8-Face, YuNet: 5 points, already canonical (types.hpp):
//     image-left eye, other eye, nose tip, image-left mouth corner, other mouth corner (WIDER FACE annotation order;
//     YuNet's "right eye ... left mouth corner" are the subject's sides, i.e. the same).
//   BlazeFace: 6 points in MediaPipe order: 0 subject's right eye (image left), 1 left eye, 2 nose tip,
//     3 mouth CENTRE, 4 right ear tragion (image left), 5 left ear tragion -- slots 3/4 are not mouth corners.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace facemask {

/// Element types of an output tensor. Values equal NvDsInferDataType's (FLOAT=0, HALF=1, INT8=2, INT32=3,
/// INT64=4, UINT8=5) so the DeepStream edge can cast.
enum class DataType : int { kFloat = 0, kHalf = 1, kInt8 = 2, kInt32 = 3, kInt64 = 4, kUInt8 = 5 };

/// One output tensor of one frame, batch dimension removed, exactly as nvinfer hands it to a parser.
struct TensorView {
  std::string name;
  DataType dtype = DataType::kFloat;
  std::vector<int64_t> dims;  // without the batch dim
  const void* data = nullptr;
  int64_t num_elements() const {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    return dims.empty() ? 0 : n;
  }
};

enum class Family { kCenterFace, kRetinaFace, kScrfd, kYuNet, kYoloV5Face, kYoloV8Face, kBlazeFace };
constexpr int kNumFamilies = 7;

/// "CenterFace", "RetinaFace", "Scrfd", "YuNet", "YoloV5Face", "YoloV8Face", "BlazeFace" (the suffix of the
/// exported NvDsInferParse<Family> symbols).
const char* family_name(Family f);
bool family_from_name(const std::string& name, Family* out);

/// Per-deployment options, settable without recompiling (facemask_parser.ini; docs/parser-options.md).
struct DecoderOptions {
  std::vector<std::string> output_names;  // empty = the family's documented defaults
  std::vector<int> landmark_order;        // empty = identity; else canonical slot i takes model point order[i]
  float score_threshold = -1.f;           // < 0: use the caller's threshold
  float nms_iou = 0.4f;                   // NMS inside the mask parsers (nvinfer runs none in mask mode)
  int top_k = 300;                        // most faces returned per frame
  int mask_width = 32, mask_height = 32;  // instance-mask resolution
  std::string variant = "auto";           // family-specific layout selector (e.g. BlazeFace "short"/"full")
};

struct DecodeRequest {
  int net_width = 0;   // network input size in pixels (NvDsInferNetworkInfo)
  int net_height = 0;
  float score_threshold = 0.f;  // candidates with score < threshold are dropped
  const DecoderOptions* options = nullptr;  // nullptr = defaults
};

struct DecodeResult {
  std::vector<Detection> detections;  // network-input pixels, boxes clamped to [0, net_w] x [0, net_h]
  std::string error;                  // non-empty = malformed input (missing layer, bad dims/type, NaN...);
                                      // detections is then empty. Never throws, never reads out of bounds.
  int64_t skipped_nonfinite = 0;      // candidates above threshold dropped because a value was NaN/Inf
};

/// Decode one frame's outputs. Thread-safe and reentrant (no global mutable state).
DecodeResult decode(Family family, const std::vector<TensorView>& outputs, const DecodeRequest& req);

}  // namespace facemask
