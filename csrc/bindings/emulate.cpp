#include "bindings.hpp"

namespace facemask_bind {
void init_emulate(pybind11::module_& m) { (void)m; }
}  // namespace facemask_bind
