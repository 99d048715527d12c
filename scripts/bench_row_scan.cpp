// Row-scan floor for the YOLOv5-Face [25200,16] float32 layout (docs/benchmarks.md, "Core face decoders"): the
// objectness of each candidate is column 4 of its own 64-byte row, so every decode touches 25200 cache lines
// (1.61 MB). Times the scan as csrc/core/decode_internal.hpp for_each_at_least does it (blocks of 32 strided loads,
// branch-free "any?" test) against variants: software prefetch 8/32/64 rows ahead, a 4-accumulator max, the bare
// one-load-per-line loop (the floor) and a sequential read of all 1.61 MB; hot, and with L2 evicted before each call.
// Second part: the contiguous 160x160 float32 heatmap of CenterFace at 640x640 (100 KB): the block scan of
// next_block_at_least (decode.cpp) in its baseline (SSE2) and AVX2 copies, before (one block of 32 per step) and
// now (two per step), against a plain AVX2 read of the map.
// Standalone (no project code; the scan is re-stated here to compare variants side by side):
//   g++ -std=c++17 -O3 -DNDEBUG scripts/bench_row_scan.cpp -o /tmp/bench_row_scan && /tmp/bench_row_scan
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

using clk = std::chrono::steady_clock;
static const long N = 25200;   // rows of a 640x640 YOLOv5-Face export
static const long kStep = 16;  // floats per row

// as for_each_at_least (float32, strided column)
__attribute__((noinline)) long scan_current(const float* p, float thr) {
  long hits = 0, k = 0;
  for (; k + 32 <= N; k += 32) {
    const float* q = p + 4 + k * kStep;
    int any = 0;
    for (int j = 0; j < 32; ++j) any |= static_cast<int>(q[j * kStep] >= thr);
    if (!any) continue;
    for (int j = 0; j < 32; ++j)
      if (q[j * kStep] >= thr) ++hits;
  }
  for (; k < N; ++k)
    if (p[4 + k * kStep] >= thr) ++hits;
  return hits;
}

// the same loop compiled for AVX2 (the decoders pick AVX2 copies for contiguous and float16 scans)
__attribute__((noinline, target("avx2"))) long scan_current_avx2(const float* p, float thr) {
  long hits = 0, k = 0;
  for (; k + 32 <= N; k += 32) {
    const float* q = p + 4 + k * kStep;
    int any = 0;
    for (int j = 0; j < 32; ++j) any |= static_cast<int>(q[j * kStep] >= thr);
    if (!any) continue;
    for (int j = 0; j < 32; ++j)
      if (q[j * kStep] >= thr) ++hits;
  }
  for (; k < N; ++k)
    if (p[4 + k * kStep] >= thr) ++hits;
  return hits;
}

template <int D>
__attribute__((noinline)) long scan_prefetch(const float* p, float thr) {
  long hits = 0, k = 0;
  for (; k + 32 <= N; k += 32) {
    const float* q = p + 4 + k * kStep;
    int any = 0;
    for (int j = 0; j < 32; ++j) {
      __builtin_prefetch(q + (j + D) * kStep);
      any |= static_cast<int>(q[j * kStep] >= thr);
    }
    if (!any) continue;
    for (int j = 0; j < 32; ++j)
      if (q[j * kStep] >= thr) ++hits;
  }
  for (; k < N; ++k)
    if (p[4 + k * kStep] >= thr) ++hits;
  return hits;
}

__attribute__((noinline)) long scan_max4(const float* p, float thr) {
  long hits = 0, k = 0;
  for (; k + 64 <= N; k += 64) {
    const float* q = p + 4 + k * kStep;
    float m0 = -1, m1 = -1, m2 = -1, m3 = -1;
    for (int j = 0; j < 64; j += 4) {
      m0 = std::max(m0, q[j * kStep]);
      m1 = std::max(m1, q[(j + 1) * kStep]);
      m2 = std::max(m2, q[(j + 2) * kStep]);
      m3 = std::max(m3, q[(j + 3) * kStep]);
    }
    if (std::max(std::max(m0, m1), std::max(m2, m3)) < thr) continue;
    for (int j = 0; j < 64; ++j)
      if (q[j * kStep] >= thr) ++hits;
  }
  for (; k < N; ++k)
    if (p[4 + k * kStep] >= thr) ++hits;
  return hits;
}

