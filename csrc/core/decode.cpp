// Decoder dispatcher and the helpers every family shares: family names, dtype reading (FP16 -> float), layer lookup,
// dims validation, clamping, landmark order, score threshold and top-k. Family formulas live in decode_<family>.cpp.
#include "core/decode.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <vector>

#include "core/decode_internal.hpp"

namespace facemask {

namespace {
struct FamilyEntry {
  Family f;
  const char* name;
};
constexpr FamilyEntry kFamilies[kNumFamilies] = {
    {Family::kCenterFace, "CenterFace"}, {Family::kRetinaFace, "RetinaFace"}, {Family::kScrfd, "Scrfd"},
    {Family::kYuNet, "YuNet"},           {Family::kYoloV5Face, "YoloV5Face"}, {Family::kYoloV8Face, "YoloV8Face"},
    {Family::kBlazeFace, "BlazeFace"},
};

std::string lower_alnum(const std::string& s) {
  std::string o;
  for (char ch : s)
    if (std::isalnum(static_cast<unsigned char>(ch))) o += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return o;
}
}  // namespace

const char* family_name(Family f) {
  for (const auto& e : kFamilies)
    if (e.f == f) return e.name;
  return "Unknown";
}

bool family_from_name(const std::string& name, Family* out) {
  // Exact names first, then a forgiving match ("centerface", "yolov5-face", "YOLOV8_FACE", "scrfd").
  for (const auto& e : kFamilies)
    if (name == e.name) {
      if (out) *out = e.f;
      return true;
    }
  const std::string key = lower_alnum(name);
  if (key.empty()) return false;
  for (const auto& e : kFamilies)
    if (key == lower_alnum(e.name)) {
      if (out) *out = e.f;
      return true;
    }
  return false;
}

namespace detail {

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t man = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1Fu) {  // inf / NaN (payload kept, quiet bit set by the shift)
    bits = sign | 0x7F800000u | (man << 13);
  } else if (exp != 0) {  // normal
    bits = sign | ((exp + 112u) << 23) | (man << 13);
  } else if (man == 0) {  // +-0
    bits = sign;
  } else {  // subnormal: normalise
    int e = -1;
    do {
      ++e;
      man <<= 1;
    } while ((man & 0x400u) == 0);
    man &= 0x3FFu;
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

namespace {

// next_block_at_least / next_block_half_at_least, written once and compiled for the baseline and AVX2 (compares
// and ors only: same result).
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline)) inline
#else
inline
#endif
int64_t next_block_impl(const float* p, int64_t k, int64_t n, float thr) {
  constexpr int64_t kBlock = 32;
  // two blocks per step (half the branches: the AVX2 copy reads an empty 102 KB heatmap in 0.97 instead of 1.13 us,
  // scripts/bench_row_scan.cpp, the plain read taking 0.90), then single blocks
  for (; k + 2 * kBlock <= n; k += 2 * kBlock) {
    const float* q = p + k;
    int any = 0;
    for (int64_t j = 0; j < 2 * kBlock; ++j) any |= static_cast<int>(q[j] >= thr);
    if (any) {
      int lo = 0;
      for (int64_t j = 0; j < kBlock; ++j) lo |= static_cast<int>(q[j] >= thr);
      return lo ? k : k + kBlock;
    }
  }
  for (; k + kBlock <= n; k += kBlock) {
    const float* q = p + k;
    int any = 0;
    for (int64_t j = 0; j < kBlock; ++j) any |= static_cast<int>(q[j] >= thr);
    if (any) return k;
  }
  return k;
}

template <int64_t S>  // S > 0: the stride as a constant; 0: `step`
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline)) inline
#else
inline
#endif
int64_t next_half_impl(const uint16_t* p, int64_t k, int64_t n, int64_t step, uint16_t tb, uint16_t span) {
  constexpr int64_t kBlock = 32;
  const int64_t st = S > 0 ? S : step;
  for (; k + kBlock <= n; k += kBlock) {
    const uint16_t* q = p + k * st;
    unsigned any = 0;
    for (int64_t j = 0; j < kBlock; ++j) any |= static_cast<unsigned>(static_cast<uint16_t>(q[j * st] - tb) <= span);
    if (any) return k;
  }
  return k;
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline)) inline
#else
inline
#endif
int64_t next_half_any(const uint16_t* p, int64_t k, int64_t n, int64_t step, uint16_t tb, uint16_t span) {
  if (step == 1) return next_half_impl<1>(p, k, n, step, tb, span);
  if (step == 2) return next_half_impl<2>(p, k, n, step, tb, span);  // RetinaFace conf [N,2]
  if (step == 16) return next_half_impl<16>(p, k, n, step, tb, span);
  return next_half_impl<0>(p, k, n, step, tb, span);
}

