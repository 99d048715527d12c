#include <pybind11/pybind11.h>

#include "bindings.hpp"
#include "facemask_build_config.h"

namespace py = pybind11;

namespace facemask_bind {
void init_info(py::module_& m) {
  m.def("build_info", [] {
    py::dict d;
    d["version"] = FACEMASK_VERSION;
    d["deepstream_abi"] = FACEMASK_DS_VERSION_STR;
    d["deepstream_sdk_headers"] = std::string(FACEMASK_DS_SDK_INCLUDE);
    d["cuda"] = static_cast<bool>(FACEMASK_HAVE_CUDA);
    d["cuda_toolkit"] = std::string(FACEMASK_CUDA_VERSION_STR);
    d["gstreamer_plugin"] = static_cast<bool>(FACEMASK_HAVE_GST);
    return d;
  }, "Facts recorded when the native module was built.");
}
}  // namespace facemask_bind
