// Plugin "facemask": element facemaskblur. The description states the build (CUDA, NVMM backend / DeepStream ABI,
// GstAnalytics) so `gst-inspect-1.0 facemask` and `facemask-ds doctor` can show it.
#include <gst/gst.h>

#include "build_info.hpp"
#include "gstfacemaskblur.hpp"

static gboolean plugin_init(GstPlugin* plugin) { return facemask_gst_register_facemaskblur(plugin); }

#define FACEMASK_PLUGIN_DESC "Face redaction for GStreamer and DeepStream (" FACEMASK_BUILD_INFO ")"

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, facemask, FACEMASK_PLUGIN_DESC, plugin_init, VERSION,
                  "Apache-2.0", "facemask-ds", "https://example.invalid/facemask-ds")