int64_t next_block_generic(const float* p, int64_t k, int64_t n, float thr) { return next_block_impl(p, k, n, thr); }
int64_t next_half_generic(const uint16_t* p, int64_t k, int64_t n, int64_t step, uint16_t tb, uint16_t span) {
  return next_half_any(p, k, n, step, tb, span);
}

using NextBlockFn = int64_t (*)(const float*, int64_t, int64_t, float);
using NextHalfFn = int64_t (*)(const uint16_t*, int64_t, int64_t, int64_t, uint16_t, uint16_t);

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(__AVX2__)
__attribute__((target("avx2"))) int64_t next_block_avx2(const float* p, int64_t k, int64_t n, float thr) {
  return next_block_impl(p, k, n, thr);
}
__attribute__((target("avx2"))) int64_t next_half_avx2(const uint16_t* p, int64_t k, int64_t n, int64_t step,
                                                        uint16_t tb, uint16_t span) {
  // other strides: the baseline copy (the AVX2 compilation of the run-time stride loop was measured slower)
  if (step == 1) return next_half_impl<1>(p, k, n, step, tb, span);
  if (step == 2) return next_half_impl<2>(p, k, n, step, tb, span);
  if (step == 16) return next_half_impl<16>(p, k, n, step, tb, span);
  return next_half_generic(p, k, n, step, tb, span);
}
NextBlockFn pick_next_block() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") ? next_block_avx2 : next_block_generic;
}
NextHalfFn pick_next_half() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") ? next_half_avx2 : next_half_generic;
}
#else
NextBlockFn pick_next_block() { return next_block_generic; }
NextHalfFn pick_next_half() { return next_half_generic; }
#endif

}  // namespace

int64_t next_block_at_least(const float* p, int64_t k, int64_t n, float thr) {
  static const NextBlockFn fn = pick_next_block();
  return fn(p, k, n, thr);
}

int64_t next_block_half_at_least(const uint16_t* p, int64_t k, int64_t n, int64_t step, uint16_t tb, uint16_t span) {
  static const NextHalfFn fn = pick_next_half();
  return fn(p, k, n, step, tb, span);
}

uint16_t half_bits_at_least(float thr) {
  // Non-negative halves are ordered like their bit patterns: binary search the first one >= thr in [0, 0x7C00].
  uint32_t lo = 0, hi = 0x7C00;  // half_to_float(0x7C00) = +inf >= any thr
  while (lo < hi) {
    const uint32_t mid = (lo + hi) / 2;
    if (half_to_float(static_cast<uint16_t>(mid)) >= thr)
      hi = mid;
    else
      lo = mid + 1;
  }
  return static_cast<uint16_t>(lo);
}

const char* dtype_name(DataType t) {
  switch (t) {
    case DataType::kFloat: return "FLOAT";
    case DataType::kHalf: return "HALF";
    case DataType::kInt8: return "INT8";
    case DataType::kInt32: return "INT32";
    case DataType::kInt64: return "INT64";
    case DataType::kUInt8: return "UINT8";
  }
  return "UNKNOWN";
}

