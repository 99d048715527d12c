// facemask_ds._native CUDA functions: the csrc/cuda kernels on device arrays (CuPy, PyTorch, Numba ... through
// __cuda_array_interface__). Without a CUDA toolkit at build time the functions exist and say so.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "core/formats.hpp"
#include "core/redact.hpp"

#if defined(FACEMASK_WITH_CUDA)
#include <cuda_runtime_api.h>

#include "cuda/redact_cuda.hpp"
#endif

namespace py = pybind11;

namespace facemask_bind {
namespace {

#if defined(FACEMASK_WITH_CUDA)

struct DeviceArray {
  uintptr_t ptr = 0;
  std::vector<int64_t> shape, strides;  // strides in bytes
};

DeviceArray device_array(const py::object& obj) {
  if (!py::hasattr(obj, "__cuda_array_interface__"))
    throw py::type_error("frames must be a device array exposing __cuda_array_interface__ (CuPy, PyTorch CUDA "
                         "tensor, Numba); got " + std::string(py::str(py::type::of(obj))));
  py::dict cai = obj.attr("__cuda_array_interface__");
  const std::string typestr = py::str(cai["typestr"]);
  if (typestr != "|u1" && typestr != "<u1" && typestr != ">u1")
    throw py::type_error("frames must be uint8, got typestr " + typestr);
  py::tuple data = cai["data"];
  if (py::cast<bool>(data[1])) throw py::value_error("frames array is read-only");
  DeviceArray a;
  a.ptr = py::cast<uintptr_t>(data[0]);
  for (auto d : py::tuple(cai["shape"])) a.shape.push_back(py::cast<int64_t>(d));
  if (cai.contains("strides") && !cai["strides"].is_none()) {
    for (auto s : py::tuple(cai["strides"])) a.strides.push_back(py::cast<int64_t>(s));
  } else {
    a.strides.assign(a.shape.size(), 1);
    for (int i = static_cast<int>(a.shape.size()) - 2; i >= 0; --i) a.strides[i] = a.strides[i + 1] * a.shape[i + 1];
  }
  return a;
}

// Split a batch array into ImageViews. Packed formats: (N, H, W, C) or (H, W, C) with C = bytes per pixel; GRAY8:
// (N, H, W) or (H, W); 4:2:0 formats: (N, H*3/2, W) or (H*3/2, W) laid out as GStreamer does (Y rows, then the
// chroma plane(s) at row H with the same row stride for NV12/NV21, contiguous half-width planes for I420/YV12).
std::vector<facemask::ImageView> split_frames(const DeviceArray& a, facemask::PixelFormat fmt) {
  const facemask::FormatInfo& fi = facemask::format_info(fmt);
  const bool packed = fi.num_planes == 1 && fi.planes[0].pixel_stride > 1;
  const size_t want = packed ? 3 : 2;
  const bool batched = a.shape.size() == want + 1;
  if (a.shape.size() != want && !batched)
    throw py::value_error(std::string("frames for ") + fi.name + " must have " + std::to_string(want) + " or " +
                          std::to_string(want + 1) + " dims");
  const size_t o = batched ? 1 : 0;
  const int64_t n = batched ? a.shape[0] : 1;
  const int64_t fstride = batched ? a.strides[0] : 0;
  const int64_t rows = a.shape[o], cols = a.shape[o + 1], rstride = a.strides[o];
  if (packed && a.shape[o + 2] != fi.planes[0].pixel_stride)
    throw py::value_error(std::string(fi.name) + " frames need a last dim of " +
                          std::to_string(fi.planes[0].pixel_stride));
  if (a.strides[o + 1] != (packed ? fi.planes[0].pixel_stride : 1) || (packed && a.strides[o + 2] != 1))
    throw py::value_error("frames must be contiguous within a row (pitch-linear rows of packed pixels)");
  if (rstride > INT32_MAX) throw py::value_error("row stride too large");
  std::vector<facemask::ImageView> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    facemask::ImageView& v = out[static_cast<size_t>(i)];
    v.format = fmt;
    uint8_t* base = reinterpret_cast<uint8_t*>(a.ptr + static_cast<uintptr_t>(i * fstride));
    v.width = static_cast<int>(cols);
    if (fi.num_planes == 1) {
      v.height = static_cast<int>(rows);
      v.data[0] = base;
      v.stride[0] = static_cast<int>(rstride);
      continue;
    }
    if ((rows * 2) % 3 != 0 || ((rows * 2 / 3) % 2) != 0 || cols % 2 != 0)
      throw py::value_error("4:2:0 frames need shape (H*3/2, W) with even H and W");
    const int h = static_cast<int>(rows * 2 / 3);
    v.height = h;
    v.data[0] = base;
    v.stride[0] = static_cast<int>(rstride);
    if (fi.num_planes == 2) {  // NV12 / NV21
      v.data[1] = base + static_cast<int64_t>(h) * rstride;
      v.stride[1] = static_cast<int>(rstride);
    } else {  // I420 / YV12: contiguous quarter planes after Y
      if (rstride != cols) throw py::value_error("I420/YV12 frames must be contiguous (row stride == width)");
      v.data[1] = base + static_cast<int64_t>(h) * cols;
      v.data[2] = v.data[1] + static_cast<int64_t>(h / 2) * (cols / 2);
      v.stride[1] = v.stride[2] = static_cast<int>(cols / 2);
    }
  }
  return out;
}

std::mutex& redactor_mutex() {  // the Redactor is not thread-safe and the GIL is released around it
  static std::mutex m;
  return m;
}

facemask::cuda::Redactor& redactor() {
  static std::unique_ptr<facemask::cuda::Redactor> r;
  if (!r) r.reset(new facemask::cuda::Redactor);
  return *r;
}

#endif  // FACEMASK_WITH_CUDA

}  // namespace

