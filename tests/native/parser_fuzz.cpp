// Randomised robustness driver for libnvdsinfer_facemask.so, meant to run under ASan + UBSan
// (tests/test_parser_fuzz.py builds it with -DFACEMASK_SANITIZE=address,undefined -DFACEMASK_BUILD_TOOLS=ON).
//
// dlopens the library like nvinfer, looks up all 14 parse functions by name and calls them with random layer sets:
// plausible per-family shapes (often mutated), random names (including null), dims with 0..9 entries, every data
// type value (and invalid ones), NaN/Inf/huge values, null buffers, numElements that disagree with the dims,
// degenerate network sizes and detection params (0 classes, empty / NaN thresholds). Buffers are always exactly
// numElements(product of dims) * elemSize bytes, as nvinfer's are. Checks every output: return value true, boxes
// finite and inside the network input, class 0, scores in [0, 1], masks with mask_size = 4 * w * h and values in
// [0, 1]; masks are freed with delete[] as nvinfer does (LeakSanitizer checks nothing else leaks).
// Usage: parser_fuzz <library.so> [seconds=3] [seed=1]. Exit 0 = no violation (sanitizer reports abort the run).
#define FACEMASK_FORCE_KIT_DECLARATIONS 1
#include "nvds_compat.h"

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

const char* kFamilies[] = {"CenterFace", "RetinaFace", "Scrfd", "YuNet", "YoloV5Face", "YoloV8Face", "BlazeFace"};

const char* kNames[] = {"537",     "538",     "539",    "540",     "heatmap", "scale",   "offset",   "landmarks",
                        "loc",     "conf",    "landms", "score_8", "score_16", "score_32", "bbox_8", "bbox_16",
                        "bbox_32", "kps_8",   "kps_16", "kps_32",  "cls_8",   "cls_16",  "cls_32",   "obj_8",
                        "obj_16",  "obj_32",  "output", "output0", "regressors", "classificators", "", "x"};

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t s) : g(s) {}
  uint64_t u(uint64_t n) { return n ? g() % n : 0; }
  bool p(double prob) { return std::uniform_real_distribution<double>(0, 1)(g) < prob; }
  float f(float a, float b) { return std::uniform_real_distribution<float>(a, b)(g); }
};

struct Tensor {
  std::string name;
  bool null_name = false;
  std::vector<unsigned> dims;
  int dtype = 0;
  bool null_buffer = false;
  bool bad_num_elements = false;
  std::vector<unsigned char> bytes;
};

size_t elem_size(int dtype) {
  switch (dtype) {
    case 0: return 4;
    case 1: return 2;
    case 2: return 1;
    case 3: return 4;
    case 4: return 8;
    case 5: return 1;
    default: return 4;
  }
}

uint16_t float_to_half_bits(float v) {  // crude but total: enough to produce finite/inf/nan halves
  if (std::isnan(v)) return 0x7E00;
  uint32_t b;
  std::memcpy(&b, &v, 4);
  const uint16_t sign = static_cast<uint16_t>((b >> 16) & 0x8000);
  const int e = static_cast<int>((b >> 23) & 0xFF) - 127 + 15;
  if (e >= 31) return sign | 0x7C00;
  if (e <= 0) return sign;
  return static_cast<uint16_t>(sign | (e << 10) | ((b >> 13) & 0x3FF));
}

float random_value(Rng& r, int mode) {
  switch (mode) {
    case 0: return r.f(0.f, 1.f);
    case 1: return r.f(-4.f, 4.f);
    case 2: {
      const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity(), 3.0e38f, -3.0e38f, 0.f, 1.f, 88.8f};
      return specials[r.u(8)];
    }
    default: return r.p(0.01) ? std::numeric_limits<float>::quiet_NaN() : r.f(-50.f, 50.f);
  }
}

