// Shared body of the exported parse functions (see parser_impl.hpp). Thin: all decoding, NMS and mask shapes are
// csrc/core; this file only adapts DeepStream's structs, reads the options once and keeps the ABI promises
// (never throw, never return false, value-initialised outputs, masks allocated with new[]).
#include "parser_impl.hpp"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/decode.hpp"
#include "core/nms.hpp"
#include "core/options.hpp"
#include "core/shapes.hpp"
#include "facemask_build_config.h"

namespace facemask_nvds {

using facemask::DataType;
using facemask::Detection;
using facemask::Family;

// ---------------------------------------------------------------------------------------------------------------
// Logging: one line per distinct message per process.

namespace {
constexpr size_t kMaxDistinctMessages = 256;

void emit_line(const std::string& msg) {
  const std::string line = "facemask-parser: " + msg + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);  // one write: lines of concurrent threads do not interleave
  std::fflush(stderr);
}

// Messages that differ only in numbers (dims, sizes) count as the same message.
std::string dedup_key(const std::string& msg) {
  std::string k;
  k.reserve(msg.size());
  for (size_t i = 0; i < msg.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(msg[i]))) {
      k += '#';
      while (i + 1 < msg.size() && std::isdigit(static_cast<unsigned char>(msg[i + 1]))) ++i;
    } else {
      k += msg[i];
    }
  }
  return k;
}
}  // namespace

void log_once(const std::string& msg, bool numbers_matter) noexcept {
  try {
    static std::mutex mu;
    static std::unordered_set<std::string>* seen = new std::unordered_set<std::string>();  // never destroyed
    static bool capped = false;
    const std::string key = numbers_matter ? "=" + msg : dedup_key(msg);
    std::lock_guard<std::mutex> lock(mu);
    if (seen->count(key)) return;
    if (seen->size() >= kMaxDistinctMessages) {
      if (!capped) {
        capped = true;
        emit_line("too many distinct messages; further ones are suppressed");
      }
      return;
    }
    seen->insert(key);
    emit_line(msg);
  } catch (...) {
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Process-wide state, created at the first call of any parse function.

namespace {

struct State {
  facemask::ParserOptions opts;
  facemask::DecoderOptions decode_opts[facemask::kNumFamilies];  // opts with top_k = 0 (top-K applied after NMS)
  bool bbox_layout_ok = true;  // false: running inside a DeepStream whose NvDsInferObjectDetectionInfo differs
};

std::string library_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&log_once), &info) == 0 || info.dli_fname == nullptr) return "";
  std::string p = info.dli_fname;
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void load_options(State* s) {
  const char* env = std::getenv("FACEMASK_PARSER_CONFIG");
  std::string path;
  if (env && *env) {
    path = env;
  } else {
    const std::string dir = library_dir();
    if (!dir.empty() && is_file(dir + "/facemask_parser.ini")) path = dir + "/facemask_parser.ini";
  }
  if (path.empty()) return;  // built-in defaults, nothing to say
  s->opts = facemask::load_options_file(path);
  if (s->opts.errors.empty())
    log_once("options from " + path, true);
  else
    for (const auto& e : s->opts.errors) log_once("options file error: " + e, true);  // each line once
}

// DeepStream release of the process we are loaded into: nvds_version() when libnvds_* is loaded (certain), else the
// installation's version file (informative only: this process may not be a DeepStream pipeline).
bool runtime_deepstream_version(unsigned* major, unsigned* minor, bool* in_process, std::string* from) {
  if (void* sym = dlsym(RTLD_DEFAULT, "nvds_version")) {
    auto fn = reinterpret_cast<void (*)(unsigned*, unsigned*)>(sym);
    fn(major, minor);
    *in_process = true;
    *from = "nvds_version()";
    return true;
  }
  const char* kFile = "/opt/nvidia/deepstream/deepstream/version";
  std::ifstream f(kFile);
  std::string line;
  if (!f || !std::getline(f, line)) return false;
  // e.g. "Version: 9.1" -> first "<digits>.<digits>"
  for (size_t i = 0; i < line.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(line[i]))) continue;
    unsigned a = 0, b = 0;
    if (std::sscanf(line.c_str() + i, "%u.%u", &a, &b) == 2) {
      *major = a;
      *minor = b;
      *in_process = false;
      *from = kFile;
      return true;
    }
    break;
  }
  return false;
}

