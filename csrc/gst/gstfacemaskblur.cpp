// facemaskblur element (system-memory backend). Pixel work is csrc/core/redact.* (formulas there and in
// docs/redaction.md); this file only adapts GStreamer: properties, metadata, mapping, the no-copy skip.
#include "gstfacemaskblur.hpp"

#include <gst/base/gstbasetransform.h>

#include <new>
#include <string>
#include <vector>

#include "backend.hpp"
#include "core/formats.hpp"
#include "core/redact.hpp"
#include "build_info.hpp"
#include "regions.hpp"

GST_DEBUG_CATEGORY_STATIC(gst_facemaskblur_debug);
#define GST_CAT_DEFAULT gst_facemaskblur_debug

#define FACEMASK_FORMATS "{ RGBA, BGRA, RGBx, BGRx, ARGB, ABGR, xRGB, xBGR, RGB, BGR, I420, YV12, NV12, NV21, GRAY8 }"

using facemask::RedactMode;
using facemask::RedactParams;
using facemask::RedactShape;
using facemask::Region;

namespace {

constexpr int kDefaultHoldFrames = 2;

struct State {
  facemask_gst::Settings settings;
  std::string roi_types_str;
  std::string zones_str;
  std::string zones_error;      // non-empty: the last privacy-zones value was rejected (error on next buffer)
  facemask::HoldTracker hold;
  // per-buffer data handed from transform_ip to transform_frame_ip (same streaming thread)
  std::vector<Region> pending;
  facemask_gst::Settings pending_settings;
  guint64 regions_redacted = 0;
  guint64 frames_redacted = 0;
  guint64 frames_skipped = 0;
  // NVMM tensor-meta mode (read by the NVMM backend through these properties)
  std::string tensor_family;
  int tensor_gie_id = -1;
  float tensor_threshold = 0.5f;
#if FACEMASK_HAVE_NVMM
  facemask_gst::nvmm::Backend* nvmm = nullptr;
  bool nvmm_active = false;
#endif
  State() { settings.hold_frames = kDefaultHoldFrames; }
};

}  // namespace

struct _GstFaceMaskBlur {
  GstVideoFilter parent;
  State* st;
};

G_DEFINE_TYPE(GstFaceMaskBlur, gst_facemaskblur, GST_TYPE_VIDEO_FILTER)

static GstFlowReturn (*parent_transform_ip)(GstBaseTransform*, GstBuffer*) = nullptr;
static gboolean (*parent_sink_event)(GstBaseTransform*, GstEvent*) = nullptr;

enum {
  PROP_0,
  PROP_MODE,
  PROP_SHAPE,
  PROP_STRENGTH,
  PROP_MARGIN,
  PROP_FEATHER,
  PROP_FILL_COLOR,
  PROP_ROI_TYPES,
  PROP_MIN_CONFIDENCE,
  PROP_PRIVACY_ZONES,
  PROP_HOLD_FRAMES,
  PROP_DRAW_OUTLINE,
  PROP_REGIONS_REDACTED,
  PROP_FRAMES_REDACTED,
  PROP_FRAMES_SKIPPED,
  PROP_BUILD_INFO,
  PROP_TENSOR_META_FAMILY,
  PROP_TENSOR_META_GIE_ID,
  PROP_TENSOR_META_THRESHOLD,
};

// ---------------------------------------------------------------------------------------------------------------------
// Build facts
extern "C" const char* facemask_gst_build_info(void) { return FACEMASK_BUILD_INFO; }

// ---------------------------------------------------------------------------------------------------------------------
// Enum types
#define GST_TYPE_FACEMASKBLUR_MODE (gst_facemaskblur_mode_get_type())
static GType gst_facemaskblur_mode_get_type(void) {
  static gsize id = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(RedactMode::kBlur), "Gaussian-like blur, sigma = 0.15 x strength x face size (effective 0.9-1.13x of it for faces over ~55 px, 0.83-1.22x below; 3+3 box passes on a grid decimated by a power of two <= sigma / 4, bilinear upsampling)",
       "blur"},
      {static_cast<gint>(RedactMode::kPixelate),
       "Pixelate: mean over square cells of 2 x round(strength x face size / 12) px", "pixelate"},
      {static_cast<gint>(RedactMode::kFill), "Solid fill with fill-color", "fill"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&id)) {
    GType t = g_enum_register_static("GstFaceMaskBlurMode", values);
    g_once_init_leave(&id, t);
  }
  return static_cast<GType>(id);
}

