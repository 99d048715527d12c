// CUDA redaction kernels and host API (see redact_cuda.hpp). Pixel arithmetic follows csrc/core/redact.hpp's
// EXACT SPECIFICATION; planning, coverage and compositing are the core's own functions.
#include "cuda/redact_cuda.hpp"

#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/formats.hpp"
#include "core/redact.hpp"

namespace cg = cooperative_groups;

namespace facemask {
namespace cuda {
namespace {

constexpr int kThreads = 256;           // threads per block
constexpr int kSmemBytes = 48 * 1024 - 256;  // dynamic shared memory per block (+ static: under the 48 KB no-opt-in limit)
constexpr int kFillPixelsPerItem = 4096;
constexpr int kB = 4;                   // rows per batch of independent global loads

enum ItemKind : int { kHBlur = 0, kVBlur = 1, kPixelCell = 2, kFillRows = 3 };

struct DevFrame {
  uint8_t* data[3];
  int stride[3];
};

struct DevPlaneJob {
  uint8_t* base;       // this plane's data pointer of the frame (no dynamic indexing of DevFrame on the device)
  long long pstride;   // its row stride in bytes
  int frame, plane, plan;
  int ps, nch;
  int off[3];
  int fill[3];
  int x0, y0, w, h;  // plane rect
  int sx, sy;
  int rx, ry;
  unsigned mx, my;   // ceil(2^32 / (2r+1)): floor(n / d) == umulhi(n, m) for n < 2^20, d <= 2047
  int cw, chh, ncx;  // pixelate cell on this plane, cells across
  long long scratch;
  // Coverage pre-classification (ellipse plans only, cf != 0): q2 = normalised ellipse radius^2 computed with
  // reciprocals; q2 <= qin2 guarantees the core's region_alpha() gives a8 == 255 (out = red exactly), q2 >= qout2
  // guarantees a8 == 0 (pixel untouched); in between (the feather ramp) region_alpha() itself is evaluated. The
  // thresholds keep a wide safety band (see cov_thresholds()), so results stay byte-identical to the core.
  int boxt;  // box passes: > 0 one thread per unit (chunk floor r / boxt), < 0: -boxt threads per unit
  int cf;
  float ecx, ecy, ec, es, eirx, eiry, qin2, qout2;
};

struct DevItem {
  int job, kind, a, n;
};

struct Phase {
  int begin, end;
};

struct KernelArgs {
  const DevFrame* frames;
  const DevPlaneJob* jobs;
  const RegionPlan* plans;
  const DevItem* items;
  const Phase* phases;
  int* counters;  // one work counter per phase (zeroed by the upload): blocks fetch items dynamically
  uint8_t* scratch;
  int kdiv;       // > 0: one thread per box-pass unit, chunk floor max(r / kdiv, 8); < 0: -kdiv threads per unit
};

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

__device__ __forceinline__ int chunk_len(int n, int Lp, int r, int kdiv) {
  const int per_quad = max(1, static_cast<int>(blockDim.x) / (Lp >> 2));
  const int k = (n + per_quad - 1) / per_quad;
  return max(k, min(n, max(r / kdiv, 8)));
}

// The same pass with T threads per (quad, chunk) unit (T a power of two <= 32; a unit's threads are T adjacent lanes
// of one warp), for short dependency chains: thread t of a unit sums 1/T of the unit's first window, computes the
// net change of the running sums over its 1/T of the chunk, and slides over that sub-chunk from
// window(chunk start) + (changes of the sub-chunks before it) (shuffle all-reduce and exclusive scan). Per-lane
// sums are exact integers below 2^20; intermediate differences wrap modulo 2^32 and cancel exactly.
__device__ __forceinline__ void box_pass_group(const uint8_t* __restrict__ in, uint8_t* __restrict__ out, int n,
                                               int Lp, int K, int T, int r, unsigned m) {
  const int hi = n - 1;
  const int Q = Lp >> 2;
  const int nchunks = (n + K - 1) / K;
  const int Ks = (K + T - 1) / T, win = 2 * r + 1, Ws = (win + T - 1) / T;
  const unsigned* __restrict__ in32 = reinterpret_cast<const unsigned*>(in);
  unsigned* __restrict__ out32 = reinterpret_cast<unsigned*>(out);
  const unsigned rr = static_cast<unsigned>(r);
  const int lane = threadIdx.x & 31;
  const unsigned gmask = (T == 32 ? 0xffffffffu : ((1u << T) - 1u)) << (lane & ~(T - 1));
  const int total = Q * nchunks * T;
  for (int g = threadIdx.x; g < total; g += blockDim.x) {  // whole groups enter/leave together (T | blockDim)
    const int t = g & (T - 1), u = g >> (31 - __clz(T));
    const int q = u % Q, c = u / Q;
    const unsigned* src = in32 + q;
    unsigned* dst = out32 + q;
    const int i0 = c * K, i1 = min(n, i0 + K);
    // 1. this thread's share of window(i0) = sum of in[clamp(i0 - r + w)] for w in [t Ws, (t+1) Ws) ∩ [0, win)
    unsigned a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (int w = t * Ws, we = min(win, w + Ws); w < we; ++w) {
      const unsigned x = src[min(max(i0 - r + w, 0), hi) * Q];
      a0 += x & 0xffu; a1 += (x >> 8) & 0xffu; a2 += (x >> 16) & 0xffu; a3 += x >> 24;
    }
    // 2. net change of the sums over this thread's sub-chunk [s0, s1)
    const int s0 = min(i1, i0 + t * Ks), s1 = min(i1, s0 + Ks);
    unsigned d0 = 0, d1 = 0, d2 = 0, d3 = 0;
    for (int i = s0; i < s1; ++i) {
      const unsigned wa = src[min(i + r + 1, hi) * Q];
      const unsigned wb = src[max(i - r, 0) * Q];
      d0 += (wa & 0xffu) - (wb & 0xffu);
      d1 += ((wa >> 8) & 0xffu) - ((wb >> 8) & 0xffu);
      d2 += ((wa >> 16) & 0xffu) - ((wb >> 16) & 0xffu);
      d3 += (wa >> 24) - (wb >> 24);
    }
    // 3. all-reduce of the window shares, inclusive scan of the changes (then exclusive = inclusive - own)
    unsigned e0 = d0, e1 = d1, e2 = d2, e3 = d3;
    for (int o = 1; o < T; o <<= 1) {
      a0 += __shfl_xor_sync(gmask, a0, o, T);
      a1 += __shfl_xor_sync(gmask, a1, o, T);
      a2 += __shfl_xor_sync(gmask, a2, o, T);
      a3 += __shfl_xor_sync(gmask, a3, o, T);
      const unsigned u0 = __shfl_up_sync(gmask, e0, o, T), u1 = __shfl_up_sync(gmask, e1, o, T);
      const unsigned u2 = __shfl_up_sync(gmask, e2, o, T), u3 = __shfl_up_sync(gmask, e3, o, T);
      if (t >= o) { e0 += u0; e1 += u1; e2 += u2; e3 += u3; }
    }
    unsigned s0v = a0 + e0 - d0, s1v = a1 + e1 - d1, s2v = a2 + e2 - d2, s3v = a3 + e3 - d3;
    // 4. slide over the sub-chunk
#pragma unroll 2
    for (int i = s0; i < s1; ++i) {
      const unsigned wa = src[min(i + r + 1, hi) * Q];
      const unsigned wb = src[max(i - r, 0) * Q];
      dst[i * Q] = __umulhi(s0v + rr, m) | (__umulhi(s1v + rr, m) << 8) | (__umulhi(s2v + rr, m) << 16) |
                   (__umulhi(s3v + rr, m) << 24);
      s0v += (wa & 0xffu) - (wb & 0xffu);
      s1v += ((wa >> 8) & 0xffu) - ((wb >> 8) & 0xffu);
      s2v += ((wa >> 16) & 0xffu) - ((wb >> 16) & 0xffu);
      s3v += (wa >> 24) - (wb >> 24);
    }
  }
}

// kdiv > 0: box_pass_block (one thread per unit, chunk floor max(r / kdiv, 8)); kdiv < 0: box_pass_group with
// T = -kdiv threads per unit and about blockDim / (quads * T) chunks per quad.
__device__ __forceinline__ void box3_block(uint8_t* a, uint8_t* b, int n, int Lp, int r, unsigned m, int kdiv) {
  if (kdiv < 0) {
    const int T = -kdiv, Q = Lp >> 2;
    const int nch = max(1, static_cast<int>(blockDim.x) / (Q * T));
    const int K = (n + nch - 1) / nch;
    box_pass_group(a, b, n, Lp, K, T, r, m);
    __syncthreads();
    box_pass_group(b, a, n, Lp, K, T, r, m);
    __syncthreads();
    box_pass_group(a, b, n, Lp, K, T, r, m);
    __syncthreads();
    return;
  }
  const int K = chunk_len(n, Lp, r, kdiv);
  box_pass_block(a, b, n, Lp, K, r, m);
  __syncthreads();
  box_pass_block(b, a, n, Lp, K, r, m);
  __syncthreads();
  box_pass_block(a, b, n, Lp, K, r, m);
  __syncthreads();
}

__device__ __forceinline__ uint8_t* pixel_ptr(const DevPlaneJob& j, int x, int y) {
  return j.base + static_cast<long long>(y) * j.pstride + static_cast<long long>(x) * j.ps;
}

// Scratch row pitch of a plane job: row bytes rounded up to whole words (the column pass loads 32-bit words).
__host__ __device__ __forceinline__ int scratch_pitch(int w, int nch) { return (w * nch + 3) & ~3; }

// Row pass of one item (rows [a, a+R) of a plane rect). Loads: units (x, batch of KB rows) spread over the whole
// block so that every thread issues all its loads of a batch before storing (few dependent round trips to memory);
// each batch lands in shared memory as KB*NCH/4 packed words (transposed: element x, lane row*NCH+c).
template <int NCH>
__device__ void run_hblur_t(const KernelArgs& k, const DevPlaneJob& j, const DevItem& it, uint8_t* smem) {
  constexpr int KB = NCH == 1 ? 16 : (NCH == 2 ? 8 : 4);  // KB * NCH is a multiple of 4
  const int W = j.w, R = it.n, L = ((R * NCH) + 3) & ~3;  // L: lanes padded to whole words
  uint8_t* bufA = smem;
  uint8_t* bufB = smem + W * L;
  const int nb = (R + KB - 1) / KB;
  const uint8_t* rowp = pixel_ptr(j, j.x0, j.y0 + it.a);
  const long long fstride = j.pstride;
  const int ps = j.ps, o0 = j.off[0], o1 = j.off[1], o2 = j.off[2];
  const int step = blockDim.x, sx_ = step % W, sy_ = step / W;  // (x, batch) advance per iteration
  int x = threadIdx.x % W, bi = threadIdx.x / W;
  for (; bi < nb; x += sx_, bi += sy_ + (x >= W ? 1 : 0), x -= (x >= W ? W : 0)) {
    const int r0 = bi * KB;
    const uint8_t* p = rowp + static_cast<long long>(r0) * fstride + x * ps;
    uint8_t v[KB][NCH];
#pragma unroll
    for (int b = 0; b < KB; ++b) {
      if (r0 + b < R) {
        const uint8_t* q = p + b * fstride;
        v[b][0] = q[o0];
        if (NCH > 1) v[b][NCH > 1 ? 1 : 0] = q[o1];
        if (NCH > 2) v[b][NCH > 2 ? 2 : 0] = q[o2];
      }
    }
    if (r0 + KB <= R) {
      unsigned w[KB * NCH / 4];
#pragma unroll
      for (int t = 0; t < KB * NCH / 4; ++t) w[t] = 0u;
#pragma unroll
      for (int b = 0; b < KB; ++b)
#pragma unroll
        for (int c = 0; c < NCH; ++c) {
          const int t = b * NCH + c;
          w[t >> 2] |= static_cast<unsigned>(v[b][c]) << ((t & 3) * 8);
        }
      unsigned* wp = reinterpret_cast<unsigned*>(bufA + x * L + r0 * NCH);
#pragma unroll
      for (int t = 0; t < KB * NCH / 4; ++t) wp[t] = w[t];
    } else {
#pragma unroll
      for (int b = 0; b < KB; ++b)
        if (r0 + b < R) {
#pragma unroll
          for (int c = 0; c < NCH; ++c) bufA[x * L + (r0 + b) * NCH + c] = v[b][c];
        }
    }
  }
  __syncthreads();
  box3_block(bufA, bufB, W, L, j.rx, j.mx, j.boxt);
  const int sp = scratch_pitch(W, NCH);
  uint8_t* dst = k.scratch + j.scratch + static_cast<long long>(it.a) * sp;
  x = threadIdx.x % W;
  for (int r = threadIdx.x / W; r < R; x += sx_, r += sy_ + (x >= W ? 1 : 0), x -= (x >= W ? W : 0)) {
#pragma unroll
    for (int c = 0; c < NCH; ++c) dst[r * sp + x * NCH + c] = bufB[x * L + r * NCH + c];
  }
}

__device__ void run_hblur(const KernelArgs& k, const DevPlaneJob& j, const DevItem& it, uint8_t* smem) {
  switch (j.nch) {
    case 1: run_hblur_t<1>(k, j, it, smem); break;
    case 2: run_hblur_t<2>(k, j, it, smem); break;
    default: run_hblur_t<3>(k, j, it, smem); break;
  }
}

__device__ void run_vblur(const KernelArgs& k, const DevPlaneJob& j, const DevItem& it, uint8_t* smem) {
  const int W = j.w, H = j.h, nch = j.nch, C = it.n, Lr = C * nch, L = (Lr + 3) & ~3;  // L: padded lanes
  uint8_t* bufA = smem;
  uint8_t* bufB = smem + H * L;
  if ((it.a * nch) & 3) {  // column offset not word-aligned (lane caps that are not a multiple of 4): byte loads
    const uint8_t* src = k.scratch + j.scratch + static_cast<long long>(it.a) * nch;
    const int lane = threadIdx.x % Lr, ystep = blockDim.x / Lr;
    const long long rowb = scratch_pitch(W, nch);
    if (static_cast<int>(threadIdx.x) < ystep * Lr) {
      for (int y = threadIdx.x / Lr; y < H; y += ystep * kB) {
        uint8_t v[kB];
#pragma unroll
        for (int b = 0; b < kB; ++b)
          if (y + b * ystep < H) v[b] = src[(y + b * ystep) * rowb + lane];
#pragma unroll
        for (int b = 0; b < kB; ++b)
          if (y + b * ystep < H) bufA[(y + b * ystep) * L + lane] = v[b];
      }
    }
  } else {
    // Word loads from the scratch (pitch a multiple of 4; column offset it.a * nch a multiple of 4: the host rounds
    // the lane cap to a multiple of 4 columns); a short last item reads a few bytes of the row's padding or of the
    // neighbouring columns (ignored lanes). kVB independent loads per thread before the shared stores.
    constexpr int kVB = 8;
    const int sp4 = scratch_pitch(W, nch) >> 2, Q = L >> 2, n = H * Q;
    const unsigned* src = reinterpret_cast<const unsigned*>(k.scratch + j.scratch) + ((it.a * nch) >> 2);
    unsigned* dst = reinterpret_cast<unsigned*>(bufA);
    const int dq = blockDim.x % Q, dy = blockDim.x / Q;  // (row, word) advance per blockDim words
    int yq = threadIdx.x / Q, qq = threadIdx.x % Q;
    for (int u0 = threadIdx.x; u0 < n; u0 += blockDim.x * kVB) {
      unsigned w[kVB];
#pragma unroll
      for (int b = 0; b < kVB; ++b) {
        const int u = u0 + b * blockDim.x;
        if (u < n) w[b] = src[yq * sp4 + qq];
        qq += dq;
        yq += dy;
        if (qq >= Q) {
          qq -= Q;
          ++yq;
        }
      }
#pragma unroll
      for (int b = 0; b < kVB; ++b) {
        const int u = u0 + b * blockDim.x;
        if (u < n) dst[u] = w[b];
      }
    }
  }
  __syncthreads();
  box3_block(bufA, bufB, H, L, j.ry, j.my, j.boxt);
  const RegionPlan pl = k.plans[j.plan];
  const int xc = threadIdx.x % C, ystep = blockDim.x / C;
  if (static_cast<int>(threadIdx.x) >= ystep * C) return;
  const int X = j.x0 + it.a + xc;
  const float px = (X + 0.5f) * j.sx;
  uint8_t* const colp = pixel_ptr(j, X, j.y0);
  const long long fstride = j.pstride;
  for (int y = threadIdx.x / C; y < H; y += ystep * kB) {
    unsigned vp[kB];  // source channels of ramp pixels, packed (c0 | c1 << 8 | c2 << 16)
    unsigned rm = 0;  // bit b: pixel b is on the feather ramp (region_alpha needed)
#pragma unroll
    for (int b = 0; b < kB; ++b) {  // classify, then loads of ramp pixels (independent), then stores
      const int yy = y + b * ystep;
      const int cls = yy < H ? cov_class(j, px, (j.y0 + yy + 0.5f) * j.sy) : 0;
      vp[b] = 0u;
      if (cls == 1) {
        rm |= 1u << b;
        const uint8_t* p = colp + yy * fstride;
#pragma unroll
        for (int c = 0; c < 3; ++c)
          if (c < nch) vp[b] |= static_cast<unsigned>(p[j.off[c]]) << (8 * c);
      } else if (cls == 2) {
        uint8_t* p = colp + yy * fstride;
        const uint8_t* red = bufB + yy * L + xc * nch;
#pragma unroll
        for (int c = 0; c < 3; ++c)
          if (c < nch) p[j.off[c]] = red[c];
      }
    }
    // Ramp pixels: one (not unrolled) region_alpha() call site, so a warp runs it max(ramp pixels per lane) times.
    while (rm) {
      const int b = __ffs(rm) - 1;
      rm &= rm - 1u;
      unsigned src = vp[0];
#pragma unroll
      for (int t = 1; t < kB; ++t)
        if (t == b) src = vp[t];
      const int yy = y + b * ystep;
      const float al = region_alpha(pl, px, (j.y0 + yy + 0.5f) * j.sy);
      if (static_cast<int>(al * 255.f + 0.5f) == 0) continue;
      uint8_t* p = colp + yy * fstride;
      const uint8_t* red = bufB + yy * L + xc * nch;
#pragma unroll
      for (int c = 0; c < 3; ++c)
        if (c < nch) p[j.off[c]] = composite_u8(static_cast<uint8_t>(src >> (8 * c)), red[c], al);
    }
  }
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
      for (int c = 0; c < j.nch; ++c) p[j.off[c]] = static_cast<uint8_t>(j.fill[c]);
      continue;
    }
    const float alpha = region_alpha(pl, fx, fy);
    if (static_cast<int>(alpha * 255.f + 0.5f) == 0) continue;
    for (int c = 0; c < j.nch; ++c) p[j.off[c]] = composite_u8(p[j.off[c]], static_cast<uint8_t>(j.fill[c]), alpha);
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
      for (int c = 0; c < j.nch; ++c) p[j.off[c]] = val[c];
      continue;
    }
    const float alpha = region_alpha(pl, fx, fy);
    if (static_cast<int>(alpha * 255.f + 0.5f) == 0) continue;
    for (int c = 0; c < j.nch; ++c) p[j.off[c]] = composite_u8(p[j.off[c]], val[c], alpha);
  }
}