__attribute__((noinline)) long touch_lines(const float* p) {  // one load per row: the floor
  long s = 0;
  for (long i = 0; i < N; ++i) s += reinterpret_cast<const int*>(p)[i * kStep + 4];
  return s;
}

// S independent streams over S contiguous parts of the rows (more misses in flight; the hardware prefetcher follows
// each), optionally with a software prefetch D rows ahead in each stream
template <int S, int D>
__attribute__((noinline)) long touch_streams(const float* p) {
  long s = 0;
  const long part = N / S;
  for (long i = 0; i < part; ++i)
    for (int t = 0; t < S; ++t) {
      const long r = t * part + i;
      if (D > 0 && r + D < N) __builtin_prefetch(p + (r + D) * kStep);
      s += reinterpret_cast<const int*>(p)[r * kStep + 4];
    }
  for (long r = S * part; r < N; ++r) s += reinterpret_cast<const int*>(p)[r * kStep + 4];
  return s;
}

__attribute__((noinline)) float read_all(const float* p) {
  float s[16] = {0};
  for (long i = 0; i < N * kStep; i += 16)
    for (int j = 0; j < 16; ++j) s[j] += p[i + j];
  float t = 0;
  for (float v : s) t += v;
  return t;
}


// ---- contiguous heatmap (CenterFace 640x640: 160x160 float32, 100 KB) ----
static const long HM = 160 * 160;

template <int B>
static inline __attribute__((always_inline)) long hm_blocks(const float* p, float thr) {
  long hits = 0, k = 0;
  for (; k + B <= HM; k += B) {
    const float* q = p + k;
    int any = 0;
    for (int j = 0; j < B; ++j) any |= static_cast<int>(q[j] >= thr);
    if (!any) continue;
    for (int j = 0; j < B; ++j)
      if (q[j] >= thr) ++hits;
  }
  for (; k < HM; ++k)
    if (p[k] >= thr) ++hits;
  return hits;
}
// the decoders' next_block_at_least now: two blocks of 32 tested per step (one test, one branch), then single blocks
static inline __attribute__((always_inline)) long hm_pairs(const float* p, float thr) {
  long hits = 0, k = 0;
  for (; k + 64 <= HM; k += 64) {
    const float* q = p + k;
    int any = 0;
    for (int j = 0; j < 64; ++j) any |= static_cast<int>(q[j] >= thr);
    if (!any) continue;
    for (int j = 0; j < 64; ++j)
      if (q[j] >= thr) ++hits;
  }
  for (; k < HM; ++k)
    if (p[k] >= thr) ++hits;
  return hits;
}
__attribute__((noinline)) long hm_scan_sse2(const float* p, float thr) { return hm_blocks<32>(p, thr); }
__attribute__((noinline, target("avx2"))) long hm_scan_pairs_avx2(const float* p, float thr) { return hm_pairs(p, thr); }
__attribute__((noinline, target("avx2"))) long hm_scan_avx2(const float* p, float thr) { return hm_blocks<32>(p, thr); }
__attribute__((noinline, target("avx2"))) float hm_read_avx2(const float* p) {  // every float read once: the floor
  float s[32] = {0};
  for (long i = 0; i + 32 <= HM; i += 32)
    for (int j = 0; j < 32; ++j) s[j] += p[i + j];
  float t = 0;
  for (float v : s) t += v;
  return t;
}

static std::vector<char> junk(8 << 20);
static bool g_cold = false;

