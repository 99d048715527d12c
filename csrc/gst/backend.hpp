// Seam between the facemaskblur element (system-memory backend, csrc/gst/gstfacemaskblur.cpp) and the DeepStream
// NVMM backend (csrc/gst/nvmm_*.cpp, owned by the CUDA work, compiled only against a DeepStream SDK: then CMake
// defines FACEMASK_HAVE_NVMM=1 and adds csrc/gst/nvmm_*.cpp plus the optional csrc/gst/nvmm_backend.cmake).
//
// How the element uses the NVMM backend (all calls from gstfacemaskblur.cpp, only #if FACEMASK_HAVE_NVMM):
//   class_init  : nvmm::sink_caps() is appended to both pad templates ("; "-joined), nvmm::describe() goes into the
//                 read-only `build-info` property.
//   init        : state = nvmm::create(GST_BASE_TRANSFORM(self)); finalize: nvmm::destroy(state).
//   set_info    : nvmm::set_caps(state, incaps, outcaps) -> true when the negotiated caps carry memory:NVMM; the
//                 element then routes every buffer to the backend.
//   transform_ip: FIRST thing, before any meta is read or memory mapped:
//                   if (nvmm active) return nvmm::transform_ip(state, buf, settings);
//                 `settings` is a snapshot of the element properties taken under the object lock for this buffer.
//                 The backend owns everything from there: reading NvDsBatchMeta, per-source hold (use
//                 facemask::HoldTracker from core/redact.hpp, one per source_id), privacy zones (settings.zones, frame
//                 pixels), the tee hazard (deepstream-contract.md section 6: write into a private surface when the
//                 buffer or its memory is shared), and stream-syncing CUDA work before returning.
//   stop / flush: nvmm::reset(state) (drop hold state).
// The system-memory path never sees an NVMM buffer and the NVMM path never calls transform_frame_ip.
#pragma once
#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

#include <vector>

#include "core/redact.hpp"
#include "core/types.hpp"

namespace facemask_gst {

/// The element's properties as one value (copied per buffer under the object lock).
struct Settings {
  facemask::RedactParams params;        // mode, shape, strength, margin, feather, fill colour, draw-outline
  std::vector<GQuark> roi_types;        // empty = every ROI / object type
  float min_confidence = 0.f;           // regions with a known confidence below this are ignored
  std::vector<facemask::RectF> zones;   // static privacy zones, frame pixels
  int hold_frames = 0;                  // keep redacting a vanished region this many frames
};

/// Params used for privacy zones: the element's mode/strength/fill, but box shape, margin 1, no feather.
facemask::RedactParams zone_params(const facemask::RedactParams& p);

#if defined(FACEMASK_HAVE_NVMM) && FACEMASK_HAVE_NVMM
namespace nvmm {
struct Backend;
const char* sink_caps();  // e.g. "video/x-raw(memory:NVMM), format=(string){ RGBA, NV12 }, width=..., ..."
const char* describe();   // e.g. "DeepStream 9.1 ABI"
Backend* create(GstBaseTransform* element);
void destroy(Backend* b);
bool set_caps(Backend* b, GstCaps* incaps, GstCaps* outcaps);  // true: NVMM caps, route buffers to the backend
void reset(Backend* b);
GstFlowReturn transform_ip(Backend* b, GstBuffer* buf, const Settings& settings);
}  // namespace nvmm
#endif

}  // namespace facemask_gst