template <int kMinBlocks>
__global__ void __launch_bounds__(kThreads, kMinBlocks) redact_kernel(KernelArgs k, int first_phase, int end_phase) {
  extern __shared__ __align__(16) uint8_t smem[];
  __shared__ int s_item;
  for (int ph = first_phase; ph < end_phase; ++ph) {
    const Phase P = k.phases[ph];
    for (;;) {
      if (threadIdx.x == 0) s_item = P.begin + atomicAdd(&k.counters[ph], 1);
      __syncthreads();
      const int i = s_item;
      __syncthreads();
      if (i >= P.end) break;
      const DevItem it = k.items[i];
      const DevPlaneJob j = k.jobs[it.job];
      switch (it.kind) {
        case kHBlur: run_hblur(k, j, it, smem); break;
        case kVBlur: run_vblur(k, j, it, smem); break;
        case kPixelCell: run_pixel_cell(k, j, it, smem); break;
        default: run_fill(k, j, it); break;
      }
      __syncthreads();
    }
    if (ph + 1 < end_phase) cg::this_grid().sync();
  }
}

size_t align16(size_t n) { return (n + 15) & ~static_cast<size_t>(15); }

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

std::string cuda_msg(const char* what, cudaError_t e) {
  return std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
}

}  // namespace

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
  int blocks_per_sm = 0, blocks_per_sm2 = 0, blocks_per_sm4 = 0;
  bool init_ok = false;
  std::string init_error;
  Slot slots[2];
  int cur = 0;
  cudaEvent_t t0 = nullptr, t1 = nullptr;  // kernel timing (set_timing)

  ~Impl() {
    for (Slot& s : slots) s.release();
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
  if (e == cudaSuccess)
    e = cudaFuncSetAttribute(redact_kernel<1>, cudaFuncAttributePreferredSharedMemoryCarveout,
                             cudaSharedmemCarveoutMaxShared);
  if (e == cudaSuccess)
    e = cudaFuncSetAttribute(redact_kernel<4>, cudaFuncAttributePreferredSharedMemoryCarveout,
                             cudaSharedmemCarveoutMaxShared);
  if (e == cudaSuccess)
    e = cudaFuncSetAttribute(redact_kernel<2>, cudaFuncAttributePreferredSharedMemoryCarveout,
                             cudaSharedmemCarveoutMaxShared);
  if (e == cudaSuccess)
    e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&m.blocks_per_sm2, redact_kernel<2>, kThreads, kSmemBytes);
  if (e == cudaSuccess)
    e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&m.blocks_per_sm, redact_kernel<1>, kThreads, kSmemBytes);
  if (e == cudaSuccess)
    e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&m.blocks_per_sm4, redact_kernel<4>, kThreads, kSmemBytes);
  for (Slot& sl : m.slots)
    if (e == cudaSuccess) e = cudaEventCreateWithFlags(&sl.done, cudaEventDisableTiming);
  if (e == cudaSuccess) e = cudaEventCreate(&m.t0);
  if (e == cudaSuccess) e = cudaEventCreate(&m.t1);
  if (e != cudaSuccess) {
    m.init_error = cuda_msg("CUDA initialisation", e);
    cudaGetLastError();
    return;
  }
  m.coop_supported = coop != 0 && (m.blocks_per_sm > 0 || m.blocks_per_sm4 > 0);
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

  // ---- plane jobs and work items ----------------------------------------------------------------------------------
  std::vector<DevPlaneJob> jobs;
  std::vector<std::vector<DevItem>> phase_items(static_cast<size_t>(num_waves) * 2);
  long long scratch_bytes = 0;
  const bool blur = params.mode == RedactMode::kBlur;
  // Lanes per work item: measured on H100 (docs/benchmarks.md) 32 for YUV/GRAY formats, 64 for RGB formats.
  // FACEMASK_CUDA_MAXLANES overrides (benchmark knob).
  int max_lanes_env = 0;
  if (const char* ml = std::getenv("FACEMASK_CUDA_MAXLANES")) max_lanes_env = std::max(4, std::atoi(ml));
  // Tuning knob (benchmarks): FACEMASK_CUDA_NOCLASSIFY=1 evaluates region_alpha() at every pixel (no pre-classes).
  const char* ncl = std::getenv("FACEMASK_CUDA_NOCLASSIFY");
  const bool no_classify = ncl && std::strcmp(ncl, "1") == 0;
  // Box passes: 8 threads per unit for YUV/GRAY formats, one thread per unit (chunks of >= r) for RGB formats
  // (measured on H100, docs/benchmarks.md). Tuning knob (benchmarks): FACEMASK_CUDA_BOXT = 1, 2, 4, 8, 16 or 32.
  int box_env = 0;
  if (const char* bt = std::getenv("FACEMASK_CUDA_BOXT")) {
    const int t = std::atoi(bt);
    if (t == 2 || t == 4 || t == 8 || t == 16 || t == 32) box_env = -t;
    if (t == 1) box_env = 1;
  }
  for (size_t pi = 0; pi < plans.size(); ++pi) {
    const RegionPlan& pl = plans[pi];
    const ImageView& fr = frames[plan_frame[pi]];
    const FormatInfo& fi = format_info(fr.format);
    const int max_lanes = max_lanes_env > 0 ? max_lanes_env : (fi.yuv ? 32 : 64);
    for (int p = 0; p < fi.num_planes; ++p) {
      const PlaneLayout& lay = fi.planes[p];
      DevPlaneJob j{};
      j.frame = plan_frame[pi];
      j.plane = p;
      j.base = fr.data[p];
      j.pstride = fr.stride[p];
      j.plan = static_cast<int>(pi);
      j.ps = lay.pixel_stride;
      j.nch = lay.num_channels;
      for (int c = 0; c < 3; ++c) {
        j.off[c] = c < lay.num_channels ? lay.offset[c] : 0;
        j.fill[c] = c < lay.num_channels ? fill_value(fi, lay.comp[c], params.fill_rgb[0], params.fill_rgb[1],
                                                      params.fill_rgb[2])
                                         : 0;
      }
      j.sx = lay.sub_x;
      j.sy = lay.sub_y;
      cov_thresholds(pl, &j);
      if (no_classify) j.cf = 0;
      j.boxt = box_env != 0 ? box_env : (fi.yuv ? -8 : 1);
      const int pw = plane_width(fi, p, fr.width), ph = plane_height(fi, p, fr.height);
      const int px0 = pl.x0 / j.sx, py0 = pl.y0 / j.sy;
      const int px1 = std::min((pl.x1 + j.sx - 1) / j.sx, pw), py1 = std::min((pl.y1 + j.sy - 1) / j.sy, ph);
      if (px1 <= px0 || py1 <= py0) continue;
      j.x0 = px0;
      j.y0 = py0;
      j.w = px1 - px0;
      j.h = py1 - py0;
      const int wave = plan_wave[pi];
      const int jid = static_cast<int>(jobs.size());
      if (blur) {
        j.rx = plane_radius(pl, j.sx);
        j.ry = plane_radius(pl, j.sy);
        j.mx = magic_for(j.rx);
        j.my = magic_for(j.ry);
        j.scratch = scratch_bytes;
        scratch_bytes += static_cast<long long>(align16(static_cast<size_t>(scratch_pitch(j.w, j.nch)) * j.h));
        // Shared memory per item: 2 buffers of (sequence length) x (lanes padded to a multiple of 4) bytes.
        const int lanes_w = (kSmemBytes / (2 * j.w)) & ~3, lanes_h = (kSmemBytes / (2 * j.h)) & ~3;
        // Tuning knob (benchmarks): FACEMASK_CUDA_MAXLANES caps the lanes of one work item (smaller items: more of
        // them, better balance across SMs; larger: less per-item overhead).
        const int rows = std::min(std::min(kThreads, max_lanes) / j.nch, lanes_w / j.nch);
        int cols = std::min(std::min(kThreads, max_lanes) / j.nch, lanes_h / j.nch);
        if (cols >= 4) cols &= ~3;  // word-aligned column items (the column pass loads words)
        if (rows < 1 || cols < 1) {
          *error = "region rect " + std::to_string(j.w) + "x" + std::to_string(j.h) +
                   " is too large for the CUDA blur's shared memory (max " +
                   std::to_string(kSmemBytes / (2 * 4)) + " px per side)";
          return false;
        }
        for (int a = 0; a < j.h; a += rows)
          phase_items[wave * 2].push_back({jid, kHBlur, a, std::min(rows, j.h - a)});
        for (int a = 0; a < j.w; a += cols)
          phase_items[wave * 2 + 1].push_back({jid, kVBlur, a, std::min(cols, j.w - a)});
      } else if (params.mode == RedactMode::kPixelate) {
        j.cw = std::max(1, pl.cell / j.sx);
        j.chh = std::max(1, pl.cell / j.sy);
        j.ncx = (j.w + j.cw - 1) / j.cw;
        const int ncy = (j.h + j.chh - 1) / j.chh;
        for (int c = 0; c < j.ncx * ncy; ++c) phase_items[wave * 2].push_back({jid, kPixelCell, c, 1});
      } else {
        const int rows = std::max(1, kFillPixelsPerItem / j.w);
        for (int a = 0; a < j.h; a += rows)
          phase_items[wave * 2].push_back({jid, kFillRows, a, std::min(rows, j.h - a)});
      }
      jobs.push_back(j);
    }
  }
  std::vector<DevItem> items;
  std::vector<Phase> phases;
  int max_phase_items = 0;
  for (auto& v : phase_items) {
    if (v.empty()) continue;
    // Largest items first (dynamic fetch then balances the tail).
    std::stable_sort(v.begin(), v.end(), [&](const DevItem& a, const DevItem& b) {
      auto cost = [&](const DevItem& t) {
        const DevPlaneJob& jj = jobs[static_cast<size_t>(t.job)];
        const long long len = t.kind == kVBlur ? jj.h : jj.w;
        return static_cast<long long>(t.n) * jj.nch * len;
      };
      return cost(a) > cost(b);
    });
    Phase ph{static_cast<int>(items.size()), 0};
    items.insert(items.end(), v.begin(), v.end());
    ph.end = static_cast<int>(items.size());
    phases.push_back(ph);
    max_phase_items = std::max(max_phase_items, ph.end - ph.begin);
  }
  st.work_items = static_cast<int>(items.size());
  if (phases.empty()) {
    if (stats) *stats = st;
    return true;
  }

  // ---- one staging buffer -> one H2D copy -------------------------------------------------------------------------
  std::vector<DevFrame> dframes(static_cast<size_t>(num_frames));
  for (int i = 0; i < num_frames; ++i)
    for (int p = 0; p < 3; ++p) {
      dframes[i].data[p] = frames[i].data[p];
      dframes[i].stride[p] = frames[i].stride[p];
    }
  const size_t off_frames = 0;
  const size_t off_jobs = align16(off_frames + dframes.size() * sizeof(DevFrame));
  const size_t off_plans = align16(off_jobs + jobs.size() * sizeof(DevPlaneJob));
  const size_t off_items = align16(off_plans + plans.size() * sizeof(RegionPlan));
  const size_t off_phases = align16(off_items + items.size() * sizeof(DevItem));
  const size_t off_counters = align16(off_phases + phases.size() * sizeof(Phase));
  const size_t off_masks = align16(off_counters + phases.size() * sizeof(int));
  const size_t total = align16(off_masks + mask_floats * sizeof(float));
  st.upload_bytes = total;
  st.scratch_bytes = static_cast<size_t>(scratch_bytes);
  m.cur ^= 1;
  Slot& sl = m.slots[m.cur];
  if (!sl.wait_idle(error)) return false;  // this slot's previous batch (two calls ago) must be done
  if (!sl.ensure(total, total, static_cast<size_t>(scratch_bytes), error)) return false;

  uint8_t* hs = sl.staging;
  std::memcpy(hs + off_frames, dframes.data(), dframes.size() * sizeof(DevFrame));
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
  std::memcpy(hs + off_items, items.data(), items.size() * sizeof(DevItem));
  std::memcpy(hs + off_phases, phases.data(), phases.size() * sizeof(Phase));
  std::memset(hs + off_counters, 0, phases.size() * sizeof(int));

  cudaError_t e = cudaMemcpyAsync(sl.arena, hs, total, cudaMemcpyHostToDevice, stream);
  if (e != cudaSuccess) {
    *error = cuda_msg("cudaMemcpyAsync (descriptors)", e);
    return false;
  }

  KernelArgs ka;
  ka.frames = reinterpret_cast<const DevFrame*>(sl.arena + off_frames);
  ka.jobs = reinterpret_cast<const DevPlaneJob*>(sl.arena + off_jobs);
  ka.plans = reinterpret_cast<const RegionPlan*>(sl.arena + off_plans);
  ka.items = reinterpret_cast<const DevItem*>(sl.arena + off_items);
  ka.phases = reinterpret_cast<const Phase*>(sl.arena + off_phases);
  ka.counters = reinterpret_cast<int*>(sl.arena + off_counters);
  ka.scratch = sl.scratch;
  ka.kdiv = 1;
  if (timing_) cudaEventRecord(m.t0, stream);
  const int nphases = static_cast<int>(phases.size());

  // Default: the variant register-capped for 2 blocks per SM (128 registers; measured fastest on H100,
  // docs/benchmarks.md). Tuning knob (benchmarks): FACEMASK_CUDA_OCC=1 selects the uncapped variant.
  // FACEMASK_CUDA_OCC=4: the variant capped for 4 blocks per SM (spills since the deeper load batches).
  const char* occ = std::getenv("FACEMASK_CUDA_OCC");
  const int occv = occ ? std::atoi(occ) : 2;
  const void* kfn = reinterpret_cast<const void*>(redact_kernel<2>);
  int bps = m.blocks_per_sm2;
  if (occv == 4 && m.blocks_per_sm4 > 0) {
    kfn = reinterpret_cast<const void*>(redact_kernel<4>);
    bps = m.blocks_per_sm4;
  } else if (occv == 1 || bps <= 0) {
    kfn = reinterpret_cast<const void*>(redact_kernel<1>);
    bps = m.blocks_per_sm;
  }
  if (m.coop_supported && bps > 0 && !force_multi_launch_) {
    const int grid = std::max(1, std::min(bps * m.num_sms, max_phase_items));
    int first = 0, end = nphases;
    void* args[] = {&ka, &first, &end};
    e = cudaLaunchCooperativeKernel(kfn, dim3(grid), dim3(kThreads), args, kSmemBytes, stream);
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
      e = cudaLaunchKernel(kfn, dim3(n), dim3(kThreads), args, kSmemBytes, stream);
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
  if (stats) *stats = st;
  return true;
}

}  // namespace cuda
}  // namespace facemask
