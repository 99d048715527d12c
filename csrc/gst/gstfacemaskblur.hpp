// facemaskblur: in-place face/privacy redaction (GstVideoFilter). System-memory backend here; the DeepStream NVMM
// backend plugs in through backend.hpp.
#pragma once
#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_FACEMASKBLUR (gst_facemaskblur_get_type())
G_DECLARE_FINAL_TYPE(GstFaceMaskBlur, gst_facemaskblur, GST, FACEMASKBLUR, GstVideoFilter)


gboolean facemask_gst_register_facemaskblur(GstPlugin* plugin);

/// Build facts shown by `gst-inspect-1.0 facemask` (plugin description) and the element's build-info property.
const char* facemask_gst_build_info(void);

G_END_DECLS
