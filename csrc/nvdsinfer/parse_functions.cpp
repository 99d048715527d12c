// The exported nvinfer / nvinferserver parse functions: NvDsInferParse<Family> (bbox, parse-bbox-func-name /
// custom_parse_bbox_func) and NvDsInferParse<Family>Mask (instance mask, parse-bbox-instance-mask-func-name), each
// checked against the DeepStream prototype with the SDK's CHECK_ macros. Bodies: parser_impl.cpp.
#include "nvds_compat.h"
#include "parser_impl.hpp"

#define FACEMASK_EXPORT __attribute__((visibility("default")))

#define FACEMASK_DEFINE_PARSERS(FAMILY)                                                                         \
  extern "C" FACEMASK_EXPORT bool NvDsInferParse##FAMILY(                                                       \
      std::vector<NvDsInferLayerInfo> const& outputLayersInfo, NvDsInferNetworkInfo const& networkInfo,        \
      NvDsInferParseDetectionParams const& detectionParams, std::vector<NvDsInferObjectDetectionInfo>& objectList) { \
    return facemask_nvds::parse_bbox(facemask::Family::k##FAMILY, outputLayersInfo, networkInfo, detectionParams, \
                                     objectList);                                                               \
  }                                                                                                             \
  extern "C" FACEMASK_EXPORT bool NvDsInferParse##FAMILY##Mask(                                                 \
      std::vector<NvDsInferLayerInfo> const& outputLayersInfo, NvDsInferNetworkInfo const& networkInfo,        \
      NvDsInferParseDetectionParams const& detectionParams, std::vector<NvDsInferInstanceMaskInfo>& objectList) { \
    return facemask_nvds::parse_mask(facemask::Family::k##FAMILY, outputLayersInfo, networkInfo, detectionParams, \
                                     objectList);                                                               \
  }                                                                                                             \
  CHECK_CUSTOM_PARSE_FUNC_PROTOTYPE(NvDsInferParse##FAMILY)                                                     \
  CHECK_CUSTOM_INSTANCE_MASK_PARSE_FUNC_PROTOTYPE(NvDsInferParse##FAMILY##Mask)

FACEMASK_DEFINE_PARSERS(CenterFace)
FACEMASK_DEFINE_PARSERS(RetinaFace)
FACEMASK_DEFINE_PARSERS(Scrfd)
FACEMASK_DEFINE_PARSERS(YuNet)
FACEMASK_DEFINE_PARSERS(YoloV5Face)
FACEMASK_DEFINE_PARSERS(YoloV8Face)
FACEMASK_DEFINE_PARSERS(BlazeFace)
