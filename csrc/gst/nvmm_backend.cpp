// DeepStream NVMM backend of facemaskblur (seam: backend.hpp). Compiled only against a DeepStream SDK.
//
// Per buffer (transform_ip):
//   1. map the NvBufSurface; find NvDsBatchMeta;
//   2. tee / nvdsmetamux hazard (deepstream-contract.md section 6): if any GstMemory of the buffer is shared or
//      flagged READONLY, copy the batch into a surface from our own pool, redact that, and swap it into the (by then
//      writable, metas already copied by GstBaseTransform) GstBuffer; the pool buffer stays alive as parent meta.
//      Pixels another branch can see are never written;
//   3. tensor-meta mode (optional): decode NvDsInferTensorMeta with the core decoders, create object metas and
//      FACEMASK.LANDMARKS user meta;
//   4. collect regions from NvDsObjectMeta (rect clamped to the surface, mask_params, landmark user meta), per-source
//      hold, privacy zones; one batched CUDA launch for faces (plus one for zones) on a private stream;
//   5. stream-synchronise before returning (downstream elements do not wait on our stream).
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <cudaEGL.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gstnvdsbufferpool.h>
#include <gstnvdsmeta.h>
#include <nvbufsurface.h>
#include <nvds_version.h>
#include <nvdsmeta.h>

#include "backend.hpp"
#include "core/redact.hpp"
#include "cuda/redact_cuda.hpp"
#include "nvmm_meta.hpp"

// Build per DeepStream release: the object-meta layout changed in 9.x (rotation_angle in NvOSD_RectParams).
#if NVDS_VERSION_MAJOR > 9 || (NVDS_VERSION_MAJOR == 9 && NVDS_VERSION_MINOR >= 1)
static_assert(sizeof(NvOSD_RectParams) == 112, "DeepStream >= 9.1 NvOSD_RectParams layout");
static_assert(offsetof(NvDsObjectMeta, mask_params) == 216, "DeepStream >= 9.1 NvDsObjectMeta layout");
#else
static_assert(sizeof(NvOSD_RectParams) == 104, "DeepStream <= 9.0 NvOSD_RectParams layout");
#endif

