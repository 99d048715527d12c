// CUDA redaction kernels and host API (see redact_cuda.hpp). Pixel arithmetic follows csrc/core/redact.hpp's
// EXACT SPECIFICATION; planning, coverage and compositing are the core's own functions.
#include "cuda/redact_cuda.hpp"

#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <queue>
#include <type_traits>
#include <vector>

#include "core/formats.hpp"
#include "core/redact.hpp"

namespace cg = cooperative_groups;

namespace facemask {
namespace cuda {
namespace {

constexpr int kSmemBytes = 48 * 1024 - 256;  // dynamic shared memory per block (+ static: under the 48 KB no-opt-in limit)
constexpr int kFillPixelsPerItem = 4096;

// Work item kinds. Blur, per dependency wave: phase A kRows (a band of grid rows: decimation of the plane rect's
// pixels into shared memory, 3 horizontal box passes, written to scratch grid L1), phase B kCols (a band of grid
// columns of L1: 3 vertical box passes, written to scratch grid L), phase C kUpsample (every n-th plane-rect row:
// bilinear sample of L, coverage, composite into the frame). Pixelate and fill: one phase per wave.
enum ItemKind : int { kRows = 0, kCols = 1, kUpsample = 2, kPixelCell = 3, kFillRows = 4 };

struct DevPlaneJob {
  uint8_t* base;       // this plane's data pointer of the frame (no dynamic indexing of frame descriptors)
  long long pstride;   // its row stride in bytes
  int plan;
  int ps, nch;
  int wordpx;          // 2- or 4-byte pixels, aligned base and stride: decimation loads whole pixels
  int up4;             // upsampling of 3 channels in aligned 4-byte pixels: whole-word pixel access (PixIO<3, 4>)
  int pairpx;          // 1-byte pixels, even base, stride and rect start, fx >= 2: decimation loads column pairs
  int off[3];
  int fill[3];
  int x0, y0, w, h;    // plane rect
  int sx, sy;
  // Blur: decimation factors (powers of two) and their log2, grid size, box radii and their division magics
  // (ceil(2^32 / (2r+1)): floor(n / d) == umulhi(n, m) for n < 2^20, d <= 2047), cell bytes in the scratch grid
  // (cs = 1, 2 or 4: 3 channels ride in a word, the 4th byte unused), grid row pitch sp (bytes, multiple of 4),
  // decimation threads per cell gx = min(fx, 32) and log2.
  int fx, fy, lfx, lfy, nx, ny, cs, sp, gx, lgx;
  int rx, ry;
  unsigned mx, my;
  int fuse, nitems_rows;  // vertical passes run by the block finishing the last of the nitems_rows row bands
  int nitems_cols;        // unfused: column-band items (phase B); the last one to finish marks the grid ready
  long long s0, s1;    // scratch offsets of the grid (L0, then L) and of the row-pass intermediate (large grids)
  int cw, chh, ncx;    // pixelate cell on this plane, cells across
  // Coverage pre-classification (ellipse plans only, cf != 0): q2 = normalised ellipse radius^2 computed with
  // reciprocals; q2 <= qin2 guarantees the core's region_alpha() gives a8 == 255 (out = red exactly), q2 >= qout2
  // guarantees a8 == 0 (pixel untouched); in between (the feather ramp) region_alpha() itself is evaluated. The
  // thresholds keep a wide safety band (see cov_thresholds()), so results stay byte-identical to the core.
  int cf;
  float ecx, ecy, ec, es, eirx, eiry, qin2, qout2;
  int ug;              // flat path: pixels per upsampling thread (4: 1-byte, 2: 2-byte pixels in aligned 32-bit words)
};

struct DevItem {
  int job, kind, a, n;
};

struct Phase {
  int begin, end;
};

struct KernelArgs {
  const DevPlaneJob* jobs;
  const RegionPlan* plans;
  const DevItem* items;
  const Phase* phases;
  int* counters;  // one work counter per phase (zeroed by the upload): blocks fetch items dynamically
  int* job_sync;  // per job kSyncInts ints (zeroed by the upload): row bands done, column bands done, grid ready
  uint8_t* scratch;
  // Cooperative launch only (every block resident): block b's first item of a phase is item b of its queue without
  // the atomic, later ones come from the counter offset by the grid size. Items are still handed out in queue
  // order to running blocks, so an item waits only for items running blocks hold (no deadlock).
  int static_first;
  // Profiling (builds with -DFACEMASK_CUDA_TRACE=1 only, then FACEMASK_CUDA_TRACE=<csv path>; null otherwise): per
  // item, kTraceWords words written by its block's thread 0: (block << 32 | SM id), global-timer ns when the block
  // asked for it, when its waits (if any) ended, when it was done, then up to 4 steps inside the item (trace_step;
  // 0 where not reached). scripts/trace_gpu.py runs and summarises it.
  unsigned long long* trace;
};

// The trace code is compiled in only on request: even these few stamps change the register allocation of the
// 128-register kernels (ptxas sm_90: 68-140 bytes of spills in the plane-kind twins where the plain build has none).
#ifndef FACEMASK_CUDA_TRACE
#define FACEMASK_CUDA_TRACE 0
#endif
constexpr bool kTrace = FACEMASK_CUDA_TRACE != 0;
constexpr int kTraceWords = 8;
__shared__ int s_trace_item;  // (trace only) the block's current item, for trace_step()

__device__ __forceinline__ unsigned long long gtimer_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %globaltimer;" : "=l"(t));
  return t;
}
__device__ __forceinline__ unsigned smid() {
  unsigned v;
  asm volatile("mov.u32 %0, %smid;" : "=r"(v));
  return v;
}
// Stamps go to shared memory (the ask time, before the item index is known) or straight to global memory, so the
// instrumentation holds no registers across an item.
__device__ __forceinline__ void trace_go(const KernelArgs& k, int i) {
  s_trace_item = i;
  k.trace[kTraceWords * static_cast<long long>(i) + 2] = gtimer_ns();
}
// Step w (4 .. 7) of the current item, as thread 0 reaches it (after a block barrier where the step ends with one).
__device__ __forceinline__ void trace_step(const KernelArgs& k, int w) {
  if (kTrace && k.trace && threadIdx.x == 0)
    k.trace[kTraceWords * static_cast<long long>(s_trace_item) + w] = gtimer_ns();
}
__device__ __forceinline__ void trace_done(const KernelArgs& k, int i, unsigned long long t_ask) {
  unsigned long long* t = k.trace + kTraceWords * static_cast<long long>(i);
  t[0] = (static_cast<unsigned long long>(blockIdx.x) << 32) | smid();
  t[1] = t_ask;
  t[3] = gtimer_ns();
}

__host__ __device__ __forceinline__ int pad4(int n) { return (n + 3) & ~3; }

// Per-job synchronisation words (KernelArgs::job_sync + kSyncInts * job). A job's final grid L is complete when
// kReady is set; its upsampling items wait for that instead of a grid-wide barrier (dataflow order: an item only
// waits for items earlier in the phase's queue, which running blocks hold, so it cannot deadlock).
constexpr int kSyncInts = 4, kRowsDone = 0, kColsDone = 1, kReady = 2;

__device__ __forceinline__ int ld_acquire(const int* p) {
  int v;
  asm volatile("ld.acquire.gpu.global.s32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}

// Block-wide: wait until *p >= target (thread 0 polls with gpu-scope acquire loads, then a block barrier orders the
// other threads' later loads after it; a fence per thread on top measured ~1.5 us slower and is not needed).
__device__ __forceinline__ void block_wait(const int* p, int target) {
  if (threadIdx.x == 0) {
    while (ld_acquire(p) < target) __nanosleep(64);
  }
  __syncthreads();
}

// Block-wide release: every thread's writes are made visible, then thread 0 adds 1 to *p; returns (to every thread)
// whether this block's add was the `last`-th.
__device__ __forceinline__ bool block_signal(int* p, int last) {
  __shared__ int s_last;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) s_last = atomicAdd(p, 1) == last - 1;
  __syncthreads();
  return s_last != 0;
}

constexpr int kPlanBytes = (static_cast<int>(sizeof(RegionPlan)) + 15) & ~15;  // a RegionPlan in shared memory
static_assert(sizeof(RegionPlan) % 4 == 0, "RegionPlan is copied as words");

// 0: a8 == 0 for sure (untouched), 2: a8 == 255 for sure (out = red), 1: evaluate region_alpha().
__device__ __forceinline__ int cov_class(const DevPlaneJob& j, float px, float py) {
  if (!j.cf) return 1;
  const float dx = px - j.ecx, dy = py - j.ecy;
  const float a = (j.ec * dx + j.es * dy) * j.eirx;
  const float b = (j.ec * dy - j.es * dx) * j.eiry;
  const float q2 = a * a + b * b;
  return q2 <= j.qin2 ? 2 : (q2 >= j.qout2 ? 0 : 1);  // NaN -> 1 (exact path)
}

unsigned magic_for(int r) {
  const unsigned long long d = 2ull * static_cast<unsigned>(r) + 1ull;
  return static_cast<unsigned>(((1ull << 32) + d - 1) / d);
}

__device__ __forceinline__ uint8_t* pixel_ptr(const DevPlaneJob& j, int x, int y) {
  return j.base + static_cast<long long>(y) * j.pstride + static_cast<long long>(x) * j.ps;
}

// One box pass over Lp interleaved byte sequences of length n (element i of lane l at buf[i*Lp + l]; Lp a multiple
// of 4), spread over the whole block. Each thread takes (quad of 4 lanes, chunk) units and works on 32-bit words:
// four running sums, one 32-bit shared load per input element per side. A unit starts its sums directly, then slides.
// out[i] = floor((sum_{k=-r..r} in[clamp(i+k, 0, n-1)] + r) / (2r+1)); floor(x / d) == umulhi(x, m) here.
__device__ __forceinline__ void box_pass_block(const uint8_t* __restrict__ in, uint8_t* __restrict__ out, int n,
                                               int Lp, int K, int r, unsigned m) {
  const int hi = n - 1;
  const int Q = Lp >> 2;  // words per element row
  const int nchunks = (n + K - 1) / K;
  const unsigned* __restrict__ in32 = reinterpret_cast<const unsigned*>(in);
  unsigned* __restrict__ out32 = reinterpret_cast<unsigned*>(out);
  const unsigned rr = static_cast<unsigned>(r);
  for (int u = threadIdx.x; u < Q * nchunks; u += blockDim.x) {
    const int q = u % Q, c = u / Q;
    const unsigned* src = in32 + q;
    unsigned* dst = out32 + q;
    const int i0 = c * K, i1 = min(n, i0 + K);
    const int lo_k = i0 - r, hi_k = i0 + r;
    unsigned s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    if (lo_k < 0) {
      const unsigned w = src[0], t = static_cast<unsigned>(-lo_k);
      s0 += t * (w & 0xffu); s1 += t * ((w >> 8) & 0xffu); s2 += t * ((w >> 16) & 0xffu); s3 += t * (w >> 24);
    }
    if (hi_k > hi) {
      const unsigned w = src[hi * Q], t = static_cast<unsigned>(hi_k - hi);
      s0 += t * (w & 0xffu); s1 += t * ((w >> 8) & 0xffu); s2 += t * ((w >> 16) & 0xffu); s3 += t * (w >> 24);
    }
#pragma unroll 4
    for (int k = max(lo_k, 0), e = min(hi_k, hi); k <= e; ++k) {
      const unsigned w = src[k * Q];
      s0 += w & 0xffu; s1 += (w >> 8) & 0xffu; s2 += (w >> 16) & 0xffu; s3 += w >> 24;
    }
#pragma unroll 2
    for (int i = i0; i < i1; ++i) {
      const unsigned wa = src[min(i + r + 1, hi) * Q];
      const unsigned wb = src[max(i - r, 0) * Q];
      dst[i * Q] = __umulhi(s0 + rr, m) | (__umulhi(s1 + rr, m) << 8) | (__umulhi(s2 + rr, m) << 16) |
                   (__umulhi(s3 + rr, m) << 24);
      s0 += (wa & 0xffu) - (wb & 0xffu);
      s1 += ((wa >> 8) & 0xffu) - ((wb >> 8) & 0xffu);
      s2 += ((wa >> 16) & 0xffu) - ((wb >> 16) & 0xffu);
      s3 += (wa >> 24) - (wb >> 24);
    }
  }
}

// Three passes a -> b -> a -> b (result in b), block barriers between and after. Chunks as short as the block's
// threads allow: a chunk's first window is summed directly (2r + 1 independent loads), so short chunks trade a few
// redundant loads for a much shorter dependent chain (the grids are small; most bands have few lanes).
__device__ __forceinline__ void box3_block(uint8_t* a, uint8_t* b, int n, int Lp, int r, unsigned m) {
  const int per_quad = max(1, static_cast<int>(blockDim.x) / (Lp >> 2));
  const int K = (n + per_quad - 1) / per_quad;
  box_pass_block(a, b, n, Lp, K, r, m);
  __syncthreads();
  box_pass_block(b, a, n, Lp, K, r, m);
  __syncthreads();
  box_pass_block(a, b, n, Lp, K, r, m);
  __syncthreads();
}

// dst[a * dsa + b * dsb] = src[a * ssa + b * ssb] for a < na, b < nb (element type E), spread over the block with b
// fastest (make b the contiguous index of the global side); kU independent loads per thread before the stores.
template <typename E, bool kCG = false>  // kCG: loads bypass L1 (data other blocks wrote during this phase)
__device__ __forceinline__ void copy2d(E* __restrict__ dst, int dsa, int dsb, const E* __restrict__ src, int ssa,
                                       int ssb, int na, int nb) {
  constexpr int kU = 8;
  const int step = blockDim.x, stb = step % nb, sta = step / nb;
  int b = threadIdx.x % nb, a = threadIdx.x / nb;
  while (a < na) {
    E v[kU];
    int d[kU];
#pragma unroll
    for (int u = 0; u < kU; ++u) {
      d[u] = a < na ? a * dsa + b * dsb : -1;
      if (a < na) v[u] = kCG ? __ldcg(src + (a * ssa + b * ssb)) : src[a * ssa + b * ssb];
      b += stb;
      a += sta;
      if (b >= nb) {
        b -= nb;
        ++a;
      }
    }
#pragma unroll
    for (int u = 0; u < kU; ++u)
      if (d[u] >= 0) dst[d[u]] = v[u];
  }
}

// ---- phase B: vertical passes, per band of grid columns [a, a + n): L1 -> L (in L0's place) ----------------------
template <typename E, bool kCG = false>
__device__ void run_cols_t(const KernelArgs& k, const DevPlaneJob& j, const DevItem& it, uint8_t* smem) {
  constexpr int CS = sizeof(E);
  const int ny = j.ny, spe = j.sp / CS, C = it.n;
  const int Lp = pad4(C * CS), Lpe = Lp / CS;
  uint8_t* A = smem;
  uint8_t* B = smem + ((ny * Lp + 15) & ~15);
  const E* G1 = reinterpret_cast<const E*>(k.scratch + j.s1) + it.a;
  E* G0 = reinterpret_cast<E*>(k.scratch + j.s0) + it.a;
  copy2d<E, kCG>(reinterpret_cast<E*>(A), Lpe, 1, G1, spe, 1, ny, C);
  __syncthreads();
  box3_block(A, B, ny, Lp, j.ry, j.my);
  copy2d<E>(G0, spe, 1, reinterpret_cast<const E*>(B), Lpe, 1, ny, C);
}

// ---- phase A: decimation + horizontal passes, per band of grid rows ---------------------------------------------
// Grid rows [a, a + R) of a job. Units (row i, u) with u < U = nx * gx: gx threads per cell (a power of two <= 32,
// aligned groups inside a warp) sum fx / gx pixel columns each over the cell's fy pixel rows (edge pixels repeated),
// then a shuffle reduction; the group's first thread writes L0 = (sum + fx fy / 2) >> (lg fx + lg fy) into shared
// memory, transposed (cell (i, j) at T[j * Lp + (i - a) * cs]). Then the 3 horizontal box passes on the band, and the
// band is written row-major to the scratch grid L1 (pitch sp).
// MODE (compile time, so the inner loop holds one access path; as a run-time flag the compiler if-converted the
// paths into one predicated loop that issued both): 0 byte loads per channel, 1 whole 2- or 4-byte pixels (NCH 2, 3;
// DevPlaneJob::wordpx), 2 column pairs per 16-bit load (NCH 1; DevPlaneJob::pairpx).
template <int NCH, int MODE>
__device__ void run_rows_t(const KernelArgs& k, const DevPlaneJob& j, const DevItem& it, uint8_t* smem) {
  using E = typename std::conditional<NCH == 1, uint8_t, typename std::conditional<NCH == 2, uint16_t, unsigned>::type>::type;
  constexpr int CS = sizeof(E);
  const int R = it.n, nx = j.nx;
  const int Lp = pad4(R * CS), Lpe = Lp / CS;
  uint8_t* A = smem;
  uint8_t* B = smem + ((nx * Lp + 15) & ~15);
  E* T = reinterpret_cast<E*>(A);
  const int lgx = j.lgx, gx = j.gx, tpx = j.fx >> lgx, U = nx << lgx;
  const int lane = threadIdx.x & 31;
  const unsigned gmask = (gx == 32 ? 0xffffffffu : ((1u << gx) - 1u)) << (lane & ~(gx - 1));
  const int shift = j.lfx + j.lfy;
  const unsigned half = (1u << shift) >> 1;
  const int fy = j.fy, hi_x = j.w - 1;
  const long long fstride = j.pstride;
  const int o0 = j.off[0], o1 = j.off[1], o2 = j.off[2];
  constexpr bool word = MODE == 1, pair = MODE == 2;
  const int stu = blockDim.x % U, sti = blockDim.x / U;
  int u = threadIdx.x % U, ii = threadIdx.x / U;  // whole groups step together (U and blockDim multiples of gx)
  constexpr int kQ = 4;  // units per round: their loads are all in flight together (8: slower, docs/benchmarks.md)
  while (ii < R) {
    int cjq[kQ], iiq[kQ];
    const uint8_t* colq[kQ];
    unsigned s[kQ][NCH];
#pragma unroll
    for (int q = 0; q < kQ; ++q) {
      cjq[q] = u >> lgx;
      iiq[q] = ii;
#pragma unroll
      for (int c = 0; c < NCH; ++c) s[q][c] = 0u;
      u += stu;
      ii += sti;
      if (u >= U) {
        u -= U;
        ++ii;
      }
    }
    const int b = threadIdx.x & (gx - 1);  // the lane's place in its group (u advances by multiples of gx)
    // Per unit a row pointer that advances one frame row per step until the rect's last row (then repeats it);
    // units past the band (iiq >= R) read the band's first rows and are discarded.
    int last[kQ];
#pragma unroll
    for (int q = 0; q < kQ; ++q) last[q] = min(fy, j.h - (it.a + (iiq[q] < R ? iiq[q] : 0)) * fy) - 1;
    if (NCH == 1 && pair) {
      // 1-byte pixels, even rect start: two columns per 16-bit load (the rect's last column repeated past its end).
      for (int t = 0; t < tpx; t += 2) {
        bool ok[kQ];
#pragma unroll
        for (int q = 0; q < kQ; ++q) {
          const int x = cjq[q] * j.fx + b * tpx + t;
          ok[q] = x + 1 <= hi_x;
          colq[q] = pixel_ptr(j, j.x0 + min(x, hi_x), j.y0 + (it.a + (iiq[q] < R ? iiq[q] : 0)) * fy);
        }
        bool clean = true;
#pragma unroll
        for (int q = 0; q < kQ; ++q) clean = clean && ok[q] && last[q] == fy - 1;
        if (__all_sync(__activemask(), clean)) {  // no edge column or row: plain loads, bytes summed in 16-bit halves
          unsigned acc[kQ];
#pragma unroll
          for (int q = 0; q < kQ; ++q) acc[q] = 0u;
#pragma unroll 4
          for (int a = 0; a < fy; ++a) {
#pragma unroll
            for (int q = 0; q < kQ; ++q) {
              acc[q] += __byte_perm(*reinterpret_cast<const uint16_t*>(colq[q]), 0u, 0x4140);
              colq[q] += fstride;
            }
          }
#pragma unroll
          for (int q = 0; q < kQ; ++q) s[q][0] += (acc[q] & 0xffffu) + (acc[q] >> 16);
          continue;
        }
#pragma unroll 2
        for (int a = 0; a < fy; ++a) {
#pragma unroll
          for (int q = 0; q < kQ; ++q) {
            const unsigned h = ok[q] ? *reinterpret_cast<const uint16_t*>(colq[q]) : 0x101u * colq[q][0];
            s[q][0] += (h & 0xffu) + (h >> 8);
            if (a < last[q]) colq[q] += fstride;
          }
        }
      }
    } else {
      for (int t = 0; t < tpx; ++t) {
#pragma unroll
        for (int q = 0; q < kQ; ++q) {
          const int x = min(cjq[q] * j.fx + b * tpx + t, hi_x);
          colq[q] = pixel_ptr(j, j.x0 + x, j.y0 + (it.a + (iiq[q] < R ? iiq[q] : 0)) * fy);
        }
        if (word) {
          bool clean = true;
#pragma unroll
          for (int q = 0; q < kQ; ++q) clean = clean && last[q] == fy - 1;
          if (__all_sync(__activemask(), clean)) {
            // No edge row: whole pixels, their bytes summed in 16-bit halves (bytes 0, 2 in accA, 1, 3 in accB;
            // <= 64 rows x 255 per half), then picked out per channel offset.
            unsigned accA[kQ], accB[kQ];
#pragma unroll
            for (int q = 0; q < kQ; ++q) accA[q] = accB[q] = 0u;
#pragma unroll 4
            for (int a = 0; a < fy; ++a) {
#pragma unroll
              for (int q = 0; q < kQ; ++q) {
                if (NCH == 3) {
                  const unsigned w = *reinterpret_cast<const unsigned*>(colq[q]);
                  accA[q] += __byte_perm(w, 0u, 0x4240);
                  accB[q] += __byte_perm(w, 0u, 0x4341);
                } else {
                  accA[q] += __byte_perm(*reinterpret_cast<const uint16_t*>(colq[q]), 0u, 0x4140);
                }
                colq[q] += fstride;
              }
            }
            auto bsum = [&](int q, int o) -> unsigned {
              const unsigned acc = (o & 1) && NCH == 3 ? accB[q] : accA[q];
              const int h = NCH == 3 ? (o >> 1) : o;
              return h ? acc >> 16 : acc & 0xffffu;
            };
#pragma unroll
            for (int q = 0; q < kQ; ++q) {
              s[q][0] += bsum(q, o0);
              s[q][NCH > 1 ? 1 : 0] += bsum(q, o1);
              if (NCH > 2) s[q][NCH > 2 ? 2 : 0] += bsum(q, o2);
            }
            continue;
          }
        }
#pragma unroll 2
        for (int a = 0; a < fy; ++a) {
#pragma unroll
          for (int q = 0; q < kQ; ++q) {
            if (NCH == 3 && word) {  // whole 4-byte pixel
              const unsigned w = *reinterpret_cast<const unsigned*>(colq[q]);
              s[q][0] += (w >> (8 * o0)) & 0xffu;
              s[q][NCH > 1 ? 1 : 0] += (w >> (8 * o1)) & 0xffu;
              s[q][NCH > 2 ? 2 : 0] += (w >> (8 * o2)) & 0xffu;
            } else if (NCH == 2 && word) {  // whole 2-byte pixel
              const unsigned h = *reinterpret_cast<const uint16_t*>(colq[q]);
              s[q][0] += (h >> (8 * o0)) & 0xffu;
              s[q][NCH > 1 ? 1 : 0] += (h >> (8 * o1)) & 0xffu;
            } else {
              const uint8_t* p = colq[q];
              s[q][0] += p[o0];
              if (NCH > 1) s[q][NCH > 1 ? 1 : 0] += p[o1];
              if (NCH > 2) s[q][NCH > 2 ? 2 : 0] += p[o2];
            }
            if (a < last[q]) colq[q] += fstride;
          }
        }
      }
    }
#pragma unroll
    for (int q = 0; q < kQ; ++q) {
      for (int o = 1; o < gx; o <<= 1) {
#pragma unroll
        for (int c = 0; c < NCH; ++c) s[q][c] += __shfl_xor_sync(gmask, s[q][c], o);
      }
      if (b == 0 && iiq[q] < R) {
        unsigned v = (s[q][0] + half) >> shift;
        if (NCH > 1) v |= ((s[q][NCH > 1 ? 1 : 0] + half) >> shift) << 8;
        if (NCH > 2) v |= ((s[q][NCH > 2 ? 2 : 0] + half) >> shift) << 16;
        T[cjq[q] * Lpe + iiq[q]] = static_cast<E>(v);
      }
    }
  }
  __syncthreads();
  trace_step(k, 4);  // (profiling builds) decimation done
  box3_block(A, B, nx, Lp, j.rx, j.mx);
  trace_step(k, 5);  // horizontal passes done
  E* G1 = reinterpret_cast<E*>(k.scratch + j.s1) + static_cast<long long>(it.a) * (j.sp / CS);
  copy2d<E>(G1, j.sp / CS, 1, reinterpret_cast<const E*>(B), 1, Lpe, R, nx);
  // Count the band (release). Fused: the block that finishes a plane's last row band runs its vertical passes at
  // once (whole grid in shared memory; acquire: fence, L2-only loads) and marks the grid ready.
  int* sync = k.job_sync + kSyncInts * it.job;
  const bool last_band = block_signal(sync + kRowsDone, j.nitems_rows);
  trace_step(k, 6);  // band copied out and counted
  if (last_band && j.fuse) {
    __threadfence();
    const DevItem all{it.job, kCols, 0, nx};
    run_cols_t<E, true>(k, j, all, smem);
    block_signal(sync + kReady, 1);
    trace_step(k, 7);  // the plane's vertical passes done
  }
}

// ---- phase C: bilinear upsampling + coverage + composite, per set of plane-rect rows --------------------------------
// 1. Per row, the spans of the ellipse pre-classification in local x: [lo_o, hi_o) may be covered (outside it a8 == 0
//    for sure: untouched, not loaded), [lo_i, hi_i) is sure inside (a8 == 255: out = red, the source is not loaded),
//    the rest of [lo_o, hi_o) is the feather ramp (region_alpha() evaluated). The spans solve the quadratic
//    q2(x) = qin2 / qout2 of the same bound as cov_class() in double precision (whose 1e-3 slack in q covers the
//    core's float rounding) and move kSpanMargin further towards the ramp. No classification (cf == 0): the whole
//    row is ramp.
// 2. Per row and grid column, the vertical half of the bilinear sum, V(j) = L[i0][j] (2 fy - wy) + L[i1][j] wy
//    (<= 255 * 128: 16 bits per channel), in shared memory. The pixel value is then
//    (V(j0) (2 fx - wx) + V(j1) wx + 2 fx fy) >> (lg fx + lg fy + 2): the same integer sum as the spec's h(i0), h(i1).
// 3. One warp per row: the sure-inside span (stores only), then the ramp pixels of both sides as one index range
//    (all lanes on ramp pixels while region_alpha() runs).
constexpr double kSpanMargin = 0.05;  // px: span ends move this far towards the ramp (double rounding is ~1e-12 px)
__device__ __forceinline__ void row_spans(const DevPlaneJob& j, int Y, int* sp4) {
  const int w = j.w;
  if (!j.cf) {
    sp4[0] = 0; sp4[1] = w; sp4[2] = w; sp4[3] = w;
    return;
  }
  const double py = (Y + 0.5f) * j.sy;  // the float pixel centre, as cov_class() / region_alpha() see it
  const double dy = py - static_cast<double>(j.ecy);
  const double c = j.ec, s = j.es, ex2 = static_cast<double>(j.eirx) * j.eirx, ey2 = static_cast<double>(j.eiry) * j.eiry;
  const double A = c * c * ex2 + s * s * ey2;
  const double Bh = dy * c * s * (ex2 - ey2);  // B / 2
  const double C = dy * dy * (s * s * ex2 + c * c * ey2);
  const double x0 = j.x0 + 0.5, isx = 1.0 / j.sx;
  // local x of the pixel whose centre is ecx + dx: (ecx + dx) / sx - 0.5 - x0
  auto solve = [&](double T, double* lo, double* hi) {
    const double disc = Bh * Bh - A * (C - T);
    if (!(disc >= 0.0)) return false;
    const double r = sqrt(disc);
    *lo = (j.ecx + (-Bh - r) / A) * isx - x0;
    *hi = (j.ecx + (-Bh + r) / A) * isx - x0;
    return true;
  };
  double lo, hi;
  if (!solve(static_cast<double>(j.qout2), &lo, &hi)) {  // the whole row is sure outside
    sp4[0] = sp4[1] = sp4[2] = sp4[3] = 0;
    return;
  }
  const int lo_o = static_cast<int>(fmin(fmax(floor(lo - kSpanMargin), 0.0), static_cast<double>(w)));
  const int hi_o = static_cast<int>(fmin(fmax(floor(hi + kSpanMargin) + 1.0, 0.0), static_cast<double>(w)));
  int lo_i = lo_o, hi_i = lo_o;
  if (j.qin2 > 0.f && solve(static_cast<double>(j.qin2), &lo, &hi)) {
    const int a = static_cast<int>(fmin(fmax(ceil(lo + kSpanMargin), 0.0), static_cast<double>(w)));
    const int b = static_cast<int>(fmin(fmax(floor(hi - kSpanMargin) + 1.0, 0.0), static_cast<double>(w)));
    if (a >= lo_o && b <= hi_o && a < b) {
      lo_i = a;
      hi_i = b;
    }
  }
  sp4[0] = lo_o; sp4[1] = lo_i; sp4[2] = hi_i; sp4[3] = hi_o;
}

// Pixel access of the upsampling phase. PS = 2: whole 2-byte pixels whose two bytes are the two channels (aligned),
// PS = 4: whole 4-byte pixels (aligned) holding 3 channels and one byte that is not a channel (A or x), PS = 1: 1-byte
// pixels, PS = 0: any layout, channel by channel. Channels travel packed c0 | c1 << 8 | c2 << 16; load() returns the
// raw pixel for PS = 2 and 4 (chan() takes a channel out of either form).
// PS = 4 stores: store() writes the three channel bytes as one 16-bit and one 8-bit store (the non-channel byte is
// byte 0 or 3 of every 4-byte format, so the other three hold an aligned pair and a single byte) and never writes the
// 4th byte; store_over() (feather ramp, where the pixel was just loaded) writes the whole word with the 4th byte as
// loaded, i.e. unchanged: no other thread writes that pixel during the launch (regions of one wave do not overlap).
// Plain (L1-cached) loads and stores: L2-only ones (ld/st.global.cg) measured ~12 us slower on the benchmark.
template <int NCH, int PS>
struct PixIO {
  using W = typename std::conditional<PS == 2, unsigned short, typename std::conditional<PS == 4, unsigned, unsigned char>::type>::type;
  int o0, o1, o2, ps, pad;
  __device__ __forceinline__ explicit PixIO(const DevPlaneJob& j)
      : o0(j.off[0]), o1(j.off[1]), o2(j.off[2]), ps(j.ps), pad(6 - j.off[0] - j.off[1] - j.off[2]) {}
  __device__ __forceinline__ uint8_t* at(uint8_t* row, int x) const {
    return row + static_cast<long long>(x) * (PS > 0 ? PS : ps);
  }
  __device__ __forceinline__ unsigned load(const uint8_t* p) const {
    if (PS > 0) return *reinterpret_cast<const W*>(p);
    unsigned v = p[o0];
    if (NCH > 1) v |= static_cast<unsigned>(p[o1]) << 8;
    if (NCH > 2) v |= static_cast<unsigned>(p[o2]) << 16;
    return v;
  }
  __device__ __forceinline__ unsigned chan(unsigned w, int c) const {  // channel c of a load() result
    if (PS == 0) return (w >> (8 * c)) & 0xffu;
    if (PS == 1) return w & 0xffu;
    return (w >> (8 * (c == 0 ? o0 : (c == 1 ? o1 : o2)))) & 0xffu;
  }
  // Packed channels v placed at their byte offsets of the pixel word (PS = 2, 4).
  __device__ __forceinline__ unsigned place(unsigned v) const {
    unsigned out = (v & 0xffu) << (8 * o0);
    if (NCH > 1) out |= ((v >> 8) & 0xffu) << (8 * o1);
    if (NCH > 2) out |= ((v >> 16) & 0xffu) << (8 * o2);
    return out;
  }
  __device__ __forceinline__ void store(uint8_t* p, unsigned v) const {  // packed channels v
    if (PS == 1) {
      *p = static_cast<uint8_t>(v);
    } else if (PS == 2) {
      *reinterpret_cast<W*>(p) = static_cast<W>(place(v));
    } else if (PS == 4 && pad == 3) {
      const unsigned w = place(v);
      *reinterpret_cast<unsigned short*>(p) = static_cast<unsigned short>(w);
      p[2] = static_cast<uint8_t>(w >> 16);
    } else if (PS == 4 && pad == 0) {
      const unsigned w = place(v);
      p[1] = static_cast<uint8_t>(w >> 8);
      *reinterpret_cast<unsigned short*>(p + 2) = static_cast<unsigned short>(w >> 16);
    } else {
      p[o0] = static_cast<uint8_t>(v);
      if (NCH > 1) p[o1] = static_cast<uint8_t>(v >> 8);
      if (NCH > 2) p[o2] = static_cast<uint8_t>(v >> 16);
    }
  }
  // Ramp store after load(): PS = 4 writes the whole word, its non-channel byte as loaded in `src`.
  __device__ __forceinline__ void store_over(uint8_t* p, unsigned src, unsigned v) const {
    if (PS == 4) {
      *reinterpret_cast<unsigned*>(p) = (src & (0xffu << (8 * pad))) | place(v);
    } else {
      store(p, v);
    }
  }
};

template <int NCH, int PS>
__device__ void run_upsample_t(const KernelArgs& k, const DevPlaneJob& j, const DevItem& it, uint8_t* smem) {
  using E = typename std::conditional<NCH == 1, uint8_t, typename std::conditional<NCH == 2, uint16_t, unsigned>::type>::type;
  using V = typename std::conditional<NCH == 1, uint16_t, typename std::conditional<NCH == 2, unsigned, uint2>::type>::type;
  // Rows it.a, it.a + rs, it.a + 2 rs, ... (rs = it.n): every item of a region plane gets a like mix of ramp-heavy
  // (top, bottom) and mostly-inside rows, so items cost about the same.
  const int rs = it.n, R = (j.h - it.a + rs - 1) / rs, nx = j.nx, nx1 = j.nx - 1, ny1 = j.ny - 1;
  RegionPlan* splan = reinterpret_cast<RegionPlan*>(smem);  // the plan, read by region_alpha() on ramp pixels
  int* spans = reinterpret_cast<int*>(smem + kPlanBytes);
  V* vrow = reinterpret_cast<V*>(smem + kPlanBytes + ((R * 16 + 15) & ~15));
  {
    const unsigned* src = reinterpret_cast<const unsigned*>(k.plans + j.plan);
    for (int e = threadIdx.x; e < static_cast<int>(sizeof(RegionPlan) / 4); e += blockDim.x)
      reinterpret_cast<unsigned*>(splan)[e] = src[e];
  }
  const RegionPlan& pl = *splan;
  // Feathered ellipse (the benchmark's case): the core's ellipse_alpha_soft() on register copies of the ellipse, so
  // its loop-invariant reciprocals are computed once per item (same arithmetic as region_alpha()).
  const RegionPlan& gp = k.plans[j.plan];
  const bool soft = gp.kind == 1 && !ellipse_empty(gp.ellipse) && gp.feather_px > 0.f && std::isfinite(gp.feather_px);
  const Ellipse el = gp.ellipse;
  const float eca = gp.ca, esa = gp.sa, efp = gp.feather_px;
  for (int r = threadIdx.x; r < R; r += blockDim.x) row_spans(j, j.y0 + it.a + r * rs, spans + 4 * r);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  {
    // V per row and grid column (kU entries per thread, their loads in flight together). Plain (L1-cached) loads:
    // the grid was complete before this item started (block_wait: acquire) and no line of it can have been cached
    // earlier in this launch (scratch grids are 128-byte aligned and only read after they are ready).
    const int fy = j.fy, ly1 = j.lfy + 1, spe = j.sp / static_cast<int>(sizeof(E));
    const E* grid = reinterpret_cast<const E*>(k.scratch + j.s0);
    const int stc = blockDim.x % nx, str = blockDim.x / nx;
    int cj = threadIdx.x % nx, r = threadIdx.x / nx;
    while (r < R) {
      constexpr int kU = 4;
      E la[kU], lb[kU];
      int wy[kU], d[kU];
#pragma unroll
      for (int q = 0; q < kU; ++q) {
        d[q] = -1;
        if (r < R) {
          const int my = 2 * (it.a + r * rs) + 1 - fy, i0 = my >> ly1;  // floor division
          wy[q] = my - (i0 << ly1);
          const int ia = min(max(i0, 0), ny1), ib = min(max(i0 + 1, 0), ny1);
          la[q] = grid[ia * spe + cj];
          lb[q] = grid[ib * spe + cj];
          d[q] = r * nx + cj;
        }
        cj += stc;
        r += str;
        if (cj >= nx) {
          cj -= nx;
          ++r;
        }
      }
#pragma unroll
      for (int q = 0; q < kU; ++q) {
        if (d[q] < 0) continue;
        const unsigned ay = 2u * fy - wy[q], by = wy[q];
        const unsigned a = la[q], b = lb[q];
        if (NCH == 1) {
          reinterpret_cast<uint16_t*>(vrow)[d[q]] = static_cast<uint16_t>(a * ay + b * by);
        } else if (NCH == 2) {
          reinterpret_cast<unsigned*>(vrow)[d[q]] =
              ((a & 0xffu) * ay + (b & 0xffu) * by) | ((((a >> 8) & 0xffu) * ay + ((b >> 8) & 0xffu) * by) << 16);
        } else {
          uint2 v;
          v.x = ((a & 0xffu) * ay + (b & 0xffu) * by) | ((((a >> 8) & 0xffu) * ay + ((b >> 8) & 0xffu) * by) << 16);
          v.y = ((a >> 16) & 0xffu) * ay + ((b >> 16) & 0xffu) * by;
          reinterpret_cast<uint2*>(vrow)[d[q]] = v;
        }
      }
    }
  }
  __syncthreads();
  trace_step(k, 4);  // (profiling builds) plan, spans and V rows ready
  const int fx = j.fx, lx1 = j.lfx + 1, shift = j.lfx + j.lfy + 2;
  const unsigned rnd = 2u * fx * j.fy;
  const PixIO<NCH, PS> io(j);
  // Upsampled value of local column x of row r, channels packed c0 | c1 << 8 | c2 << 16.
  auto up = [&](const V* vr, int x) -> unsigned {
    const int mx = 2 * x + 1 - fx, j0 = mx >> lx1;
    const unsigned wx = static_cast<unsigned>(mx - (j0 << lx1)), ax = 2u * fx - wx;
    const V va = vr[min(max(j0, 0), nx1)], vb = vr[min(max(j0 + 1, 0), nx1)];
    if (NCH == 1) {
      return (static_cast<unsigned>(reinterpret_cast<const uint16_t&>(va)) * ax +
              static_cast<unsigned>(reinterpret_cast<const uint16_t&>(vb)) * wx + rnd) >> shift;
    } else if (NCH == 2) {
      const unsigned a = reinterpret_cast<const unsigned&>(va), b = reinterpret_cast<const unsigned&>(vb);
      return (((a & 0xffffu) * ax + (b & 0xffffu) * wx + rnd) >> shift) |
             ((((a >> 16) * ax + (b >> 16) * wx + rnd) >> shift) << 8);
    } else {
      const uint2 a = reinterpret_cast<const uint2&>(va), b = reinterpret_cast<const uint2&>(vb);
      return (((a.x & 0xffffu) * ax + (b.x & 0xffffu) * wx + rnd) >> shift) |
             ((((a.x >> 16) * ax + (b.x >> 16) * wx + rnd) >> shift) << 8) |
             (((a.y * ax + b.y * wx + rnd) >> shift) << 16);
    }
  };
  for (int r = warp; r < R; r += nw) {
    const int lo_o = spans[4 * r], lo_i = spans[4 * r + 1], hi_i = spans[4 * r + 2], hi_o = spans[4 * r + 3];
    const V* vr = vrow + r * nx;
    const int Y = j.y0 + it.a + r * rs;
    uint8_t* rowp = j.base + static_cast<long long>(Y) * j.pstride + static_cast<long long>(j.x0) * j.ps;
    for (int x = lo_i + lane; x < hi_i; x += 32) io.store(io.at(rowp, x), up(vr, x));  // sure inside: out = red
    const int nl = lo_i - lo_o, nramp = nl + (hi_o - hi_i);
    if (nramp <= 0) continue;
    const float py = (Y + 0.5f) * j.sy;
    constexpr int kP = 4;  // ramp pixels per lane per round: their source loads are in flight together (8: slower)
    for (int t0 = lane; t0 < nramp; t0 += 32 * kP) {
      int xs[kP];
      unsigned src[kP];
#pragma unroll
      for (int q = 0; q < kP; ++q) {
        const int t = t0 + 32 * q;
        xs[q] = t < nramp ? (t < nl ? lo_o + t : hi_i + (t - nl)) : -1;
        src[q] = 0u;
        if (xs[q] >= 0) src[q] = io.load(io.at(rowp, xs[q]));
      }
#pragma unroll
      for (int q = 0; q < kP; ++q) {
        if (xs[q] < 0) continue;
        const float px = (j.x0 + xs[q] + 0.5f) * j.sx;
        const float al = soft ? ellipse_alpha_soft(el, eca, esa, px, py, efp) : region_alpha(pl, px, py);
        if (static_cast<int>(al * 255.f + 0.5f) == 0) continue;
        const unsigned v = up(vr, xs[q]);
        unsigned o = composite_u8(static_cast<uint8_t>(io.chan(src[q], 0)), static_cast<uint8_t>(v), al);
        if (NCH > 1) o |= static_cast<unsigned>(composite_u8(static_cast<uint8_t>(io.chan(src[q], 1)),
                                                             static_cast<uint8_t>(v >> 8), al)) << 8;
        if (NCH > 2) o |= static_cast<unsigned>(composite_u8(static_cast<uint8_t>(io.chan(src[q], 2)),
                                                             static_cast<uint8_t>(v >> 16), al)) << 16;
        io.store_over(io.at(rowp, xs[q]), src[q], o);
      }
    }
  }
  trace_step(k, 5);  // warp 0's rows done (the block's others: the item's done stamp)
}

__device__ void run_fill(const KernelArgs& k, const DevPlaneJob& j, const DevItem& it) {
  const RegionPlan pl = k.plans[j.plan];
  const int W = j.w;
  for (int r = 0; r < it.n; ++r)
  for (int x = threadIdx.x; x < W; x += blockDim.x) {
    const int X = j.x0 + x, Y = j.y0 + it.a + r;
    const float fx = (X + 0.5f) * j.sx, fy = (Y + 0.5f) * j.sy;
    const int cls = cov_class(j, fx, fy);
    if (cls == 0) continue;
    uint8_t* p = pixel_ptr(j, X, Y);
    if (cls == 2) {
#pragma unroll
      for (int c = 0; c < 3; ++c)
        if (c < j.nch) p[j.off[c]] = static_cast<uint8_t>(j.fill[c]);
      continue;
    }
    const float alpha = region_alpha(pl, fx, fy);
    if (static_cast<int>(alpha * 255.f + 0.5f) == 0) continue;
#pragma unroll
    for (int c = 0; c < 3; ++c)
      if (c < j.nch) p[j.off[c]] = composite_u8(p[j.off[c]], static_cast<uint8_t>(j.fill[c]), alpha);
  }
}

__device__ void run_pixel_cell(const KernelArgs& k, const DevPlaneJob& j, const DevItem& it, uint8_t* smem) {
  const RegionPlan pl = k.plans[j.plan];
  const int ci = it.a / j.ncx, cj = it.a - ci * j.ncx;
  const int cx0 = j.x0 + cj * j.cw, cy0 = j.y0 + ci * j.chh;
  const int cx1 = min(cx0 + j.cw, j.x0 + j.w), cy1 = min(cy0 + j.chh, j.y0 + j.h);
  const int cwid = cx1 - cx0, n = cwid * (cy1 - cy0);
  unsigned sum[3] = {0u, 0u, 0u};
  for (int idx = threadIdx.x; idx < n; idx += blockDim.x) {
    const int r = idx / cwid, x = idx - r * cwid;
    const uint8_t* p = pixel_ptr(j, cx0 + x, cy0 + r);
#pragma unroll
    for (int c = 0; c < 3; ++c)
      if (c < j.nch) sum[c] += p[j.off[c]];
  }
  for (int c = 0; c < 3; ++c)
    for (int o = 16; o > 0; o >>= 1) sum[c] += __shfl_down_sync(0xffffffffu, sum[c], o);
  unsigned* part = reinterpret_cast<unsigned*>(smem);  // [warps][3] then the 3 cell values
  const int warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
  if ((threadIdx.x & 31) == 0)
    for (int c = 0; c < 3; ++c) part[warp * 3 + c] = sum[c];
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int c = 0; c < 3; ++c) {
      unsigned s = 0;
      for (int w = 0; w < nwarps; ++w) s += part[w * 3 + c];
      part[nwarps * 3 + c] = (s + static_cast<unsigned>(n) / 2u) / static_cast<unsigned>(n);
    }
  }
  __syncthreads();
  uint8_t val[3];
  for (int c = 0; c < 3; ++c) val[c] = static_cast<uint8_t>(part[nwarps * 3 + c]);
  for (int idx = threadIdx.x; idx < n; idx += blockDim.x) {
    const int r = idx / cwid, x = idx - r * cwid;
    const int X = cx0 + x, Y = cy0 + r;
    const float fx = (X + 0.5f) * j.sx, fy = (Y + 0.5f) * j.sy;
    const int cls = cov_class(j, fx, fy);
    if (cls == 0) continue;
    uint8_t* p = pixel_ptr(j, X, Y);
    if (cls == 2) {
#pragma unroll
      for (int c = 0; c < 3; ++c)
        if (c < j.nch) p[j.off[c]] = val[c];
      continue;
    }
    const float alpha = region_alpha(pl, fx, fy);
    if (static_cast<int>(alpha * 255.f + 0.5f) == 0) continue;
#pragma unroll
    for (int c = 0; c < 3; ++c)
      if (c < j.nch) p[j.off[c]] = composite_u8(p[j.off[c]], val[c], alpha);
  }
}

constexpr int kRowsBlocks = 3, kColsBlocks = 4, kUpBlocks = 3;  // register caps of the per-phase kernels
constexpr int kAllKinds = (1 << kRows) | (1 << kCols) | (1 << kUpsample) | (1 << kPixelCell) | (1 << kFillRows);

// kFam: plane channel counts compiled in (bit nch - 1; kAllFam: all). The host launches a variant whose mask holds
// every plane of the batch (a smaller kernel for NV12/I420/GRAY8-type or RGB-type batches: less code competing for
// the instruction cache); a plane outside the mask is never handed to it.
constexpr int kAllFam = 7;
template <int kKinds = kAllKinds, int kFam = kAllFam>  // item kinds compiled in (bit mask)
__device__ __forceinline__ void run_item(const KernelArgs& k, const DevPlaneJob& j, const DevItem& it, uint8_t* smem) {
  if ((kKinds >> kRows) & 1) {
    if (it.kind == kRows) {
      if (j.nch == 1) {
        if constexpr ((kFam & 1) != 0) {
          if (j.pairpx) run_rows_t<1, 2>(k, j, it, smem);
          else run_rows_t<1, 0>(k, j, it, smem);
        }
      } else if (j.nch == 2) {
        if constexpr ((kFam & 2) != 0) {
          if (j.wordpx) run_rows_t<2, 1>(k, j, it, smem);
          else run_rows_t<2, 0>(k, j, it, smem);
        }
      } else {
        if constexpr ((kFam & 4) != 0) {
          if (j.wordpx) run_rows_t<3, 1>(k, j, it, smem);
          else run_rows_t<3, 0>(k, j, it, smem);
        }
      }
      return;
    }
  }
  if ((kKinds >> kCols) & 1) {
    if (it.kind == kCols) {
      // (L2-only loads: other blocks wrote L1 during this phase)
      if (j.cs == 1) {
        if constexpr ((kFam & 1) != 0) run_cols_t<uint8_t, true>(k, j, it, smem);
      } else if (j.cs == 2) {
        if constexpr ((kFam & 2) != 0) run_cols_t<uint16_t, true>(k, j, it, smem);
      } else {
        if constexpr ((kFam & 4) != 0) run_cols_t<unsigned, true>(k, j, it, smem);
      }
      return;
    }
  }
  if ((kKinds >> kUpsample) & 1) {
    if (it.kind == kUpsample) {
      // Whole-pixel access for aligned 2-byte chroma pairs (DevPlaneJob::wordpx); 3-channel pixels byte by byte
      // (whole 4-byte words with the 4th byte written back measured slower).
      if (j.nch == 1) {
        if constexpr ((kFam & 1) != 0) run_upsample_t<1, 1>(k, j, it, smem);
      } else if (j.nch == 2) {
        if constexpr ((kFam & 2) != 0) {
          if (j.wordpx) run_upsample_t<2, 2>(k, j, it, smem);
          else run_upsample_t<2, 0>(k, j, it, smem);
        }
      } else {
        if constexpr ((kFam & 4) != 0) {
          if (j.up4) run_upsample_t<3, 4>(k, j, it, smem);
          else run_upsample_t<3, 0>(k, j, it, smem);
        }
      }
      return;
    }
  }
  if ((kKinds >> kPixelCell) & 1) {
    if (it.kind == kPixelCell) {
      run_pixel_cell(k, j, it, smem);
      return;
    }
  }
  if ((kKinds >> kFillRows) & 1) {
    if (it.kind == kFillRows) run_fill(k, j, it);
  }
}

// Items of phase ph fetched dynamically by the block.
template <int kKinds, int kFam = kAllFam>
__device__ __forceinline__ void run_phase(const KernelArgs& k, int ph, uint8_t* smem, int* s_item) {
  const Phase P = k.phases[ph];
  // (Fetching the next item's index while the current one runs measured 10-25 us slower on H100: a busy block then
  // holds an item that an idle block would have started, which undoes the largest-first balancing.)
  const int sf = k.static_first ? static_cast<int>(gridDim.x) : 0;
  int first = k.static_first;
  __shared__ unsigned long long s_ask;  // (trace only)
  for (;;) {
    if (kTrace && k.trace && threadIdx.x == 0) s_ask = gtimer_ns();
    if (threadIdx.x == 0) {
      *s_item = first ? P.begin + static_cast<int>(blockIdx.x) : P.begin + sf + atomicAdd(&k.counters[ph], 1);
      first = 0;
    }
    __syncthreads();
    const int i = *s_item;
    __syncthreads();
    if (i >= P.end) break;
    const DevItem it = k.items[i];
    const DevPlaneJob j = k.jobs[it.job];
    int* sync = k.job_sync + kSyncInts * it.job;
    if (it.kind == kCols) block_wait(sync + kRowsDone, j.nitems_rows);  // all row bands of the plane (L1) done
    if (it.kind == kUpsample) block_wait(sync + kReady, 1);              // the plane's final grid L done
    if (kTrace && k.trace && threadIdx.x == 0) trace_go(k, i);
    run_item<kKinds, kFam>(k, j, it, smem);
    if (it.kind == kCols && block_signal(sync + kColsDone, j.nitems_cols)) block_signal(sync + kReady, 1);
    __syncthreads();
    if (kTrace && k.trace && threadIdx.x == 0) trace_done(k, i, s_ask);
  }
}

// All phases of a batch in one cooperative launch (grid-wide syncs between phases).
template <int kThr, int kMinBlocks, int kFam = kAllFam>
__global__ void __launch_bounds__(kThr, kMinBlocks) redact_kernel(KernelArgs k, int first_phase, int end_phase) {
  extern __shared__ __align__(16) uint8_t smem[];
  __shared__ int s_item;
  for (int ph = first_phase; ph < end_phase; ++ph) {
    run_phase<kAllKinds, kFam>(k, ph, smem, &s_item);
    if (ph + 1 < end_phase) cg::this_grid().sync();
  }
}

// One phase per launch, compiled for its item kinds only (own register budget and occupancy).
template <int kMinBlocks, int kKinds>
__global__ void __launch_bounds__(256, kMinBlocks) redact_phase_kernel(KernelArgs k, int ph) {
  extern __shared__ __align__(16) uint8_t smem[];
  __shared__ int s_item;
  run_phase<kKinds>(k, ph, smem, &s_item);
}

size_t align16(size_t n) { return (n + 15) & ~static_cast<size_t>(15); }

// ---- flat blur path (FACEMASK_CUDA_FLAT=1; kFlatDefault) ---------------------------------------------------------
// Three plain launches per dependency wave, each over all of the wave's planes, with no work queue, no per-plane
// waits and no item descriptors: every thread's work follows from its block's entry in a block table.
//   1. flat_decimate_kernel: one thread per grid cell (fx x fy pixels, edge pixels repeated) -> L0 in scratch s1;
//   2. flat_box_kernel: one block per plane: 3 horizontal + 3 vertical box passes in shared memory -> L in s0;
//   3. flat_up_kernel: one warp per plane-rect row: the row's coverage spans (as the item kernel), the sure-inside
//      span as bilinear samples of L (aligned groups of 4 bytes in one store), then the feather ramp's pixels.
// Same integer and float arithmetic as the item kernel (and the core): the decimation sum, the box pass, the
// bilinear sum and the coverage are the same expressions, so the bytes are the same (tested).
struct FlatBlock {
  int job, first;  // plane job, its first cell (decimation: thread = cell) or rect row (upsampling: warp = row)
};

struct FlatArgs {
  const DevPlaneJob* jobs;
  const RegionPlan* plans;
  const FlatBlock* blocks;
  uint8_t* scratch;
};

constexpr int kFlatThreads = 256;
constexpr bool kFlatDefault = false;  // blur without FACEMASK_CUDA_FLAT: the work-item kernel (the flat path measured
                                      // 1.2x slower on H100, docs/benchmarks.md round 10)

// Programmatic dependent launch (sm_90+, FACEMASK_CUDA_PDL): a flat launch lets the next one start its blocks early
// (launch_dependents) and waits for the previous one's completion and memory (wait) before reading its output.
// Without the launch attribute (older GPUs, knob off) wait returns at once and launch_dependents does nothing.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// One grid cell: the sum over its fx x fy pixel positions with positions past the rect's last column / row clamped to
// it (the spec's repeated edge pixels, so the sum is the weighted one), as one flat loop whose loads are independent
// (8 in flight per thread), then L0 = (sum + fx fy / 2) >> (lg fx + lg fy).
template <int NCH, int PS>
__device__ __forceinline__ unsigned decimate_cell(const DevPlaneJob& j, int i, int jc) {  // cell (row i, column jc)
  const int fx = j.fx, lfx = j.lfx, xs = jc * fx, ys = i * j.fy;
  const int xl = min(xs + fx, j.w) - 1, yl = min(ys + j.fy, j.h) - 1;  // the cell's last column / row in the rect
  const int step = PS > 0 ? PS : j.ps;
  const long long pst = j.pstride;
  const PixIO<NCH, PS> io(j);
  const uint8_t* org = j.base + static_cast<long long>(j.y0) * pst + static_cast<long long>(j.x0) * step;
  unsigned s[NCH];
#pragma unroll
  for (int ch = 0; ch < NCH; ++ch) s[ch] = 0u;
  const int n = fx << j.lfy;
#pragma unroll 8
  for (int t = 0; t < n; ++t) {
    const int y = min(ys + (t >> lfx), yl), x = min(xs + (t & (fx - 1)), xl);
    const unsigned w = io.load(org + y * pst + static_cast<long long>(x) * step);
#pragma unroll
    for (int ch = 0; ch < NCH; ++ch) s[ch] += io.chan(w, ch);
  }
  const int shift = j.lfx + j.lfy;
  const unsigned half = (1u << shift) >> 1;
  unsigned v = (s[0] + half) >> shift;
  if (NCH > 1) v |= ((s[NCH > 1 ? 1 : 0] + half) >> shift) << 8;
  if (NCH > 2) v |= ((s[NCH > 2 ? 2 : 0] + half) >> shift) << 16;
  return v;
}

// 1-byte pixels in column pairs (DevPlaneJob::pairpx: even base, stride and rect start, fx >= 2): a cell wholly
// inside the rect in 16-bit loads, half as many as decimate_cell<1, 1>; the same sum. Other cells: per pixel.
__device__ __forceinline__ unsigned decimate_cell_pairs(const DevPlaneJob& j, int i, int jc) {
  const int fx = j.fx, xs = jc * fx, ys = i * j.fy;
  if (xs + fx > j.w) return decimate_cell<1, 1>(j, i, jc);
  const int yl = min(ys + j.fy, j.h) - 1, lh = j.lfx - 1;  // pairs per cell row: 2^lh
  const long long pst = j.pstride;
  const uint8_t* org = j.base + static_cast<long long>(j.y0) * pst + j.x0 + xs;
  unsigned s = 0u;
  const int n = 1 << (lh + j.lfy);
#pragma unroll 8
  for (int t = 0; t < n; ++t) {
    const int y = min(ys + (t >> lh), yl);
    const unsigned w = *reinterpret_cast<const unsigned short*>(org + y * pst + 2 * (t & ((1 << lh) - 1)));
    s += (w & 0xffu) + (w >> 8);
  }
  const int shift = j.lfx + j.lfy;
  return (s + ((1u << shift) >> 1)) >> shift;
}

// decimate_cell() for the plane's access path; channels packed as in the grid's cells.
__device__ __forceinline__ unsigned decimate_cell_any(const DevPlaneJob& j, int i, int jc) {
  if (j.nch == 1) return j.pairpx ? decimate_cell_pairs(j, i, jc) : decimate_cell<1, 1>(j, i, jc);
  if (j.nch == 2) return j.wordpx ? decimate_cell<2, 2>(j, i, jc) : decimate_cell<2, 0>(j, i, jc);
  return j.wordpx ? decimate_cell<3, 4>(j, i, jc) : decimate_cell<3, 0>(j, i, jc);
}

__device__ __forceinline__ void flat_decimate_cell(const FlatArgs& k, const DevPlaneJob& j, int c) {
  const int i = c / j.nx, jc = c - i * j.nx;
  const unsigned v = decimate_cell_any(j, i, jc);
  uint8_t* row = k.scratch + j.s1 + static_cast<long long>(i) * j.sp;
  if (j.cs == 1) row[jc] = static_cast<uint8_t>(v);
  else if (j.cs == 2) reinterpret_cast<uint16_t*>(row)[jc] = static_cast<uint16_t>(v);
  else reinterpret_cast<unsigned*>(row)[jc] = v;
}

__global__ void __launch_bounds__(kFlatThreads, 4) flat_decimate_kernel(FlatArgs k, int blk0) {
  pdl_wait();  // (a later wave: the previous wave's upsampling wrote these pixels)
  pdl_launch_dependents();
  const FlatBlock fb = k.blocks[blk0 + blockIdx.x];
  const DevPlaneJob& j = k.jobs[fb.job];
  const int c = fb.first + static_cast<int>(threadIdx.x);
  if (c >= j.nx * j.ny) return;
  flat_decimate_cell(k, j, c);
}

// Shared memory of a plane's box passes: two buffers, each holding the grid transposed (columns as elements, rows as
// lanes) or row-major (rows as elements, columns as lanes).
__host__ __device__ __forceinline__ int flat_box_buf(int nx, int ny, int cs) {
  const int t = nx * pad4(ny * cs), r = ny * pad4(nx * cs);
  return ((t > r ? t : r) + 15) & ~15;
}

template <typename E>
__device__ __forceinline__ void flat_box_plane(const FlatArgs& k, const DevPlaneJob& j, uint8_t* smem) {
  constexpr int CS = sizeof(E);
  const int nx = j.nx, ny = j.ny, spe = j.sp / CS;
  const int LpT = pad4(ny * CS), LpR = pad4(nx * CS);
  uint8_t* A = smem;
  uint8_t* B = smem + flat_box_buf(nx, ny, CS);
  copy2d<E>(reinterpret_cast<E*>(A), 1, LpT / CS, reinterpret_cast<const E*>(k.scratch + j.s1), spe, 1, ny, nx);
  __syncthreads();
  box3_block(A, B, nx, LpT, j.rx, j.mx);  // horizontal passes (result in B, transposed)
  copy2d<E>(reinterpret_cast<E*>(A), LpR / CS, 1, reinterpret_cast<const E*>(B), 1, LpT / CS, ny, nx);
  __syncthreads();
  box3_block(A, B, ny, LpR, j.ry, j.my);  // vertical passes (result in B, row-major)
  copy2d<E>(reinterpret_cast<E*>(k.scratch + j.s0), spe, 1, reinterpret_cast<const E*>(B), LpR / CS, 1, ny, nx);
}

constexpr int kFlatBoxThreadsMax = 1024;  // the box launch's block size: kFlatThreads or FACEMASK_CUDA_BOXT
__global__ void __launch_bounds__(kFlatBoxThreadsMax, 1) flat_box_kernel(FlatArgs k, int blk0) {
  extern __shared__ __align__(16) uint8_t smem[];
  pdl_wait();
  pdl_launch_dependents();
  const DevPlaneJob& j = k.jobs[k.blocks[blk0 + blockIdx.x].job];
  if (j.cs == 1) flat_box_plane<uint8_t>(k, j, smem);
  else if (j.cs == 2) flat_box_plane<uint16_t>(k, j, smem);
  else flat_box_plane<unsigned>(k, j, smem);
}

// Upsampling of one plane-rect row per warp (flat_up_kernel), the item kernel's row order without its shared memory:
//   1. the row's spans (row_spans(), computed by every lane alike): [lo_o, hi_o) may be covered, [lo_i, hi_i) is sure
//      inside (out = the blurred value, the source is not loaded), the rest of [lo_o, hi_o) is the feather ramp;
//   2. the sure-inside span in aligned groups of G pixels per lane (a group wholly inside: one 32-bit store);
//   3. the ramp pixels of both sides as one index range, kP per lane with their source loads in flight together, so
//      all lanes run the coverage alpha on ramp pixels (no lane idles through it for an inside pixel).
// The value is the item kernel's bilinear sum read straight from L: rows ia, ib (weights ay, wy) of the row, columns
// ja, jb (weights ax, wx) of the pixel; (V(ja) ax + V(jb) wx + 2 fx fy) >> (lg fx + lg fy + 2).
template <int NCH>
struct FlatSampler {
  using E = typename std::conditional<NCH == 1, uint8_t, typename std::conditional<NCH == 2, uint16_t, unsigned>::type>::type;
  const E* La;
  const E* Lb;
  unsigned ay, wy, rnd;
  int fx, lx1, shift, nx1;
  __device__ __forceinline__ unsigned operator()(int x) const {  // rect-local column x; channels packed
    const int mx = 2 * x + 1 - fx, j0 = mx >> lx1;
    const unsigned wx = static_cast<unsigned>(mx) & ((1u << lx1) - 1u), ax = 2u * fx - wx;  // mx - 2 fx j0
    const int ja = min(max(j0, 0), nx1), jb = min(max(j0 + 1, 0), nx1);
    const unsigned a0 = La[ja], b0 = Lb[ja], a1 = La[jb], b1 = Lb[jb];
    unsigned v = 0u;
#pragma unroll
    for (int ch = 0; ch < NCH; ++ch) {
      const unsigned va = ((a0 >> (8 * ch)) & 0xffu) * ay + ((b0 >> (8 * ch)) & 0xffu) * wy;
      const unsigned vb = ((a1 >> (8 * ch)) & 0xffu) * ay + ((b1 >> (8 * ch)) & 0xffu) * wy;
      v |= ((va * ax + vb * wx + rnd) >> shift) << (8 * ch);
    }
    return v;
  }
};

// The grid L: `grid` holds its rows gr0, gr0 + 1, ... at a pitch of gp bytes (the flat path: all of it in scratch; the
// cluster path: the rows of a part's vertical passes in shared memory).
template <int NCH, int PS, int G>
__device__ __forceinline__ void flat_up_row(const RegionPlan* plans, const DevPlaneJob& jg, int r, const int* sp,
                                            const uint8_t* grid, int gp, int gr0) {
  const DevPlaneJob j = jg;  // register copy: pixel stores may alias the descriptor as far as the compiler knows
  if (r >= j.h) return;
  const int lane = static_cast<int>(threadIdx.x & 31), Y = j.y0 + r;
  const int lo_o = sp[0], lo_i = sp[1], hi_i = sp[2], hi_o = sp[3];  // row_spans() of this row
  FlatSampler<NCH> S;
  {
    using E = typename FlatSampler<NCH>::E;
    const int fy = j.fy, ly1 = j.lfy + 1, my = 2 * r + 1 - fy, i0 = my >> ly1;
    S.wy = static_cast<unsigned>(my) & ((1u << ly1) - 1u);  // my - 2 fy i0
    S.ay = 2u * fy - S.wy;
    const int ny1 = j.ny - 1;
    S.La = reinterpret_cast<const E*>(grid + (min(max(i0, 0), ny1) - gr0) * gp);
    S.Lb = reinterpret_cast<const E*>(grid + (min(max(i0 + 1, 0), ny1) - gr0) * gp);
    S.fx = j.fx;
    S.lx1 = j.lfx + 1;
    S.shift = j.lfx + j.lfy + 2;
    S.nx1 = j.nx - 1;
    S.rnd = 2u * j.fx * fy;
  }
  const PixIO<NCH, PS> io(j);
  const int step = PS > 0 ? PS : j.ps;
  uint8_t* rowp = j.base + static_cast<long long>(Y) * j.pstride;  // plane row: plane columns
  const int X0 = j.x0 + lo_i, X1 = j.x0 + hi_i;
  for (int X = X0 / G * G + lane * G; X < X1; X += 32 * G) {
    if (G > 1 && X >= X0 && X + G <= X1) {
      unsigned w = 0u;
#pragma unroll
      for (int g = 0; g < G; ++g) {
        const unsigned v = S(X + g - j.x0);
        w |= (PS == 1 ? v : io.place(v)) << (32 / G * g);
      }
      *reinterpret_cast<unsigned*>(rowp + static_cast<long long>(X) * PS) = w;
    } else {
#pragma unroll
      for (int g = 0; g < G; ++g)
        if (X + g >= X0 && X + g < X1) io.store(rowp + static_cast<long long>(X + g) * step, S(X + g - j.x0));
    }
  }
  const int nl = lo_i - lo_o, nramp = nl + (hi_o - hi_i);
  if (nramp <= 0) return;
  const RegionPlan& rp = plans[j.plan];
  const bool soft = rp.kind == 1 && !ellipse_empty(rp.ellipse) && rp.feather_px > 0.f && std::isfinite(rp.feather_px);
  const Ellipse el = rp.ellipse;
  const float eca = rp.ca, esa = rp.sa, efp = rp.feather_px;
  const float py = (Y + 0.5f) * j.sy;
  constexpr int kP = 4;
  for (int t0 = lane; t0 < nramp; t0 += 32 * kP) {
    int xs[kP];
    unsigned src[kP];
#pragma unroll
    for (int q = 0; q < kP; ++q) {
      const int t = t0 + 32 * q;
      xs[q] = t < nramp ? j.x0 + (t < nl ? lo_o + t : hi_i + (t - nl)) : -1;  // plane column
      src[q] = xs[q] >= 0 ? io.load(rowp + static_cast<long long>(xs[q]) * step) : 0u;
    }
#pragma unroll
    for (int q = 0; q < kP; ++q) {
      if (xs[q] < 0) continue;
      const float px = (xs[q] + 0.5f) * j.sx;
      const float al = soft ? ellipse_alpha_soft(el, eca, esa, px, py, efp) : region_alpha(rp, px, py);
      if (static_cast<int>(al * 255.f + 0.5f) == 0) continue;
      const unsigned v = S(xs[q] - j.x0);
      unsigned o = composite_u8(static_cast<uint8_t>(io.chan(src[q], 0)), static_cast<uint8_t>(v), al);
      if (NCH > 1) o |= static_cast<unsigned>(composite_u8(static_cast<uint8_t>(io.chan(src[q], 1)),
                                                           static_cast<uint8_t>(v >> 8), al)) << 8;
      if (NCH > 2) o |= static_cast<unsigned>(composite_u8(static_cast<uint8_t>(io.chan(src[q], 2)),
                                                           static_cast<uint8_t>(v >> 16), al)) << 16;
      io.store_over(rowp + static_cast<long long>(xs[q]) * step, src[q], o);
    }
  }
}

// flat_up_row() for the plane's access path.
__device__ __forceinline__ void up_row(const RegionPlan* plans, const DevPlaneJob& j, int r, const int* sp,
                                       const uint8_t* grid, int gp, int gr0) {
  if (j.nch == 1) {
    if (j.ug == 4) flat_up_row<1, 1, 4>(plans, j, r, sp, grid, gp, gr0);
    else flat_up_row<1, 1, 1>(plans, j, r, sp, grid, gp, gr0);
  } else if (j.nch == 2) {
    if (!j.wordpx) flat_up_row<2, 0, 1>(plans, j, r, sp, grid, gp, gr0);
    else if (j.ug == 2) flat_up_row<2, 2, 2>(plans, j, r, sp, grid, gp, gr0);
    else flat_up_row<2, 2, 1>(plans, j, r, sp, grid, gp, gr0);
  } else {
    if (j.up4) flat_up_row<3, 4, 1>(plans, j, r, sp, grid, gp, gr0);
    else flat_up_row<3, 0, 1>(plans, j, r, sp, grid, gp, gr0);
  }
}

__global__ void __launch_bounds__(kFlatThreads, 4) flat_up_kernel(FlatArgs k, int blk0) {
  pdl_wait();
  pdl_launch_dependents();
  __shared__ int s_spans[kFlatThreads / 32][4];
  const FlatBlock fb = k.blocks[blk0 + blockIdx.x];
  const DevPlaneJob& j = k.jobs[fb.job];
  // The block's rows' spans, one thread per row (not every lane of the row's warp alike).
  if (threadIdx.x < kFlatThreads / 32 && fb.first + static_cast<int>(threadIdx.x) < j.h)
    row_spans(j, j.y0 + fb.first + static_cast<int>(threadIdx.x), s_spans[threadIdx.x]);
  __syncthreads();
  const int wp = static_cast<int>(threadIdx.x >> 5), r = fb.first + wp;
  up_row(k.plans, j, r, s_spans[wp], k.scratch + j.s0, j.sp, 0);
}

// ---- cluster blur path (sm_90+: thread block clusters; kClusterDefault, FACEMASK_CUDA_CLUSTER) -------------------
// One plain launch for a batch of one dependency wave. A plane is cut into P parts (1 <= P <= cluster size) that
// run as P blocks of one thread block cluster; small planes share a cluster, a block each. Part q of a plane owns
// grid rows [g0, g1) and rect rows [r0, r1):
//   1. its rows' coverage spans (row_spans(), a thread per row) into shared memory; the decimation of its grid rows
//      (a thread per cell, decimate_cell()), the 3 horizontal box passes (box3_block), the result row-major at the
//      start of its shared memory (RM);
//   2. cluster barrier; it copies the grid rows [v0, v1) its vertical passes need out of the RM of the plane's
//      blocks (distributed shared memory: every block of the plane has its RM at offset 0, same pitch);
//   3. cluster arrive (its reads of other blocks are done); the 3 vertical box passes on rows [v0, v1) only: rows
//      [u0, u1), the ones its rect rows sample, lie 3 r_y or more inside that range unless it ends at the grid's
//      edge (where the range's clamp is the grid's), so they are exact; then a warp per rect row, flat_up_row()
//      on those rows; cluster wait before exit (other blocks may still read its RM).
// The arithmetic is the flat path's and the item kernel's (same functions), so the bytes are the same (tested).
// No scratch grid in global memory, no work queue, no waits on other planes: one plane's decimation, passes and
// upsampling are a chain of three short steps over P blocks with hardware cluster barriers between them.
struct ClusterBlock {
  int job;     // plane job, or -1: an idle slot of a cluster (it takes part in the cluster barriers only)
  int part;    // q, this block's part of the plane
  int nparts;  // P
  int rank0;   // the cluster rank of the plane's part 0 (part q runs as rank rank0 + q)
};

struct ClusterArgs {
  const DevPlaneJob* jobs;
  const RegionPlan* plans;
  const ClusterBlock* blocks;
  int stages;  // profiling knob FACEMASK_CUDA_CSTAGES: 3 = all (below 3 the output is incomplete)
};

constexpr bool kClusterDefault = false;

__host__ __device__ __forceinline__ int align16i(int n) { return (n + 15) & ~15; }
__host__ __device__ __forceinline__ int part_lo(int n, int q, int P) {
  return static_cast<int>(static_cast<long long>(n) * q / P);
}

// A part's rows and its shared-memory layout (bytes): RM (R x lpr) at 0, buffers b1 and b2, the spans (4 ints per
// rect row). lpt: lane bytes of the transposed band (its R rows as lanes), lpr: of a row-major grid row.
struct PartGeo {
  int g0, g1, r0, r1, v0, v1;
  int lpt, lpr, off_b1, off_b2, off_sp, bytes;
};

__host__ __device__ __forceinline__ PartGeo part_geo(const DevPlaneJob& j, int q, int P) {
  PartGeo g;
  g.g0 = part_lo(j.ny, q, P);
  g.g1 = part_lo(j.ny, q + 1, P);
  g.r0 = part_lo(j.h, q, P);
  g.r1 = part_lo(j.h, q + 1, P);
  // Grid rows rect rows [r0, r1) sample: i0(r) = floor((2 r + 1 - fy) / (2 fy)) and i0 + 1, clamped (flat_up_row).
  const int ly1 = j.lfy + 1, ny1 = j.ny - 1;
  const int ia = (2 * g.r0 + 1 - j.fy) >> ly1, ib = ((2 * (g.r1 - 1) + 1 - j.fy) >> ly1) + 1;
  const int u0 = min(max(ia, 0), ny1), u1 = min(max(ib, 0), ny1) + 1;
  g.v0 = max(0, u0 - 3 * j.ry);
  g.v1 = min(j.ny, u1 + 3 * j.ry);
  const int R = g.g1 - g.g0;
  g.lpt = pad4(R * j.cs);
  g.lpr = pad4(j.nx * j.cs);
  const int tb = j.nx * g.lpt, vb = (g.v1 - g.v0) * g.lpr;
  const int buf = align16i(tb > vb ? tb : vb);
  g.off_b1 = align16i(R * g.lpr);
  g.off_b2 = g.off_b1 + buf;
  g.off_sp = g.off_b2 + buf;
  g.bytes = g.off_sp + 16 * (g.r1 - g.r0);
  return g;
}

// Host: the parts of every plane (P = pixels / target, rounded up, 1 <= P <= min(cluster size, grid rows)) and their
// blocks, cluster by cluster (cl_size slots each; most parts first, then most pixels, first fit; a plane's parts in
// consecutive slots of one cluster, the rest idle). Returns the largest part's shared memory in bytes.
int plan_clusters(const std::vector<DevPlaneJob>& jobs, int cl_size, double target, std::vector<ClusterBlock>* out) {
  std::vector<ClusterBlock>& cb = *out;
  cb.clear();
  std::vector<int> np(jobs.size());
  std::vector<size_t> order(jobs.size());
  for (size_t jid = 0; jid < jobs.size(); ++jid) {
    const DevPlaneJob& j = jobs[jid];
    const int want = static_cast<int>(std::ceil(static_cast<double>(j.w) * j.h / target));
    np[jid] = std::max(1, std::min({want, cl_size, j.ny}));
    order[jid] = jid;
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (np[a] != np[b]) return np[a] > np[b];
    return static_cast<long long>(jobs[a].w) * jobs[a].h > static_cast<long long>(jobs[b].w) * jobs[b].h;
  });
  std::vector<int> used;  // slots taken per cluster
  int smem = 0;
  for (size_t jid : order) {
    const int P = np[jid];
    size_t c = 0;
    while (c < used.size() && used[c] + P > cl_size) ++c;
    if (c == used.size()) {
      used.push_back(0);
      cb.resize(cb.size() + static_cast<size_t>(cl_size), ClusterBlock{-1, 0, 0, 0});
    }
    const int rank0 = used[c];
    for (int q = 0; q < P; ++q) {
      cb[c * static_cast<size_t>(cl_size) + static_cast<size_t>(rank0 + q)] =
          ClusterBlock{static_cast<int>(jid), q, P, rank0};
      smem = std::max(smem, part_geo(jobs[jid], q, P).bytes);
    }
    used[c] += P;
  }
  return smem;
}

