// Per-face cost of rasterize_face_oval (the 32x32 instance mask of the nvinfer ...Mask parse functions) and of
// nms_indices on 50 boxes, standalone (docs/benchmarks.md, "nvinfer parse functions"). Links the core sources given on
// the command line, so an older revision can be timed side by side:
//   g++ -std=c++17 -O3 -DNDEBUG -fno-math-errno -fno-trapping-math -Icsrc scripts/bench_mask_raster.cpp
//       csrc/core/shapes.cpp csrc/core/nms.cpp -o /tmp/bmr && /tmp/bmr
// (shapes.cpp's own flags as in csrc/core/CMakeLists.txt)
//   git show <rev>:csrc/core/shapes.cpp > /tmp/shapes_old.cpp; git show <rev>:csrc/core/nms.cpp > /tmp/nms_old.cpp
//   (then the same command with those two files, plus -DBMR_NO_BATCH for revisions before rasterize_face_ovals)
// Inputs: 50 face-shaped detections (box 20-170 px, height 1.0-1.4 x width, five plausible landmarks with a roll of
// up to +-0.2 rad) and 50 random ones (sides 10-600 px independently, random landmarks); masks written to 50
// separate buffers (as the parse functions do), one call per face (rasterize_face_oval) and all 50 in one call
// (rasterize_face_ovals, what the parse functions use). NMS: 50 boxes of 10-60 px in 600x600 (few overlaps) and 50 of
// 10-310 px (many). Median of 4000 repetitions.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "core/nms.hpp"
#include "core/shapes.hpp"

using namespace facemask;
using clk = std::chrono::steady_clock;

static std::vector<Detection> detections(bool face_shaped, int n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> U(0, 1);
  std::vector<Detection> v;
  for (int i = 0; i < n; ++i) {
    Detection d;
    const float w = face_shaped ? 20 + 150 * U(g) : 10 + 590 * U(g);
    const float h = face_shaped ? w * (1.0f + 0.4f * U(g)) : 10 + 590 * U(g);
    d.x1 = 640 * U(g);
    d.y1 = 640 * U(g);
    d.x2 = d.x1 + w;
    d.y2 = d.y1 + h;
    d.num_landmarks = 5;
    if (face_shaped) {
      const float roll = (U(g) - 0.5f) * 0.4f, cx = d.x1 + 0.5f * w, cy = d.y1 + 0.4f * h, r = 0.2f * w;
      d.lx[0] = cx - r * std::cos(roll);
      d.ly[0] = cy - r * std::sin(roll);
      d.lx[1] = cx + r * std::cos(roll);
      d.ly[1] = cy + r * std::sin(roll);
      d.lx[2] = cx;
      d.ly[2] = d.y1 + 0.55f * h;
      d.lx[3] = cx - 0.15f * w;
      d.ly[3] = d.y1 + 0.72f * h;
      d.lx[4] = cx + 0.15f * w;
      d.ly[4] = d.y1 + 0.72f * h;
    } else {
      for (int k = 0; k < 5; ++k) {
        d.lx[k] = d.x1 + w * U(g);
        d.ly[k] = d.y1 + h * U(g);
      }
    }
    d.score = 0.6f + 0.4f * U(g);
    v.push_back(d);
  }
  return v;
}

template <class F>
static double median_us(F f, int reps) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto a = clk::now();
    f();
    t.push_back(std::chrono::duration<double, std::micro>(clk::now() - a).count());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

int main() {
  const int n = 50;
  static float buf[50][32 * 32];
  volatile float sink = 0;
  for (int kind = 0; kind < 2; ++kind) {
    const auto dets = detections(kind == 0, n, 1 + kind);
    const double us = median_us([&] {
      for (int i = 0; i < n; ++i) rasterize_face_oval(dets[i], 32, 32, buf[i]);
      sink = sink + buf[n / 2][500];
    }, 4000);
    std::printf("rasterize_face_oval 32x32, %s detections: %.3f us per face\n", kind == 0 ? "face-shaped" : "random",
                us / n);
#ifndef BMR_NO_BATCH
    const Detection* dp[50];
    float* op[50];
    for (int i = 0; i < n; ++i) {
      dp[i] = &dets[i];
      op[i] = buf[i];
    }
    const double ub = median_us([&] {
      rasterize_face_ovals(dp, n, 32, 32, op);
      sink = sink + buf[n / 2][500];
    }, 4000);
    std::printf("rasterize_face_ovals 32x32, %s detections, 50 per call: %.3f us per face\n",
                kind == 0 ? "face-shaped" : "random", ub / n);
#endif
  }
  for (int kind = 0; kind < 2; ++kind) {
    std::mt19937 g(5 + kind);
    std::uniform_real_distribution<float> U(0, 1);
    std::vector<Detection> d(n);
    for (auto& x : d) {
      x.x1 = 600 * U(g);
      x.y1 = 600 * U(g);
      const float s = kind == 0 ? 10 + 50 * U(g) : 10 + 300 * U(g);
      x.x2 = x.x1 + s;
      x.y2 = x.y1 + (kind == 0 ? 1.2f * s : 10 + 300 * U(g));
      x.score = 0.6f + 0.4f * U(g);
    }
    size_t kept = 0;
    const double us = median_us([&] { kept = nms_indices(d, 0.4f, 0).size(); }, 4000);
    std::printf("nms_indices, 50 %s boxes (IoU 0.4, %zu kept): %.2f us\n", kind == 0 ? "small" : "large", kept, us);
  }
  return 0;
}