namespace facemask_gst {
namespace nvmm {
namespace {

GST_DEBUG_CATEGORY_STATIC(nvmm_debug);
#define GST_CAT_DEFAULT nvmm_debug

#define FM_STR2(x) #x
#define FM_STR(x) FM_STR2(x)

bool format_of(NvBufSurfaceColorFormat cf, facemask::PixelFormat* out) {
  switch (cf) {
    case NVBUF_COLOR_FORMAT_RGBA: *out = facemask::PixelFormat::kRGBA; return true;
    case NVBUF_COLOR_FORMAT_BGRA: *out = facemask::PixelFormat::kBGRA; return true;
    case NVBUF_COLOR_FORMAT_RGBx: *out = facemask::PixelFormat::kRGBx; return true;
    case NVBUF_COLOR_FORMAT_BGRx: *out = facemask::PixelFormat::kBGRx; return true;
    case NVBUF_COLOR_FORMAT_NV12:
    case NVBUF_COLOR_FORMAT_NV12_ER:
    case NVBUF_COLOR_FORMAT_NV12_709:
    case NVBUF_COLOR_FORMAT_NV12_709_ER:
    case NVBUF_COLOR_FORMAT_NV12_2020: *out = facemask::PixelFormat::kNV12; return true;
    case NVBUF_COLOR_FORMAT_NV21:
    case NVBUF_COLOR_FORMAT_NV21_ER: *out = facemask::PixelFormat::kNV21; return true;
    default: return false;
  }
}

const char* memtype_name(NvBufSurfaceMemType t) {
  switch (t) {
    case NVBUF_MEM_DEFAULT: return "DEFAULT";
    case NVBUF_MEM_CUDA_PINNED: return "CUDA_PINNED";
    case NVBUF_MEM_CUDA_DEVICE: return "CUDA_DEVICE";
    case NVBUF_MEM_CUDA_UNIFIED: return "CUDA_UNIFIED";
    case NVBUF_MEM_SURFACE_ARRAY: return "SURFACE_ARRAY";
    case NVBUF_MEM_HANDLE: return "HANDLE";
    case NVBUF_MEM_SYSTEM: return "SYSTEM";
    case NVBUF_MEM_CUDA_ARRAY: return "CUDA_ARRAY";
  }
  return "?";
}

// Tensor-meta mode settings: the element's properties when it has them (tensor-meta-family, tensor-meta-gie-id,
// tensor-meta-threshold), else FACEMASK_TENSOR_META=<Family>[:<gie-id>[:<threshold>]] in the environment.
bool read_tensor_mode(GstBaseTransform* element, facemask::nvmm::TensorModeConfig* cfg, std::string* why) {
  std::string family;
  int gie = -1;
  double thr = -1.0;
  GObjectClass* klass = G_OBJECT_GET_CLASS(element);
  if (g_object_class_find_property(klass, "tensor-meta-family")) {
    gchar* f = nullptr;
    g_object_get(element, "tensor-meta-family", &f, nullptr);
    if (f) family = f;
    g_free(f);
    if (g_object_class_find_property(klass, "tensor-meta-gie-id")) g_object_get(element, "tensor-meta-gie-id", &gie, nullptr);
    if (g_object_class_find_property(klass, "tensor-meta-threshold")) {
      gfloat t = -1.f;
      g_object_get(element, "tensor-meta-threshold", &t, nullptr);
      thr = t;
    }
  } else if (const char* env = std::getenv("FACEMASK_TENSOR_META")) {
    gchar** parts = g_strsplit(env, ":", 3);
    if (parts[0]) family = parts[0];
    if (parts[0] && parts[1]) gie = std::atoi(parts[1]);
    if (parts[0] && parts[1] && parts[2]) thr = g_ascii_strtod(parts[2], nullptr);
    g_strfreev(parts);
  }
  if (family.empty()) return false;
  if (!facemask::family_from_name(family, &cfg->family)) {
    *why = "unknown tensor-meta family '" + family + "' (CenterFace, RetinaFace, Scrfd, YuNet, YoloV5Face, "
           "YoloV8Face, BlazeFace)";
    return false;
  }
  cfg->gie_unique_id = gie;
  if (thr >= 0.0 && thr <= 1.0) cfg->score_threshold = static_cast<float>(thr);
  return true;
}

}  // namespace

struct Backend {
  GstBaseTransform* element = nullptr;
  std::mutex lock;  // transform_ip (streaming thread) vs reset/destroy
  GstCaps* caps = nullptr;
  // Private output pool for the tee / metamux case.
  GstBufferPool* pool = nullptr;
  guint pool_batch = 0, pool_gpu = 0;
  NvBufSurfaceMemType pool_mem = NVBUF_MEM_DEFAULT;
  // CUDA
  bool cuda_ready = false;
  int device = -1;
  bool integrated = false;
  cudaStream_t stream = nullptr;
  std::unique_ptr<facemask::cuda::Redactor> faces, zones;
  // Per-source temporal hold.
  std::map<guint, facemask::HoldTracker> hold;
  // Tensor-meta mode.
  bool tensor_checked = false, tensor_on = false;
  facemask::nvmm::TensorModeConfig tensor;
  // Runtime DeepStream version check.
  std::string version_error;
  guint64 private_copies = 0, in_place = 0;
  bool outline_warned = false;
};

const char* sink_caps() {
  return "video/x-raw(memory:NVMM), format=(string){ RGBA, BGRA, RGBx, BGRx, NV12 }, "
         "width=(int)[ 1, 2147483647 ], height=(int)[ 1, 2147483647 ], framerate=(fraction)[ 0/1, 2147483647/1 ]";
}

const char* describe() {
  return "NVMM backend compiled against DeepStream " FM_STR(NVDS_VERSION_MAJOR) "." FM_STR(
      NVDS_VERSION_MINOR) "." FM_STR(NVDS_VERSION_MICRO) " SDK headers (object-meta ABI of that release)";
}

Backend* create(GstBaseTransform* element) {
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(nvmm_debug, "facemasknvmm", 0, "facemaskblur DeepStream NVMM backend");
    g_once_init_leave(&once, 1);
  }
  auto* b = new Backend;
  b->element = element;
  unsigned major = 0, minor = 0;
  nvds_version(&major, &minor);
  if (major != NVDS_VERSION_MAJOR || minor != NVDS_VERSION_MINOR) {
    b->version_error = "this facemaskblur was built for DeepStream " FM_STR(NVDS_VERSION_MAJOR) "." FM_STR(
                           NVDS_VERSION_MINOR) " but the running libnvds_meta is " +
                       std::to_string(major) + "." + std::to_string(minor) +
                       "; object metas differ between releases: rebuild with DEEPSTREAM_DIR of the running SDK";
  }
  return b;
}

static void drop_pool(Backend* b) {
  if (b->pool) {
    gst_buffer_pool_set_active(b->pool, FALSE);
    gst_object_unref(b->pool);
    b->pool = nullptr;
  }
}

void destroy(Backend* b) {
  if (!b) return;
  {
    std::lock_guard<std::mutex> g(b->lock);
    drop_pool(b);
    if (b->caps) gst_caps_unref(b->caps);
    b->faces.reset();
    b->zones.reset();
    if (b->stream) cudaStreamDestroy(b->stream);
  }
  delete b;
}

bool set_caps(Backend* b, GstCaps* incaps, GstCaps* outcaps) {
  if (!b || !incaps || gst_caps_is_empty(incaps)) return false;
  GstCapsFeatures* feat = gst_caps_get_features(incaps, 0);
  const bool nvmm = feat && gst_caps_features_contains(feat, "memory:NVMM");
  std::lock_guard<std::mutex> g(b->lock);
  if (b->caps) gst_caps_unref(b->caps);
  b->caps = gst_caps_ref(outcaps ? outcaps : incaps);
  drop_pool(b);  // new caps: the private pool is re-created on demand
  b->tensor_checked = false;
  return nvmm;
}

void reset(Backend* b) {
  if (!b) return;
  std::lock_guard<std::mutex> g(b->lock);
  b->hold.clear();
}

namespace {

bool ensure_cuda(Backend* b, guint gpu_id, std::string* err) {
  if (b->cuda_ready && b->device == static_cast<int>(gpu_id)) return true;
  cudaError_t e = cudaSetDevice(static_cast<int>(gpu_id));
  if (e == cudaSuccess) {
    int integ = 0;
    cudaDeviceGetAttribute(&integ, cudaDevAttrIntegrated, static_cast<int>(gpu_id));
    b->integrated = integ != 0;
    if (b->stream) cudaStreamDestroy(b->stream);
    b->stream = nullptr;
    e = cudaStreamCreateWithFlags(&b->stream, cudaStreamNonBlocking);
  }
  if (e != cudaSuccess) {
    *err = std::string("CUDA device ") + std::to_string(gpu_id) + ": " + cudaGetErrorString(e);
    return false;
  }
  b->faces.reset(new facemask::cuda::Redactor);
  b->zones.reset(new facemask::cuda::Redactor);
  b->device = static_cast<int>(gpu_id);
  b->cuda_ready = true;
  return true;
}

bool cuda_addressable(const Backend* b, NvBufSurfaceMemType t) {
  switch (t) {
    case NVBUF_MEM_CUDA_DEVICE:
    case NVBUF_MEM_CUDA_UNIFIED:
    case NVBUF_MEM_CUDA_PINNED: return true;
    case NVBUF_MEM_DEFAULT: return !b->integrated;  // DEFAULT = CUDA_DEVICE on dGPU, SURFACE_ARRAY on Jetson
    default: return false;
  }
}

bool egl_memory(const Backend* b, NvBufSurfaceMemType t) {
  return t == NVBUF_MEM_SURFACE_ARRAY || t == NVBUF_MEM_HANDLE || (t == NVBUF_MEM_DEFAULT && b->integrated);
}

// Jetson: device pointers of SURFACE_ARRAY memory through EGLImage + CUDA graphics interop.
struct EglMapping {
  NvBufSurface* surf = nullptr;
  std::vector<CUgraphicsResource> res;
  ~EglMapping() {
    for (CUgraphicsResource r : res)
      if (r) cuGraphicsUnregisterResource(r);
    if (surf) NvBufSurfaceUnMapEglImage(surf, -1);
  }
};

bool egl_map(NvBufSurface* s, EglMapping* m, std::vector<std::vector<uint8_t*>>* planes,
             std::vector<std::vector<int>>* pitches, std::string* err) {
  if (NvBufSurfaceMapEglImage(s, -1) != 0) {
    *err = "NvBufSurfaceMapEglImage failed: SURFACE_ARRAY memory needs the Jetson EGL stack; alternatively make "
           "the upstream nvvideoconvert/nvstreammux output CUDA memory (nvbuf-memory-type=cuda-device/unified "
           "where the platform supports it)";
    return false;
  }
  m->surf = s;
  m->res.assign(s->numFilled, nullptr);
  for (guint i = 0; i < s->numFilled; ++i) {
    CUresult r = cuGraphicsEGLRegisterImage(&m->res[i], s->surfaceList[i].mappedAddr.eglImage,
                                            CU_GRAPHICS_MAP_RESOURCE_FLAGS_NONE);
    CUeglFrame fr;
    if (r == CUDA_SUCCESS) r = cuGraphicsResourceGetMappedEglFrame(&fr, m->res[i], 0, 0);
    if (r != CUDA_SUCCESS) {
      *err = "cuGraphicsEGLRegisterImage/GetMappedEglFrame failed (CUresult " + std::to_string(r) + ")";
      return false;
    }
    if (fr.frameType != CU_EGL_FRAME_TYPE_PITCH) {
      *err = "block-linear Jetson surface: insert nvvideoconvert with a pitch-linear output before facemaskblur";
      return false;
    }
    (*planes)[i].assign(3, nullptr);
    (*pitches)[i].assign(3, 0);
    for (unsigned p = 0; p < fr.planeCount && p < 3; ++p) {
      (*planes)[i][p] = static_cast<uint8_t*>(fr.frame.pPitch[p]);
      (*pitches)[i][p] = static_cast<int>(s->surfaceList[i].planeParams.pitch[p]);
    }
  }
  return true;
}

bool ensure_pool(Backend* b, const NvBufSurface* in, std::string* err) {
  if (b->pool && b->pool_batch == in->batchSize && b->pool_mem == in->memType && b->pool_gpu == in->gpuId)
    return true;
  drop_pool(b);
  if (!b->caps) {
    *err = "no negotiated caps for the private output pool";
    return false;
  }
  GstBufferPool* pool = gst_nvds_buffer_pool_new();
  GstStructure* cfg = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_set_params(cfg, b->caps, sizeof(NvBufSurface), 2, 0);
  gst_structure_set(cfg, "memtype", G_TYPE_UINT, static_cast<guint>(in->memType), "gpu-id", G_TYPE_UINT, in->gpuId,
                    "batch-size", G_TYPE_UINT, in->batchSize, nullptr);
  if (!gst_buffer_pool_set_config(pool, cfg) || !gst_buffer_pool_set_active(pool, TRUE)) {
    gst_object_unref(pool);
    *err = "could not configure/activate the private NVMM buffer pool";
    return false;
  }
  b->pool = pool;
  b->pool_batch = in->batchSize;
  b->pool_mem = in->memType;
  b->pool_gpu = in->gpuId;
  return true;
}

bool copy_batch(Backend* b, NvBufSurface* in, NvBufSurface* out, std::string* err) {
  if (out->batchSize < in->numFilled) {
    *err = "private surface batch is smaller than the input's";
    return false;
  }
  out->numFilled = in->numFilled;
  if (!cuda_addressable(b, in->memType) || !cuda_addressable(b, out->memType)) {
    if (NvBufSurfaceCopy(in, out) != 0) {
      *err = "NvBufSurfaceCopy into the private surface failed";
      return false;
    }
    return true;
  }
  for (guint i = 0; i < in->numFilled; ++i) {
    const NvBufSurfaceParams& s = in->surfaceList[i];
    const NvBufSurfaceParams& d = out->surfaceList[i];
    if (s.width != d.width || s.height != d.height || s.colorFormat != d.colorFormat ||
        s.planeParams.num_planes != d.planeParams.num_planes) {
      *err = "private surface does not match the input (size/format changed without caps)";
      return false;
    }
    for (guint p = 0; p < s.planeParams.num_planes; ++p) {
      const size_t row = static_cast<size_t>(s.planeParams.width[p]) * s.planeParams.bytesPerPix[p];
      const cudaError_t e = cudaMemcpy2DAsync(static_cast<uint8_t*>(d.dataPtr) + d.planeParams.offset[p],
                                              d.planeParams.pitch[p],
                                              static_cast<const uint8_t*>(s.dataPtr) + s.planeParams.offset[p],
                                              s.planeParams.pitch[p], row, s.planeParams.height[p],
                                              cudaMemcpyDefault, b->stream);
      if (e != cudaSuccess) {
        *err = std::string("copying into the private surface: ") + cudaGetErrorString(e);
        return false;
      }
    }
  }
  return true;
}

bool memory_shared(GstBuffer* buf) {
  const guint n = gst_buffer_n_memory(buf);
  for (guint i = 0; i < n; ++i) {
    GstMemory* mem = gst_buffer_peek_memory(buf, i);
    if (!gst_memory_is_writable(mem) || GST_MEMORY_IS_READONLY(mem)) return true;
  }
  return !gst_buffer_is_writable(buf);
}

bool label_selected(const Settings& s, const NvDsObjectMeta* obj) {
  if (s.roi_types.empty()) return true;
  const GQuark q = g_quark_try_string(obj->obj_label);
  for (GQuark t : s.roi_types)
    if (t == q) return true;
  return false;
}

}  // namespace

GstFlowReturn transform_ip(Backend* b, GstBuffer* buf, const Settings& settings) {
  GstElement* el = GST_ELEMENT(b->element);
  std::lock_guard<std::mutex> guard(b->lock);
  if (!b->version_error.empty()) {
    GST_ELEMENT_ERROR(el, CORE, FAILED, ("DeepStream version mismatch"), ("%s", b->version_error.c_str()));
    return GST_FLOW_ERROR;
  }
  if (!b->tensor_checked) {
    std::string why;
    b->tensor_on = read_tensor_mode(b->element, &b->tensor, &why);
    b->tensor_checked = true;
    if (!why.empty()) {
      GST_ELEMENT_ERROR(el, RESOURCE, SETTINGS, ("Invalid tensor-meta settings"), ("%s", why.c_str()));
      return GST_FLOW_ERROR;
    }
  }
  NvDsBatchMeta* batch_meta = gst_buffer_get_nvds_batch_meta(buf);
  if (!batch_meta) {
    GST_ELEMENT_ERROR(el, STREAM, FORMAT, ("No DeepStream batch meta"),
                      ("facemaskblur's NVMM path needs NvDsBatchMeta: place it after nvstreammux (and nvinfer)"));
    return GST_FLOW_ERROR;
  }

  GstMapInfo in_map;
  if (!gst_buffer_map(buf, &in_map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(el, STREAM, FAILED, ("Cannot map NVMM buffer"), (nullptr));
    return GST_FLOW_ERROR;
  }
  NvBufSurface* in = reinterpret_cast<NvBufSurface*>(in_map.data);
  std::string err;
  GstFlowReturn ret = GST_FLOW_OK;
  GstBuffer* private_buf = nullptr;
  GstMapInfo out_map;
  bool out_mapped = false;
  NvBufSurface* target = in;
  std::unique_ptr<EglMapping> egl;

  do {
    if (!in || in_map.size < sizeof(NvBufSurface) || !in->surfaceList || in->numFilled > in->batchSize) {
      err = "buffer does not hold an NvBufSurface";
      break;
    }
    if (!ensure_cuda(b, in->gpuId, &err)) break;
    for (guint i = 0; i < in->numFilled; ++i) {
      if (in->surfaceList[i].layout != NVBUF_LAYOUT_PITCH) {
        err = "block-linear surface: insert nvvideoconvert with a pitch-linear output before facemaskblur";
        break;
      }
    }
    if (!err.empty()) break;
    if (!cuda_addressable(b, in->memType) && !egl_memory(b, in->memType)) {
      err = std::string("NvBufSurface memory type ") + memtype_name(in->memType) +
            " is not CUDA-addressable: set nvbuf-memory-type to cuda-device or cuda-unified upstream";
      break;
    }

    // Tee / metamux hazard: never write pixels another branch can see.
    if (memory_shared(buf)) {
      if (!gst_buffer_is_writable(buf)) {
        err = "internal: GstBaseTransform handed a non-writable buffer to transform_ip";
        break;
      }
      if (!ensure_pool(b, in, &err)) break;
      if (gst_buffer_pool_acquire_buffer(b->pool, &private_buf, nullptr) != GST_FLOW_OK || !private_buf) {
        err = "could not acquire a private NVMM buffer";
        break;
      }
      if (!gst_buffer_map(private_buf, &out_map, GST_MAP_READWRITE)) {
        err = "cannot map the private NVMM buffer";
        break;
      }
      out_mapped = true;
      target = reinterpret_cast<NvBufSurface*>(out_map.data);
      if (!copy_batch(b, in, target, &err)) break;
      b->private_copies++;
    } else {
      b->in_place++;
    }

    // Tensor-meta mode: object metas from the raw outputs (attached to this buffer's own batch meta).
    if (b->tensor_on) {
      for (NvDsFrameMetaList* l = batch_meta->frame_meta_list; l; l = l->next) {
        auto* fm = static_cast<NvDsFrameMeta*>(l->data);
        if (!fm || fm->batch_id >= target->numFilled) continue;
        facemask::nvmm::TensorModeFrameResult tr;
        const NvBufSurfaceParams& sp = target->surfaceList[fm->batch_id];
        if (!facemask::nvmm::objects_from_tensor_meta(batch_meta, fm, sp.width, sp.height, b->tensor, &tr, &err))
          break;
      }
      if (!err.empty()) break;
    }

    // Device views of the target surfaces.
    std::vector<facemask::ImageView> frames(target->numFilled);
    std::vector<std::vector<uint8_t*>> egl_planes(target->numFilled);
    std::vector<std::vector<int>> egl_pitch(target->numFilled);
    if (egl_memory(b, target->memType)) {
      egl.reset(new EglMapping);
      if (!egl_map(target, egl.get(), &egl_planes, &egl_pitch, &err)) break;
    }
    for (guint i = 0; i < target->numFilled; ++i) {
      const NvBufSurfaceParams& sp = target->surfaceList[i];
      facemask::ImageView& v = frames[i];
      if (!format_of(sp.colorFormat, &v.format)) {
        err = "unsupported NvBufSurface colour format " + std::to_string(static_cast<int>(sp.colorFormat)) +
              " (RGBA, BGRA, RGBx, BGRx, NV12, NV21)";
        break;
      }
      v.width = static_cast<int>(sp.width);
      v.height = static_cast<int>(sp.height);
      for (guint p = 0; p < sp.planeParams.num_planes && p < 3; ++p) {
        if (egl) {
          v.data[p] = egl_planes[i][p];
          v.stride[p] = egl_pitch[i][p];
        } else {
          v.data[p] = static_cast<uint8_t*>(sp.dataPtr) + sp.planeParams.offset[p];
          v.stride[p] = static_cast<int>(sp.planeParams.pitch[p]);
        }
      }
    }
    if (!err.empty()) break;

    // Regions from the object metas.
    std::vector<facemask::cuda::BatchRegion> face_regions, zone_regions;
    for (NvDsFrameMetaList* l = batch_meta->frame_meta_list; l; l = l->next) {
      auto* fm = static_cast<NvDsFrameMeta*>(l->data);
      if (!fm || fm->batch_id >= target->numFilled) continue;
      const int bid = static_cast<int>(fm->batch_id);
      const float W = static_cast<float>(frames[bid].width), H = static_cast<float>(frames[bid].height);
      std::vector<facemask::Region> current;
      std::map<const float*, float> thresholds;
      for (NvDsObjectMetaList* o = fm->obj_meta_list; o; o = o->next) {
        auto* obj = static_cast<NvDsObjectMeta*>(o->data);
        if (!obj || !label_selected(settings, obj)) continue;
        if (obj->confidence >= 0.f && obj->confidence < settings.min_confidence) continue;
        const NvOSD_RectParams& r = obj->rect_params;
        if (!std::isfinite(r.left) || !std::isfinite(r.top) || !std::isfinite(r.width) || !std::isfinite(r.height))
          continue;
        facemask::Region reg;
        // nvinfer does not clip right/bottom (deepstream-contract.md 2.5): clamp every rect to the surface.
        reg.det.x1 = std::fmin(std::fmax(r.left, 0.f), W);
        reg.det.y1 = std::fmin(std::fmax(r.top, 0.f), H);
        reg.det.x2 = std::fmin(std::fmax(r.left + r.width, 0.f), W);
        reg.det.y2 = std::fmin(std::fmax(r.top + r.height, 0.f), H);
        reg.det.score = obj->confidence;
        reg.det.class_id = obj->class_id;
        if (reg.det.x2 - reg.det.x1 < 1.f || reg.det.y2 - reg.det.y1 < 1.f) continue;  // sub-pixel: skip
        facemask::nvmm::read_landmarks(obj, &reg.det);
        const NvOSD_MaskParams& mp = obj->mask_params;
        if (mp.data && mp.width > 0 && mp.height > 0 &&
            mp.size >= static_cast<unsigned>(mp.width * mp.height * sizeof(float))) {
          // The mask covers the unclamped rect: keep the meta's rect for it, as nvdsosd does.
          reg.det.x1 = r.left;
          reg.det.y1 = r.top;
          reg.det.x2 = r.left + r.width;
          reg.det.y2 = r.top + r.height;
          reg.mask = mp.data;
          reg.mask_w = static_cast<int>(mp.width);
          reg.mask_h = static_cast<int>(mp.height);
          thresholds[mp.data] = mp.threshold;
        }
        current.push_back(reg);
      }
      facemask::HoldTracker& ht = b->hold[fm->source_id];
      ht.set_hold_frames(settings.hold_frames);
      for (const facemask::Region& reg : ht.update(current)) {
        facemask::cuda::BatchRegion br;
        br.frame = bid;
        br.region = reg;
        auto it = reg.mask ? thresholds.find(reg.mask) : thresholds.end();
        if (it != thresholds.end()) br.mask_threshold = it->second;
        face_regions.push_back(br);
      }
      for (const facemask::RectF& z : settings.zones) {
        facemask::cuda::BatchRegion br;
        br.frame = bid;
        br.region.det.x1 = z.x;
        br.region.det.y1 = z.y;
        br.region.det.x2 = z.x + z.w;
        br.region.det.y2 = z.y + z.h;
        br.region.det.score = 1.f;
        zone_regions.push_back(br);
      }
    }

    // Zones first, then faces (as the system-memory path), one batched launch each, same private stream.
    // draw-outline is a CPU tuning aid: the CUDA path redacts without it (warned once).
    facemask::RedactParams fp = settings.params, zp = zone_params(settings.params);
    if (fp.draw_outline && !b->outline_warned) {
      GST_ELEMENT_WARNING(el, RESOURCE, SETTINGS, ("draw-outline is ignored on NVMM buffers"),
                          ("outlines are drawn by the system-memory path only"));
      b->outline_warned = true;
    }
    fp.draw_outline = zp.draw_outline = false;
    if (!zone_regions.empty() &&
        !b->zones->redact(frames.data(), static_cast<int>(frames.size()), zone_regions.data(), zone_regions.size(),
                          zp, reinterpret_cast<facemask::cuda::Stream>(b->stream), &err))
      break;
    if (!face_regions.empty() &&
        !b->faces->redact(frames.data(), static_cast<int>(frames.size()), face_regions.data(), face_regions.size(),
                          fp, reinterpret_cast<facemask::cuda::Stream>(b->stream), &err))
      break;
    const cudaError_t e = cudaStreamSynchronize(b->stream);  // finish before pushing downstream
    if (e != cudaSuccess) err = std::string("CUDA redaction: ") + cudaGetErrorString(e);
    GST_LOG_OBJECT(el, "batch of %u: %zu face region(s), %zu zone region(s), %s", target->numFilled,
                   face_regions.size(), zone_regions.size(), private_buf ? "private copy" : "in place");
  } while (false);

  egl.reset();
  if (out_mapped) gst_buffer_unmap(private_buf, &out_map);
  gst_buffer_unmap(buf, &in_map);
  if (!err.empty()) {
    if (private_buf) gst_buffer_unref(private_buf);
    GST_ELEMENT_ERROR(el, STREAM, FAILED, ("NVMM redaction failed"), ("%s", err.c_str()));
    return GST_FLOW_ERROR;
  }
  if (private_buf) {
    // Swap the private surface into the outgoing buffer; the pool buffer lives on as parent meta until the
    // outgoing buffer is freed, then returns to the pool intact.
    GstMemory* mem = gst_buffer_get_all_memory(private_buf);
    gst_buffer_add_parent_buffer_meta(buf, private_buf);
    gst_buffer_replace_all_memory(buf, mem);
    gst_buffer_unref(private_buf);
  }
  return ret;
}

}  // namespace nvmm
}  // namespace facemask_gst
