// Python access to the core decoders and NMS (csrc/core/decode.hpp, nms.hpp). Thin: converts numpy arrays to
// TensorViews (no copy for float32/float16 C-contiguous input) and Detections back to arrays.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "core/decode.hpp"
#include "core/decode_internal.hpp"
#include "core/nms.hpp"

namespace py = pybind11;
using namespace facemask;

namespace facemask_bind {
namespace {

Family family_arg(const std::string& name) {
  Family f;
  if (!family_from_name(name, &f)) {
    std::string all;
    for (int i = 0; i < kNumFamilies; ++i) all += std::string(i ? ", " : "") + family_name(static_cast<Family>(i));
    throw py::value_error("unknown face-detector family '" + name + "'; known: " + all);
  }
  return f;
}

DecoderOptions options_arg(const py::object& o) {
  DecoderOptions opt;
  if (o.is_none()) return opt;
  py::dict d = o.cast<py::dict>();
  for (auto item : d) {
    const std::string k = item.first.cast<std::string>();
    py::handle v = item.second;
    if (k == "output_names") opt.output_names = v.cast<std::vector<std::string>>();
    else if (k == "landmark_order") opt.landmark_order = v.cast<std::vector<int>>();
    else if (k == "score_threshold") opt.score_threshold = v.cast<float>();
    else if (k == "nms_iou") opt.nms_iou = v.cast<float>();
    else if (k == "top_k") opt.top_k = v.cast<int>();
    else if (k == "mask_width") opt.mask_width = v.cast<int>();
    else if (k == "mask_height") opt.mask_height = v.cast<int>();
    else if (k == "variant") opt.variant = v.cast<std::string>();
    else throw py::value_error("unknown decoder option '" + k + "'");
  }
  return opt;
}

/// Holds the (possibly converted) arrays alive while the views point into them.
struct Outputs {
  std::vector<py::array> keep;
  std::vector<TensorView> views;
};

void add_output(Outputs& out, const std::string& name, const py::handle& value) {
  py::array a = py::array::ensure(value, py::array::c_style);
  if (!a) throw py::type_error("output '" + name + "' is not convertible to a numpy array");
  const char kind = a.dtype().kind();
  const auto size = a.itemsize();
  TensorView v;
  v.name = name;
  if (kind == 'f' && size == 8) {  // float64 convenience: convert to float32
    a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
    v.dtype = DataType::kFloat;
  } else if (kind == 'f' && size == 4) v.dtype = DataType::kFloat;
  else if (kind == 'f' && size == 2) v.dtype = DataType::kHalf;
  else if (kind == 'i' && size == 1) v.dtype = DataType::kInt8;
  else if (kind == 'i' && size == 4) v.dtype = DataType::kInt32;
  else if (kind == 'i' && size == 8) v.dtype = DataType::kInt64;
  else if ((kind == 'u' || kind == 'b') && size == 1) v.dtype = DataType::kUInt8;
  else throw py::type_error("output '" + name + "': unsupported numpy dtype " + std::string(py::str(a.dtype())));
  for (py::ssize_t i = 0; i < a.ndim(); ++i) v.dims.push_back(static_cast<int64_t>(a.shape(i)));
  v.data = a.data();
  out.keep.push_back(a);
  out.views.push_back(std::move(v));
}

Outputs outputs_arg(const py::object& o) {
  Outputs out;
  if (py::isinstance<py::dict>(o)) {
    for (auto item : o.cast<py::dict>()) add_output(out, item.first.cast<std::string>(), item.second);
  } else {
    for (auto item : o) {
      auto t = item.cast<py::tuple>();
      if (t.size() != 2) throw py::value_error("outputs list items must be (name, array) pairs");
      add_output(out, t[0].cast<std::string>(), t[1]);
    }
  }
  return out;
}

py::dict result_dict(const DecodeResult& r) {
  const py::ssize_t n = static_cast<py::ssize_t>(r.detections.size());
  int k = 0;
  for (const auto& d : r.detections) k = std::max(k, d.num_landmarks);
  py::array_t<float> boxes({n, py::ssize_t(4)});
  py::array_t<float> scores({n});
  py::array_t<float> lms({n, py::ssize_t(k), py::ssize_t(2)});
  auto b = boxes.mutable_unchecked<2>();
  auto s = scores.mutable_unchecked<1>();
  auto l = lms.mutable_unchecked<3>();
  for (py::ssize_t i = 0; i < n; ++i) {
    const auto& d = r.detections[static_cast<size_t>(i)];
    b(i, 0) = d.x1;
    b(i, 1) = d.y1;
    b(i, 2) = d.x2;
    b(i, 3) = d.y2;
    s(i) = d.score;
    for (int j = 0; j < k; ++j) {
      l(i, j, 0) = j < d.num_landmarks ? d.lx[j] : 0.f;
      l(i, j, 1) = j < d.num_landmarks ? d.ly[j] : 0.f;
    }
  }
  py::dict out;
  out["boxes"] = boxes;
  out["scores"] = scores;
  out["landmarks"] = lms;
  out["error"] = r.error;
  out["skipped_nonfinite"] = r.skipped_nonfinite;
  return out;
}

}  // namespace

void init_decode(py::module_& m) {
  m.def(
      "decode",
      [](const std::string& family, const py::object& outputs, int net_w, int net_h, float score_threshold,
         const py::object& options) {
        const Family f = family_arg(family);
        const DecoderOptions opt = options_arg(options);
        Outputs outs = outputs_arg(outputs);
        DecodeRequest req;
        req.net_width = net_w;
        req.net_height = net_h;
        req.score_threshold = score_threshold;
        req.options = &opt;
        DecodeResult r;
        {
          py::gil_scoped_release nogil;
          r = decode(f, outs.views, req);
        }
        return result_dict(r);
      },
      py::arg("family"), py::arg("outputs"), py::arg("net_w"), py::arg("net_h"), py::arg("score_threshold") = 0.5f,
      py::arg("options") = py::none(),
      "Decode one frame's face-detector outputs (batch dim removed) with the core decoder of `family`.\n"
      "outputs: dict name -> array, or list of (name, array); float32/float16 (float64 is converted).\n"
      "Returns dict(boxes float32[N,4] x1y1x2y2 in network pixels, scores [N], landmarks [N,K,2], error str,\n"
      "skipped_nonfinite int). A malformed input gives a non-empty error and no detections.");

  m.def(
      "benchmark_decode",
      [](const std::string& family, const py::object& outputs, int net_w, int net_h, float score_threshold,
         const py::object& options, int iterations) {
        const Family f = family_arg(family);
        const DecoderOptions opt = options_arg(options);
        Outputs outs = outputs_arg(outputs);
        DecodeRequest req{net_w, net_h, score_threshold, &opt};
        if (iterations < 1) throw py::value_error("iterations must be >= 1");
        double secs;
        size_t n = 0;
        {
          py::gil_scoped_release nogil;
          const auto t0 = std::chrono::steady_clock::now();
          for (int i = 0; i < iterations; ++i) n += decode(f, outs.views, req).detections.size();
          secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        return py::make_tuple(secs / iterations, n / static_cast<size_t>(iterations));
      },
      py::arg("family"), py::arg("outputs"), py::arg("net_w"), py::arg("net_h"), py::arg("score_threshold") = 0.5f,
      py::arg("options") = py::none(), py::arg("iterations") = 1000,
      "Run the core decoder `iterations` times in C++ (GIL released); returns (seconds per call, detections).");

  m.def(
      "nms",
      [](py::array_t<float, py::array::c_style | py::array::forcecast> boxes,
         py::array_t<float, py::array::c_style | py::array::forcecast> scores, float iou_threshold, int top_k) {
        if (boxes.ndim() != 2 || boxes.shape(1) != 4) throw py::value_error("boxes must be [N,4] x1y1x2y2");
        if (scores.ndim() != 1 || scores.shape(0) != boxes.shape(0)) throw py::value_error("scores must be [N]");
        std::vector<Detection> dets(static_cast<size_t>(boxes.shape(0)));
        auto b = boxes.unchecked<2>();
        auto s = scores.unchecked<1>();
        for (py::ssize_t i = 0; i < boxes.shape(0); ++i) {
          auto& d = dets[static_cast<size_t>(i)];
          d.x1 = b(i, 0);
          d.y1 = b(i, 1);
          d.x2 = b(i, 2);
          d.y2 = b(i, 3);
          d.score = s(i);
        }
        const std::vector<int> keep = nms_indices(dets, iou_threshold, top_k);
        py::array_t<int64_t> out({static_cast<py::ssize_t>(keep.size())});
        auto o = out.mutable_unchecked<1>();
        for (size_t i = 0; i < keep.size(); ++i) o(static_cast<py::ssize_t>(i)) = keep[i];
        return out;
      },
      py::arg("boxes"), py::arg("scores"), py::arg("iou"), py::arg("top_k") = 0,
      "Greedy NMS (core nms_indices): kept indices sorted by score descending; IoU > iou suppresses; top_k <= 0 = all.");

  m.def(
      "half_to_float",
      [](py::array_t<uint16_t, py::array::c_style | py::array::forcecast> bits) {
        py::array_t<float> out(bits.size());
        const uint16_t* p = bits.data();
        float* q = out.mutable_data();
        for (py::ssize_t i = 0; i < bits.size(); ++i) q[i] = detail::half_to_float(p[i]);
        return out;
      },
      py::arg("bits"), "The decoders' IEEE binary16 -> float32 conversion, on raw uint16 bit patterns (for tests).");

  std::vector<std::string> names;
  for (int i = 0; i < kNumFamilies; ++i) names.push_back(family_name(static_cast<Family>(i)));
  m.attr("decoder_families") = names;
}

}  // namespace facemask_bind
