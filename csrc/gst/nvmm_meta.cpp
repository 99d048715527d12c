// DeepStream metadata side of the NVMM backend (see nvmm_meta.hpp). Decoding, NMS and nvinfer's geometry come from
// csrc/core; this file only adapts DeepStream's structures to them.
#include "nvmm_meta.hpp"

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstring>

#include "core/nms.hpp"
#include "core/nvinfer_geometry.hpp"

namespace facemask {
namespace nvmm {
namespace {

gpointer landmarks_copy(gpointer data, gpointer /*user_data*/) {
  auto* src = static_cast<NvDsUserMeta*>(data);
  if (!src || !src->user_meta_data) return nullptr;
  void* dst = g_malloc(sizeof(FacemaskLandmarksMeta));
  std::memcpy(dst, src->user_meta_data, sizeof(FacemaskLandmarksMeta));
  return dst;
}

void landmarks_release(gpointer data, gpointer /*user_data*/) {
  auto* um = static_cast<NvDsUserMeta*>(data);
  if (!um) return;
  g_free(um->user_meta_data);
  um->user_meta_data = nullptr;
}

size_t element_size(NvDsInferDataType t) {
  switch (t) {
    case FLOAT: return 4;
    case HALF: return 2;
    case INT8: return 1;
    case INT32: return 4;
    case INT64: return 8;
    case UINT8: return 1;
  }
  return 0;
}

}  // namespace

NvDsMetaType landmark_meta_type() {
  static const NvDsMetaType t = nvds_get_user_meta_type(const_cast<gchar*>(FACEMASK_LANDMARKS_META_TYPE));
  return t;
}

bool attach_landmarks(NvDsBatchMeta* batch, NvDsObjectMeta* obj, const Detection& det, unsigned gie_unique_id) {
  if (!batch || !obj || det.num_landmarks <= 0) return false;
  NvDsUserMeta* um = nvds_acquire_user_meta_from_pool(batch);
  if (!um) return false;
  auto* payload = static_cast<FacemaskLandmarksMeta*>(g_malloc0(sizeof(FacemaskLandmarksMeta)));
  payload->version = FACEMASK_LANDMARKS_META_VERSION;
  const int n = det.num_landmarks < FACEMASK_LANDMARKS_MAX_POINTS ? det.num_landmarks : FACEMASK_LANDMARKS_MAX_POINTS;
  payload->num_points = static_cast<uint32_t>(n);
  for (int i = 0; i < n; ++i) {
    payload->x[i] = det.lx[i];
    payload->y[i] = det.ly[i];
  }
  payload->score = det.score;
  payload->gie_unique_id = gie_unique_id;
  um->user_meta_data = payload;
  um->base_meta.meta_type = landmark_meta_type();
  um->base_meta.copy_func = landmarks_copy;
  um->base_meta.release_func = landmarks_release;
  nvds_add_user_meta_to_obj(obj, um);
  return true;
}

bool read_landmarks(const NvDsObjectMeta* obj, Detection* det) {
  if (!obj || !det) return false;
  const NvDsMetaType want = landmark_meta_type();
  for (NvDsUserMetaList* l = obj->obj_user_meta_list; l; l = l->next) {
    auto* um = static_cast<NvDsUserMeta*>(l->data);
    if (!um || um->base_meta.meta_type != want || !um->user_meta_data) continue;
    const auto* p = static_cast<const FacemaskLandmarksMeta*>(um->user_meta_data);
    if (p->version != FACEMASK_LANDMARKS_META_VERSION || p->num_points == 0 ||
        p->num_points > FACEMASK_LANDMARKS_MAX_POINTS || p->num_points > static_cast<uint32_t>(kMaxLandmarks))
      return false;
    for (uint32_t i = 0; i < p->num_points; ++i)
      if (!std::isfinite(p->x[i]) || !std::isfinite(p->y[i])) return false;
    det->num_landmarks = static_cast<int>(p->num_points);
    for (uint32_t i = 0; i < p->num_points; ++i) {
      det->lx[i] = p->x[i];
      det->ly[i] = p->y[i];
    }
    return true;
  }
  return false;
}

bool objects_from_tensor_meta(NvDsBatchMeta* batch, NvDsFrameMeta* frame, unsigned surface_width,
                              unsigned surface_height, const TensorModeConfig& cfg, TensorModeFrameResult* out,
                              std::string* error) {
  if (!batch || !frame || !out || !error) return false;
  const NvDsInferTensorMeta* tm = nullptr;
  for (NvDsUserMetaList* l = frame->frame_user_meta_list; l; l = l->next) {
    auto* um = static_cast<NvDsUserMeta*>(l->data);
    if (!um || um->base_meta.meta_type != NVDSINFER_TENSOR_OUTPUT_META || !um->user_meta_data) continue;
    auto* cand = static_cast<const NvDsInferTensorMeta*>(um->user_meta_data);
    out->tensor_metas_seen++;
    if (cfg.gie_unique_id >= 0 && cand->unique_id != static_cast<guint>(cfg.gie_unique_id)) continue;
    tm = cand;
    break;
  }
  if (!tm) return true;  // nothing to decode on this frame (e.g. skipped by nvinfer's interval)
  if (!tm->output_layers_info || tm->num_output_layers == 0 || tm->num_output_layers > 64) {
    *error = "tensor meta of gie " + std::to_string(tm->unique_id) + " has no output layers";
    return false;
  }

  // Host views of this frame's outputs. nvinfer already offsets the pointers to the frame's slice.
  std::vector<std::vector<uint8_t>> host_copies;
  std::vector<TensorView> views;
  views.reserve(tm->num_output_layers);
  for (guint i = 0; i < tm->num_output_layers; ++i) {
    const NvDsInferLayerInfo& li = tm->output_layers_info[i];
    TensorView v;
    v.name = li.layerName ? li.layerName : "";
    v.dtype = static_cast<DataType>(static_cast<int>(li.dataType));
    const size_t esize = element_size(li.dataType);
    if (esize == 0 || li.inferDims.numDims > NVDSINFER_MAX_DIMS) {
      *error = "output layer '" + v.name + "': unsupported data type or dims";
      return false;
    }
    for (unsigned d = 0; d < li.inferDims.numDims; ++d) v.dims.push_back(li.inferDims.d[d]);
    const void* host = tm->out_buf_ptrs_host ? tm->out_buf_ptrs_host[i] : nullptr;
    if (!host) {
      // disable-output-host-copy=1: only the device buffer is valid.
      const void* dev = tm->out_buf_ptrs_dev ? tm->out_buf_ptrs_dev[i] : nullptr;
      if (!dev) {
        *error = "output layer '" + v.name + "' has neither a host nor a device buffer";
        return false;
      }
      host_copies.emplace_back(static_cast<size_t>(v.num_elements()) * esize);
      const cudaError_t e =
          cudaMemcpy(host_copies.back().data(), dev, host_copies.back().size(), cudaMemcpyDeviceToHost);
      if (e != cudaSuccess) {
        *error = std::string("copying output layer '") + v.name + "' to the host: " + cudaGetErrorString(e);
        return false;
      }
      host = host_copies.back().data();
    }
    v.data = host;
    views.push_back(std::move(v));
  }

  DecodeRequest req;
  req.net_width = static_cast<int>(tm->network_info.width);
  req.net_height = static_cast<int>(tm->network_info.height);
  req.score_threshold = cfg.score_threshold;
  req.options = &cfg.options;
  DecodeResult dec = decode(cfg.family, views, req);
  if (!dec.error.empty()) {
    *error = std::string(family_name(cfg.family)) + " decoder: " + dec.error;
    return false;
  }
  const std::vector<int> keep = nms_indices(dec.detections, cfg.options.nms_iou, cfg.options.top_k);

  // nvinfer's tensor meta carries no ratios or offsets: recompute them for the full-frame source.
  NvinferScaling sc;
  std::string geo_err;
  if (!nvinfer_compute_scaling(0.f, 0.f, static_cast<float>(surface_width), static_cast<float>(surface_height),
                               tm->network_info.width, tm->network_info.height, tm->maintain_aspect_ratio != 0,
                               tm->symmetric_padding != 0, &sc, &geo_err)) {
    *error = "nvinfer scaling: " + geo_err;
    return false;
  }
  const float sw = static_cast<float>(surface_width), sh = static_cast<float>(surface_height);
  const guint component =
      cfg.object_component_id >= 0 ? static_cast<guint>(cfg.object_component_id) : tm->unique_id;

  for (int idx : keep) {
    const Detection& nd = dec.detections[static_cast<size_t>(idx)];
    NvinferBox nb;
    nb.left = nd.x1;
    nb.top = nd.y1;
    nb.width = nd.x2 - nd.x1;
    nb.height = nd.y2 - nd.y1;
    nb.confidence = nd.score;
    nb.class_id = cfg.object_class_id;
    const NvinferBox fb = nvinfer_back_map_box(nb, sc);
    Detection fd = nd;
    // Clip to the surface (nvinfer leaves right/bottom unclipped; the metas we create are clean).
    fd.x1 = std::fmin(std::fmax(fb.left, 0.f), sw);
    fd.y1 = std::fmin(std::fmax(fb.top, 0.f), sh);
    fd.x2 = std::fmin(std::fmax(fb.left + fb.width, 0.f), sw);
    fd.y2 = std::fmin(std::fmax(fb.top + fb.height, 0.f), sh);
    fd.class_id = cfg.object_class_id;
    for (int k = 0; k < nd.num_landmarks && k < kMaxLandmarks; ++k)
      nvinfer_back_map_point(sc, nd.lx[k], nd.ly[k], 0.f, 0.f, &fd.lx[k], &fd.ly[k]);
    if (!(fd.x2 - fd.x1 >= 1.f) || !(fd.y2 - fd.y1 >= 1.f)) continue;

    nvds_acquire_meta_lock(batch);
    NvDsObjectMeta* obj = nvds_acquire_obj_meta_from_pool(batch);
    if (!obj) {
      nvds_release_meta_lock(batch);
      *error = "DeepStream object meta pool exhausted";
      return false;
    }
    obj->unique_component_id = static_cast<gint>(component);
    obj->confidence = fd.score;
    obj->object_id = UNTRACKED_OBJECT_ID;
    obj->class_id = cfg.object_class_id;
    NvOSD_RectParams& r = obj->rect_params;
    r.left = fd.x1;
    r.top = fd.y1;
    r.width = fd.x2 - fd.x1;
    r.height = fd.y2 - fd.y1;
    r.border_width = 0;
    r.has_bg_color = 0;
    obj->detector_bbox_info.org_bbox_coords.left = r.left;
    obj->detector_bbox_info.org_bbox_coords.top = r.top;
    obj->detector_bbox_info.org_bbox_coords.width = r.width;
    obj->detector_bbox_info.org_bbox_coords.height = r.height;
    g_strlcpy(obj->obj_label, "face", MAX_LABEL_SIZE);
    nvds_add_obj_meta_to_frame(frame, obj, nullptr);
    if (cfg.attach_landmarks && fd.num_landmarks > 0) attach_landmarks(batch, obj, fd, tm->unique_id);
    nvds_release_meta_lock(batch);
    out->objects_added++;
    out->faces.push_back(fd);
  }
  return true;
}

}  // namespace nvmm
}  // namespace facemask
