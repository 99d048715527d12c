// The body shared by every exported parse function: NvDsInferLayerInfo -> core TensorView, options, threshold,
// core decode, NMS + top-K, output structs. Internal to libnvdsinfer_facemask.so.
#pragma once
#include <string>
#include <vector>

#include "core/decode.hpp"
#include "nvds_compat.h"

namespace facemask_nvds {

/// Bbox parse: appends the frame's faces to `out`. Always returns true (malformed input: no faces, one log line).
/// Never throws.
bool parse_bbox(facemask::Family fam, const std::vector<NvDsInferLayerInfo>& layers, const NvDsInferNetworkInfo& net,
                const NvDsInferParseDetectionParams& params, std::vector<NvDsInferObjectDetectionInfo>& out) noexcept;

/// Instance-mask parse: as parse_bbox, plus one face-oval mask per face (new float[], freed by nvinfer with delete[]).
bool parse_mask(facemask::Family fam, const std::vector<NvDsInferLayerInfo>& layers, const NvDsInferNetworkInfo& net,
                const NvDsInferParseDetectionParams& params, std::vector<NvDsInferInstanceMaskInfo>& out) noexcept;

/// Logs `msg` to stderr as one "facemask-parser: ..." line the first time it is seen in this process (thread-safe;
/// unless `numbers_matter`, messages differing only in numbers count as one; at most 256 distinct ones, then one
/// "suppressed" line).
void log_once(const std::string& msg, bool numbers_matter = false) noexcept;

/// JSON build facts (static string).
const char* build_info_json() noexcept;

}  // namespace facemask_nvds