#define GST_TYPE_FACEMASKBLUR_SHAPE (gst_facemaskblur_shape_get_type())
static GType gst_facemaskblur_shape_get_type(void) {
  static gsize id = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(RedactShape::kBox), "Rectangle (the box scaled by margin)", "box"},
      {static_cast<gint>(RedactShape::kEllipse), "Ellipse inscribed in the box scaled by margin", "ellipse"},
      {static_cast<gint>(RedactShape::kOval),
       "Face oval fitted to the box and the facemask/landmarks points (roll, centre); ellipse without landmarks",
       "oval"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&id)) {
    GType t = g_enum_register_static("GstFaceMaskBlurShape", values);
    g_once_init_leave(&id, t);
  }
  return static_cast<GType>(id);
}

// ---------------------------------------------------------------------------------------------------------------------
// Properties
static void gst_facemaskblur_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstFaceMaskBlur* self = GST_FACEMASKBLUR(object);
  State& st = *self->st;
  GST_OBJECT_LOCK(self);
  RedactParams& p = st.settings.params;
  switch (prop_id) {
    case PROP_MODE: p.mode = static_cast<RedactMode>(g_value_get_enum(value)); break;
    case PROP_SHAPE: p.shape = static_cast<RedactShape>(g_value_get_enum(value)); break;
    case PROP_STRENGTH: p.strength = static_cast<float>(g_value_get_double(value)); break;
    case PROP_MARGIN: p.margin = static_cast<float>(g_value_get_double(value)); break;
    case PROP_FEATHER: p.feather = static_cast<float>(g_value_get_double(value)); break;
    case PROP_FILL_COLOR: {
      const guint c = g_value_get_uint(value);
      p.fill_rgb[0] = static_cast<uint8_t>((c >> 16) & 0xff);
      p.fill_rgb[1] = static_cast<uint8_t>((c >> 8) & 0xff);
      p.fill_rgb[2] = static_cast<uint8_t>(c & 0xff);
      break;
    }
    case PROP_ROI_TYPES: {
      const gchar* s = g_value_get_string(value);
      st.roi_types_str = s ? s : "";
      st.settings.roi_types = facemask_gst::parse_roi_types(st.roi_types_str);
      break;
    }
    case PROP_MIN_CONFIDENCE: st.settings.min_confidence = static_cast<float>(g_value_get_double(value)); break;
    case PROP_PRIVACY_ZONES: {
      const gchar* s = g_value_get_string(value);
      std::string str = s ? s : "";
      std::string err;
      std::vector<facemask::RectF> zones;
      if (facemask_gst::parse_privacy_zones(str, &zones, &err)) {
        st.zones_str = str;
        st.settings.zones.swap(zones);
        st.zones_error.clear();
      } else {
        st.zones_error = "privacy-zones=\"" + str + "\": " + err;
        GST_WARNING_OBJECT(self, "%s", st.zones_error.c_str());
      }
      break;
    }
    case PROP_HOLD_FRAMES: st.settings.hold_frames = g_value_get_int(value); break;
    case PROP_DRAW_OUTLINE: p.draw_outline = g_value_get_boolean(value); break;
    case PROP_TENSOR_META_FAMILY: {
      const gchar* s = g_value_get_string(value);
      st.tensor_family = s ? s : "";
      break;
    }
    case PROP_TENSOR_META_GIE_ID: st.tensor_gie_id = g_value_get_int(value); break;
    case PROP_TENSOR_META_THRESHOLD: st.tensor_threshold = g_value_get_float(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_facemaskblur_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstFaceMaskBlur* self = GST_FACEMASKBLUR(object);
  State& st = *self->st;
  GST_OBJECT_LOCK(self);
  const RedactParams& p = st.settings.params;
  switch (prop_id) {
    case PROP_MODE: g_value_set_enum(value, static_cast<gint>(p.mode)); break;
    case PROP_SHAPE: g_value_set_enum(value, static_cast<gint>(p.shape)); break;
    case PROP_STRENGTH: g_value_set_double(value, p.strength); break;
    case PROP_MARGIN: g_value_set_double(value, p.margin); break;
    case PROP_FEATHER: g_value_set_double(value, p.feather); break;
    case PROP_FILL_COLOR:
      g_value_set_uint(value, (static_cast<guint>(p.fill_rgb[0]) << 16) | (static_cast<guint>(p.fill_rgb[1]) << 8) |
                                  p.fill_rgb[2]);
      break;
    case PROP_ROI_TYPES: g_value_set_string(value, st.roi_types_str.c_str()); break;
    case PROP_MIN_CONFIDENCE: g_value_set_double(value, st.settings.min_confidence); break;
    case PROP_PRIVACY_ZONES: g_value_set_string(value, st.zones_str.c_str()); break;
    case PROP_HOLD_FRAMES: g_value_set_int(value, st.settings.hold_frames); break;
    case PROP_DRAW_OUTLINE: g_value_set_boolean(value, p.draw_outline); break;
    case PROP_REGIONS_REDACTED: g_value_set_uint64(value, st.regions_redacted); break;
    case PROP_FRAMES_REDACTED: g_value_set_uint64(value, st.frames_redacted); break;
    case PROP_FRAMES_SKIPPED: g_value_set_uint64(value, st.frames_skipped); break;
    case PROP_BUILD_INFO: g_value_set_string(value, FACEMASK_BUILD_INFO); break;
    case PROP_TENSOR_META_FAMILY: g_value_set_string(value, st.tensor_family.c_str()); break;
    case PROP_TENSOR_META_GIE_ID: g_value_set_int(value, st.tensor_gie_id); break;
    case PROP_TENSOR_META_THRESHOLD: g_value_set_float(value, st.tensor_threshold); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

// ---------------------------------------------------------------------------------------------------------------------
// Processing
static bool any_plan(const std::vector<Region>& regions, const RedactParams& p, int w, int h) {
  for (const Region& r : regions) {
    if (!facemask::plan_region(r, p, w, h).empty) return true;
  }
  return false;
}

static std::vector<Region> zone_regions(const std::vector<facemask::RectF>& zones) {
  std::vector<Region> out;
  out.reserve(zones.size());
  for (const facemask::RectF& z : zones) {
    Region r;
    r.det.x1 = z.x;
    r.det.y1 = z.y;
    r.det.x2 = z.x + z.w;
    r.det.y2 = z.y + z.h;
    r.det.score = 1.f;
    out.push_back(r);
  }
  return out;
}

static GstFlowReturn gst_facemaskblur_transform_ip(GstBaseTransform* bt, GstBuffer* buf) {
  GstFaceMaskBlur* self = GST_FACEMASKBLUR(bt);
  State& st = *self->st;
  facemask_gst::Settings s;
  std::string zerr;
  GST_OBJECT_LOCK(self);
  s = st.settings;
  zerr = st.zones_error;
  GST_OBJECT_UNLOCK(self);
  if (!zerr.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid privacy-zones property"), ("%s", zerr.c_str()));
    return GST_FLOW_ERROR;
  }

#if FACEMASK_HAVE_NVMM
  // NVMM buffers never reach the system-memory path (no map, no transform_frame_ip).
  if (st.nvmm_active) return facemask_gst::nvmm::transform_ip(st.nvmm, buf, s);
#endif

  std::vector<Region> current;
  facemask_gst::collect_regions(buf, s, &current, nullptr);
  st.hold.set_hold_frames(s.hold_frames);
  st.pending = st.hold.update(current);
  st.pending_settings = s;

  const GstVideoInfo* info = &GST_VIDEO_FILTER(self)->in_info;
  const int w = GST_VIDEO_INFO_WIDTH(info), h = GST_VIDEO_INFO_HEIGHT(info);
  const bool faces = any_plan(st.pending, s.params, w, h);
  const bool zones = any_plan(zone_regions(s.zones), facemask_gst::zone_params(s.params), w, h);
  if (!faces && !zones) {
    // Nothing to redact in this frame: no map, so no copy of a shared (tee'd) buffer either.
    GST_OBJECT_LOCK(self);
    st.frames_skipped++;
    GST_OBJECT_UNLOCK(self);
    st.pending.clear();
    return GST_FLOW_OK;
  }
  // GstVideoFilter maps the frame READWRITE (copy-on-write of shared memory) and calls transform_frame_ip.
  const GstFlowReturn ret = parent_transform_ip(bt, buf);
  st.pending.clear();
  return ret;
}

static GstFlowReturn gst_facemaskblur_transform_frame_ip(GstVideoFilter* filter, GstVideoFrame* frame) {
  GstFaceMaskBlur* self = GST_FACEMASKBLUR(filter);
  State& st = *self->st;
  const facemask_gst::Settings& s = st.pending_settings;

  facemask::ImageView img;
  const gchar* fname = gst_video_format_to_string(GST_VIDEO_FRAME_FORMAT(frame));
  if (fname == nullptr || !facemask::format_from_name(fname, &img.format)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Unsupported video format"), ("format %s", fname ? fname : "?"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  img.width = GST_VIDEO_FRAME_WIDTH(frame);
  img.height = GST_VIDEO_FRAME_HEIGHT(frame);
  const guint np = GST_VIDEO_FRAME_N_PLANES(frame);
  for (guint p = 0; p < np && p < 3; ++p) {
    img.data[p] = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(frame, p));
    img.stride[p] = GST_VIDEO_FRAME_PLANE_STRIDE(frame, p);
  }

  std::string err;
  facemask::RedactStats zs, fs;
  const std::vector<Region> zones = zone_regions(s.zones);
  if (!facemask::redact(img, zones, facemask_gst::zone_params(s.params), &err, &zs) ||
      !facemask::redact(img, st.pending, s.params, &err, &fs)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Redaction failed"), ("%s", err.c_str()));
    return GST_FLOW_ERROR;
  }
  GST_LOG_OBJECT(self, "redacted %d zone(s), %d face region(s)", zs.regions_drawn, fs.regions_drawn);
  GST_OBJECT_LOCK(self);
  st.regions_redacted += static_cast<guint64>(zs.regions_drawn + fs.regions_drawn);
  st.frames_redacted++;
  GST_OBJECT_UNLOCK(self);
  return GST_FLOW_OK;
}

static gboolean gst_facemaskblur_set_info(GstVideoFilter* filter, GstCaps* incaps, GstVideoInfo* in_info,
                                          GstCaps* outcaps, GstVideoInfo* out_info) {
  GstFaceMaskBlur* self = GST_FACEMASKBLUR(filter);
  (void)in_info;
  (void)out_info;
  (void)incaps;
  (void)outcaps;
  self->st->hold.reset();  // coordinates of another geometry mean nothing
#if FACEMASK_HAVE_NVMM
  self->st->nvmm_active = facemask_gst::nvmm::set_caps(self->st->nvmm, incaps, outcaps);
  if (self->st->nvmm_active) return TRUE;
#endif
  const gchar* fname = gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(in_info));
  if (fname == nullptr || !facemask::format_from_name(fname, nullptr)) {
    GST_ERROR_OBJECT(self, "unsupported format %s", fname ? fname : "?");
    return FALSE;
  }
  return TRUE;
}

static gboolean gst_facemaskblur_start(GstBaseTransform* bt) {
  GstFaceMaskBlur* self = GST_FACEMASKBLUR(bt);
  std::string zerr;
  GST_OBJECT_LOCK(self);
  zerr = self->st->zones_error;
  GST_OBJECT_UNLOCK(self);
  if (!zerr.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid privacy-zones property"), ("%s", zerr.c_str()));
    return FALSE;
  }
  self->st->hold.reset();
  return TRUE;
}

static gboolean gst_facemaskblur_stop(GstBaseTransform* bt) {
  GstFaceMaskBlur* self = GST_FACEMASKBLUR(bt);
  self->st->hold.reset();
#if FACEMASK_HAVE_NVMM
  facemask_gst::nvmm::reset(self->st->nvmm);
#endif
  return TRUE;
}

static gboolean gst_facemaskblur_sink_event(GstBaseTransform* bt, GstEvent* event) {
  GstFaceMaskBlur* self = GST_FACEMASKBLUR(bt);
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP || GST_EVENT_TYPE(event) == GST_EVENT_STREAM_START) {
    self->st->hold.reset();
#if FACEMASK_HAVE_NVMM
    facemask_gst::nvmm::reset(self->st->nvmm);
#endif
  }
  return parent_sink_event(bt, event);
}

// ---------------------------------------------------------------------------------------------------------------------
static void gst_facemaskblur_finalize(GObject* object) {
  GstFaceMaskBlur* self = GST_FACEMASKBLUR(object);
#if FACEMASK_HAVE_NVMM
  facemask_gst::nvmm::destroy(self->st->nvmm);
#endif
  delete self->st;
  self->st = nullptr;
  G_OBJECT_CLASS(gst_facemaskblur_parent_class)->finalize(object);
}

static void gst_facemaskblur_init(GstFaceMaskBlur* self) {
  self->st = new State();
#if FACEMASK_HAVE_NVMM
  self->st->nvmm = facemask_gst::nvmm::create(GST_BASE_TRANSFORM(self));
#endif
}

static void gst_facemaskblur_class_init(GstFaceMaskBlurClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* bt_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstVideoFilterClass* vf_class = GST_VIDEO_FILTER_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_facemaskblur_debug, "facemaskblur", 0, "facemask-ds face redaction");

  gobject_class->set_property = gst_facemaskblur_set_property;
  gobject_class->get_property = gst_facemaskblur_get_property;
  gobject_class->finalize = gst_facemaskblur_finalize;

  const GParamFlags rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                  GST_PARAM_MUTABLE_PLAYING);
  const GParamFlags ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_property(
      gobject_class, PROP_MODE,
      g_param_spec_enum("mode", "Mode",
                        "How a region is redacted: blur (gaussian-like, strength scales with face size), pixelate "
                        "(square cells) or fill (solid fill-color)",
                        GST_TYPE_FACEMASKBLUR_MODE, static_cast<gint>(RedactMode::kBlur), rw));
  g_object_class_install_property(
      gobject_class, PROP_SHAPE,
      g_param_spec_enum("shape", "Shape",
                        "Redacted area: box, ellipse in the box, or face oval fitted to the landmarks (roll and "
                        "centre; the ellipse when a region has none). An instance mask, when a region carries one, "
                        "overrides the shape",
                        GST_TYPE_FACEMASKBLUR_SHAPE, static_cast<gint>(RedactShape::kOval), rw));
  g_object_class_install_property(
      gobject_class, PROP_STRENGTH,
      g_param_spec_double("strength", "Strength",
                          "Redaction strength relative to the face size S = max(box w, h) in pixels: blur sigma = "
                          "0.15 x strength x S px (decimated box cascade, effective 0.83-1.22x, see docs/redaction.md); pixelate cell = 2 x round(strength x "
                          "S / 12) px. 1.0 makes a face unrecognisable",
                          0.0, 10.0, 1.0, rw));
  g_object_class_install_property(
      gobject_class, PROP_MARGIN,
      g_param_spec_double("margin", "Margin",
                          "Scale factor applied to each region's shape about its centre (1.0 = the detector box; "
                          "1.3 = 30% larger on each axis, as deface's --mask-scale). Privacy zones are not scaled",
                          0.0, 5.0, 1.3, rw));
  g_object_class_install_property(
      gobject_class, PROP_FEATHER,
      g_param_spec_double("feather", "Feather",
                          "Width of the soft edge as a fraction of the face size (0 = hard edge; 0.1 on a 200 px "
                          "face = a 20 px ramp centred on the shape's boundary). Privacy zones have hard edges",
                          0.0, 1.0, 0.1, rw));
  g_object_class_install_property(
      gobject_class, PROP_FILL_COLOR,
      g_param_spec_uint("fill-color", "Fill colour",
                        "Colour of mode=fill as 0xRRGGBB (YUV formats: BT.601 limited range conversion; GRAY8: luma)",
                        0, 0xffffff, 0x000000, rw));
  g_object_class_install_property(
      gobject_class, PROP_ROI_TYPES,
      g_param_spec_string("roi-types", "ROI types",
                          "Comma-separated ROI / object types to redact (e.g. \"face\" as set by facedetect); empty = "
                          "every GstVideoRegionOfInterestMeta (and GstAnalytics OD entry)",
                          "", rw));
  g_object_class_install_property(
      gobject_class, PROP_MIN_CONFIDENCE,
      g_param_spec_double("min-confidence", "Minimum confidence",
                          "Ignore regions whose confidence (ROI parameter field 'confidence', analytics OD confidence) "
                          "is below this value; regions without a confidence are always redacted",
                          0.0, 1.0, 0.0, rw));
  g_object_class_install_property(
      gobject_class, PROP_PRIVACY_ZONES,
      g_param_spec_string("privacy-zones", "Privacy zones",
                          "Static rectangles always redacted, in frame pixels: \"x,y,w,h;x,y,w,h\" (w, h > 0; parts "
                          "outside the frame are ignored). Redacted with the current mode/strength, box shape, no "
                          "margin or feather. An invalid string is an error when the stream runs",
                          "", rw));
  g_object_class_install_property(
      gobject_class, PROP_HOLD_FRAMES,
      g_param_spec_int("hold-frames", "Hold frames",
                       "Keep redacting a region for this many frames after it disappears (a one-frame detector miss "
                       "does not leak a face); 0 = off",
                       0, 1000, kDefaultHoldFrames, rw));
  g_object_class_install_property(
      gobject_class, PROP_DRAW_OUTLINE,
      g_param_spec_boolean("draw-outline", "Draw outline",
                           "Draw each region's shape boundary (1 px, green) after redaction, for tuning margin/shape",
                           FALSE, rw));
  g_object_class_install_property(
      gobject_class, PROP_REGIONS_REDACTED,
      g_param_spec_uint64("regions-redacted", "Regions redacted",
                          "Number of regions (faces, held regions and zones) drawn since the element was created",
                          0, G_MAXUINT64, 0, ro));
  g_object_class_install_property(
      gobject_class, PROP_FRAMES_REDACTED,
      g_param_spec_uint64("frames-redacted", "Frames redacted", "Number of frames that were mapped and modified", 0,
                          G_MAXUINT64, 0, ro));
  g_object_class_install_property(
      gobject_class, PROP_FRAMES_SKIPPED,
      g_param_spec_uint64("frames-skipped", "Frames skipped",
                          "Number of frames with nothing to redact (passed on without mapping or copying)", 0,
                          G_MAXUINT64, 0, ro));
  g_object_class_install_property(
      gobject_class, PROP_BUILD_INFO,
      g_param_spec_string("build-info", "Build info",
                          "How this plugin was built: version, CUDA kernels yes/no, DeepStream ABI of the NVMM backend "
                          "or 'not built', GstAnalytics support",
                          FACEMASK_BUILD_INFO, ro));

  const GParamFlags rw_ready = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                        GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_TENSOR_META_FAMILY,
      g_param_spec_string("tensor-meta-family", "Tensor-meta model family",
                          "DeepStream NVMM backend only (ignored for system memory): decode nvinfer's "
                          "output-tensor-meta with this face-model family (CenterFace, RetinaFace, Scrfd, YuNet, "
                          "YoloV5Face, YoloV8Face, BlazeFace), create the face object metas and FACEMASK.LANDMARKS "
                          "itself; empty = off (objects come from nvinfer's parse function)",
                          "", rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_TENSOR_META_GIE_ID,
      g_param_spec_int("tensor-meta-gie-id", "Tensor-meta GIE id",
                       "DeepStream NVMM backend, tensor-meta mode: unique id of the nvinfer whose tensor meta is "
                       "decoded (-1 = the first found per frame)",
                       -1, G_MAXINT, -1, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_TENSOR_META_THRESHOLD,
      g_param_spec_float("tensor-meta-threshold", "Tensor-meta score threshold",
                         "DeepStream NVMM backend, tensor-meta mode: faces scoring below this are dropped before "
                         "NMS",
                         0.f, 1.f, 0.5f, rw_ready));

  gst_element_class_set_static_metadata(
      element_class, "Face redaction", "Filter/Effect/Video",
      "Blurs, pixelates or fills faces and privacy zones in place, from GstVideoRegionOfInterestMeta (with optional "
      "facemask/landmarks), GstAnalytics object detections and static zones",
      "facemask-ds");

  std::string caps = GST_VIDEO_CAPS_MAKE(FACEMASK_FORMATS);
#if FACEMASK_HAVE_NVMM
  caps += "; ";
  caps += facemask_gst::nvmm::sink_caps();
#endif
  GstCaps* c = gst_caps_from_string(caps.c_str());
  gst_element_class_add_pad_template(element_class, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, c));
  gst_element_class_add_pad_template(element_class, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, c));
  gst_caps_unref(c);

  vf_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_facemaskblur_transform_frame_ip);
  vf_class->set_info = GST_DEBUG_FUNCPTR(gst_facemaskblur_set_info);
  bt_class->start = GST_DEBUG_FUNCPTR(gst_facemaskblur_start);
  bt_class->stop = GST_DEBUG_FUNCPTR(gst_facemaskblur_stop);
  parent_sink_event = bt_class->sink_event;
  bt_class->sink_event = GST_DEBUG_FUNCPTR(gst_facemaskblur_sink_event);
  // Override transform_ip after GstVideoFilter installed its own: skip frames with nothing to redact before any
  // map (the NVMM backend would be dispatched here too), then chain up.
  parent_transform_ip = bt_class->transform_ip;
  bt_class->transform_ip = GST_DEBUG_FUNCPTR(gst_facemaskblur_transform_ip);
  bt_class->passthrough_on_same_caps = FALSE;
  bt_class->transform_ip_on_passthrough = FALSE;
}

gboolean facemask_gst_register_facemaskblur(GstPlugin* plugin) {
  return gst_element_register(plugin, "facemaskblur", GST_RANK_NONE, GST_TYPE_FACEMASKBLUR);
}
