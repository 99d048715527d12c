// DeepStream metadata side of the NVMM backend: FACEMASK.LANDMARKS user meta (attach/read, with copy and release
// functions) and tensor-meta mode (decode NvDsInferTensorMeta with the core decoders, recompute nvinfer's scaling,
// create object metas). Compiled only against a real DeepStream SDK (csrc/gst/CMakeLists.txt).
#pragma once
#include <string>
#include <vector>

#include <gst/gst.h>
// gstnvdsinfer.h needs GLib/GStreamer declared first.
#include <gstnvdsmeta.h>
#include <gstnvdsinfer.h>
#include <nvdsmeta.h>

#include "core/decode.hpp"
#include "core/types.hpp"
#include "nvmm_landmarks.h"

namespace facemask {
namespace nvmm {

/// nvds_get_user_meta_type("FACEMASK.LANDMARKS"), looked up once.
NvDsMetaType landmark_meta_type();

/// Attach det's landmarks (frame pixels) to obj as FACEMASK.LANDMARKS user meta. Caller holds the meta lock or
/// owns the batch meta exclusively. Returns false (nothing attached) if the pool is exhausted or det has none.
bool attach_landmarks(NvDsBatchMeta* batch, NvDsObjectMeta* obj, const Detection& det, unsigned gie_unique_id);

/// Copy FACEMASK.LANDMARKS from obj's user meta into det (lx/ly/num_landmarks). False if obj carries none or
/// the payload is malformed (wrong version, point count out of range, non-finite values).
bool read_landmarks(const NvDsObjectMeta* obj, Detection* det);

/// Tensor-meta mode settings (element properties).
struct TensorModeConfig {
  Family family = Family::kCenterFace;
  DecoderOptions options;           // decoder options (output names, landmark order, NMS IoU, top-k)
  float score_threshold = 0.5f;     // candidates below are dropped before NMS
  int gie_unique_id = -1;           // only tensor metas of this nvinfer (-1: the first found per frame)
  int object_class_id = 0;          // class_id of the created object metas
  int object_component_id = -1;     // unique_component_id of the created metas (-1: the tensor meta's unique_id)
  bool attach_landmarks = true;
};

struct TensorModeFrameResult {
  int tensor_metas_seen = 0;
  int objects_added = 0;
  std::vector<Detection> faces;  // frame pixels, as attached (also handed to the redactor)
};

/// For one frame: find its NVDSINFER_TENSOR_OUTPUT_META, decode the outputs, NMS, map boxes and landmarks to frame
/// pixels with nvinfer's scaling recomputed from the surface size (core/nvinfer_geometry.hpp), and add one
/// NvDsObjectMeta per face (plus landmark user meta). Device-only outputs (disable-output-host-copy=1) are copied
/// to the host first. Returns false with *error set on malformed tensor meta; never throws.
bool objects_from_tensor_meta(NvDsBatchMeta* batch, NvDsFrameMeta* frame, unsigned surface_width,
                              unsigned surface_height, const TensorModeConfig& cfg, TensorModeFrameResult* out,
                              std::string* error);

}  // namespace nvmm
}  // namespace facemask