// Step 1: spans, decimation, horizontal passes, RM.
template <typename E>
__device__ __forceinline__ void cl_rows(const DevPlaneJob& j, const PartGeo& g, uint8_t* smem) {
  constexpr int CS = sizeof(E);
  int* sp = reinterpret_cast<int*>(smem + g.off_sp);
  for (int t = threadIdx.x; t < g.r1 - g.r0; t += blockDim.x) row_spans(j, j.y0 + g.r0 + t, sp + 4 * t);
  const int R = g.g1 - g.g0, nx = j.nx, lte = g.lpt / CS;
  E* T = reinterpret_cast<E*>(smem + g.off_b1);
  for (int c = threadIdx.x; c < R * nx; c += blockDim.x) {
    const int i = c / nx, jc = c - i * nx;
    T[jc * lte + i] = static_cast<E>(decimate_cell_any(j, g.g0 + i, jc));
  }
  __syncthreads();
  box3_block(smem + g.off_b1, smem + g.off_b2, nx, g.lpt, j.rx, j.mx);  // result in b2, transposed
  copy2d<E>(reinterpret_cast<E*>(smem), g.lpr / CS, 1, reinterpret_cast<const E*>(smem + g.off_b2), 1, lte, R, nx);
}

// Step 2: grid rows [v0, v1) from the RM of their owners (peer(q): part q's shared memory) into b1, row-major.
// Owner and copy have the same row pitch, so each owner's share is one contiguous run of words.
template <typename Peer>
__device__ __forceinline__ void cl_gather(const DevPlaneJob& j, const PartGeo& g, int P, uint8_t* smem, Peer peer) {
  const int nw = g.lpr >> 2;
  unsigned* dst = reinterpret_cast<unsigned*>(smem + g.off_b1);
  for (int q = 0; q < P; ++q) {
    const int a0 = part_lo(j.ny, q, P), a1 = part_lo(j.ny, q + 1, P);
    const int lo = max(a0, g.v0), hi = min(a1, g.v1);
    if (lo >= hi) continue;
    const unsigned* src = reinterpret_cast<const unsigned*>(peer(q)) + (lo - a0) * nw;
    unsigned* d = dst + (lo - g.v0) * nw;
    const int n = (hi - lo) * nw;
    constexpr int kU = 4;  // independent loads in flight per thread
    for (int t0 = threadIdx.x; t0 < n; t0 += kU * blockDim.x) {
      unsigned v[kU];
#pragma unroll
      for (int u = 0; u < kU; ++u) {
        const int t = t0 + u * static_cast<int>(blockDim.x);
        v[u] = t < n ? src[t] : 0u;
      }
#pragma unroll
      for (int u = 0; u < kU; ++u) {
        const int t = t0 + u * static_cast<int>(blockDim.x);
        if (t < n) d[t] = v[u];
      }
    }
  }
}

