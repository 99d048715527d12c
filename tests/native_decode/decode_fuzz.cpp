// Fuzz driver for the core decoders (csrc/core/decode*.cpp, nms.cpp), built by tests/test_decoders.py with
// -fsanitize=address,undefined. Generates valid layouts of every family for random network sizes, then mutates them
// (dims, dtype, dropped/renamed/extra tensors, NaN/Inf/huge values, options) and checks the output contract.
// Every tensor lives in its own exact-size heap buffer so any out-of-bounds read is an ASan report.
// Usage: decode_fuzz <seconds> <seed>; prints "decode_fuzz: <calls> calls, <n> violations, <ok> decoded ..., <d> detections".
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/decode.hpp"
#include "core/nms.hpp"

using namespace facemask;

namespace {
struct Spec {
  std::string name;
  std::vector<int64_t> dims;
};

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

std::vector<Spec> layout(Family f, int W, int H, std::mt19937& rng) {
  std::vector<Spec> s;
  switch (f) {
    case Family::kCenterFace:
      s = {{"537", {1, H / 4, W / 4}}, {"538", {2, H / 4, W / 4}}, {"539", {2, H / 4, W / 4}}, {"540", {10, H / 4, W / 4}}};
      break;
    case Family::kRetinaFace: {
      int64_t n = 0;
      for (int st : {8, 16, 32}) n += cdiv(W, st) * cdiv(H, st) * 2;
      s = {{"loc", {n, 4}}, {"conf", {n, 2}}, {"landms", {n, 10}}};
      break;
    }
    case Family::kScrfd: {
      const bool five = rng() % 2;
      const std::vector<int> st = five ? std::vector<int>{8, 16, 32, 64, 128} : std::vector<int>{8, 16, 32};
      const int A = five ? 1 : 2;
      for (const char* k : {"score", "bbox", "kps"})
        for (int x : st)
          s.push_back({std::string(k) + "_" + std::to_string(x),
                       {cdiv(W, x) * cdiv(H, x) * A, k[0] == 's' ? 1 : k[0] == 'b' ? 4 : 10}});
      break;
    }
    case Family::kYuNet:
      for (const char* k : {"cls", "obj", "bbox", "kps"})
        for (int x : {8, 16, 32})
          s.push_back({std::string(k) + "_" + std::to_string(x),
                       {cdiv(W, x) * cdiv(H, x), k[0] == 'b' ? 4 : k[0] == 'k' ? 10 : 1}});
      break;
    case Family::kYoloV5Face:
      if (rng() % 3 == 0)
        s = {{"boxes", {int64_t(rng() % 500 + 1), 4}}, {"scores", {0, 1}}, {"landmarks", {0, 10}}};
      else
        s = {{"output", {int64_t(rng() % 3000 + 1), 16}}};
      break;
    case Family::kYoloV8Face:
      if (rng() % 3 == 0)
        s = {{"boxes", {int64_t(rng() % 500 + 1), 4}}, {"scores", {0, 1}}, {"landmarks", {0, 15}}};
      else if (rng() % 2)
        s = {{"output0", {20, int64_t(rng() % 3000 + 1)}}};
      else
        s = {{"output0", {int64_t(rng() % 3000 + 1), 20}}};
      break;
    case Family::kBlazeFace: {
      const int64_t n = rng() % 2 ? 896 : 2304;
      s = {{"regressors", {n, 16}}, {"classificators", {n, 1}}};
      break;
    }
  }
  for (auto& t : s)  // split layouts: rows of scores/landmarks follow boxes
    if (t.dims[0] == 0) t.dims[0] = s[0].dims[0];
  return s;
}

uint16_t f2h_bits(float f, std::mt19937& rng) {  // rough: enough for fuzzing (random bits sometimes)
  if (rng() % 50 == 0) return static_cast<uint16_t>(rng());
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const int e = static_cast<int>((x >> 23) & 0xFF) - 127 + 15;
  if (e <= 0) return static_cast<uint16_t>(sign);
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7C00u);
  return static_cast<uint16_t>(sign | (e << 10) | ((x >> 13) & 0x3FFu));
}

std::atomic<long> g_calls{0}, g_viol{0}, g_ok{0}, g_dets{0};

void violation(const char* what, Family f, const std::string& err) {
  ++g_viol;
  std::printf("VIOLATION %s family=%s error='%s'\n", what, family_name(f), err.c_str());
}