void init_cuda(py::module_& m) {
  m.def("cuda_built", [] {
#if defined(FACEMASK_WITH_CUDA)
    return true;
#else
    return false;
#endif
  }, "True when the native module was built with the CUDA kernels.");

  m.def("cuda_available", [] {
#if defined(FACEMASK_WITH_CUDA)
    std::string why;
    const bool ok = facemask::cuda::cuda_available(&why);
    return py::make_tuple(ok, ok ? std::string() : why);
#else
    return py::make_tuple(false, std::string("facemask-ds was built without the CUDA toolkit (no nvcc at build time)"));
#endif
  }, "(available, reason): whether the CUDA kernels can run here, and why not.");

  m.def(
      "cuda_empty_launch_us",
      [](uintptr_t stream, int iters, bool cooperative) -> double {
#if !defined(FACEMASK_WITH_CUDA)
        (void)stream; (void)iters; (void)cooperative;
        throw std::runtime_error("facemask-ds was built without the CUDA toolkit: cuda_empty_launch_us is unavailable");
#else
        std::string err;
        double us;
        {
          py::gil_scoped_release nogil;
          us = facemask::cuda::empty_launch_us(reinterpret_cast<facemask::cuda::Stream>(stream), iters, cooperative,
                                               &err);
        }
        if (us < 0) throw std::runtime_error(err);
        return us;
#endif
      },
      py::arg("stream") = 0, py::arg("iters") = 50, py::arg("cooperative") = false,
      R"doc(Benchmarks: median device time (us) of one empty-kernel launch (1 block of 32 threads), timed exactly like
cuda_redact(timing=True): CUDA events right before and after the launch call on `stream`, 10 warm-up launches first.
cooperative: launch it with cudaLaunchCooperativeKernel (the kind of launch cuda_redact makes).)doc");

  m.def(
      "cuda_redact",
      [](py::object frames, const std::string& format, py::list regions, const std::string& mode,
         const std::string& shape, float strength, float margin, float feather, float mask_threshold,
         std::vector<int> fill, uintptr_t stream, bool synchronize, bool multi_launch, bool timing) -> py::dict {
#if !defined(FACEMASK_WITH_CUDA)
        (void)frames; (void)format; (void)regions; (void)mode; (void)shape; (void)strength; (void)margin;
        (void)feather; (void)mask_threshold; (void)fill; (void)stream; (void)synchronize; (void)multi_launch; (void)timing;
        throw std::runtime_error("facemask-ds was built without the CUDA toolkit: cuda_redact is unavailable "
                                 "(install a CUDA toolkit with nvcc and rebuild, or use redact() on the CPU)");
#else
        facemask::PixelFormat fmt;
        if (!facemask::format_from_name(format, &fmt)) throw py::value_error("unknown pixel format " + format);
        facemask::RedactParams p;
        if (!facemask::redact_mode_from_name(mode, &p.mode)) throw py::value_error("unknown mode " + mode);
        if (!facemask::redact_shape_from_name(shape, &p.shape)) throw py::value_error("unknown shape " + shape);
        p.strength = strength;
        p.margin = margin;
        p.feather = feather;
        p.mask_threshold = mask_threshold;
        if (fill.size() != 3) throw py::value_error("fill must be 3 values (R, G, B)");
        for (int c = 0; c < 3; ++c) {
          if (fill[c] < 0 || fill[c] > 255) throw py::value_error("fill values must be 0..255");
          p.fill_rgb[c] = static_cast<uint8_t>(fill[c]);
        }
        const DeviceArray arr = device_array(frames);
        const std::vector<facemask::ImageView> views = split_frames(arr, fmt);

        std::vector<facemask::cuda::BatchRegion> regs;
        std::vector<py::array_t<float, py::array::c_style | py::array::forcecast>> keep;  // masks alive
        regs.reserve(regions.size());
        for (py::handle h : regions) {
          py::dict d = py::reinterpret_borrow<py::dict>(h);
          facemask::cuda::BatchRegion br;
          br.frame = d.contains("frame") ? py::cast<int>(d["frame"]) : 0;
          auto box = py::cast<std::vector<float>>(d["box"]);
          if (box.size() != 4) throw py::value_error("region box must be (x1, y1, x2, y2)");
          br.region.det.x1 = box[0];
          br.region.det.y1 = box[1];
          br.region.det.x2 = box[2];
          br.region.det.y2 = box[3];
          if (d.contains("score")) br.region.det.score = py::cast<float>(d["score"]);
          if (d.contains("landmarks") && !d["landmarks"].is_none()) {
            auto pts = py::cast<std::vector<std::vector<float>>>(d["landmarks"]);
            if (pts.size() > static_cast<size_t>(facemask::kMaxLandmarks))
              throw py::value_error("at most 6 landmarks");
            br.region.det.num_landmarks = static_cast<int>(pts.size());
            for (size_t k = 0; k < pts.size(); ++k) {
              if (pts[k].size() != 2) throw py::value_error("landmarks must be (x, y) pairs");
              br.region.det.lx[k] = pts[k][0];
              br.region.det.ly[k] = pts[k][1];
            }
          }
          if (d.contains("mask") && !d["mask"].is_none()) {
            auto mk = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(d["mask"]);
            if (!mk || mk.ndim() != 2) throw py::value_error("region mask must be a 2-D float array");
            br.region.mask = mk.data();
            br.region.mask_h = static_cast<int>(mk.shape(0));
            br.region.mask_w = static_cast<int>(mk.shape(1));
            keep.push_back(mk);
          }
          if (d.contains("mask_threshold")) br.mask_threshold = py::cast<float>(d["mask_threshold"]);
          regs.push_back(br);
        }
        facemask::cuda::LaunchStats st;
        std::string err;
        bool ok;
        {
          py::gil_scoped_release nogil;
          std::lock_guard<std::mutex> guard(redactor_mutex());
          facemask::cuda::Redactor& r = redactor();
          r.set_force_multi_launch(multi_launch);
          r.set_timing(timing);
          ok = r.redact(views.data(), static_cast<int>(views.size()), regs.data(), regs.size(), p,
                        reinterpret_cast<facemask::cuda::Stream>(stream), &err, &st);
          if (ok && synchronize) {
            const cudaError_t e = cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream));
            if (e != cudaSuccess) {
              ok = false;
              err = std::string("cudaStreamSynchronize: ") + cudaGetErrorString(e);
            }
          }
        }
        if (!ok) throw std::runtime_error(err);
        py::dict out;
        out["regions"] = st.regions;
        out["regions_drawn"] = st.regions_drawn;
        out["waves"] = st.waves;
        out["launches"] = st.launches;
        out["cooperative"] = st.cooperative;
        out["flat"] = st.flat;
        out["cluster"] = st.cluster;
        out["work_items"] = st.work_items;
        out["upload_bytes"] = st.upload_bytes;
        out["scratch_bytes"] = st.scratch_bytes;
        out["kernel_us"] = st.kernel_us;
        out["host_us"] = st.host_us;
        return out;
#endif
      },
      py::arg("frames"), py::arg("format"), py::arg("regions"), py::kw_only(), py::arg("mode") = "blur",
      py::arg("shape") = "oval", py::arg("strength") = 1.0f, py::arg("margin") = 1.3f, py::arg("feather") = 0.1f,
      py::arg("mask_threshold") = 0.5f, py::arg("fill") = std::vector<int>{0, 0, 0}, py::arg("stream") = 0,
      py::arg("synchronize") = true, py::arg("multi_launch") = false, py::arg("timing") = false,
      R"doc(Redact regions of a batch of frames in place on the GPU (one batched launch; csrc/cuda).