// Step 3 (after a block barrier): the vertical passes on rows [v0, v1) (result in b2, block barriers included) ...
__device__ __forceinline__ void cl_vpass(const DevPlaneJob& j, const PartGeo& g, uint8_t* smem) {
  box3_block(smem + g.off_b1, smem + g.off_b2, g.v1 - g.v0, g.lpr, j.ry, j.my);
}

// ... then a warp per rect row.
__device__ __forceinline__ void cl_up(const RegionPlan* plans, const DevPlaneJob& j, const PartGeo& g,
                                      const uint8_t* smem) {
  const int* sp = reinterpret_cast<const int*>(smem + g.off_sp);
  const int nwarps = static_cast<int>(blockDim.x >> 5);
  for (int r = g.r0 + static_cast<int>(threadIdx.x >> 5); r < g.r1; r += nwarps)
    up_row(plans, j, r, sp + 4 * (r - g.r0), smem + g.off_b2, g.lpr, g.v0);
}

// ---- cluster kernel -------------------------------------------------------------------------------------------
template <int kT, int kMinB>
__global__ void __launch_bounds__(kT, kMinB) cluster_blur_kernel(ClusterArgs k) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ __align__(16) uint8_t smem[];
  cg::cluster_group cl = cg::this_cluster();
  const ClusterBlock cb = k.blocks[blockIdx.x];
  const bool act = cb.job >= 0;
  const DevPlaneJob& j = k.jobs[act ? cb.job : 0];
  PartGeo g{};
  if (act) {
    g = part_geo(j, cb.part, cb.nparts);
    if (j.cs == 1) cl_rows<uint8_t>(j, g, smem);
    else if (j.cs == 2) cl_rows<uint16_t>(j, g, smem);
    else cl_rows<unsigned>(j, g, smem);
  }
  cl.sync();  // every RM of the cluster is complete (release / acquire across the cluster)
  if (act && k.stages >= 2)
    cl_gather(j, g, cb.nparts, smem, [&](int q) { return cl.map_shared_rank(smem, cb.rank0 + q); });
  __cluster_barrier_arrive();  // this block's reads of other blocks' RM are done
  if (act && k.stages >= 3) {
    __syncthreads();
    cl_vpass(j, g, smem);
    cl_up(k.plans, j, g, smem);
  }
  __cluster_barrier_wait();  // no block exits while another may still read its RM
