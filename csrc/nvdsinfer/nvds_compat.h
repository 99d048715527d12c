// DeepStream nvinfer custom-parser ABI, as facemask-ds needs it.
//
// Two modes, chosen at build time:
//  * FACEMASK_USE_SDK_HEADERS=1 (CMake: DEEPSTREAM_DIR=<sdk>): the SDK's own nvdsinfer_custom_impl.h is used
//    (it pulls in TensorRT's NvInfer.h / NvOnnxParser.h and CUDA's cuda_runtime_api.h).
//  * otherwise: the kit's own declarations below, written from the interface contract
//    (/work/shared/spec/deepstream-contract.md §1.2, §1.3), for the DeepStream release FACEMASK_DS_MAJOR.MINOR
//    (CMake: FACEMASK_DEEPSTREAM_VERSION, 6.2 .. 9.x).
// FACEMASK_FORCE_KIT_DECLARATIONS=1 selects the kit's declarations even when SDK headers are configured (the
// offline harness in the Python module uses it: it must not depend on TensorRT headers).
//
// Release differences that change the binary layout (the rest is identical from 6.2 to 9.1):
//  * NvDsInferObjectDetectionInfo gained `float rotation_angle` (24 -> 28 bytes) in DeepStream 9.0: the 9.0.0
//    headers in github.com/NVIDIA/DeepStream (commit 4825d8f "DeepStream 9.0.1", includes/nvds_version.h 9.0.0,
//    includes/nvdsinfer.h:170) already have it; 8.0 and 6.3 do not (contract §1.2). So: rotation_angle iff major >= 9.
//  * NvDsInferDataType: 6.x knows FLOAT, HALF, INT8, INT32 (0..3); 8.0 and 9.x add INT64 = 4 and UINT8 = 5. For 7.x
//    the kit declares 0..5 as well (unverified; the enum is 4 bytes either way, so the layout does not depend on it).
#pragma once

#include <cstddef>
#include <vector>

#ifndef FACEMASK_DS_MAJOR
#error "FACEMASK_DS_MAJOR / FACEMASK_DS_MINOR must be defined by the build (CMake FACEMASK_DEEPSTREAM_VERSION)"
#endif

/// 1 when the target release's NvDsInferObjectDetectionInfo has rotation_angle (DeepStream >= 9.0).
#define FACEMASK_DS_HAS_ROTATION_ANGLE (FACEMASK_DS_MAJOR >= 9)

#if defined(FACEMASK_USE_SDK_HEADERS) && FACEMASK_USE_SDK_HEADERS && \
    !(defined(FACEMASK_FORCE_KIT_DECLARATIONS) && FACEMASK_FORCE_KIT_DECLARATIONS)

#define FACEMASK_NVDS_FROM_SDK 1
#include "nvds_version.h"
#include "nvdsinfer_custom_impl.h"
#if NVDS_VERSION_MAJOR != FACEMASK_DS_MAJOR || NVDS_VERSION_MINOR != FACEMASK_DS_MINOR
#error "DEEPSTREAM_DIR holds headers of another DeepStream release than FACEMASK_DEEPSTREAM_VERSION; set -DFACEMASK_DEEPSTREAM_VERSION=<the SDK's major.minor>"
#endif

#else  // the kit's own declarations

#define FACEMASK_NVDS_FROM_SDK 0

#define NVDSINFER_MAX_DIMS 8