std::string dims_str(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

bool Ctx::fail(const std::string& msg) {
  if (res && res->error.empty()) res->error = std::string(fam) + ": " + msg;
  return false;
}

namespace {
std::string available(const std::vector<TensorView>& outs) {
  std::string s;
  for (const auto& t : outs) {
    if (!s.empty()) s += ", ";
    s += "'" + t.name + "' " + dims_str(t.dims);
  }
  return s.empty() ? "none" : s;
}
}  // namespace

bool find_by_name(Ctx& c, const std::vector<Role>& roles, std::vector<int>* idx) {
  const auto& outs = *c.outputs;
  idx->assign(roles.size(), -1);
  const auto& names = c.opt->output_names;
  for (size_t j = 0; j < roles.size(); ++j) {
    if (j < names.size() && !names[j].empty()) {  // explicit override: must exist
      for (size_t i = 0; i < outs.size(); ++i)
        if (outs[i].name == names[j]) (*idx)[j] = static_cast<int>(i);
      if ((*idx)[j] < 0)
        return c.fail("layer '" + names[j] + "' (" + roles[j].role + ", from output_names) not found; outputs: " +
                      available(outs));
      continue;
    }
    for (const char* a : roles[j].aliases) {
      for (size_t i = 0; i < outs.size() && (*idx)[j] < 0; ++i)
        if (outs[i].name == a) (*idx)[j] = static_cast<int>(i);
      if ((*idx)[j] >= 0) break;
    }
  }
  return true;
}

std::vector<int64_t> squeeze_leading(const std::vector<int64_t>& dims, int rank) {
  std::vector<int64_t> d = dims;
  while (static_cast<int>(d.size()) > rank && rank > 0 && d.front() == 1) d.erase(d.begin());
  return d;
}

bool check_tensor(Ctx& c, const TensorView& t, const char* role, int rank, std::vector<int64_t>* dims_out) {
  auto who = [&] { return "layer '" + t.name + "' (" + role + ")"; };  // built only for a message
  if (t.dtype != DataType::kFloat && t.dtype != DataType::kHalf)
    return c.fail(who() + ": data type " + dtype_name(t.dtype) +
                  " is not supported (FLOAT or HALF only; build the engine with float outputs)");
  if (t.dims.empty() || t.dims.size() > 8) return c.fail(who() + ": bad rank " + std::to_string(t.dims.size()));
  int64_t n = 1;
  for (auto d : t.dims) {
    if (d <= 0) return c.fail(who() + ": non-positive dimension in " + dims_str(t.dims));
    if (d > (int64_t(1) << 40) / n) return c.fail(who() + ": dims " + dims_str(t.dims) + " too large");
    n *= d;
  }
  if (!t.data) return c.fail(who() + ": null data pointer");
  std::vector<int64_t> d = squeeze_leading(t.dims, rank);
  if (rank > 0 && static_cast<int>(d.size()) != rank)
    return c.fail(who() + ": expected rank " + std::to_string(rank) + " (batch removed), got dims " + dims_str(t.dims));
  if (dims_out) *dims_out = std::move(d);
  return true;
}

bool mat_dims(Ctx& c, const TensorView& t, const char* role, int64_t* rows, int64_t* cols) {
  std::vector<int64_t> d;
  if (!check_tensor(c, t, role, -1, &d)) return false;
  d = squeeze_leading(d, 2);
  if (d.size() == 1) d.push_back(1);
  if (d.size() != 2)
    return c.fail("layer '" + t.name + "' (" + role + "): expected a [rows, cols] matrix (batch removed), got dims " +
                  dims_str(t.dims));
  *rows = d[0];
  *cols = d[1];
  return true;
}

std::string outputs_str(const std::vector<TensorView>& outs) { return available(outs); }

int take_matrix(const std::vector<TensorView>& outs, std::vector<bool>& used, int64_t rows, int64_t cols) {
  for (size_t i = 0; i < outs.size(); ++i) {
    if (used[i]) continue;
    std::vector<int64_t> d = squeeze_leading(outs[i].dims, 2);
    if (d.size() == 1) d.push_back(1);
    if (d.size() == 2 && (rows < 0 || d[0] == rows) && d[1] == cols) {
      used[i] = true;
      return static_cast<int>(i);
    }
  }
  return -1;
}

float logit_threshold(float thr) {
  if (!(thr > 0.f)) return -std::numeric_limits<float>::infinity();
  if (thr >= 1.f) return std::numeric_limits<float>::infinity();
  // Slightly lower than the exact logit so float rounding of sigmoid never drops a candidate; exact check follows.
  return std::log(thr / (1.f - thr)) - 1e-4f;
}

void emit(Ctx& c, float x1, float y1, float x2, float y2, float score, int n_lm, const float* lx, const float* ly) {
  if (!(finite(x1) && finite(y1) && finite(x2) && finite(y2) && finite(score))) {
    ++c.skipped_nonfinite;
    return;
  }
  for (int i = 0; i < n_lm; ++i)
    if (!(finite(lx[i]) && finite(ly[i]))) {
      ++c.skipped_nonfinite;
      return;
    }
  const float W = static_cast<float>(c.net_w), H = static_cast<float>(c.net_h);
  Detection d;
  d.x1 = std::min(std::max(x1, 0.f), W);
  d.y1 = std::min(std::max(y1, 0.f), H);
  d.x2 = std::min(std::max(x2, 0.f), W);
  d.y2 = std::min(std::max(y2, 0.f), H);
  if (!(d.x2 > d.x1 && d.y2 > d.y1)) return;  // empty after clamping: nothing of it is inside the network input
  d.score = score;
  d.class_id = 0;
  const auto& order = c.opt->landmark_order;
  if (!order.empty() && n_lm > 0) {
    if (static_cast<int>(order.size()) != n_lm) {
      c.fail("landmark_order has " + std::to_string(order.size()) + " entries, the model gives " +
             std::to_string(n_lm) + " points");
      return;
    }
    for (int i = 0; i < n_lm; ++i) {
      if (order[i] < 0 || order[i] >= n_lm) {
        c.fail("landmark_order entry " + std::to_string(order[i]) + " out of range [0," + std::to_string(n_lm) + ")");
        return;
      }
      d.lx[i] = lx[order[i]];
      d.ly[i] = ly[order[i]];
    }
  } else {
    for (int i = 0; i < n_lm && i < kMaxLandmarks; ++i) {
      d.lx[i] = lx[i];
      d.ly[i] = ly[i];
    }
  }
  d.num_landmarks = std::min(n_lm, kMaxLandmarks);
  c.res->detections.push_back(d);
}

}  // namespace detail