#else
  (void)k;  // below sm_90 the host never launches this kernel
  (void)cl_vpass;
  (void)cl_up;
#endif
}

// FACEMASK_CUDA_TRACE (profiling builds only): waits for the stream, then writes one CSV line per work item: its
// queue index, kind, plane job and rows, the job's rect / grid / channels, the block and SM that ran it, and its
// global-timer stamps in ns relative to the earliest ask of the launch (asked, waits over, done, steps s4-s7 of
// trace_step; -1: not reached).
void write_trace(const char* path, cudaStream_t stream, const unsigned long long* dtrace,
                 const std::vector<DevItem>& items, const std::vector<DevPlaneJob>& jobs) {
  std::vector<unsigned long long> t(items.size() * kTraceWords);
  if (cudaStreamSynchronize(stream) != cudaSuccess ||
      cudaMemcpy(t.data(), dtrace, t.size() * sizeof(t[0]), cudaMemcpyDeviceToHost) != cudaSuccess) {
    cudaGetLastError();
    return;
  }
  unsigned long long t0 = ~0ull;
  for (size_t i = 0; i < items.size(); ++i)
    if (t[kTraceWords * i + 1]) t0 = std::min(t0, t[kTraceWords * i + 1]);
  FILE* f = std::fopen(path, "w");
  if (!f) return;
  std::fprintf(f, "item,kind,job,a,n,w,h,nx,ny,fx,fy,nch,block,sm,ask,go,done,s4,s5,s6,s7\n");
  for (size_t i = 0; i < items.size(); ++i) {
    const DevItem& it = items[i];
    const DevPlaneJob& j = jobs[static_cast<size_t>(it.job)];
    const unsigned long long* r = &t[kTraceWords * i];
    auto rel = [&](unsigned long long v) { return v ? static_cast<long long>(v - t0) : -1LL; };
    std::fprintf(f, "%zu,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%u,%u,%lld,%lld,%lld,%lld,%lld,%lld,%lld\n", i, it.kind, it.job,
                 it.a, it.n, j.w, j.h, j.nx, j.ny, j.fx, j.fy, j.nch, static_cast<unsigned>(r[0] >> 32),
                 static_cast<unsigned>(r[0] & 0xffffffffu), rel(r[1]), rel(r[2]), rel(r[3]), rel(r[4]), rel(r[5]),
                 rel(r[6]), rel(r[7]));
  }
  std::fclose(f);
}

