// Placeholder plugin entry (replaced by the facemaskblur element work).
#include <gst/gst.h>
static gboolean plugin_init(GstPlugin*) { return TRUE; }
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, facemask, "Face redaction for GStreamer and DeepStream",
                  plugin_init, VERSION, "Apache-2.0", "facemask-ds", "https://example.invalid/facemask-ds")
