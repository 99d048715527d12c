#include "core/version.hpp"

#include "facemask_build_config.h"

namespace facemask {
const char* version() { return FACEMASK_VERSION; }
}  // namespace facemask