void fill(Rng& r, Tensor& t) {
  uint64_t n = 1;
  for (unsigned d : t.dims) n *= d;
  if (t.dims.empty()) n = 0;
  const size_t es = elem_size(t.dtype);
  t.bytes.assign(static_cast<size_t>(n) * es, 0);
  const int mode = static_cast<int>(r.u(4));
  for (uint64_t i = 0; i < n; ++i) {
    const float v = (mode == 2 && !r.p(0.2)) ? r.f(0.f, 1.f) : random_value(r, mode);
    unsigned char* p = t.bytes.data() + i * es;
    switch (t.dtype) {
      case 1: {
        const uint16_t h = float_to_half_bits(v);
        std::memcpy(p, &h, 2);
        break;
      }
      case 0:
      case 3:
      default: std::memcpy(p, &v, 4); break;
      case 2:
      case 5: p[0] = static_cast<unsigned char>(r.u(256)); break;
      case 4: {
        const int64_t x = static_cast<int64_t>(r.u(1000)) - 500;
        std::memcpy(p, &x, 8);
        break;
      }
    }
  }
}

// Plausible layer sets per family for a network of w x h (formulas of face-models.md §2).
std::vector<Tensor> plausible(int fam, unsigned w, unsigned h) {
  std::vector<Tensor> v;
  auto add = [&](const char* name, std::vector<unsigned> dims) {
    Tensor t;
    t.name = name;
    t.dims = std::move(dims);
    v.push_back(std::move(t));
  };
  switch (fam) {
    case 0:
      add("537", {1, h / 4, w / 4});
      add("538", {2, h / 4, w / 4});
      add("539", {2, h / 4, w / 4});
      add("540", {10, h / 4, w / 4});
      break;
    case 1: {
      unsigned n = 0;
      for (unsigned s : {8u, 16u, 32u}) n += 2 * ((h + s - 1) / s) * ((w + s - 1) / s);
      add("loc", {n, 4});
      add("conf", {n, 2});
      add("landms", {n, 10});
      break;
    }
    case 2: {
      const char* sn[] = {"score_8", "score_16", "score_32"};
      const char* bn[] = {"bbox_8", "bbox_16", "bbox_32"};
      const char* kn[] = {"kps_8", "kps_16", "kps_32"};
      unsigned k[3];
      int i = 0;
      for (unsigned s : {8u, 16u, 32u}) k[i++] = 2 * (h / s) * (w / s);
      for (int j = 0; j < 3; ++j) add(sn[j], {k[j], 1});
      for (int j = 0; j < 3; ++j) add(bn[j], {k[j], 4});
      for (int j = 0; j < 3; ++j) add(kn[j], {k[j], 10});
      break;
    }
    case 3: {
      const char* pre[] = {"cls", "obj", "bbox", "kps"};
      const unsigned ch[] = {1, 1, 4, 10};
      for (int r = 0; r < 4; ++r)
        for (unsigned s : {8u, 16u, 32u}) {
          const std::string nm = std::string(pre[r]) + "_" + std::to_string(s);
          Tensor t;
          t.name = nm;
          t.dims = {(h / s) * (w / s), ch[r]};
          v.push_back(t);
        }
      break;
    }
    case 4: {
      unsigned n = 0;
      for (unsigned s : {8u, 16u, 32u}) n += 3 * (h / s) * (w / s);
      add("output", {n, 16});
      break;
    }
    case 5: {
      unsigned n = 0;
      for (unsigned s : {8u, 16u, 32u}) n += (h / s) * (w / s);
      add("output0", {20, n});
      break;
    }
    default: {
      const unsigned n = (w >= 192) ? 2304 : 896;
      add("regressors", {n, 16});
      add("classificators", {n, 1});
      break;
    }
  }
  return v;
}

void mutate(Rng& r, std::vector<Tensor>& v) {
  const int n = static_cast<int>(r.u(4));
  for (int k = 0; k < n && !v.empty(); ++k) {
    Tensor& t = v[r.u(v.size())];
    switch (r.u(9)) {
      case 0: v.erase(v.begin() + static_cast<long>(r.u(v.size()))); break;  // missing layer
      case 1: t.name = kNames[r.u(sizeof(kNames) / sizeof(kNames[0]))]; break;
      case 2: t.null_name = true; break;
      case 3:
        if (!t.dims.empty()) t.dims[r.u(t.dims.size())] = static_cast<unsigned>(r.u(40));
        break;
      case 4: t.dims.push_back(static_cast<unsigned>(1 + r.u(3))); break;
      case 5:
        if (!t.dims.empty()) t.dims.erase(t.dims.begin());
        break;
      case 6: t.dtype = static_cast<int>(r.u(8)) - 1; break;  // includes -1, 6 (invalid)
      case 7: t.null_buffer = true; break;
      default: t.bad_num_elements = true; break;
    }
  }
}

