// What this parser library was built for, queryable with dlsym/ctypes (facemask-ds doctor, the offline harness).
#include "facemask_build_config.h"
#include "parser_impl.hpp"

/// DeepStream release whose ABI the library targets, e.g. "9.1".
extern "C" __attribute__((visibility("default"))) const char* FacemaskParserAbi() { return FACEMASK_DS_VERSION_STR; }

/// JSON: version, deepstream_abi, sdk_headers, has_rotation_angle, sizeof_detection_info,
/// sizeof_instance_mask_info, sizeof_layer_info, sizeof_detection_params, parse_functions.
extern "C" __attribute__((visibility("default"))) const char* FacemaskParserBuildInfo() {
  return facemask_nvds::build_info_json();
}