// Host side of cov_class(). For the core's feathered ellipse, with ux = q cos(t), vy = q sin(t) (q the normalised
// radius), sd = (q2 - q) / g = (q - 1) / h with h = |(cos t / rx, sin t / ry)| in [1 / rmax, 1 / rmin], so
// |sd| >= |q - 1| * rmin and sign(sd) = sign(q - 1). a8 == 255 needs sd <= -0.498 f and a8 == 0 needs sd >= 0.498 f
// (a = 0.5 - sd / f); q <= 1 - 0.55 f / rmin - 1e-3 and q >= 1 + 0.55 f / rmin + 1e-3 imply them with a margin far
// above float rounding (the 1e-3 in q also covers the reciprocal instead of the core's division). Hard edge
// (feather <= 0 or non-finite): the core tests ux^2 + vy^2 <= 1; the same 1e-3 band applies. Anything unusual (empty
// or non-finite ellipse, other shapes): cf = 0, every pixel goes through region_alpha().
void cov_thresholds(const RegionPlan& pl, DevPlaneJob* j) {
  j->cf = 0;
  if (pl.kind != 1 || ellipse_empty(pl.ellipse) || !std::isfinite(pl.ca) || !std::isfinite(pl.sa)) return;
  const Ellipse& e = pl.ellipse;
  const double rmin = std::min(e.rx, e.ry), f = pl.feather_px;
  const bool hard = !(f > 0.0) || !std::isfinite(f);
  const double band = (hard ? 0.0 : 0.55 * f / rmin) + 1e-3;
  if (!std::isfinite(band)) return;
  const double qin = 1.0 - band, qout = 1.0 + band;
  j->cf = 1;
  j->ecx = e.cx;
  j->ecy = e.cy;
  j->ec = pl.ca;
  j->es = pl.sa;
  j->eirx = static_cast<float>(1.0 / e.rx);
  j->eiry = static_cast<float>(1.0 / e.ry);
  j->qin2 = qin > 0.0 ? static_cast<float>(qin * qin) : -1.f;
  j->qout2 = static_cast<float>(qout * qout);
}

// A plane job's layout, access paths, coverage classes and rect for plane p of frame fr under plan `plan` (index
// plan_index), and with `blur` its decimation, box radii and grid; the caller adds fill values, scratch offsets and
// the tuning knobs. False: the rect is empty on this plane.
bool plane_job(const RegionPlan& pl, int plan_index, const ImageView& fr, int p, bool blur, DevPlaneJob* out) {
  const FormatInfo& fi = format_info(fr.format);
  const PlaneLayout& lay = fi.planes[p];
  DevPlaneJob& j = *out;
  j.base = fr.data[p];
  j.pstride = fr.stride[p];
  j.plan = plan_index;
  j.ps = lay.pixel_stride;
  j.nch = lay.num_channels;
  const unsigned ps_mask = static_cast<unsigned>(lay.pixel_stride) - 1u;
  j.wordpx = (lay.pixel_stride == 4 || lay.pixel_stride == 2) &&
             (reinterpret_cast<uintptr_t>(fr.data[p]) & ps_mask) == 0 && (fr.stride[p] & ps_mask) == 0;
  j.up4 = j.wordpx && lay.pixel_stride == 4 && lay.num_channels == 3;
  for (int c = 0; c < 3; ++c) j.off[c] = c < lay.num_channels ? lay.offset[c] : 0;
  j.sx = lay.sub_x;
  j.sy = lay.sub_y;
  cov_thresholds(pl, &j);
  const int pw = plane_width(fi, p, fr.width), ph = plane_height(fi, p, fr.height);
  const int px0 = pl.x0 / j.sx, py0 = pl.y0 / j.sy;
  const int px1 = std::min((pl.x1 + j.sx - 1) / j.sx, pw), py1 = std::min((pl.y1 + j.sy - 1) / j.sy, ph);
  if (px1 <= px0 || py1 <= py0) return false;
  j.x0 = px0;
  j.y0 = py0;
  j.w = px1 - px0;
  j.h = py1 - py0;
  if (!blur) return true;
  const BlurAxis ax = plane_blur(pl, j.sx), ay = plane_blur(pl, j.sy);
  j.fx = ax.factor;
  j.lfx = ax.log2_factor;
  j.rx = ax.radius;
  j.fy = ay.factor;
  j.lfy = ay.log2_factor;
  j.ry = ay.radius;
  j.mx = magic_for(j.rx);
  j.my = magic_for(j.ry);
  j.nx = (j.w + j.fx - 1) >> j.lfx;
  j.ny = (j.h + j.fy - 1) >> j.lfy;
  j.cs = j.nch == 3 ? 4 : j.nch;
  j.sp = pad4(j.nx * j.cs);
  j.pairpx = lay.pixel_stride == 1 && j.fx >= 2 && (j.x0 & 1) == 0 &&
             (reinterpret_cast<uintptr_t>(fr.data[p]) & 1u) == 0 && (fr.stride[p] & 1) == 0;
  // Threads per cell: one per column (per column pair in pair mode), at most a warp.
  j.lgx = std::min(j.lfx - (j.pairpx ? 1 : 0), 5);
  j.gx = 1 << j.lgx;
  return true;
}