extern "C" {

/// Shape of one layer, batch dimension excluded (nvinfer strips d[0] of every TensorRT tensor).
typedef struct {
  unsigned int numDims;                // valid entries of d
  unsigned int d[NVDSINFER_MAX_DIMS];  // extents
  unsigned int numElements;            // product of d[0..numDims)
} NvDsInferDims;

/// Element type of a layer buffer.
typedef enum {
  FLOAT = 0,
  HALF = 1,
  INT8 = 2,
  INT32 = 3,
#if FACEMASK_DS_MAJOR >= 7
  INT64 = 4,
  UINT8 = 5,
#endif
} NvDsInferDataType;

/// One input or output layer as handed to a parse function (buffer already rebased to the frame's slice).
typedef struct {
  NvDsInferDataType dataType;
  union {
    NvDsInferDims inferDims;
    NvDsInferDims dims;  // older name of the same member (deprecated by the SDK)
  };
  int bindingIndex;       // TensorRT IO index
  const char* layerName;  // TensorRT / ONNX tensor name
  void* buffer;           // host memory unless disable-output-host-copy=1
  int isInput;            // non-zero for inputs
} NvDsInferLayerInfo;

/// Network input size in pixels.
typedef struct {
  unsigned int width;
  unsigned int height;
  unsigned int channels;
} NvDsInferNetworkInfo;

/// One object from a bbox parser, network-input pixels.
typedef struct {
  unsigned int classId;
  float left;
  float top;
  float width;
  float height;
  float detectionConfidence;  // [0, 1]
#if FACEMASK_DS_HAS_ROTATION_ANGLE
  float rotation_angle;  // radians, 0 = axis-aligned (DeepStream >= 9.0)
#endif
} NvDsInferObjectDetectionInfo;

typedef NvDsInferObjectDetectionInfo NvDsInferParseObjectInfo;

/// One object plus its instance mask (same layout in every supported release).
typedef struct {
  unsigned int classId;
  float left;
  float top;
  float width;
  float height;
  float detectionConfidence;
  float* mask;               // new float[]; nvinfer frees it with delete[]
  unsigned int mask_width;   // columns
  unsigned int mask_height;  // rows
  unsigned int mask_size;    // bytes (not elements)
} NvDsInferInstanceMaskInfo;

/// Detection parameters nvinfer passes to a parser. The last member is a reference to the first vector (kept for
/// source compatibility by the SDK): the struct cannot be copy-assigned, and a copy-constructed instance still
/// refers to the original's vector. Never copy it.
typedef struct NvDsInferParseDetectionParams_ {
  unsigned int numClassesConfigured;               // classes 0 .. n-1 may be reported
  std::vector<float> perClassPreclusterThreshold;  // per class; may be empty
  std::vector<float> perClassPostclusterThreshold; // nvinferserver leaves it empty
  std::vector<float>& perClassThreshold = perClassPreclusterThreshold;
} NvDsInferParseDetectionParams;

/// Prototype of a bbox parse function (parse-bbox-func-name).
typedef bool (*NvDsInferParseCustomFunc)(std::vector<NvDsInferLayerInfo> const& outputLayersInfo,
                                         NvDsInferNetworkInfo const& networkInfo,
                                         NvDsInferParseDetectionParams const& detectionParams,
                                         std::vector<NvDsInferObjectDetectionInfo>& objectList);

/// Prototype of a bbox + instance-mask parse function (parse-bbox-instance-mask-func-name).
typedef bool (*NvDsInferInstanceMaskParseCustomFunc)(std::vector<NvDsInferLayerInfo> const& outputLayersInfo,
                                                     NvDsInferNetworkInfo const& networkInfo,
                                                     NvDsInferParseDetectionParams const& detectionParams,
                                                     std::vector<NvDsInferInstanceMaskInfo>& objectList);

}  // extern "C"

// Compile-time signature checks with the same names and effect as the SDK's: a never-called static function whose
// default argument converts `fn` to the prototype type (a mismatch does not compile), plus an extern "C"
// redeclaration of `fn` (so a definition without C linkage does not compile either).
#define CHECK_CUSTOM_PARSE_FUNC_PROTOTYPE(fn)                                                            \
  [[maybe_unused]] static void facemask_check_##fn(NvDsInferParseCustomFunc f = fn) { (void)f; }                         \
  extern "C" bool fn(std::vector<NvDsInferLayerInfo> const& outputLayersInfo,                           \
                     NvDsInferNetworkInfo const& networkInfo,                                           \
                     NvDsInferParseDetectionParams const& detectionParams,                              \
                     std::vector<NvDsInferObjectDetectionInfo>& objectList);

