// facemask_ds._native: the pybind11 module. Each area registers itself from its own file.
#include <pybind11/pybind11.h>

#include "bindings.hpp"

PYBIND11_MODULE(_native, m) {
  m.doc() = "facemask-ds native core: decoders, parse-function harness, CPU and CUDA redaction";
  facemask_bind::init_info(m);
  facemask_bind::init_parsers(m);
  facemask_bind::init_redact(m);
  facemask_bind::init_cuda(m);
  facemask_bind::init_emulate(m);
  facemask_bind::init_decode(m);
}
