#pragma once
namespace facemask {
/// Version of the facemask-ds native core ("0.1.0").
const char* version();
}  // namespace facemask