#define CHECK_CUSTOM_INSTANCE_MASK_PARSE_FUNC_PROTOTYPE(fn)                                              \
  [[maybe_unused]] static void facemask_check_##fn(NvDsInferInstanceMaskParseCustomFunc f = fn) { (void)f; }             \
  extern "C" bool fn(std::vector<NvDsInferLayerInfo> const& outputLayersInfo,                           \
                     NvDsInferNetworkInfo const& networkInfo,                                           \
                     NvDsInferParseDetectionParams const& detectionParams,                              \
                     std::vector<NvDsInferInstanceMaskInfo>& objectList);

#endif  // kit declarations

// ---- Layout checks (x86_64 / aarch64 LP64, contract §1.2). With SDK headers they check the SDK agrees. ----------
#if defined(__LP64__) || defined(_LP64)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
static_assert(sizeof(NvDsInferDims) == 40, "NvDsInferDims must be 40 bytes");
static_assert(offsetof(NvDsInferDims, numElements) == 36, "NvDsInferDims::numElements @36");
static_assert(sizeof(NvDsInferDataType) == 4, "NvDsInferDataType must be 4 bytes");
static_assert(sizeof(NvDsInferLayerInfo) == 72, "NvDsInferLayerInfo must be 72 bytes");
static_assert(offsetof(NvDsInferLayerInfo, inferDims) == 4, "NvDsInferLayerInfo::inferDims @4");
static_assert(offsetof(NvDsInferLayerInfo, bindingIndex) == 44, "NvDsInferLayerInfo::bindingIndex @44");
static_assert(offsetof(NvDsInferLayerInfo, layerName) == 48, "NvDsInferLayerInfo::layerName @48");
static_assert(offsetof(NvDsInferLayerInfo, buffer) == 56, "NvDsInferLayerInfo::buffer @56");
static_assert(offsetof(NvDsInferLayerInfo, isInput) == 64, "NvDsInferLayerInfo::isInput @64");
static_assert(sizeof(NvDsInferNetworkInfo) == 12, "NvDsInferNetworkInfo must be 12 bytes");
static_assert(offsetof(NvDsInferObjectDetectionInfo, detectionConfidence) == 20,
              "NvDsInferObjectDetectionInfo::detectionConfidence @20");
#if FACEMASK_DS_HAS_ROTATION_ANGLE
static_assert(sizeof(NvDsInferObjectDetectionInfo) == 28, "DeepStream >= 9.0: NvDsInferObjectDetectionInfo is 28 B");
static_assert(offsetof(NvDsInferObjectDetectionInfo, rotation_angle) == 24, "rotation_angle @24");
#else
static_assert(sizeof(NvDsInferObjectDetectionInfo) == 24, "DeepStream <= 8.x: NvDsInferObjectDetectionInfo is 24 B");
#endif
static_assert(sizeof(NvDsInferInstanceMaskInfo) == 48, "NvDsInferInstanceMaskInfo must be 48 bytes");
static_assert(offsetof(NvDsInferInstanceMaskInfo, mask) == 24, "NvDsInferInstanceMaskInfo::mask @24");
static_assert(offsetof(NvDsInferInstanceMaskInfo, mask_width) == 32, "mask_width @32");
static_assert(offsetof(NvDsInferInstanceMaskInfo, mask_height) == 36, "mask_height @36");
static_assert(offsetof(NvDsInferInstanceMaskInfo, mask_size) == 40, "mask_size @40");
static_assert(sizeof(NvDsInferParseDetectionParams) == 64, "NvDsInferParseDetectionParams must be 64 bytes");
static_assert(offsetof(NvDsInferParseDetectionParams, perClassPreclusterThreshold) == 8, "precluster @8");
static_assert(offsetof(NvDsInferParseDetectionParams, perClassPostclusterThreshold) == 32, "postcluster @32");
#pragma GCC diagnostic pop
#endif