std::vector<Tensor> random_set(Rng& r) {
  std::vector<Tensor> v;
  const int n = static_cast<int>(r.u(14));
  for (int i = 0; i < n; ++i) {
    Tensor t;
    t.name = kNames[r.u(sizeof(kNames) / sizeof(kNames[0]))];
    const int nd = static_cast<int>(r.u(10));  // 9 = more than NVDSINFER_MAX_DIMS
    uint64_t prod = 1;
    for (int d = 0; d < nd; ++d) {
      unsigned e = static_cast<unsigned>(r.u(r.p(0.3) ? 3000 : 40));
      if (prod * (e ? e : 1) > 300000) e = 1;
      prod *= (e ? e : 1);
      t.dims.push_back(e);
    }
    t.dtype = r.p(0.7) ? static_cast<int>(r.u(2)) : static_cast<int>(r.u(8)) - 1;
    t.null_buffer = r.p(0.05);
    v.push_back(std::move(t));
  }
  return v;
}

struct Fns {
  NvDsInferParseCustomFunc bbox[7];
  NvDsInferInstanceMaskParseCustomFunc mask[7];
};

std::atomic<int> g_violations{0};

void violation(const char* fn, const std::string& what) {
  std::fprintf(stderr, "VIOLATION in %s: %s\n", fn, what.c_str());
  ++g_violations;
}