frames: uint8 device array with __cuda_array_interface__ (CuPy array, PyTorch CUDA tensor): (N, H, W, C) or
  (H, W, C) for packed formats (C = bytes per pixel), (N, H, W) for GRAY8, (N, H*3/2, W) for NV12/NV21/I420/YV12.
format: "RGBA", "BGRA", "RGBx", "BGRx", "ARGB", "ABGR", "xRGB", "xBGR", "RGB", "BGR", "NV12", "NV21", "I420",
  "YV12", "GRAY8".
regions: list of dicts {"frame": i, "box": (x1, y1, x2, y2), "landmarks": [(x, y)*5] (optional), "mask":
  2-D float array over the box (optional), "mask_threshold": float (optional)}, frame pixels.
Parameters as the CPU core (csrc/core/redact.hpp). stream: cudaStream_t as int (0 = legacy default stream);
synchronize: wait for the stream before returning; multi_launch: the work-item kernel (pixelate, fill, and blur with
FACEMASK_CUDA_FLAT=0) makes one launch per phase instead of one cooperative launch; timing: measure the launch(es)
with CUDA events (kernel_us; synchronises). Returns launch statistics (flat: blur took the flat path, three plain
launches per dependency wave; cluster: blur took the cluster path, one launch of thread block clusters).)doc");
}

}  // namespace facemask_bind