void worker(double seconds, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds) {
    const Family fam = static_cast<Family>(rng() % kNumFamilies);
    int W = 32 * static_cast<int>(rng() % 8 + 1), H = 32 * static_cast<int>(rng() % 8 + 1);
    if (fam == Family::kScrfd && rng() % 2) W = H = 128 * static_cast<int>(rng() % 3 + 1);
    std::vector<Spec> specs = layout(fam, W, H, rng);
    const int mut = static_cast<int>(rng() % 10);
    if (mut == 0 && !specs.empty()) specs.erase(specs.begin() + rng() % specs.size());
    if (mut == 1 && !specs.empty()) {
      auto& d = specs[rng() % specs.size()].dims;
      d[rng() % d.size()] += static_cast<int64_t>(rng() % 5) - 2;
    }
    if (mut == 2 && !specs.empty()) specs[rng() % specs.size()].name = std::to_string(rng() % 1000);
    if (mut == 3) specs.push_back({"extra", {int64_t(rng() % 50 + 1), int64_t(rng() % 20 + 1)}});
    if (mut == 4 && !specs.empty()) {
      auto& d = specs[rng() % specs.size()].dims;
      d.insert(d.begin(), 1);
    }
    if (mut == 5 && !specs.empty()) specs[rng() % specs.size()].dims.clear();
    if (mut == 6) {
      W += static_cast<int>(rng() % 9) - 4;
      H += static_cast<int>(rng() % 9) - 4;
    }
    if (mut == 7) for (auto& sp : specs) std::swap(sp, specs[rng() % specs.size()]);
    const bool half = rng() % 2;
    std::vector<std::unique_ptr<unsigned char[]>> bufs;
    std::vector<TensorView> views;
    for (const auto& sp : specs) {
      TensorView v;
      v.name = sp.name;
      v.dims = sp.dims;
      v.dtype = half ? DataType::kHalf : DataType::kFloat;
      if (mut == 8 && rng() % 3 == 0) v.dtype = static_cast<DataType>(rng() % 6);
      int64_t n = 1;
      bool bad = v.dims.empty();
      for (auto d : v.dims) {
        if (d <= 0 || d > 1000000) bad = true;
        n *= std::max<int64_t>(d, 1);
      }
      if (bad || n > 4000000) n = 1;  // such tensors must be rejected before any read
      const size_t esz = v.dtype == DataType::kHalf ? 2 : v.dtype == DataType::kInt64 ? 8
                         : (v.dtype == DataType::kFloat || v.dtype == DataType::kInt32) ? 4 : 1;
      bufs.emplace_back(new unsigned char[static_cast<size_t>(n) * esz]);
      unsigned char* b = bufs.back().get();
      const float hot = u(rng) < 0.5f ? 0.02f : 0.0005f;
      for (int64_t i = 0; i < n; ++i) {
        float x = u(rng) < hot ? u(rng) * 3.f - 0.5f : u(rng) * 0.3f - 0.1f;
        const int k = static_cast<int>(rng() % 400);
        if (k == 0) x = NAN;
        if (k == 1) x = INFINITY;
        if (k == 2) x = -INFINITY;
        if (k == 3) x = 1e30f;
        if (k == 4) x = 200.f;
        if (v.dtype == DataType::kHalf) {
          const uint16_t h = f2h_bits(x, rng);
          std::memcpy(b + i * 2, &h, 2);
        } else if (v.dtype == DataType::kFloat) {
          std::memcpy(b + i * 4, &x, 4);
        } else {
          std::memset(b + i * esz, static_cast<int>(rng() & 0xFF), esz);
        }
      }
      v.data = (mut == 9 && rng() % 4 == 0) ? nullptr : b;
      views.push_back(v);
    }
    DecoderOptions opt;
    if (rng() % 4 == 0) opt.top_k = static_cast<int>(rng() % 5);
    if (rng() % 8 == 0) opt.landmark_order = {4, 3, 2, 1, 0};
    if (rng() % 8 == 0) opt.variant = (const char*[]){"auto", "short", "full", "3", "5", "rows", "channels", "logits", "x"}[rng() % 9];
    if (rng() % 10 == 0) opt.output_names = {"537", "nope"};
    DecodeRequest req{W, H, u(rng) < 0.1f ? 0.f : u(rng), &opt};
    const DecodeResult r = decode(fam, views, req);
    ++g_calls;
    const float thr = opt.score_threshold >= 0 ? opt.score_threshold : req.score_threshold;
    if (!r.error.empty()) {
      if (!r.detections.empty()) violation("detections with error", fam, r.error);
      if (r.error.rfind(family_name(fam), 0) != 0) violation("error does not name the family", fam, r.error);
      continue;
    }
    ++g_ok;
    g_dets += static_cast<long>(r.detections.size());
    for (const auto& d : r.detections) {
      bool ok = std::isfinite(d.x1) && std::isfinite(d.y1) && std::isfinite(d.x2) && std::isfinite(d.y2) &&
                std::isfinite(d.score) && d.x1 >= 0 && d.y1 >= 0 && d.x2 <= W && d.y2 <= H && d.x2 > d.x1 &&
                d.y2 > d.y1 && d.score >= thr && d.num_landmarks >= 0 && d.num_landmarks <= kMaxLandmarks;
      for (int i = 0; i < d.num_landmarks; ++i) ok = ok && std::isfinite(d.lx[i]) && std::isfinite(d.ly[i]);
      if (!ok) violation("bad detection", fam, "");
    }
    for (size_t i = 1; i < r.detections.size(); ++i)
      if (r.detections[i].score > r.detections[i - 1].score) violation("not sorted", fam, "");
    if (opt.top_k > 0 && r.detections.size() > static_cast<size_t>(opt.top_k)) violation("top_k", fam, "");
    const auto keep = nms_indices(r.detections, 0.4f, 0);
    for (int k : keep)
      if (k < 0 || static_cast<size_t>(k) >= r.detections.size()) violation("nms index", fam, "");
  }
}
}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const unsigned seed = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 1u;
  std::thread a(worker, seconds, seed), b(worker, seconds, seed + 1000);  // concurrent calls: reentrancy
  a.join();
  b.join();
  std::printf("decode_fuzz: %ld calls, %ld violations, %ld decoded without error, %ld detections\n", g_calls.load(),
              g_viol.load(), g_ok.load(), g_dets.load());
  return g_viol.load() ? 1 : 0;
}