DecodeResult decode(Family family, const std::vector<TensorView>& outputs, const DecodeRequest& req) {
  DecodeResult res;
  static const DecoderOptions kDefaults{};  // immutable after construction (thread-safe static init)
  detail::Ctx c;
  c.family = family;
  c.fam = family_name(family);
  c.outputs = &outputs;
  c.res = &res;
  c.opt = req.options ? req.options : &kDefaults;
  c.net_w = req.net_width;
  c.net_h = req.net_height;
  c.thr = c.opt->score_threshold >= 0.f ? c.opt->score_threshold : req.score_threshold;
  c.top_k = c.opt->top_k;
  try {
    if (req.net_width <= 0 || req.net_height <= 0 || req.net_width > 32768 || req.net_height > 32768) {
      c.fail("bad network size " + std::to_string(req.net_width) + "x" + std::to_string(req.net_height));
      return res;
    }
    if (std::isnan(c.thr)) {
      c.fail("score threshold is NaN");
      return res;
    }
    bool ok = false;
    switch (family) {
      case Family::kCenterFace: ok = detail::decode_centerface(c); break;
      case Family::kRetinaFace: ok = detail::decode_retinaface(c); break;
      case Family::kScrfd: ok = detail::decode_scrfd(c); break;
      case Family::kYuNet: ok = detail::decode_yunet(c); break;
      case Family::kYoloV5Face: ok = detail::decode_yolov5face(c); break;
      case Family::kYoloV8Face: ok = detail::decode_yolov8face(c); break;
      case Family::kBlazeFace: ok = detail::decode_blazeface(c); break;
      default: c.fail("unknown family id " + std::to_string(static_cast<int>(family))); break;
    }
    if (!ok || !res.error.empty()) {
      if (res.error.empty()) c.fail("decode failed");
      res.detections.clear();
      return res;
    }
    auto& dets = res.detections;
    auto by_score = [](const Detection& a, const Detection& b) { return a.score > b.score; };
    // Highest score first; ties keep the decoder's scan order, so results are deterministic. Then the top-k cap.
    std::stable_sort(dets.begin(), dets.end(), by_score);
    if (c.top_k > 0 && dets.size() > static_cast<size_t>(c.top_k)) dets.resize(static_cast<size_t>(c.top_k));
    res.skipped_nonfinite = c.skipped_nonfinite;
  } catch (const std::exception& e) {  // only std::bad_alloc is possible; never let it cross the ABI edge
    res.detections.clear();
    res.error = std::string(c.fam) + ": internal error: " + e.what();
  } catch (...) {
    res.detections.clear();
    res.error = std::string(c.fam) + ": internal error";
  }
  return res;
}

}  // namespace facemask
