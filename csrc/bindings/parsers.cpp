// Offline nvinfer harness: calls a parse function of a built parser library exactly as nvinfer does — dlopen
// (RTLD_LAZY), dlsym by the name written in the config, one call per frame with NvDsInferLayerInfo whose batch dim is
// removed and whose buffer is rebased to the frame (base + numElements * elemSize * index), through the DeepStream
// prototype types. Uses the kit's own declarations of the ABI this module was built for (FACEMASK_DS_MAJOR/MINOR),
// and refuses a library whose reported NvDsInferObjectDetectionInfo size differs.
#define FACEMASK_FORCE_KIT_DECLARATIONS 1
#include "nvds_compat.h"

#include <dlfcn.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "core/options.hpp"
#include "facemask_build_config.h"

namespace py = pybind11;

namespace facemask_bind {
namespace {

// ---- library handles (never dlclose'd: nvinfer keeps them for the pipeline's life too) -------------------------

void* open_library(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, void*> handles;
  std::lock_guard<std::mutex> lock(mu);
  auto it = handles.find(path);
  if (it != handles.end()) return it->second;
  dlerror();
  void* h = dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    throw py::value_error("dlopen('" + path + "') failed: " + (e ? e : "unknown error"));
  }
  handles[path] = h;
  return h;
}

void* find_symbol(const std::string& lib, const std::string& symbol) {
  void* h = open_library(lib);
  dlerror();
  void* s = dlsym(h, symbol.c_str());
  if (!s) throw py::value_error("symbol '" + symbol + "' not found in " + lib);
  return s;
}

std::string library_build_info(const std::string& lib) {
  void* h = open_library(lib);
  auto fn = reinterpret_cast<const char* (*)()>(dlsym(h, "FacemaskParserBuildInfo"));
  return fn ? std::string(fn()) : std::string();
}

py::object json_loads(const std::string& s) { return py::module_::import("json").attr("loads")(s); }

// The harness's own ABI must be the library's: the object vector crosses the boundary.
void check_abi(const std::string& lib) {
  const std::string info = library_build_info(lib);
  if (info.empty()) return;  // not a facemask library: the caller vouches for its ABI
  py::dict d = json_loads(info);
  const auto lib_size = d["sizeof_detection_info"].cast<size_t>();
  if (lib_size != sizeof(NvDsInferObjectDetectionInfo))
    throw py::value_error("ABI mismatch: " + lib + " was built for DeepStream " +
                          d["deepstream_abi"].cast<std::string>() + " (NvDsInferObjectDetectionInfo " +
                          std::to_string(lib_size) + " B) but this harness for DeepStream " FACEMASK_DS_VERSION_STR
                          " (" + std::to_string(sizeof(NvDsInferObjectDetectionInfo)) + " B)");
}

// ---- input conversion -------------------------------------------------------------------------------------------

struct Layer {
  std::string name;
  py::array array;  // keeps the data alive (C-contiguous)
  int dtype = FLOAT;  // an int: tests may pass values outside the enum on purpose
  std::vector<unsigned> dims;  // batch removed
  unsigned num_elements = 0;
  size_t elem_size = 4;
  bool null_buffer = false;
  bool have_num_elements_override = false;
  unsigned num_elements_override = 0;
};

NvDsInferDataType dtype_of(const py::array& a, const std::string& name) {
  const char kind = a.dtype().kind();
  const auto size = a.itemsize();
  if (kind == 'f' && size == 4) return FLOAT;
  if (kind == 'f' && size == 2) return HALF;
  if (kind == 'i' && size == 1) return INT8;
  if (kind == 'i' && size == 4) return INT32;
#if FACEMASK_DS_MAJOR >= 7
  if (kind == 'i' && size == 8) return INT64;
  if ((kind == 'u' || kind == 'b') && size == 1) return UINT8;
#endif
  throw py::type_error("layer '" + name + "': numpy dtype " + std::string(py::str(a.dtype())) +
                       " has no NvDsInferDataType in DeepStream " FACEMASK_DS_VERSION_STR);
}

std::vector<Layer> layers_arg(const py::list& layers, size_t* batch) {
  std::vector<Layer> out;
  long b = -1;
  for (auto item : layers) {
    py::tuple t = item.cast<py::tuple>();
    if (t.size() < 2 || t.size() > 3) throw py::value_error("each layer is (name, array[, overrides dict])");
    Layer L;
    L.name = t[0].cast<std::string>();
    py::array a = py::array::ensure(t[1], py::array::c_style);
    if (!a) throw py::type_error("layer '" + L.name + "' is not convertible to a numpy array");
    if (a.ndim() < 1 || a.ndim() > NVDSINFER_MAX_DIMS + 1)
      throw py::value_error("layer '" + L.name + "': needs a batch dim plus 0.." +
                            std::to_string(NVDSINFER_MAX_DIMS) + " dims");
    L.dtype = dtype_of(a, L.name);
    L.elem_size = static_cast<size_t>(a.itemsize());
    if (b < 0) b = static_cast<long>(a.shape(0));
    if (static_cast<long>(a.shape(0)) != b)
      throw py::value_error("layer '" + L.name + "': batch " + std::to_string(a.shape(0)) + " differs from " +
                            std::to_string(b) + " (every output must be batch-major with the same batch)");
    uint64_t n = 1;
    for (py::ssize_t i = 1; i < a.ndim(); ++i) {
      L.dims.push_back(static_cast<unsigned>(a.shape(i)));
      n *= static_cast<uint64_t>(a.shape(i));
    }
    if (L.dims.empty()) L.dims.push_back(1);  // nvinfer: a rank-1 tensor becomes {numDims=1, d[0]=1}
    if (n > 0xFFFFFFFFull) throw py::value_error("layer '" + L.name + "' is too large for NvDsInferDims");
    L.num_elements = static_cast<unsigned>(n);
    if (t.size() == 3) {  // test hooks for malformed layer sets
      py::dict o = t[2].cast<py::dict>();
      for (auto kv : o) {
        const std::string k = kv.first.cast<std::string>();
        if (k == "null_buffer") L.null_buffer = kv.second.cast<bool>();
        else if (k == "data_type") L.dtype = kv.second.cast<int>();
        else if (k == "dims") L.dims = kv.second.cast<std::vector<unsigned>>();
        else if (k == "num_elements") {
          L.have_num_elements_override = true;
          L.num_elements_override = kv.second.cast<unsigned>();
        } else
          throw py::value_error("unknown layer override '" + k + "' (null_buffer, data_type, dims, num_elements)");
      }
      if (L.dims.size() > NVDSINFER_MAX_DIMS) throw py::value_error("dims override has more than 8 entries");
    }
    L.array = a;
    out.push_back(std::move(L));
  }
  *batch = b < 0 ? 1 : static_cast<size_t>(b);
  return out;
}

// One frame's NvDsInferLayerInfo vector, buffers rebased exactly like nvinfer's parseEachBatch.
std::vector<NvDsInferLayerInfo> frame_layers(const std::vector<Layer>& layers, size_t index) {
  std::vector<NvDsInferLayerInfo> v;
  v.reserve(layers.size());
  int binding = 1;  // binding 0 is the image input
  for (const auto& L : layers) {
    NvDsInferLayerInfo li{};
    std::memcpy(&li.dataType, &L.dtype, sizeof(int));
    li.inferDims.numDims = static_cast<unsigned>(L.dims.size());
    for (size_t k = 0; k < L.dims.size(); ++k) li.inferDims.d[k] = L.dims[k];
    li.inferDims.numElements = L.num_elements;
    if (L.have_num_elements_override) li.inferDims.numElements = L.num_elements_override;
    li.bindingIndex = binding++;
    li.layerName = L.name.c_str();
    li.buffer = L.null_buffer ? nullptr
                              : static_cast<void*>(static_cast<char*>(const_cast<void*>(L.array.data())) +
                                                   static_cast<size_t>(L.num_elements) * L.elem_size * index);
    li.isInput = 0;
    v.push_back(li);
  }
  return v;
}

struct Params {
  unsigned num_classes = 1;
  std::vector<float> pre{0.5f};
  std::vector<float> post;
};

Params params_arg(const py::object& o) {
  Params p;
  if (o.is_none()) return p;
  py::dict d = o.cast<py::dict>();
  for (auto kv : d) {
    const std::string k = kv.first.cast<std::string>();
    if (k == "num_classes") p.num_classes = kv.second.cast<unsigned>();
    else if (k == "pre_cluster_thresholds") p.pre = kv.second.cast<std::vector<float>>();
    else if (k == "post_cluster_thresholds") p.post = kv.second.cast<std::vector<float>>();
    else throw py::value_error("unknown params key '" + k + "' (num_classes, pre_cluster_thresholds, "
                               "post_cluster_thresholds)");
  }
  return p;
}

bool is_mask_symbol(const std::string& symbol, const py::object& mask) {
  if (!mask.is_none()) return mask.cast<bool>();
  return symbol.size() >= 4 && symbol.compare(symbol.size() - 4, 4, "Mask") == 0;
}

NvDsInferNetworkInfo net_arg(const std::tuple<unsigned, unsigned, unsigned>& n) {
  NvDsInferNetworkInfo net{};
  net.width = std::get<0>(n);
  net.height = std::get<1>(n);
  net.channels = std::get<2>(n);
  return net;
}

// Per-frame results, collected without the GIL.
struct FrameResult {
  bool ok = true;
  std::vector<NvDsInferObjectDetectionInfo> objs;
  std::vector<NvDsInferInstanceMaskInfo> masks;
};

void free_masks(std::vector<NvDsInferInstanceMaskInfo>& v) {
  for (auto& m : v) {
    delete[] m.mask;  // nvinfer's ownership rule
    m.mask = nullptr;
  }
}

py::dict to_dict(FrameResult& r, bool mask) {
  py::dict d;
  const size_t n = mask ? r.masks.size() : r.objs.size();
  py::array_t<float> boxes({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(4)});
  py::array_t<float> scores({static_cast<py::ssize_t>(n)});
  py::array_t<int64_t> classes({static_cast<py::ssize_t>(n)});
  auto b = boxes.mutable_unchecked<2>();
  auto s = scores.mutable_unchecked<1>();
  auto c = classes.mutable_unchecked<1>();
  py::list masks, sizes, widths, heights;
#if FACEMASK_DS_HAS_ROTATION_ANGLE
  py::array_t<float> rot({static_cast<py::ssize_t>(n)});
  auto ro = rot.mutable_unchecked<1>();
#endif
  for (size_t i = 0; i < n; ++i) {
    const auto ii = static_cast<py::ssize_t>(i);
    if (mask) {
      const auto& m = r.masks[i];
      b(ii, 0) = m.left;
      b(ii, 1) = m.top;
      b(ii, 2) = m.width;
      b(ii, 3) = m.height;
      s(ii) = m.detectionConfidence;
      c(ii) = m.classId;
      sizes.append(m.mask_size);
      widths.append(m.mask_width);
      heights.append(m.mask_height);
      const size_t elems = static_cast<size_t>(m.mask_width) * m.mask_height;
      if (m.mask && static_cast<size_t>(m.mask_size) == elems * sizeof(float)) {
        py::array_t<float> a({static_cast<py::ssize_t>(m.mask_height), static_cast<py::ssize_t>(m.mask_width)});
        std::memcpy(a.mutable_data(), m.mask, elems * sizeof(float));
        masks.append(a);
      } else {
        masks.append(py::none());  // inconsistent size: never read past what the parser claims
      }
    } else {
      const auto& o = r.objs[i];
      b(ii, 0) = o.left;
      b(ii, 1) = o.top;
      b(ii, 2) = o.width;
      b(ii, 3) = o.height;
      s(ii) = o.detectionConfidence;
      c(ii) = o.classId;
#if FACEMASK_DS_HAS_ROTATION_ANGLE
      ro(ii) = o.rotation_angle;
#endif
    }
  }
  d["returned"] = r.ok;
  d["boxes"] = boxes;  // [N, 4] left, top, width, height (network-input pixels), as nvinfer receives them
  d["scores"] = scores;
  d["classes"] = classes;
#if FACEMASK_DS_HAS_ROTATION_ANGLE
  if (!mask) d["rotation_angle"] = rot;
#endif
  if (mask) {
    d["masks"] = masks;
    d["mask_size"] = sizes;
    d["mask_width"] = widths;
    d["mask_height"] = heights;
  }
  return d;
}

py::list call_parse_function(const std::string& lib, const std::string& symbol, const py::list& layers_py,
                             const std::tuple<unsigned, unsigned, unsigned>& network_info, const py::object& params_py,
                             const py::object& mask_py) {
  check_abi(lib);
  const bool mask = is_mask_symbol(symbol, mask_py);
  void* sym = find_symbol(lib, symbol);
  size_t batch = 1;
  std::vector<Layer> layers = layers_arg(layers_py, &batch);
  const Params pp = params_arg(params_py);
  const NvDsInferNetworkInfo net = net_arg(network_info);
  std::vector<FrameResult> results(batch);
  {
    py::gil_scoped_release nogil;
    NvDsInferParseDetectionParams params;  // built in place, never copied (reference member)
    params.numClassesConfigured = pp.num_classes;
    params.perClassPreclusterThreshold = pp.pre;
    params.perClassPostclusterThreshold = pp.post;
    for (size_t f = 0; f < batch; ++f) {
      const std::vector<NvDsInferLayerInfo> li = frame_layers(layers, f);
      if (mask) {
        auto fn = reinterpret_cast<NvDsInferInstanceMaskParseCustomFunc>(sym);
        results[f].ok = fn(li, net, params, results[f].masks);
      } else {
        auto fn = reinterpret_cast<NvDsInferParseCustomFunc>(sym);
        results[f].ok = fn(li, net, params, results[f].objs);
      }
    }
  }
  py::list out;
  for (auto& r : results) {
    try {
      out.append(to_dict(r, mask));
    } catch (...) {
      free_masks(r.masks);
      for (auto& rest : results) free_masks(rest.masks);
      throw;
    }
    free_masks(r.masks);
  }
  return out;
}

py::array_t<double> time_parse_function(const std::string& lib, const std::string& symbol, const py::list& layers_py,
                                        const std::tuple<unsigned, unsigned, unsigned>& network_info,
                                        const py::object& params_py, const py::object& mask_py, int iterations) {
  if (iterations < 1) throw py::value_error("iterations must be >= 1");
  check_abi(lib);
  const bool mask = is_mask_symbol(symbol, mask_py);
  void* sym = find_symbol(lib, symbol);
  size_t batch = 1;
  std::vector<Layer> layers = layers_arg(layers_py, &batch);
  const Params pp = params_arg(params_py);
  const NvDsInferNetworkInfo net = net_arg(network_info);
  py::array_t<double> us({static_cast<py::ssize_t>(iterations)});
  double* t = us.mutable_data();
  {
    py::gil_scoped_release nogil;
    NvDsInferParseDetectionParams params;
    params.numClassesConfigured = pp.num_classes;
    params.perClassPreclusterThreshold = pp.pre;
    params.perClassPostclusterThreshold = pp.post;
    const std::vector<NvDsInferLayerInfo> li = frame_layers(layers, 0);
    for (int i = 0; i < iterations; ++i) {
      std::vector<NvDsInferObjectDetectionInfo> objs;
      std::vector<NvDsInferInstanceMaskInfo> masks;
      const auto t0 = std::chrono::steady_clock::now();
      if (mask)
        reinterpret_cast<NvDsInferInstanceMaskParseCustomFunc>(sym)(li, net, params, masks);
      else
        reinterpret_cast<NvDsInferParseCustomFunc>(sym)(li, net, params, objs);
      const auto t1 = std::chrono::steady_clock::now();
      t[i] = std::chrono::duration<double, std::micro>(t1 - t0).count();
      free_masks(masks);
    }
  }
  return us;
}

}  // namespace