void run_one(Rng& r, const Fns& fns) {
  const int fam = static_cast<int>(r.u(7));
  const bool mask = r.p(0.5);
  unsigned w, h;
  switch (r.u(5)) {
    case 0: w = 0; h = static_cast<unsigned>(r.u(64)); break;
    case 1: w = 32u * static_cast<unsigned>(1 + r.u(6)); h = 32u * static_cast<unsigned>(1 + r.u(6)); break;
    case 2: w = h = (fam == 6) ? (r.p(0.5) ? 128u : 192u) : 64u; break;
    case 3: w = static_cast<unsigned>(r.u(100000)); h = static_cast<unsigned>(r.u(100000)); break;
    default: w = static_cast<unsigned>(1 + r.u(200)); h = static_cast<unsigned>(1 + r.u(200)); break;
  }
  std::vector<Tensor> ts;
  if (r.p(0.75)) {
    const unsigned pw = (w >= 32 && w <= 256) ? w : 64, ph = (h >= 32 && h <= 256) ? h : 64;
    ts = plausible(r.p(0.85) ? fam : static_cast<int>(r.u(7)), pw, ph);
    for (auto& t : ts) t.dtype = r.p(0.8) ? 0 : 1;
    if (r.p(0.6)) mutate(r, ts);
  } else {
    ts = random_set(r);
  }
  // Buffers sized exactly by the dims (as nvinfer's are); skip absurd sizes.
  std::vector<NvDsInferLayerInfo> layers;
  for (auto& t : ts) {
    if (t.dims.size() <= NVDSINFER_MAX_DIMS) {
      uint64_t n = t.dims.empty() ? 0 : 1;
      for (unsigned d : t.dims) n *= d;
      if (n > 400000) continue;
      fill(r, t);
    }
    NvDsInferLayerInfo li{};
    std::memcpy(&li.dataType, &t.dtype, sizeof(int));  // may be out of the enum's range on purpose
    li.inferDims.numDims = static_cast<unsigned>(t.dims.size());
    uint64_t n = 1;
    for (size_t k = 0; k < t.dims.size() && k < NVDSINFER_MAX_DIMS; ++k) {
      li.inferDims.d[k] = t.dims[k];
      n *= t.dims[k];
    }
    li.inferDims.numElements = static_cast<unsigned>(t.dims.empty() ? 0 : n);
    if (t.bad_num_elements) li.inferDims.numElements += 1 + static_cast<unsigned>(r.u(5));
    li.layerName = t.null_name ? nullptr : t.name.c_str();
    li.buffer = (t.null_buffer || t.bytes.empty()) ? nullptr : t.bytes.data();
    layers.push_back(li);
  }
  NvDsInferNetworkInfo net{w, h, 3};
  NvDsInferParseDetectionParams params;
  params.numClassesConfigured = r.p(0.1) ? 0u : static_cast<unsigned>(1 + r.u(3));
  switch (r.u(5)) {
    case 0: break;  // empty: the family fallback
    case 1: params.perClassPreclusterThreshold = {std::numeric_limits<float>::quiet_NaN()}; break;
    case 2: params.perClassPreclusterThreshold = {r.f(-1.f, 2.f)}; break;
    default: params.perClassPreclusterThreshold = {r.f(0.05f, 0.9f), 0.5f}; break;
  }
  if (r.p(0.5)) params.perClassPostclusterThreshold = {0.3f};
  const float W = static_cast<float>(w), H = static_cast<float>(h);
  auto check_box = [&](const char* fn, unsigned cls, float l, float t, float bw, float bh, float s) {
    if (cls != 0) violation(fn, "class " + std::to_string(cls));
    if (!(std::isfinite(l) && std::isfinite(t) && std::isfinite(bw) && std::isfinite(bh)))
      violation(fn, "non-finite box");
    if (l < 0 || t < 0 || bw < 0 || bh < 0 || l + bw > W * 1.0001f + 1e-3f || t + bh > H * 1.0001f + 1e-3f)
      violation(fn, "box outside the network input");
    if (!(s >= 0.f && s <= 1.f)) violation(fn, "score " + std::to_string(s));
  };
  if (mask) {
    std::vector<NvDsInferInstanceMaskInfo> out;
    const bool ok = fns.mask[fam](layers, net, params, out);
    const std::string fn = std::string("NvDsInferParse") + kFamilies[fam] + "Mask";
    if (!ok) violation(fn.c_str(), "returned false");
    for (auto& m : out) {
      check_box(fn.c_str(), m.classId, m.left, m.top, m.width, m.height, m.detectionConfidence);
      const size_t n = static_cast<size_t>(m.mask_width) * m.mask_height;
      if (!m.mask || n == 0 || m.mask_size != n * sizeof(float)) violation(fn.c_str(), "bad mask size");
      for (size_t i = 0; m.mask && i < n; ++i)
        if (!(m.mask[i] >= 0.f && m.mask[i] <= 1.f)) {
          violation(fn.c_str(), "mask value outside [0, 1]");
          break;
        }
      delete[] m.mask;
    }
  } else {
    std::vector<NvDsInferObjectDetectionInfo> out;
    const bool ok = fns.bbox[fam](layers, net, params, out);
    const std::string fn = std::string("NvDsInferParse") + kFamilies[fam];
    if (!ok) violation(fn.c_str(), "returned false");
    for (auto& o : out) {
      check_box(fn.c_str(), o.classId, o.left, o.top, o.width, o.height, o.detectionConfidence);
#if FACEMASK_DS_HAS_ROTATION_ANGLE
      if (o.rotation_angle != 0.f) violation(fn.c_str(), "rotation_angle not 0");
#endif
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <libnvdsinfer_facemask.so> [seconds=3] [seed=1]\n", argv[0]);
    return 2;
  }
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  const uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  void* h = dlopen(argv[1], RTLD_LAZY);
  if (!h) {
    std::fprintf(stderr, "dlopen failed: %s\n", dlerror());
    return 2;
  }
  Fns fns{};
  for (int i = 0; i < 7; ++i) {
    const std::string b = std::string("NvDsInferParse") + kFamilies[i];
    fns.bbox[i] = reinterpret_cast<NvDsInferParseCustomFunc>(dlsym(h, b.c_str()));
    fns.mask[i] = reinterpret_cast<NvDsInferInstanceMaskParseCustomFunc>(dlsym(h, (b + "Mask").c_str()));
    if (!fns.bbox[i] || !fns.mask[i]) {
      std::fprintf(stderr, "missing symbol %s or %sMask\n", b.c_str(), b.c_str());
      return 2;
    }
  }
  // Two threads call concurrently (several nvinfer instances share one library), each with its own generator.
  long iterations[2] = {0, 0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  auto worker = [&](int id) {
    Rng r(seed * 2 + static_cast<uint64_t>(id));
    while (std::chrono::steady_clock::now() < deadline && iterations[id] < 2000000) {
      run_one(r, fns);
      ++iterations[id];
    }
  };
  std::thread t1(worker, 0), t2(worker, 1);
  t1.join();
  t2.join();
  std::printf("parser_fuzz: %ld calls, %d violations\n", iterations[0] + iterations[1], g_violations.load());
  return g_violations == 0 ? 0 : 1;
}