template <class F>
double median_us(F f) {
  std::vector<double> v;
  for (int r = 0; r < 300; ++r) {
    if (g_cold)
      for (size_t i = 0; i < junk.size(); i += 64) junk[i]++;
    const auto t0 = clk::now();
    f();
    v.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main() {
  float* p = static_cast<float*>(std::aligned_alloc(64, N * kStep * sizeof(float)));
  std::srand(1);
  for (long i = 0; i < N * kStep; ++i) p[i] = (std::rand() % 1000) / 2000.f;  // objectness < 0.5
  for (int f = 0; f < 10; ++f) p[(std::rand() % N) * kStep + 4] = 0.9f;       // 10 candidates
  volatile long sink;
  volatile float fsink;
  std::printf("rows %ld, cache lines touched %ld (%.2f MB); median of 300 calls\n", N, N, N * 64 / 1e6);
  for (int pass = 0; pass < 2; ++pass) {
    g_cold = pass == 1;
    std::printf("--- %s\n", g_cold ? "L2 evicted before each call (8 MB touched)" : "hot");
    std::printf("current scan (for_each_at_least)  %6.2f us\n", median_us([&] { sink = scan_current(p, 0.5f); }));
    std::printf("current scan, AVX2 copy           %6.2f us\n", median_us([&] { sink = scan_current_avx2(p, 0.5f); }));
    std::printf("prefetch 8 rows ahead             %6.2f us\n", median_us([&] { sink = scan_prefetch<8>(p, 0.5f); }));
    std::printf("prefetch 32 rows ahead            %6.2f us\n", median_us([&] { sink = scan_prefetch<32>(p, 0.5f); }));
    std::printf("prefetch 64 rows ahead            %6.2f us\n", median_us([&] { sink = scan_prefetch<64>(p, 0.5f); }));
    std::printf("4-accumulator max                 %6.2f us\n", median_us([&] { sink = scan_max4(p, 0.5f); }));
    const double floor_us = median_us([&] { sink = touch_lines(p); });
    std::printf("one load per row (floor)          %6.2f us = %.0f GB/s of lines\n", floor_us, N * 64 / floor_us / 1e3);
    std::printf("one load per row, 2 streams       %6.2f us\n", median_us([&] { sink = touch_streams<2, 0>(p); }));
    std::printf("one load per row, 4 streams       %6.2f us\n", median_us([&] { sink = touch_streams<4, 0>(p); }));
    std::printf("one load per row, 8 streams       %6.2f us\n", median_us([&] { sink = touch_streams<8, 0>(p); }));
    std::printf("4 streams + prefetch 16 ahead     %6.2f us\n", median_us([&] { sink = touch_streams<4, 16>(p); }));
    std::printf("sequential read of all 1.61 MB    %6.2f us\n", median_us([&] { fsink = read_all(p); }));
  }
  float* hm = static_cast<float*>(std::aligned_alloc(64, HM * sizeof(float)));
  for (long i = 0; i < HM; ++i) hm[i] = (std::rand() % 1000) / 2500.f;  // background < 0.4: no candidate
  std::printf("heatmap 160x160 float32 (%.0f KB), no candidate; median of 300 calls\n", HM * 4 / 1e3);
  for (int pass = 0; pass < 2; ++pass) {
    g_cold = pass == 1;
    std::printf("--- %s\n", g_cold ? "L2 evicted before each call (8 MB touched)" : "hot");
    std::printf("block scan, baseline (SSE2)       %6.2f us\n", median_us([&] { sink = hm_scan_sse2(hm, 0.5f); }));
    std::printf("block scan, AVX2                  %6.2f us\n", median_us([&] { sink = hm_scan_avx2(hm, 0.5f); }));
    std::printf("two blocks per step, AVX2         %6.2f us\n", median_us([&] { sink = hm_scan_pairs_avx2(hm, 0.5f); }));
    const double t = median_us([&] { fsink = hm_read_avx2(hm); });
    std::printf("plain AVX2 read (floor)           %6.2f us = %.0f GB/s\n", t, HM * 4 / t / 1e3);
  }
  std::free(hm);
  (void)sink;
  (void)fsink;
  std::free(p);
  return 0;
}