void init_parsers(py::module_& m) {
  m.def("call_parse_function", &call_parse_function, py::arg("lib"), py::arg("symbol"), py::arg("layers"),
        py::arg("network_info"), py::arg("params") = py::none(), py::arg("mask") = py::none(),
        "Call parse function `symbol` of parser library `lib` the way nvinfer does: dlopen(RTLD_LAZY), dlsym,\n"
        "one call per frame through the DeepStream prototype (bbox, or instance mask when mask=True or the name\n"
        "ends in 'Mask'), NvDsInferLayerInfo with the batch dim removed and buffers rebased per frame.\n"
        "layers: list of (name, array with batch dim[, overrides]); overrides (tests of malformed input):\n"
        "  null_buffer: bool, data_type: int, dims: list (without batch), num_elements: int.\n"
        "network_info: (width, height, channels). params: dict(num_classes=1, pre_cluster_thresholds=[0.5],\n"
        "  post_cluster_thresholds=[]).\n"
        "Returns one dict per frame: returned (bool), boxes float32[N,4] (left, top, width, height), scores,\n"
        "classes, rotation_angle (DeepStream >= 9.0 bbox), and for masks: masks (list of float32[h,w]),\n"
        "mask_size (bytes), mask_width, mask_height. Masks are copied, then freed with delete[] like nvinfer.");
  m.def("time_parse_function", &time_parse_function, py::arg("lib"), py::arg("symbol"), py::arg("layers"),
        py::arg("network_info"), py::arg("params") = py::none(), py::arg("mask") = py::none(),
        py::arg("iterations") = 200,
        "Time `iterations` calls of the parse function on frame 0 (GIL released, output vectors created and masks\n"
        "freed outside the timed region). Returns the per-call microseconds as float64[iterations].");
  m.def("parser_abi", [](const std::string& lib) {
        void* h = open_library(lib);
        auto fn = reinterpret_cast<const char* (*)()>(dlsym(h, "FacemaskParserAbi"));
        if (!fn) throw py::value_error(lib + " does not export FacemaskParserAbi (not a facemask-ds parser library)");
        return std::string(fn());
      }, py::arg("lib"), "DeepStream release the parser library was built for (its FacemaskParserAbi()), e.g. '9.1'.");
  m.def("parser_build_info", [](const std::string& lib) -> py::object {
        const std::string s = library_build_info(lib);
        if (s.empty()) throw py::value_error(lib + " does not export FacemaskParserBuildInfo");
        return json_loads(s);
      }, py::arg("lib"), "The parser library's FacemaskParserBuildInfo() as a dict.");
  m.def("parse_parser_options", [](const std::string& text, const std::string& source) {
        const facemask::ParserOptions po = facemask::parse_options_ini(text, source);
        py::dict fams;
        for (int i = 0; i < facemask::kNumFamilies; ++i) {
          const facemask::DecoderOptions& o = po.family[i];
          py::dict d;
          d["output_names"] = o.output_names;
          d["landmark_order"] = o.landmark_order;
          d["score_threshold"] = o.score_threshold;
          d["nms_iou"] = o.nms_iou;
          d["top_k"] = o.top_k;
          d["mask_width"] = o.mask_width;
          d["mask_height"] = o.mask_height;
          d["variant"] = o.variant;
          fams[facemask::family_name(static_cast<facemask::Family>(i))] = d;
        }
        py::dict out;
        out["families"] = fams;
        out["errors"] = po.errors;
        return out;
      }, py::arg("text"), py::arg("source") = "<text>",
      "Parse facemask_parser.ini text with the parser library's own reader (csrc/core/options.cpp): returns\n"
      "dict(families={Family: effective options}, errors=[\"<source>:<line>: problem\", ...]).");
  py::dict h;
  h["deepstream_abi"] = FACEMASK_DS_VERSION_STR;
  h["sizeof_detection_info"] = sizeof(NvDsInferObjectDetectionInfo);
  h["sizeof_instance_mask_info"] = sizeof(NvDsInferInstanceMaskInfo);
  h["sizeof_layer_info"] = sizeof(NvDsInferLayerInfo);
  h["sizeof_detection_params"] = sizeof(NvDsInferParseDetectionParams);
  m.attr("harness_abi") = h;
}

}  // namespace facemask_bind
