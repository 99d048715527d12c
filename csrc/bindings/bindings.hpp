#pragma once
#include <pybind11/pybind11.h>

namespace facemask_bind {
void init_info(pybind11::module_& m);     // info.cpp: build facts
void init_parsers(pybind11::module_& m);  // parsers.cpp: core decoders + call_parse_function harness
void init_redact(pybind11::module_& m);   // redact.cpp: CPU redaction core
void init_cuda(pybind11::module_& m);     // cuda.cpp: CUDA kernels on device arrays (stubs without CUDA)
void init_emulate(pybind11::module_& m);  // emulate.cpp: nvinfer clustering + scaling/back-mapping from core
void init_decode(pybind11::module_& m);   // decode.cpp: core decoders (decode, nms, benchmark_decode)
}  // namespace facemask_bind
