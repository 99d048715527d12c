// Placeholder: implemented in a follow-up commit.
#include "core/decode_internal.hpp"

namespace facemask {
namespace detail {
bool decode_scrfd(Ctx& c) { return c.fail("decoder not implemented yet"); }
}  // namespace detail
}  // namespace facemask