void check_runtime_version(State* s) {
  unsigned maj = 0, min = 0;
  bool in_process = false;
  std::string from;
  if (!runtime_deepstream_version(&maj, &min, &in_process, &from)) return;
  if (maj == FACEMASK_DS_MAJOR && min == FACEMASK_DS_MINOR) return;
  const bool runtime_rot = maj >= 9;
  const bool layout_differs = runtime_rot != static_cast<bool>(FACEMASK_DS_HAS_ROTATION_ANGLE);
  std::string msg = "ERROR: DEEPSTREAM VERSION MISMATCH: this libnvdsinfer_facemask.so was built for DeepStream " +
                    std::string(FACEMASK_DS_VERSION_STR) + " but DeepStream " + std::to_string(maj) + "." +
                    std::to_string(min) + " is " + (in_process ? "running" : "installed") + " (" + from +
                    "). Rebuild the kit with -DFACEMASK_DEEPSTREAM_VERSION=" + std::to_string(maj) + "." +
                    std::to_string(min) + " (pip install . -Ccmake.define.FACEMASK_DEEPSTREAM_VERSION=...).";
  if (layout_differs) {
    msg += " NvDsInferObjectDetectionInfo is " + std::to_string(sizeof(NvDsInferObjectDetectionInfo)) +
           " bytes here and " + std::to_string(runtime_rot ? 28 : 24) + " bytes there";
    if (in_process) {
      s->bbox_layout_ok = false;
      msg += ": the bbox parse functions return no objects rather than corrupt nvinfer's object list.";
    } else {
      msg += ".";
    }
  }
  log_once(msg, true);
}

const State& state() {
  static State* s = nullptr;  // never destroyed: parse calls may race with process exit
  static std::once_flag once;
  std::call_once(once, [] {
    auto* st = new State();
    load_options(st);
    for (int i = 0; i < facemask::kNumFamilies; ++i) {
      st->decode_opts[i] = st->opts.family[i];
      st->decode_opts[i].top_k = 0;
    }
    check_runtime_version(st);
    s = st;
  });
  return *s;
}

// nvinfer documents detectionConfidence as [0, 1]; a model emitting more (e.g. an unclamped heatmap) is clamped.
float confidence(float s) { return s < 0.f ? 0.f : (s > 1.f ? 1.f : s); }

const char* kind_suffix(bool mask) { return mask ? "Mask" : ""; }

std::string fn_name(Family fam, bool mask) {
  return std::string("NvDsInferParse") + facemask::family_name(fam) + kind_suffix(mask);
}

// NvDsInferLayerInfo (one frame's slice) -> TensorView. Returns "" or a problem.
std::string convert_layers(const std::vector<NvDsInferLayerInfo>& layers, std::vector<facemask::TensorView>* views) {
  views->resize(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    const NvDsInferLayerInfo& L = layers[i];
    facemask::TensorView& v = (*views)[i];
    v.name.assign(L.layerName ? L.layerName : "");
    const unsigned nd = L.inferDims.numDims;
    if (nd == 0 || nd > NVDSINFER_MAX_DIMS)
      return "layer '" + v.name + "': numDims " + std::to_string(nd) + " outside 1.." +
             std::to_string(NVDSINFER_MAX_DIMS);
    v.dims.resize(nd);
    uint64_t prod = 1;
    for (unsigned k = 0; k < nd; ++k) {
      const unsigned d = L.inferDims.d[k];
      v.dims[k] = static_cast<int64_t>(d);
      if (d == 0 || prod > (uint64_t(1) << 40) / d) {
        prod = 0;
        break;
      }
      prod *= d;
    }
    if (prod == 0 || prod != L.inferDims.numElements)
      return "layer '" + v.name + "': dims do not match numElements " + std::to_string(L.inferDims.numElements);
    int t = 0;  // read as an int: a corrupt value must not be loaded as the enum type
    static_assert(sizeof(t) == sizeof(L.dataType), "NvDsInferDataType is 4 bytes");
    std::memcpy(&t, &L.dataType, sizeof t);
    if (t < 0 || t > 5) return "layer '" + v.name + "': unknown data type " + std::to_string(t);
    v.dtype = static_cast<DataType>(t);
    v.data = L.buffer;
  }
  return "";
}