// Flat path: pixels per upsampling thread (DevPlaneJob::ug): whole aligned 32-bit words of 1- or 2-byte pixels.
int flat_group(const DevPlaneJob& j) {
  const bool a4 = (reinterpret_cast<uintptr_t>(j.base) & 3u) == 0 && (j.pstride & 3) == 0;
  return j.nch == 1 ? (a4 ? 4 : 1) : (j.nch == 2 && j.wordpx && a4 ? 2 : 1);
}

std::string cuda_msg(const char* what, cudaError_t e) {
  return std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
}

// Launch configuration of the cluster kernel: 1-D clusters of `csize` blocks (cfg points at the member attribute).
struct ClusterConfig {
  cudaLaunchAttribute at[1];
  cudaLaunchConfig_t cfg{};
  ClusterConfig(int blocks, int threads, int smem, int csize, cudaStream_t stream) {
    at[0].id = cudaLaunchAttributeClusterDimension;
    at[0].val.clusterDim.x = static_cast<unsigned>(csize);
    at[0].val.clusterDim.y = 1;
    at[0].val.clusterDim.z = 1;
    cfg.gridDim = dim3(static_cast<unsigned>(blocks));
    cfg.blockDim = dim3(static_cast<unsigned>(threads));
    cfg.dynamicSmemBytes = static_cast<size_t>(smem);
    cfg.stream = stream;
    cfg.attrs = at;
    cfg.numAttrs = 1;
  }
  ClusterConfig(const ClusterConfig&) = delete;
  ClusterConfig& operator=(const ClusterConfig&) = delete;
};

__global__ void empty_kernel() {}

}  // namespace

double empty_launch_us(Stream stream, int iters, bool cooperative, std::string* error) {
  cudaEvent_t t0 = nullptr, t1 = nullptr;
  cudaError_t e = cudaEventCreate(&t0);
  if (e == cudaSuccess) e = cudaEventCreate(&t1);
  std::vector<double> us;
  const int warmup = 10;
  for (int i = 0; e == cudaSuccess && i < warmup + std::max(1, iters); ++i) {
    e = cudaEventRecord(t0, stream);
    if (e != cudaSuccess) break;
    e = cooperative ? cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(&empty_kernel), dim3(1), dim3(32),
                                                  nullptr, 0, stream)
                    : cudaLaunchKernel(reinterpret_cast<const void*>(&empty_kernel), dim3(1), dim3(32), nullptr, 0,
                                       stream);
    if (e != cudaSuccess) break;
    e = cudaEventRecord(t1, stream);
    if (e == cudaSuccess) e = cudaEventSynchronize(t1);
    float ms = 0.f;
    if (e == cudaSuccess) e = cudaEventElapsedTime(&ms, t0, t1);
    if (e == cudaSuccess && i >= warmup) us.push_back(ms * 1000.0);
  }
  if (t0) cudaEventDestroy(t0);
  if (t1) cudaEventDestroy(t1);
  if (e != cudaSuccess) {
    if (error) *error = cuda_msg(cooperative ? "empty cooperative launch" : "empty launch", e);
    cudaGetLastError();
    return -1.0;
  }
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

bool cuda_available(std::string* why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (why) *why = cuda_msg("cudaGetDeviceCount", e);
    cudaGetLastError();
    return false;
  }
  if (n <= 0) {
    if (why) *why = "no CUDA device";
    return false;
  }
  return true;
}

// Two slots of (pinned staging, device arena, scratch): the host plans batch k+1 while the GPU runs batch k; a slot is
// reused only after its previous batch finished (its event).
struct Slot {
  uint8_t* staging = nullptr;
  size_t staging_cap = 0;
  uint8_t* arena = nullptr;
  size_t arena_cap = 0;
  uint8_t* scratch = nullptr;
  size_t scratch_cap = 0;
  cudaEvent_t done = nullptr;
  bool pending = false;

  void release() {
    if (pending && done) cudaEventSynchronize(done);
    if (staging) cudaFreeHost(staging);
    if (arena) cudaFree(arena);
    if (scratch) cudaFree(scratch);
    if (done) cudaEventDestroy(done);
    *this = Slot();
  }

  bool wait_idle(std::string* error) {
    if (!pending) return true;
    const cudaError_t e = cudaEventSynchronize(done);
    pending = false;
    if (e != cudaSuccess) {
      *error = cuda_msg("waiting for an earlier batch", e);
      return false;
    }
    return true;
  }

  static bool grow(uint8_t** p, size_t* cap, size_t need, bool pinned, const char* what, std::string* error) {
    if (need <= *cap) return true;
    if (*p) pinned ? cudaFreeHost(*p) : cudaFree(*p);
    *p = nullptr;
    *cap = 0;
    const size_t c = std::max<size_t>(need + need / 2, 256 * 1024);
    const cudaError_t e = pinned ? cudaMallocHost(reinterpret_cast<void**>(p), c)
                                 : cudaMalloc(reinterpret_cast<void**>(p), c);
    if (e != cudaSuccess) {
      *error = cuda_msg(what, e);
      return false;
    }
    *cap = c;
    return true;
  }

  bool ensure(size_t staging_need, size_t arena_need, size_t scratch_need, std::string* error) {
    return grow(&staging, &staging_cap, staging_need, true, "cudaMallocHost (descriptor staging)", error) &&
           grow(&arena, &arena_cap, arena_need, false, "cudaMalloc (descriptor arena)", error) &&
           grow(&scratch, &scratch_cap, scratch_need, false, "cudaMalloc (blur scratch)", error);
  }
};

struct Redactor::Impl {
  int device = 0;
  int num_sms = 1;
  bool coop_supported = false;
  struct Variant {
    const void* fn = nullptr;
    int threads = 0, bps = 0;  // threads per block, resident blocks per SM
  } var[4];
  Variant fam_var[2];  // the default variant (256 threads, 2 blocks/SM) compiled for 1-/2-channel or 3-channel planes
  Variant phase_var[4];  // one launch per phase: [0] blur phases with row bands (dataflow: all blur kinds), [1] columns,
                         // [2] upsampling, [3] misc
  int smem_optin = 0;  // shared memory per block with opt-in (the flat path's box passes)
  int cc_major = 0;    // compute capability (programmatic dependent launch: 9+)
  // cluster_blur_kernel variants (FACEMASK_CUDA_CVAR): threads per block, resident blocks per SM (register cap).
  static constexpr int kClVars = 3;
  const void* cl_fn[kClVars] = {nullptr, nullptr, nullptr};
  int cl_thr[kClVars] = {256, 256, 512}, cl_minb[kClVars] = {2, 3, 1};
  bool cl_ok = false;                          // thread block clusters usable (sm_90+, attributes set)
  int cl_q_smem = -1, cl_q_size = 0, cl_q_var = -1, cl_q_n = 0;  // the last cluster occupancy query and its answer
  bool init_ok = false;
  std::string init_error;
  Slot slots[2];
  int cur = 0;
  cudaEvent_t t0 = nullptr, t1 = nullptr;  // kernel timing (set_timing)
  void* trace = nullptr;                    // FACEMASK_CUDA_TRACE buffer (profiling builds)
  size_t trace_bytes = 0;

  ~Impl() {
    for (Slot& s : slots) s.release();
    if (trace) cudaFree(trace);
    if (t0) cudaEventDestroy(t0);
    if (t1) cudaEventDestroy(t1);
  }
};

Redactor::Redactor() : impl_(new Impl) {
  Impl& m = *impl_;
  cudaError_t e = cudaGetDevice(&m.device);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&m.num_sms, cudaDevAttrMultiProcessorCount, m.device);
  int coop = 0;
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, m.device);
  // Kernel variants (threads per block, register cap as blocks per SM): FACEMASK_CUDA_OCC selects one (benchmarks).
  const void* fns[4] = {reinterpret_cast<const void*>(redact_kernel<128, 4>),
                        reinterpret_cast<const void*>(redact_kernel<256, 2>),
                        reinterpret_cast<const void*>(redact_kernel<128, 8>),
                        reinterpret_cast<const void*>(redact_kernel<256, 1>)};
  const int thr[4] = {128, 256, 128, 256};
  for (int v = 0; v < 4; ++v) {
    m.var[v].fn = fns[v];
    m.var[v].threads = thr[v];
    if (e == cudaSuccess)
      e = cudaFuncSetAttribute(fns[v], cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared);
    if (e == cudaSuccess)
      e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&m.var[v].bps, fns[v], thr[v], kSmemBytes);
  }
  // (The same at 3 blocks/SM, 80 registers, spilled 346-384 bytes; H100, alternated 3x: NV12 57.5-58.6 vs
  // 54.2-56.1 us, RGBA 62.8-65.5 vs 56.0-56.7 us: not kept, docs/benchmarks.md round 5.)
  const void* ffns[2] = {reinterpret_cast<const void*>(redact_kernel<256, 2, 3>),
                         reinterpret_cast<const void*>(redact_kernel<256, 2, 4>)};
  for (int v = 0; v < 2; ++v) {
    Impl::Variant& fv = m.fam_var[v];
    fv.fn = ffns[v];
    fv.threads = 256;
    if (e == cudaSuccess)
      e = cudaFuncSetAttribute(ffns[v], cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared);
    if (e == cudaSuccess) e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&fv.bps, ffns[v], 256, kSmemBytes);
  }
  const void* pfns[4] = {
      reinterpret_cast<const void*>(redact_phase_kernel<kRowsBlocks, (1 << kRows) | (1 << kCols) | (1 << kUpsample)>),
      reinterpret_cast<const void*>(redact_phase_kernel<kColsBlocks, (1 << kCols)>),
      reinterpret_cast<const void*>(redact_phase_kernel<kUpBlocks, (1 << kUpsample)>),
      reinterpret_cast<const void*>(redact_phase_kernel<2, (1 << kPixelCell) | (1 << kFillRows)>)};
  for (int v = 0; v < 4; ++v) {
    m.phase_var[v].fn = pfns[v];
    m.phase_var[v].threads = 256;
    if (e == cudaSuccess)
      e = cudaFuncSetAttribute(pfns[v], cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared);
    if (e == cudaSuccess) e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&m.phase_var[v].bps, pfns[v], 256, kSmemBytes);
  }
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&m.smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, m.device);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&m.cc_major, cudaDevAttrComputeCapabilityMajor, m.device);
  if (e == cudaSuccess && m.smem_optin > 0)
    e = cudaFuncSetAttribute(reinterpret_cast<const void*>(flat_box_kernel), cudaFuncAttributeMaxDynamicSharedMemorySize,
                             m.smem_optin);
  int cl_launch = 0;
  if (e == cudaSuccess && m.cc_major >= 9 &&
      cudaDeviceGetAttribute(&cl_launch, cudaDevAttrClusterLaunch, m.device) == cudaSuccess && cl_launch) {
    m.cl_fn[0] = reinterpret_cast<const void*>(cluster_blur_kernel<256, 2>);
    m.cl_fn[1] = reinterpret_cast<const void*>(cluster_blur_kernel<256, 3>);
    m.cl_fn[2] = reinterpret_cast<const void*>(cluster_blur_kernel<512, 1>);
    bool ok = m.smem_optin > 0;
    for (const void* fn : m.cl_fn)
      ok = ok &&
           cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, m.smem_optin) == cudaSuccess &&
           cudaFuncSetAttribute(fn, cudaFuncAttributeNonPortableClusterSizeAllowed, 1) == cudaSuccess;
    if (!ok) cudaGetLastError();  // no cluster path; the other paths are unaffected
    m.cl_ok = ok;
  }
  for (Slot& sl : m.slots)
    if (e == cudaSuccess) e = cudaEventCreateWithFlags(&sl.done, cudaEventDisableTiming);
  if (e == cudaSuccess) e = cudaEventCreate(&m.t0);
  if (e == cudaSuccess) e = cudaEventCreate(&m.t1);
  if (e != cudaSuccess) {
    m.init_error = cuda_msg("CUDA initialisation", e);
    cudaGetLastError();
    return;
  }
  m.coop_supported = coop != 0 && m.var[0].bps > 0;
  m.init_ok = true;
}

Redactor::~Redactor() = default;

