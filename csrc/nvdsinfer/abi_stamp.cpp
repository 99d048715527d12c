// Placeholder: the ABI stamp of the parser library (replaced by the parser-library work).
#include "facemask_build_config.h"
extern "C" __attribute__((visibility("default"))) const char* FacemaskParserAbi() { return FACEMASK_DS_VERSION_STR; }