// Decode + NMS + top-K for one frame. Returns false (after logging once) when the frame yields nothing.
bool faces_for_frame(Family fam, bool mask, const std::vector<NvDsInferLayerInfo>& layers,
                     const NvDsInferNetworkInfo& net, const NvDsInferParseDetectionParams& params,
                     const State& st, std::vector<Detection>* dets, std::vector<int>* keep) {
  const int fi = static_cast<int>(fam);
  if (fi < 0 || fi >= facemask::kNumFamilies) return false;
  const facemask::DecoderOptions& opt = st.opts.family[fi];
  if (params.numClassesConfigured == 0) {
    log_once(fn_name(fam, mask) + ": num-detected-classes is 0, so nvinfer would drop every face; set "
             "num-detected-classes=1. No faces are reported.");
    return false;
  }
  thread_local std::vector<facemask::TensorView> views;
  std::string problem = convert_layers(layers, &views);
  if (!problem.empty()) {
    log_once(fn_name(fam, mask) + ": " + problem + "; no faces for such frames");
    return false;
  }
  facemask::DecodeRequest req;
  req.net_width = static_cast<int>(net.width > (1u << 30) ? (1u << 30) : net.width);
  req.net_height = static_cast<int>(net.height > (1u << 30) ? (1u << 30) : net.height);
  if (opt.score_threshold >= 0.f)
    req.score_threshold = opt.score_threshold;
  else if (!params.perClassPreclusterThreshold.empty())
    req.score_threshold = params.perClassPreclusterThreshold[0];
  else
    req.score_threshold = facemask::fallback_score_threshold(fam);
  req.options = &st.decode_opts[fi];
  facemask::DecodeResult res = facemask::decode(fam, views, req);
  if (!res.error.empty()) {
    log_once(fn_name(fam, mask) + ": " + res.error + "; no faces for such frames");
    return false;
  }
  if (res.skipped_nonfinite > 0) {
    log_once(fn_name(fam, mask) + ": NaN/Inf values in the model outputs (engine numerically broken, e.g. FP16 "
             "overflow); no faces for such frames");
    return false;
  }
  *keep = facemask::nms_indices(res.detections, opt.nms_iou, opt.top_k);
  dets->swap(res.detections);
  return true;
}

