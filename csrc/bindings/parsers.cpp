#include "bindings.hpp"

namespace facemask_bind {
void init_parsers(pybind11::module_& m) { (void)m; }
}  // namespace facemask_bind