bool Redactor::redact(const ImageView* frames, int num_frames, const BatchRegion* regions, size_t num_regions,
                      const RedactParams& params, Stream stream_, std::string* error, LaunchStats* stats) {
  std::string dummy;
  if (!error) error = &dummy;
  const auto t_host = std::chrono::steady_clock::now();
  LaunchStats st;
  st.regions = static_cast<int>(num_regions);
  Impl& m = *impl_;
  if (!m.init_ok) {
    *error = m.init_error.empty() ? "CUDA is not initialised" : m.init_error;
    return false;
  }
  if (num_frames < 0 || (num_frames > 0 && !frames) || (num_regions > 0 && !regions)) {
    *error = "null frames or regions";
    return false;
  }
  if (!std::isfinite(params.strength) || !(params.strength > 0.f) || !std::isfinite(params.margin) ||
      params.margin < 0.f || !std::isfinite(params.feather) || params.feather < 0.f ||
      !std::isfinite(params.mask_threshold)) {
    *error = "invalid redaction parameters (strength must be > 0; margin, feather >= 0; all finite)";
    return false;
  }
  if (params.mode != RedactMode::kBlur && params.mode != RedactMode::kPixelate && params.mode != RedactMode::kFill) {
    *error = "unknown redaction mode";
    return false;
  }
  if (params.draw_outline) {
    *error = "draw_outline is a CPU-only tuning aid; the CUDA path does not draw outlines";
    return false;
  }
  for (int i = 0; i < num_frames; ++i) {
    const std::string why = validate_image(frames[i]);
    if (!why.empty()) {
      *error = "frame " + std::to_string(i) + ": " + why;
      return false;
    }
  }
  cudaStream_t stream = reinterpret_cast<cudaStream_t>(stream_);

  // ---- plan regions (core), assign dependency waves --------------------------------------------------------------
  std::vector<RegionPlan> plans;
  std::vector<int> plan_frame, plan_wave;
  size_t mask_floats = 0;
  for (size_t i = 0; i < num_regions; ++i) {
    const BatchRegion& br = regions[i];
    if (br.frame < 0 || br.frame >= num_frames) {
      *error = "region " + std::to_string(i) + ": frame index " + std::to_string(br.frame) + " out of range";
      return false;
    }
    const ImageView& fr = frames[br.frame];
    RegionPlan pl = plan_region(br.region, params, fr.width, fr.height);
    if (pl.empty) continue;
    if (std::isfinite(br.mask_threshold) && br.mask_threshold >= 0.f) pl.mask_threshold = br.mask_threshold;
    if (pl.kind == 2) {
      if (br.region.mask_w <= 0 || br.region.mask_h <= 0 || br.region.mask_w > 4096 || br.region.mask_h > 4096) {
        *error = "region " + std::to_string(i) + ": instance mask size out of range";
        return false;
      }
      mask_floats += static_cast<size_t>(br.region.mask_w) * br.region.mask_h;
    }
    int wave = 0;
    for (size_t q = 0; q < plans.size(); ++q) {
      if (plan_frame[q] != br.frame) continue;
      const RegionPlan& o = plans[q];
      if (pl.x0 < o.x1 && o.x0 < pl.x1 && pl.y0 < o.y1 && o.y0 < pl.y1) wave = std::max(wave, plan_wave[q] + 1);
    }
    plans.push_back(pl);
    plan_frame.push_back(br.frame);
    plan_wave.push_back(wave);
  }
  st.regions_drawn = static_cast<int>(plans.size());
  if (plans.empty()) {
    if (stats) *stats = st;
    return true;
  }
  int num_waves = 0;
  for (int w : plan_wave) num_waves = std::max(num_waves, w + 1);
  st.waves = num_waves;

  // ---- kernel variant (its resident blocks size the work items) ---------------------------------------------------
  // Default: 256 threads per block, registers capped for 2 blocks per SM (128 registers; measured fastest on H100
  // against the others, docs/benchmarks.md). Tuning knob (benchmarks): FACEMASK_CUDA_OCC=4: 128 threads, 4 blocks/SM
  // (128 registers); 8: 128 threads, 8 blocks/SM (64 registers, spills); 1: 256 threads, uncapped.
  const char* occ = std::getenv("FACEMASK_CUDA_OCC");
  const int occv = occ ? std::atoi(occ) : 2;
  int vi = occv == 4 ? 0 : (occv == 8 ? 2 : (occv == 1 ? 3 : 1));
  if (m.var[vi].bps <= 0) vi = 0;
  const Impl::Variant* kv = &m.var[vi];
  // Channel counts of the batch's planes (bit nch - 1): the default variant has smaller twins for batches of only
  // 1-/2-channel planes (NV12, I420, GRAY8, ...) or only 3-channel ones (RGBA, BGRx, RGB, ...).
  // Tuning knob (benchmarks): FACEMASK_CUDA_FAMILY=0 always launches the kernel with every plane kind compiled in.
  int fam = 0;
  for (int i = 0; i < num_frames; ++i) {
    const FormatInfo& fi = format_info(frames[i].format);
    for (int p = 0; p < fi.num_planes; ++p) fam |= 1 << (fi.planes[p].num_channels - 1);
  }
  const char* fmk = std::getenv("FACEMASK_CUDA_FAMILY");
  if (vi == 1 && !(fmk && std::strcmp(fmk, "0") == 0)) {
    const int fv = (fam & ~3) == 0 ? 0 : (fam == 4 ? 1 : -1);
    if (fv >= 0 && m.fam_var[fv].bps > 0) kv = &m.fam_var[fv];
  }
  const void* kfn = kv->fn;
  const int bps = kv->bps, threads = kv->threads;
  // Tuning knob (benchmarks): FACEMASK_CUDA_SPLIT=1: one plain launch per phase with a kernel compiled for that
  // phase's item kinds only (own register cap and occupancy) instead of one cooperative launch.
  const char* spl = std::getenv("FACEMASK_CUDA_SPLIT");
  const bool split = spl && std::strcmp(spl, "1") == 0 && m.phase_var[0].bps > 0 && m.phase_var[2].bps > 0;
  const int resident = std::max(1, (split ? std::max(m.phase_var[0].bps, m.phase_var[2].bps) : bps) * m.num_sms);
  // Tuning knob (benchmarks): FACEMASK_CUDA_ITEMS = work items per resident block the decimation and upsampling
  // phases are cut into (default 1: measured fastest on H100 against 2 and 4, docs/benchmarks.md).
  double items_per_block = 1.0;
  if (const char* ib = std::getenv("FACEMASK_CUDA_ITEMS")) items_per_block = std::max(0.25, std::atof(ib));
  // Tuning knob (benchmarks): FACEMASK_CUDA_NOCLASSIFY=1 evaluates region_alpha() at every pixel (no pre-classes).
  const char* ncl = std::getenv("FACEMASK_CUDA_NOCLASSIFY");
  const bool no_classify = ncl && std::strcmp(ncl, "1") == 0;
  // Tuning knob (benchmarks): FACEMASK_CUDA_NOWORD4=1 upsamples 4-byte RGB-type pixels byte by byte (PixIO<3, 0>).
  const char* nw4 = std::getenv("FACEMASK_CUDA_NOWORD4");
  const bool no_word4 = nw4 && std::strcmp(nw4, "1") == 0;

  // ---- plane jobs ---------------------------------------------------------------------------------------------------
  std::vector<DevPlaneJob> jobs;
  std::vector<int> job_wave;
  long long scratch_bytes = 0;
  const bool blur = params.mode == RedactMode::kBlur;
  auto scratch_alloc = [&](long long n) {
    const long long o = scratch_bytes;
    scratch_bytes += (n + 127) & ~127LL;  // 128-byte aligned: no cache line holds bytes of two grids
    return o;
  };
  long long dec_pixels = 0;  // pixels read by the decimation over the batch (upsampling item sizing)
  std::string item_error;    // a plane the work-item kernel cannot blur (the flat path may)
  // Row-band (phase A) items of 1- and 2-channel planes are sized by cost = pixels read + cell_cost x grid cells:
  // a cell (decimation unit, its share of the 3 box passes and of the fused vertical passes) costs as much as many
  // pixels. Per-item timestamps on H100 (bench workload, items sized by pixels): 4.3 us per 1000 cells vs 0.12 us per
  // 1000 pixels (NV12), and a plane with decimation factor 1-2 was one item of 30-40 us on the critical path. Cell
  // cost 12: NV12 61.1 -> 58.9 us (24: 59.1), same process, alternated. 4-byte-cell (3-channel) planes keep the
  // pixel sizing: RGBA measured 59.4 us with it, 62.1 with cost 12, 63.5 with 24 (their bands then shrink to 1-3 rows,
  // which leaves the horizontal passes 1-3 lane words wide).
  // Tuning knob (benchmarks): FACEMASK_CUDA_CELLCOST (default 12; 0: pixels only, the earlier sizing).
  double cell_cost = 12.0;
  if (const char* cc = std::getenv("FACEMASK_CUDA_CELLCOST")) cell_cost = std::max(0.0, std::atof(cc));
  auto cell_cost_of = [&](const DevPlaneJob& jj) { return jj.cs == 4 ? 0.0 : cell_cost; };
  // Cost of one grid row of a row band: pixels read + cell cost x cells.
  auto row_cost_of = [&](const DevPlaneJob& jj) {
    return static_cast<double>(jj.fy) * jj.w + cell_cost_of(jj) * jj.nx;
  };
  double dec_cost = 0.0;
  for (size_t pi = 0; pi < plans.size(); ++pi) {
    const RegionPlan& pl = plans[pi];
    const ImageView& fr = frames[plan_frame[pi]];
    const FormatInfo& fi = format_info(fr.format);
    for (int p = 0; p < fi.num_planes; ++p) {
      const PlaneLayout& lay = fi.planes[p];
      DevPlaneJob j{};
      if (!plane_job(pl, static_cast<int>(pi), fr, p, blur, &j)) continue;
      if (no_word4) j.up4 = 0;
      if (no_classify) j.cf = 0;
      for (int c = 0; c < 3; ++c)
        j.fill[c] = c < lay.num_channels ? fill_value(fi, lay.comp[c], params.fill_rgb[0], params.fill_rgb[1],
                                                      params.fill_rgb[2])
                                         : 0;
      if (blur) {
        j.s0 = scratch_alloc(static_cast<long long>(j.ny) * j.sp);
        j.s1 = scratch_alloc(static_cast<long long>(j.ny) * j.sp);
        // Item kernel: bands of one grid row / column must fit in shared memory (two buffers of length x 4 lane
        // bytes). The flat path has no such limit (its box launch needs the whole grid in opt-in shared memory).
        if (item_error.empty() && (2 * ((j.nx * 4 + 15) & ~15) > kSmemBytes || 2 * ((j.ny * 4 + 15) & ~15) > kSmemBytes))
          item_error = "region rect " + std::to_string(j.w) + "x" + std::to_string(j.h) +
                       " gives a blur grid too large for the CUDA kernel's shared memory (max " +
                       std::to_string(kSmemBytes / 8) + " cells per side)";
        dec_pixels += static_cast<long long>(j.ny) * j.fy * j.w;
        dec_cost += static_cast<double>(j.ny) * row_cost_of(j);
      } else if (params.mode == RedactMode::kPixelate) {
        j.cw = std::max(1, pl.cell / j.sx);
        j.chh = std::max(1, pl.cell / j.sy);
        j.ncx = (j.w + j.cw - 1) / j.cw;
      }
      jobs.push_back(j);
      job_wave.push_back(plan_wave[pi]);
    }
  }

  // ---- path: flat blur launches or the work-item kernel ----------------------------------------------------------
  // Tuning knob (benchmarks): FACEMASK_CUDA_FLAT=1 blurs by the flat path (kFlatDefault: the default without the
  // knob), 0 by the work-item kernel. The item kernel also takes a batch where a plane's grid does not fit the box
  // launch's opt-in shared memory, and runs under its own launch knobs (SPLIT, PHASES, TRACE).
  const char* flk = std::getenv("FACEMASK_CUDA_FLAT");
  const char* trace_env = kTrace ? std::getenv("FACEMASK_CUDA_TRACE") : nullptr;
  bool flat = blur && (flk ? std::strcmp(flk, "1") == 0 : kFlatDefault) && !split && !(trace_env && *trace_env) &&
              !std::getenv("FACEMASK_CUDA_PHASES");
  for (const DevPlaneJob& j : jobs)
    if (flat && 2LL * flat_box_buf(j.nx, j.ny, j.cs) > m.smem_optin) flat = false;

  // ---- path: the cluster blur launch (sm_90+) --------------------------------------------------------------------
  // FACEMASK_CUDA_CLUSTER=1 / 0 (kClusterDefault without it). Batches of one dependency wave only (a later wave reads
  // an earlier one's output: the item kernel keeps those to one launch). Tuning knobs (benchmarks):
  // FACEMASK_CUDA_CSIZE = cluster size (1..16, default 8; above 8 is non-portable, H100 allows 16),
  // FACEMASK_CUDA_CVAR = kernel variant (0: 256 threads, 2 blocks per SM; 1: 256, 3; 2: 512, 1), FACEMASK_CUDA_CPARTS
  // = parts per SM the batch's pixels are cut into (default: the variant's blocks per SM), FACEMASK_CUDA_CSTAGES = steps run (profiling; below 3 the output is
  // incomplete).
  const char* clk = std::getenv("FACEMASK_CUDA_CLUSTER");
  bool clus = blur && !flat && (clk ? std::strcmp(clk, "1") == 0 : kClusterDefault) && m.cl_ok && num_waves == 1 &&
              !split && !force_multi_launch_ && !(trace_env && *trace_env) && !std::getenv("FACEMASK_CUDA_PHASES");
  std::vector<ClusterBlock> cblocks;
  int cl_size = 8, cl_var = 0, cl_threads = 256, cl_smem = 0;
  if (clus) {
    if (const char* v = std::getenv("FACEMASK_CUDA_CSIZE")) cl_size = std::min(16, std::max(1, std::atoi(v)));
    if (const char* v = std::getenv("FACEMASK_CUDA_CVAR")) cl_var = std::min(Impl::kClVars - 1, std::max(0, std::atoi(v)));
    cl_threads = m.cl_thr[cl_var];
    double parts_per_sm = m.cl_minb[cl_var];
    if (const char* v = std::getenv("FACEMASK_CUDA_CPARTS")) parts_per_sm = std::max(0.1, std::atof(v));
    double total = 0.0;
    for (DevPlaneJob& j : jobs) {
      j.ug = flat_group(j);
      total += static_cast<double>(j.w) * j.h;
    }
    cl_smem = plan_clusters(jobs, cl_size, std::max(1024.0, total / (parts_per_sm * m.num_sms)), &cblocks);
    const void* fn = m.cl_fn[cl_var];
    if (cblocks.empty() || cl_smem > m.smem_optin) {
      clus = false;
    } else if (m.cl_q_smem != cl_smem || m.cl_q_size != cl_size || m.cl_q_var != cl_var) {
      // Can a cluster of this shape be resident at all (shared memory x cluster size on one GPC)?
      const ClusterConfig cc(static_cast<int>(cblocks.size()), cl_threads, cl_smem, cl_size, stream);
      int n = 0;
      if (cudaOccupancyMaxActiveClusters(&n, fn, &cc.cfg) != cudaSuccess) {
        cudaGetLastError();
        n = 0;
      }
      m.cl_q_smem = cl_smem;
      m.cl_q_size = cl_size;
      m.cl_q_var = cl_var;
      m.cl_q_n = n;
    }
    if (clus && m.cl_q_n < 1) clus = false;
    if (!clus) cblocks.clear();
  }
  if (!flat && !clus && !item_error.empty()) {
    *error = item_error;
    return false;
  }

  // ---- work items per phase (work-item kernel) --------------------------------------------------------------------
  // Blur: 3 phases per wave (A decimation + horizontal passes per band of grid rows, B vertical passes per band of
  // grid columns, C upsampling + composite per band of pixel rows); pixelate / fill: one. Empty phases are dropped.
  constexpr int kPhasesPerWave = 3;
  std::vector<std::vector<DevItem>> phase_items(static_cast<size_t>(num_waves) * kPhasesPerWave);
  const double target_items = items_per_block * resident * num_waves;
  // Tuning knob (benchmarks): FACEMASK_CUDA_UPITEMS = upsampling items per resident block (default: ITEMS's value);
  // scales the upsampling items alone (round 8 in docs/benchmarks.md).
  double up_items_per_block = items_per_block;
  if (const char* ub = std::getenv("FACEMASK_CUDA_UPITEMS")) up_items_per_block = std::max(0.25, std::atof(ub));
  const double px_per_item = std::max(1024.0, dec_pixels / (up_items_per_block * resident * num_waves));
  const double cost_per_item = std::max(1024.0, dec_cost / target_items);
  // Tuning knob (benchmarks): FACEMASK_CUDA_NOFUSE=1 runs every plane's vertical passes in phase B.
  const char* nf = std::getenv("FACEMASK_CUDA_NOFUSE");
  const bool no_fuse = nf && std::strcmp(nf, "1") == 0;
  // Tuning knob (benchmarks): FACEMASK_CUDA_BARRIER=1 separates a wave's blur stages by grid-wide barriers (three
  // phases) instead of the default dataflow order (one phase, per-plane waits).
  const char* nb = std::getenv("FACEMASK_CUDA_BARRIER");
  const bool dataflow = !(nb && std::strcmp(nb, "1") == 0);
  // Shared memory of a row band of n grid rows (A) and of an upsampling item of n pixel rows (C).
  auto fits_rows_of = [&](const DevPlaneJob& jj, int n) {
    return 2 * ((jj.nx * pad4(n * jj.cs) + 15) & ~15) <= kSmemBytes;
  };
  auto fits_up_of = [&](const DevPlaneJob& jj, int n) {
    const int vbytes = jj.nch == 3 ? 8 : 2 * jj.nch;
    return kPlanBytes + ((n * 16 + 15) & ~15) + static_cast<long long>(n) * jj.nx * vbytes <= kSmemBytes;
  };
  // Tuning knob (benchmarks): FACEMASK_CUDA_GREEDY=1 sizes the blur items by a min-max split instead of a fixed size
  // per item: per wave, at most DECITEMS x resident row bands and UPITEMS x resident upsampling items (defaults: ITEMS)
  // in all, each plane's share chosen greedily (the plane with the most costly item gets one more) so the costliest
  // item is as small as that budget allows - no plane's rounding adds items beyond the budget.
  const char* gre = std::getenv("FACEMASK_CUDA_GREEDY");
  const bool greedy = blur && !flat && gre && std::strcmp(gre, "1") == 0;
  double dec_items_per_block = items_per_block;
  if (const char* db = std::getenv("FACEMASK_CUDA_DECITEMS")) dec_items_per_block = std::max(0.25, std::atof(db));
  std::vector<int> band_rows(jobs.size(), 0), up_count(jobs.size(), 0);
  if (greedy) {
    struct Cand {
      double cost;
      size_t jid;
      bool operator<(const Cand& o) const { return cost < o.cost; }
    };
    for (int w = 0; w < num_waves; ++w) {
      std::priority_queue<Cand> pa, pc;
      long long na = 0, nc = 0;
      for (size_t jid = 0; jid < jobs.size(); ++jid) {
        if (job_wave[jid] != w) continue;
        const DevPlaneJob& jj = jobs[jid];
        int R = std::max(1, std::min(jj.ny, 256));
        while (R > 1 && !fits_rows_of(jj, R)) --R;
        band_rows[jid] = R;
        na += (jj.ny + R - 1) / R;
        pa.push({R * row_cost_of(jj), jid});
        int n = 1;
        while (n < jj.h && !fits_up_of(jj, (jj.h + n - 1) / n)) ++n;
        up_count[jid] = n;
        nc += n;
        pc.push({static_cast<double>((jj.h + n - 1) / n) * jj.w, jid});
      }
      const long long budget_a = std::llround(dec_items_per_block * resident);
      while (!pa.empty()) {
        const Cand c = pa.top();
        const DevPlaneJob& jj = jobs[c.jid];
        const int R = band_rows[c.jid], q = 4 / jj.cs;
        const int Rn = R > q ? (R - 1) / q * q : R - 1;  // next smaller multiple of q (whole lane words)
        if (Rn < 1) break;
        const long long dk = (jj.ny + Rn - 1) / Rn - (jj.ny + R - 1) / R;
        if (na + dk > budget_a) break;
        pa.pop();
        na += dk;
        band_rows[c.jid] = Rn;
        pa.push({Rn * row_cost_of(jj), c.jid});
      }
      const long long budget_c = std::llround(up_items_per_block * resident);
      while (!pc.empty() && nc < budget_c) {
        const Cand c = pc.top();
        const DevPlaneJob& jj = jobs[c.jid];
        const int n = up_count[c.jid] + 1;
        if (n > jj.h) break;
        pc.pop();
        ++nc;
        up_count[c.jid] = n;
        pc.push({static_cast<double>((jj.h + n - 1) / n) * jj.w, c.jid});
      }
    }
  }
  for (size_t jid = 0; jid < (flat || clus ? 0 : jobs.size()); ++jid) {
    const DevPlaneJob j = jobs[jid];
    const int id = static_cast<int>(jid), base = job_wave[jid] * kPhasesPerWave;
    if (blur) {
      // A: R grid rows per item (about cost_per_item: pixels read + cell cost x cells), whole 32-bit lane words (R a
      // multiple of 4 / cs), two shared buffers of nx x pad4(R cs) bytes; greedy: the min-max split's R.
      int R = band_rows[jid];
      if (!greedy) {
        const int q = 4 / j.cs;
        R = static_cast<int>(std::ceil(cost_per_item / row_cost_of(j)));
        R = std::min(std::max(1, (R + q - 1) / q * q), std::max(1, std::min(j.ny, 256)));
        while (R > 1 && !fits_rows_of(j, R)) --R;
      }
      for (int a = 0; a < j.ny; a += R) phase_items[base].push_back({id, kRows, a, std::min(R, j.ny - a)});
      jobs[jid].nitems_rows = (j.ny + R - 1) / R;
      jobs[jid].nitems_cols = 0;
      // B: fused into A (the whole grid's columns fit in shared memory) or bands of at most 64 lane bytes of grid
      // columns in a phase of their own.
      jobs[jid].fuse = !no_fuse && 2 * ((j.ny * pad4(j.nx * j.cs) + 15) & ~15) <= kSmemBytes;
      if (!jobs[jid].fuse) {
        int C = std::max(1, 64 / j.cs);
        while (C > 1 && 2 * ((j.ny * pad4(C * j.cs) + 15) & ~15) > kSmemBytes) --C;
        for (int a = 0; a < j.nx; a += C) phase_items[base + 1].push_back({id, kCols, a, std::min(C, j.nx - a)});
        jobs[jid].nitems_cols = (j.nx + C - 1) / C;
      }
      // C: about px_per_item pixels per item (greedy: the min-max split's item count); shared: the plan, 4 span ints
      // per row and a row of V per row. Item i takes rows i, i + nitems, ... (at most `rows` of them).
      int rows, nitems = up_count[jid];
      if (greedy) {
        rows = (j.h + nitems - 1) / nitems;
      } else {
        rows = static_cast<int>(std::max(1.0, std::min(static_cast<double>(j.h), std::round(px_per_item / j.w))));
        while (rows > 1 && !fits_up_of(j, rows)) --rows;
        nitems = (j.h + rows - 1) / rows;
      }
      if (!fits_up_of(j, rows)) {
        *error = "region rect " + std::to_string(j.w) + "x" + std::to_string(j.h) +
                 " is too wide for the CUDA kernel's shared memory";
        return false;
      }
      for (int a = 0; a < nitems; ++a) phase_items[base + 2].push_back({id, kUpsample, a, nitems});
    } else if (params.mode == RedactMode::kPixelate) {
      const int ncy = (j.h + j.chh - 1) / j.chh;
      for (int c = 0; c < j.ncx * ncy; ++c) phase_items[base].push_back({id, kPixelCell, c, 1});
    } else {
      const int rows = std::max(1, kFillPixelsPerItem / j.w);
      for (int a = 0; a < j.h; a += rows) phase_items[base].push_back({id, kFillRows, a, std::min(rows, j.h - a)});
    }
  }
  std::vector<DevItem> items;
  std::vector<Phase> phases;
  int max_phase_items = 0;
  auto cost = [&](const DevItem& t) -> long long {
    const DevPlaneJob& jj = jobs[static_cast<size_t>(t.job)];
    switch (t.kind) {
      case kRows: return static_cast<long long>(t.n * row_cost_of(jj));
      case kCols: return static_cast<long long>(t.n) * jj.ny;
      case kUpsample: return static_cast<long long>((jj.h - t.a + t.n - 1) / t.n) * jj.w;
      default: return static_cast<long long>(t.n) * jj.w;
    }
  };
  // Largest items first (dynamic fetch then balances the tail).
  auto by_cost = [&](std::vector<DevItem>& v) {
    std::stable_sort(v.begin(), v.end(), [&](const DevItem& a, const DevItem& b) { return cost(a) > cost(b); });
  };
  if (blur && dataflow) {
    // Dataflow (default): a wave's three blur stages are one phase, one queue: row bands (largest first), then column
    // bands, then upsampling items, each plane's after the planes whose last row band comes earlier in the queue
    // (they are likely ready first). Column and upsampling items wait for their plane's grid (block_wait), not for
    // the whole phase, so one plane's upsampling overlaps other planes' decimation.
    for (int w = 0; w < num_waves; ++w) {
      std::vector<DevItem>& A = phase_items[static_cast<size_t>(w) * kPhasesPerWave];
      std::vector<DevItem>& B = phase_items[static_cast<size_t>(w) * kPhasesPerWave + 1];
      std::vector<DevItem>& C = phase_items[static_cast<size_t>(w) * kPhasesPerWave + 2];
      by_cost(A);
      std::vector<int> rank(jobs.size(), 0);
      for (size_t i = 0; i < A.size(); ++i) rank[static_cast<size_t>(A[i].job)] = static_cast<int>(i);
      auto by_rank = [&](std::vector<DevItem>& v) {
        std::stable_sort(v.begin(), v.end(), [&](const DevItem& a, const DevItem& b) {
          const int ra = rank[static_cast<size_t>(a.job)], rb = rank[static_cast<size_t>(b.job)];
          return ra != rb ? ra < rb : cost(a) > cost(b);
        });
      };
      by_rank(B);
      by_rank(C);
      A.insert(A.end(), B.begin(), B.end());
      A.insert(A.end(), C.begin(), C.end());
      B.clear();
      C.clear();
    }
  }
  for (auto& v : phase_items) {
    if (v.empty()) continue;
    if (!(blur && dataflow)) by_cost(v);
    Phase ph{static_cast<int>(items.size()), 0};
    items.insert(items.end(), v.begin(), v.end());
    ph.end = static_cast<int>(items.size());
    phases.push_back(ph);
    max_phase_items = std::max(max_phase_items, ph.end - ph.begin);
  }
  st.work_items = static_cast<int>(items.size());

  // ---- flat blur path: block tables of its three launches per wave ------------------------------------------------
  struct FlatWave {
    int dec0, ndec, box0, nbox, up0, nup;
    int smem;
  };
  std::vector<FlatBlock> fblocks;
  std::vector<FlatWave> fwaves;
  if (flat) {
    for (DevPlaneJob& j : jobs) j.ug = flat_group(j);
    const int up_units = kFlatThreads / 32;
    for (int w = 0; w < num_waves; ++w) {
      FlatWave fw{};
      std::vector<size_t> order;
      for (size_t jid = 0; jid < jobs.size(); ++jid)
        if (job_wave[jid] == w) order.push_back(jid);
      // Largest cells first (their threads take longest), then largest grids first for the box passes.
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return jobs[a].fx * jobs[a].fy > jobs[b].fx * jobs[b].fy;
      });
      fw.dec0 = static_cast<int>(fblocks.size());
      for (size_t jid : order) {
        const int cells = jobs[jid].nx * jobs[jid].ny;
        for (int c = 0; c < cells; c += kFlatThreads) fblocks.push_back({static_cast<int>(jid), c});
      }
      fw.ndec = static_cast<int>(fblocks.size()) - fw.dec0;
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return jobs[a].nx * jobs[a].ny > jobs[b].nx * jobs[b].ny;
      });
      fw.box0 = static_cast<int>(fblocks.size());
      for (size_t jid : order) {
        fblocks.push_back({static_cast<int>(jid), 0});
        fw.smem = std::max(fw.smem, 2 * flat_box_buf(jobs[jid].nx, jobs[jid].ny, jobs[jid].cs));
      }
      fw.nbox = static_cast<int>(fblocks.size()) - fw.box0;
      fw.up0 = static_cast<int>(fblocks.size());
      for (size_t jid : order) {
        const DevPlaneJob& j = jobs[jid];
        for (int u = 0; u < j.h; u += up_units) fblocks.push_back({static_cast<int>(jid), u});  // a warp per row
      }
      fw.nup = static_cast<int>(fblocks.size()) - fw.up0;
      fwaves.push_back(fw);
    }
    st.work_items = static_cast<int>(fblocks.size());
    st.flat = true;
  }
  if (clus) {
    st.work_items = static_cast<int>(cblocks.size());
    st.cluster = true;
  }
  if (phases.empty() && fblocks.empty() && cblocks.empty()) {
    if (stats) *stats = st;
    return true;
  }

  // ---- one staging buffer -> one H2D copy -------------------------------------------------------------------------
  const size_t off_jobs = 0;
  const size_t off_plans = align16(off_jobs + jobs.size() * sizeof(DevPlaneJob));
  const size_t off_items = align16(off_plans + plans.size() * sizeof(RegionPlan));
  const size_t off_phases = align16(off_items + items.size() * sizeof(DevItem));
  const size_t off_counters = align16(off_phases + phases.size() * sizeof(Phase));
  const size_t off_done = align16(off_counters + phases.size() * sizeof(int));
  const size_t off_masks = align16(off_done + jobs.size() * kSyncInts * sizeof(int));
  const size_t off_flat = align16(off_masks + mask_floats * sizeof(float));
  const size_t off_cl = align16(off_flat + fblocks.size() * sizeof(FlatBlock));
  const size_t total = align16(off_cl + cblocks.size() * sizeof(ClusterBlock));
  st.upload_bytes = total;
  st.scratch_bytes = static_cast<size_t>(scratch_bytes);
  m.cur ^= 1;
  Slot& sl = m.slots[m.cur];
  if (!sl.wait_idle(error)) return false;  // this slot's previous batch (two calls ago) must be done
  if (!sl.ensure(total, total, static_cast<size_t>(scratch_bytes), error)) return false;

  uint8_t* hs = sl.staging;
  std::memcpy(hs + off_jobs, jobs.data(), jobs.size() * sizeof(DevPlaneJob));
  {
    // Masks: copy each region's host mask into the staging area and point the plan at its device twin.
    size_t mo = 0;
    for (size_t pi = 0; pi < plans.size(); ++pi) {
      RegionPlan& pl = plans[pi];
      if (pl.kind != 2) continue;
      const size_t n = static_cast<size_t>(pl.mask_w) * pl.mask_h;
      std::memcpy(hs + off_masks + mo * sizeof(float), pl.mask, n * sizeof(float));
      pl.mask = reinterpret_cast<const float*>(sl.arena + off_masks + mo * sizeof(float));
      mo += n;
    }
  }
  std::memcpy(hs + off_plans, plans.data(), plans.size() * sizeof(RegionPlan));
  if (!fblocks.empty()) std::memcpy(hs + off_flat, fblocks.data(), fblocks.size() * sizeof(FlatBlock));
  if (!cblocks.empty()) std::memcpy(hs + off_cl, cblocks.data(), cblocks.size() * sizeof(ClusterBlock));
  if (!items.empty()) std::memcpy(hs + off_items, items.data(), items.size() * sizeof(DevItem));
  if (!phases.empty()) std::memcpy(hs + off_phases, phases.data(), phases.size() * sizeof(Phase));
  std::memset(hs + off_counters, 0, phases.size() * sizeof(int));
  std::memset(hs + off_done, 0, jobs.size() * kSyncInts * sizeof(int));

  cudaError_t e = cudaMemcpyAsync(sl.arena, hs, total, cudaMemcpyHostToDevice, stream);
  if (e != cudaSuccess) {
    *error = cuda_msg("cudaMemcpyAsync (descriptors)", e);
    return false;
  }

  KernelArgs ka;
  ka.jobs = reinterpret_cast<const DevPlaneJob*>(sl.arena + off_jobs);
  ka.plans = reinterpret_cast<const RegionPlan*>(sl.arena + off_plans);
  ka.items = reinterpret_cast<const DevItem*>(sl.arena + off_items);
  ka.phases = reinterpret_cast<const Phase*>(sl.arena + off_phases);
  ka.counters = reinterpret_cast<int*>(sl.arena + off_counters);
  ka.job_sync = reinterpret_cast<int*>(sl.arena + off_done);
  ka.scratch = sl.scratch;
  ka.static_first = 0;
  ka.trace = nullptr;
  const char* trace_path = kTrace ? std::getenv("FACEMASK_CUDA_TRACE") : nullptr;
  if (trace_path && *trace_path) {
    const size_t tb = items.size() * kTraceWords * sizeof(unsigned long long);
    if (m.trace_bytes < tb) {
      if (m.trace) cudaFree(m.trace);
      m.trace = nullptr;
      m.trace_bytes = 0;
      if (cudaMalloc(&m.trace, tb) == cudaSuccess) m.trace_bytes = tb;
    }
    if (m.trace) {
      ka.trace = static_cast<unsigned long long*>(m.trace);
      cudaMemsetAsync(m.trace, 0, tb, stream);
    }
  }
  if (timing_) cudaEventRecord(m.t0, stream);
  int nphases = static_cast<int>(phases.size());
  // Profiling knob (benchmarks only; the output is then incomplete): FACEMASK_CUDA_PHASES=n runs only the first n
  // phases of the launch (0: the launch alone), so phase times can be read as differences.
  if (const char* pl = std::getenv("FACEMASK_CUDA_PHASES")) nphases = std::max(0, std::min(nphases, std::atoi(pl)));

  if (clus) {
    ClusterArgs ca;
    ca.jobs = ka.jobs;
    ca.plans = ka.plans;
    ca.blocks = reinterpret_cast<const ClusterBlock*>(sl.arena + off_cl);
    ca.stages = 3;
    if (const char* v = std::getenv("FACEMASK_CUDA_CSTAGES")) ca.stages = std::min(3, std::max(1, std::atoi(v)));
    const ClusterConfig cc(static_cast<int>(cblocks.size()), cl_threads, cl_smem, cl_size, stream);
    void* args[] = {&ca};
    e = cudaLaunchKernelExC(&cc.cfg, m.cl_fn[cl_var], args);
    if (e != cudaSuccess) {
      *error = cuda_msg("cluster_blur_kernel launch", e);
      cudaGetLastError();
      sl.pending = cudaEventRecord(sl.done, stream) == cudaSuccess;
      return false;
    }
    st.launches = 1;
  } else if (flat) {
    FlatArgs fa;
    fa.jobs = ka.jobs;
    fa.plans = ka.plans;
    fa.blocks = reinterpret_cast<const FlatBlock*>(sl.arena + off_flat);
    fa.scratch = sl.scratch;
    // Tuning knob (benchmarks): FACEMASK_CUDA_PDL=1 launches with programmatic dependent launch (sm_90+).
    const char* pdk = std::getenv("FACEMASK_CUDA_PDL");
    const bool pdl = m.cc_major >= 9 && pdk && std::strcmp(pdk, "1") == 0;
    // Tuning knob (benchmarks): FACEMASK_CUDA_BOXT = threads per block of the box launch (32..1024, a multiple of 32;
    // default kFlatThreads): more threads share a plane's box passes.
    int box_threads = kFlatThreads;
    if (const char* bt = std::getenv("FACEMASK_CUDA_BOXT"))
      box_threads = std::min(kFlatBoxThreadsMax, std::max(32, std::atoi(bt) / 32 * 32));
    bool first_launch = true;
    for (const FlatWave& fw : fwaves) {
      const struct {
        const void* fn;
        int blk0, n, smem, threads;
        const char* what;
      } ls[3] = {
          {reinterpret_cast<const void*>(flat_decimate_kernel), fw.dec0, fw.ndec, 0, kFlatThreads, "flat_decimate_kernel"},
          {reinterpret_cast<const void*>(flat_box_kernel), fw.box0, fw.nbox, fw.smem, box_threads, "flat_box_kernel"},
          {reinterpret_cast<const void*>(flat_up_kernel), fw.up0, fw.nup, 0, kFlatThreads, "flat_up_kernel"}};
      for (const auto& l : ls) {
        if (l.n <= 0) continue;
        int blk0 = l.blk0;
        void* args[] = {&fa, &blk0};
        if (pdl && !first_launch) {
          cudaLaunchAttribute attr[1];
          attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
          attr[0].val.programmaticStreamSerializationAllowed = 1;
          cudaLaunchConfig_t cfg{};
          cfg.gridDim = dim3(l.n);
          cfg.blockDim = dim3(l.threads);
          cfg.dynamicSmemBytes = static_cast<size_t>(l.smem);
          cfg.stream = stream;
          cfg.attrs = attr;
          cfg.numAttrs = 1;
          e = cudaLaunchKernelExC(&cfg, l.fn, args);
        } else {
          e = cudaLaunchKernel(l.fn, dim3(l.n), dim3(l.threads), args, static_cast<size_t>(l.smem), stream);
        }
        first_launch = false;
        if (e != cudaSuccess) {
          *error = cuda_msg(l.what, e);
          cudaGetLastError();
          sl.pending = cudaEventRecord(sl.done, stream) == cudaSuccess;
          return false;
        }
        st.launches++;
      }
    }
  } else if (split) {
    for (int ph = 0; ph < nphases; ++ph) {
      const int kind = items[static_cast<size_t>(phases[ph].begin)].kind;
      const Impl::Variant& pv = m.phase_var[kind == kRows ? 0 : (kind == kCols ? 1 : (kind == kUpsample ? 2 : 3))];
      const int n = phases[ph].end - phases[ph].begin;
      const int grid = std::max(1, std::min(pv.bps * m.num_sms, n));
      int phv = ph;
      void* args[] = {&ka, &phv};
      e = cudaLaunchKernel(pv.fn, dim3(grid), dim3(pv.threads), args, kSmemBytes, stream);
      if (e != cudaSuccess) {
        *error = cuda_msg("redact_phase_kernel launch", e);
        sl.pending = cudaEventRecord(sl.done, stream) == cudaSuccess;
        return false;
      }
      st.launches++;
    }
  } else if (m.coop_supported && bps > 0 && !force_multi_launch_) {
    const int grid = std::max(1, std::min(bps * m.num_sms, max_phase_items));
    // Tuning knob (benchmarks): FACEMASK_CUDA_STATICFIRST=0 fetches every item through the counter.
    const char* sf = std::getenv("FACEMASK_CUDA_STATICFIRST");
    ka.static_first = (sf && std::strcmp(sf, "0") == 0) ? 0 : 1;
    int first = 0, end = nphases;
    void* args[] = {&ka, &first, &end};
    e = cudaLaunchCooperativeKernel(kfn, dim3(grid), dim3(threads), args, kSmemBytes, stream);
    if (e != cudaSuccess) {
      *error = cuda_msg("cudaLaunchCooperativeKernel", e);
      cudaGetLastError();
      sl.pending = cudaEventRecord(sl.done, stream) == cudaSuccess;
      return false;
    }
    st.launches = 1;
    st.cooperative = true;
  } else {
    for (int ph = 0; ph < nphases; ++ph) {
      const int n = phases[ph].end - phases[ph].begin;
      int first = ph, end = ph + 1;
      void* args[] = {&ka, &first, &end};
      e = cudaLaunchKernel(kfn, dim3(n), dim3(threads), args, kSmemBytes, stream);
      if (e != cudaSuccess) {
        *error = cuda_msg("redact_kernel launch", e);
        sl.pending = cudaEventRecord(sl.done, stream) == cudaSuccess;
        return false;
      }
      st.launches++;
    }
  }
  if (timing_) cudaEventRecord(m.t1, stream);
  e = cudaEventRecord(sl.done, stream);
  if (e != cudaSuccess) {
    *error = cuda_msg("cudaEventRecord", e);
    return false;
  }
  sl.pending = true;
  st.host_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t_host).count();
  if (timing_) {
    float ms = 0.f;
    if (cudaEventSynchronize(m.t1) == cudaSuccess && cudaEventElapsedTime(&ms, m.t0, m.t1) == cudaSuccess)
      st.kernel_us = ms * 1000.0;
  }
  if (ka.trace) write_trace(trace_path, stream, ka.trace, items, jobs);
  if (stats) *stats = st;
  return true;
}

}  // namespace cuda
}  // namespace facemask
