// Python access to the CPU redaction core (csrc/core/redact.hpp, shapes.hpp). Thin: argument checking and
// conversion only.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "core/formats.hpp"
#include "core/redact.hpp"
#include "core/shapes.hpp"

namespace py = pybind11;

namespace facemask_bind {
namespace {

using facemask::Detection;
using facemask::Region;

std::vector<Detection> detections_from(py::handle boxes_obj, py::handle lm_obj, py::handle scores_obj) {
  auto boxes = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(boxes_obj);
  if (!boxes) throw py::value_error("boxes must be an array-like of shape (N, 4)");
  if (boxes.ndim() == 1 && boxes.shape(0) == 0) return {};
  if (boxes.ndim() != 2 || boxes.shape(1) != 4) throw py::value_error("boxes must have shape (N, 4): x1, y1, x2, y2");
  const py::ssize_t n = boxes.shape(0);
  std::vector<Detection> dets(static_cast<size_t>(n));
  auto b = boxes.unchecked<2>();
  for (py::ssize_t i = 0; i < n; ++i) {
    dets[i].x1 = b(i, 0);
    dets[i].y1 = b(i, 1);
    dets[i].x2 = b(i, 2);
    dets[i].y2 = b(i, 3);
    dets[i].score = 1.f;
  }
  if (!lm_obj.is_none()) {
    auto lm = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(lm_obj);
    if (!lm || lm.ndim() != 3 || lm.shape(0) != n || lm.shape(2) != 2 || lm.shape(1) > facemask::kMaxLandmarks) {
      throw py::value_error("landmarks must have shape (N, K, 2) with K <= 6");
    }
    auto l = lm.unchecked<3>();
    for (py::ssize_t i = 0; i < n; ++i) {
      dets[i].num_landmarks = static_cast<int>(lm.shape(1));
      for (py::ssize_t k = 0; k < lm.shape(1); ++k) {
        dets[i].lx[k] = l(i, k, 0);
        dets[i].ly[k] = l(i, k, 1);
      }
    }
  }
  if (!scores_obj.is_none()) {
    auto sc = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(scores_obj);
    if (!sc || sc.ndim() != 1 || sc.shape(0) != n) throw py::value_error("scores must have shape (N,)");
    for (py::ssize_t i = 0; i < n; ++i) dets[i].score = sc.at(i);
  }
  return dets;
}

facemask::RedactParams params_from(const std::string& mode, const std::string& shape, float strength, float margin,
                                   float feather, float mask_threshold, std::vector<int> fill, bool draw_outline) {
  facemask::RedactParams p;
  if (!facemask::redact_mode_from_name(mode, &p.mode)) {
    throw py::value_error("mode must be 'blur', 'pixelate' or 'fill', got '" + mode + "'");
  }
  if (!facemask::redact_shape_from_name(shape, &p.shape)) {
    throw py::value_error("shape must be 'box', 'ellipse' or 'oval', got '" + shape + "'");
  }
  if (fill.size() != 3) throw py::value_error("fill must be (r, g, b)");
  for (int i = 0; i < 3; ++i) {
    if (fill[i] < 0 || fill[i] > 255) throw py::value_error("fill components must be 0..255");
    p.fill_rgb[i] = static_cast<uint8_t>(fill[i]);
  }
  p.strength = strength;
  p.margin = margin;
  p.feather = feather;
  p.mask_threshold = mask_threshold;
  p.draw_outline = draw_outline;
  return p;
}

py::dict redact_py(py::list planes, const std::string& format, int width, int height, py::object boxes,
                   py::object landmarks, py::object masks, const std::string& mode, const std::string& shape,
                   float strength, float margin, float feather, float mask_threshold, std::vector<int> fill,
                   bool draw_outline) {
  facemask::ImageView img;
  if (!facemask::format_from_name(format, &img.format)) throw py::value_error("unknown pixel format '" + format + "'");
  const facemask::FormatInfo& fi = facemask::format_info(img.format);
  if (width < 0 || height < 0) throw py::value_error("width and height must be >= 0");
  img.width = width;
  img.height = height;
  if (static_cast<int>(planes.size()) != fi.num_planes) {
    throw py::value_error(format + " needs " + std::to_string(fi.num_planes) + " plane array(s), got " +
                          std::to_string(planes.size()));
  }
  std::vector<py::array> keep;
  for (int p = 0; p < fi.num_planes; ++p) {
    py::array a = py::reinterpret_borrow<py::array>(planes[p]);
    if (!py::isinstance<py::array_t<uint8_t>>(planes[p])) throw py::value_error("planes must be uint8 numpy arrays");
    if (!a.writeable()) throw py::value_error("plane arrays must be writable (redaction is in place)");
    const int ps = fi.planes[p].pixel_stride;
    const int pw = facemask::plane_width(fi, p, width), ph = facemask::plane_height(fi, p, height);
    const bool empty = pw == 0 || ph == 0;
    if (a.ndim() == 2 && ps == 1) {
      if (!empty && a.strides(1) != 1) throw py::value_error("plane columns must be contiguous");
    } else if (a.ndim() == 3 && a.shape(2) == ps) {
      if (!empty && (a.strides(2) != 1 || a.strides(1) != ps)) throw py::value_error("plane pixels must be contiguous");
    } else {
      throw py::value_error("plane " + std::to_string(p) + " of " + format + " must have shape (h, w" +
                            (ps == 1 ? std::string(")") : ", " + std::to_string(ps) + ")"));
    }
    if (a.shape(0) < ph || a.shape(1) < pw) {
      throw py::value_error("plane " + std::to_string(p) + " is smaller than " + std::to_string(ph) + "x" +
                            std::to_string(pw));
    }
    if (empty) continue;
    if (a.strides(0) <= 0 || a.strides(0) > (1 << 30)) throw py::value_error("plane rows must have a positive stride");
    img.data[p] = static_cast<uint8_t*>(a.mutable_data());
    img.stride[p] = static_cast<int>(a.strides(0));
    keep.push_back(a);
  }
  std::vector<Detection> dets = detections_from(boxes, landmarks, py::none());
  std::vector<Region> regions(dets.size());
  std::vector<py::array_t<float, py::array::c_style | py::array::forcecast>> mask_arrays;
  if (!masks.is_none()) {
    py::list ml = masks.cast<py::list>();
    if (ml.size() != dets.size()) throw py::value_error("masks must be a list with one entry (or None) per box");
    for (size_t i = 0; i < ml.size(); ++i) {
      if (ml[i].is_none()) continue;
      auto m = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(ml[i]);
      if (!m || m.ndim() != 2 || m.shape(0) < 1 || m.shape(1) < 1) throw py::value_error("each mask must be 2-D");
      mask_arrays.push_back(m);
      regions[i].mask = m.data();
      regions[i].mask_h = static_cast<int>(m.shape(0));
      regions[i].mask_w = static_cast<int>(m.shape(1));
    }
  }
  for (size_t i = 0; i < dets.size(); ++i) regions[i].det = dets[i];
  const facemask::RedactParams p =
      params_from(mode, shape, strength, margin, feather, mask_threshold, std::move(fill), draw_outline);
  std::string err;
  facemask::RedactStats st;
  bool ok;
  {
    py::gil_scoped_release release;
    ok = facemask::redact(img, regions, p, &err, &st);
  }
  if (!ok) throw py::value_error(err);
  py::dict d;
  d["regions"] = st.regions;
  d["regions_drawn"] = st.regions_drawn;
  return d;
}

py::tuple ellipse_tuple(const facemask::Ellipse& e) { return py::make_tuple(e.cx, e.cy, e.rx, e.ry, e.angle); }

Detection one_detection(std::vector<float> box, py::object landmarks) {
  if (box.size() != 4) throw py::value_error("box must be (x1, y1, x2, y2)");
  py::array_t<float> b({1, 4});
  for (int i = 0; i < 4; ++i) b.mutable_at(0, i) = box[i];
  py::object lm = py::none();
  if (!landmarks.is_none()) {
    auto l = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(landmarks);
    if (!l || l.ndim() != 2 || l.shape(1) != 2) throw py::value_error("landmarks must have shape (K, 2)");
    lm = l.reshape({static_cast<py::ssize_t>(1), l.shape(0), static_cast<py::ssize_t>(2)});
  }
  return detections_from(b, lm, py::none())[0];
}

}  // namespace

void init_redact(py::module_& m) {
  m.def("redact", &redact_py, py::arg("planes"), py::arg("format"), py::arg("width"), py::arg("height"),
        py::arg("boxes"), py::arg("landmarks") = py::none(), py::arg("masks") = py::none(), py::arg("mode") = "blur",
        py::arg("shape") = "oval", py::arg("strength") = 1.0f, py::arg("margin") = 1.3f, py::arg("feather") = 0.1f,
        py::arg("mask_threshold") = 0.5f, py::arg("fill") = std::vector<int>{0, 0, 0},
        py::arg("draw_outline") = false,
        "Redact regions in place (csrc/core/redact.hpp). planes: one writable uint8 array per plane of `format` "
        "(packed RGB: (h, w, bytes_per_pixel); Y/U/V planes: (h, w); NV12/NV21 UV plane: (h/2, w/2, 2)); row "
        "strides may be padded. boxes: (N, 4) x1, y1, x2, y2 in frame pixels; landmarks: (N, K, 2); masks: list of "
        "2-D float arrays (or None) covering each box. Returns {'regions', 'regions_drawn'}.");
  m.def("redact_formats", []() {
    std::vector<std::string> out;
    for (int i = 0; i < facemask::kNumPixelFormats; ++i) {
      out.push_back(facemask::format_info(static_cast<facemask::PixelFormat>(i)).name);
    }
    return out;
  });
  m.def("box_radius_for_sigma", &facemask::box_radius_for_sigma, py::arg("sigma"));
  m.def(
      "plan_region",
      [](std::vector<float> box, py::object landmarks, int width, int height, const std::string& mode,
         const std::string& shape, float strength, float margin, float feather) {
        Region r;
        r.det = one_detection(std::move(box), landmarks);
        const auto p = params_from(mode, shape, strength, margin, feather, 0.5f, {0, 0, 0}, false);
        const facemask::RegionPlan pl = facemask::plan_region(r, p, width, height);
        py::dict d;
        d["empty"] = pl.empty;
        d["rect"] = py::make_tuple(pl.x0, pl.y0, pl.x1, pl.y1);
        d["face_size"] = pl.face_size;
        d["sigma"] = pl.sigma;
        d["radius"] = pl.radius;
        d["cell"] = pl.cell;
        d["feather_px"] = pl.feather_px;
        d["ellipse"] = ellipse_tuple(pl.ellipse);
        return d;
      },
      py::arg("box"), py::arg("landmarks") = py::none(), py::arg("width") = 1 << 15, py::arg("height") = 1 << 15,
      py::arg("mode") = "blur", py::arg("shape") = "oval", py::arg("strength") = 1.0f, py::arg("margin") = 1.3f,
      py::arg("feather") = 0.1f, "Per-region plan (rect, sigma, box radius, pixel cell, ellipse) of the redaction core");
  m.def(
      "box_ellipse",
      [](std::vector<float> box, float margin) {
        return ellipse_tuple(facemask::box_ellipse(one_detection(std::move(box), py::none()), margin));
      },
      py::arg("box"), py::arg("margin") = 1.0f, "(cx, cy, rx, ry, angle) of the box-inscribed ellipse");
  m.def(
      "fit_face_oval",
      [](std::vector<float> box, py::object landmarks, float margin) {
        return ellipse_tuple(facemask::fit_face_oval(one_detection(std::move(box), landmarks), margin));
      },
      py::arg("box"), py::arg("landmarks") = py::none(), py::arg("margin") = 1.0f,
      "(cx, cy, rx, ry, angle) of the face oval fitted to box and landmarks (K, 2)");
  m.def(
      "ellipse_alpha",
      [](std::vector<float> e, py::array_t<float, py::array::forcecast> xs, py::array_t<float, py::array::forcecast> ys,
         float feather) {
        if (e.size() != 5) throw py::value_error("ellipse must be (cx, cy, rx, ry, angle)");
        if (xs.size() != ys.size()) throw py::value_error("xs and ys must have the same size");
        facemask::Ellipse el{e[0], e[1], e[2], e[3], e[4]};
        py::array_t<float> out(xs.request().shape);
        auto xv = xs.data();
        auto yv = ys.data();
        float* o = out.mutable_data();
        for (py::ssize_t i = 0; i < xs.size(); ++i) o[i] = facemask::ellipse_alpha(el, xv[i], yv[i], feather);
        return out;
      },
      py::arg("ellipse"), py::arg("xs"), py::arg("ys"), py::arg("feather"));
  m.def(
      "rasterize_face_oval",
      [](std::vector<float> box, py::object landmarks, int mask_w, int mask_h) {
        if (mask_w <= 0 || mask_h <= 0 || mask_w > 4096 || mask_h > 4096) {
          throw py::value_error("mask size must be 1..4096");
        }
        const Detection d = one_detection(std::move(box), landmarks);
        py::array_t<float> out({mask_h, mask_w});
        facemask::rasterize_face_oval(d, mask_w, mask_h, out.mutable_data());
        return out;
      },
      py::arg("box"), py::arg("landmarks") = py::none(), py::arg("mask_w") = 32, py::arg("mask_h") = 32);
  py::class_<facemask::HoldTracker>(m, "HoldTracker", "Temporal hold of redaction regions (core/redact.hpp)")
      .def(py::init<int>(), py::arg("hold_frames") = 0)
      .def("reset", &facemask::HoldTracker::reset)
      .def_property_readonly("remembered", &facemask::HoldTracker::remembered)
      .def(
          "update",
          [](facemask::HoldTracker& h, py::object boxes) {
            std::vector<Detection> dets = detections_from(boxes, py::none(), py::none());
            std::vector<Region> cur(dets.size());
            for (size_t i = 0; i < dets.size(); ++i) cur[i].det = dets[i];
            const std::vector<Region> out = h.update(cur);
            py::array_t<float> arr({static_cast<py::ssize_t>(out.size()), static_cast<py::ssize_t>(4)});
            for (size_t i = 0; i < out.size(); ++i) {
              arr.mutable_at(i, 0) = out[i].det.x1;
              arr.mutable_at(i, 1) = out[i].det.y1;
              arr.mutable_at(i, 2) = out[i].det.x2;
              arr.mutable_at(i, 3) = out[i].det.y2;
            }
            return arr;
          },
          py::arg("boxes"), "Current boxes (N, 4) -> boxes to redact this frame (current + held)");
}

}  // namespace facemask_bind