// The fields nvinfer's bbox and instance-mask structs share, from one detection. Value-initialised, so every other
// field (rotation_angle on 9.x, the mask fields) starts at zero.
template <class Info>
Info object_info(const Detection& d) {
  Info o{};
  o.classId = 0;
  o.left = d.x1;
  o.top = d.y1;
  o.width = d.x2 - d.x1;
  o.height = d.y2 - d.y1;
  o.detectionConfidence = confidence(d.score);
  return o;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------

bool parse_bbox(Family fam, const std::vector<NvDsInferLayerInfo>& layers, const NvDsInferNetworkInfo& net,
                const NvDsInferParseDetectionParams& params, std::vector<NvDsInferObjectDetectionInfo>& out) noexcept {
  try {
    const State& st = state();
    if (!st.bbox_layout_ok) return true;
    std::vector<Detection> dets;
    std::vector<int> keep;
    if (!faces_for_frame(fam, false, layers, net, params, st, &dets, &keep)) return true;
    out.reserve(out.size() + keep.size());
    for (int k : keep) {
      out.push_back(object_info<NvDsInferObjectDetectionInfo>(dets[static_cast<size_t>(k)]));
    }
  } catch (const std::exception& e) {
    log_once(fn_name(fam, false) + ": internal error: " + e.what());
  } catch (...) {
    log_once(fn_name(fam, false) + ": internal error");
  }
  return true;
}

bool parse_mask(Family fam, const std::vector<NvDsInferLayerInfo>& layers, const NvDsInferNetworkInfo& net,
                const NvDsInferParseDetectionParams& params, std::vector<NvDsInferInstanceMaskInfo>& out) noexcept {
  try {
    const State& st = state();
    std::vector<Detection> dets;
    std::vector<int> keep;
    if (!faces_for_frame(fam, true, layers, net, params, st, &dets, &keep)) return true;
    const facemask::DecoderOptions& opt = st.opts.family[static_cast<int>(fam)];
    const int mw = opt.mask_width, mh = opt.mask_height;
    const size_t n = static_cast<size_t>(mw) * static_cast<size_t>(mh);
    out.reserve(out.size() + keep.size());  // push_back below cannot throw (and leak a mask) after this
    // Masks rasterised kChunk faces per call (rasterize_face_ovals overlaps the work of several faces). Every mask
    // handed to nvinfer is filled, also when a later new[] throws.
    constexpr int kChunk = 16;
    const Detection* chunk_dets[kChunk];
    float* chunk_masks[kChunk];
    for (size_t i = 0; i < keep.size();) {
      int g = 0;
      try {
        for (; g < kChunk && i + static_cast<size_t>(g) < keep.size(); ++g) {
          const Detection& d = dets[static_cast<size_t>(keep[i + static_cast<size_t>(g)])];
          float* m = new float[n];
          NvDsInferInstanceMaskInfo o = object_info<NvDsInferInstanceMaskInfo>(d);
          o.mask = m;
          o.mask_width = static_cast<unsigned>(mw);
          o.mask_height = static_cast<unsigned>(mh);
          o.mask_size = static_cast<unsigned>(n * sizeof(float));
          out.push_back(o);
          chunk_dets[g] = &d;
          chunk_masks[g] = m;
        }
      } catch (...) {
        facemask::rasterize_face_ovals(chunk_dets, g, mw, mh, chunk_masks);
        throw;
      }
      facemask::rasterize_face_ovals(chunk_dets, g, mw, mh, chunk_masks);
      i += static_cast<size_t>(g);
    }
  } catch (const std::exception& e) {
    log_once(fn_name(fam, true) + ": internal error: " + e.what());
  } catch (...) {
    log_once(fn_name(fam, true) + ": internal error");
  }
  return true;
}

const char* build_info_json() noexcept {
  static const std::string json = [] {
    std::string fns;
    for (int i = 0; i < facemask::kNumFamilies; ++i)
      for (bool m : {false, true}) {
        if (!fns.empty()) fns += ",";
        fns += "\"" + fn_name(static_cast<Family>(i), m) + "\"";
      }
    return std::string("{\"version\":\"") + FACEMASK_VERSION + "\",\"deepstream_abi\":\"" + FACEMASK_DS_VERSION_STR +
           "\",\"sdk_headers\":" + (FACEMASK_NVDS_FROM_SDK ? "true" : "false") +
           ",\"has_rotation_angle\":" + (FACEMASK_DS_HAS_ROTATION_ANGLE ? "true" : "false") +
           ",\"sizeof_detection_info\":" + std::to_string(sizeof(NvDsInferObjectDetectionInfo)) +
           ",\"sizeof_instance_mask_info\":" + std::to_string(sizeof(NvDsInferInstanceMaskInfo)) +
           ",\"sizeof_layer_info\":" + std::to_string(sizeof(NvDsInferLayerInfo)) +
           ",\"sizeof_detection_params\":" + std::to_string(sizeof(NvDsInferParseDetectionParams)) +
           ",\"parse_functions\":[" + fns + "]}";
  }();
  return json.c_str();
}

}  // namespace facemask_nvds
