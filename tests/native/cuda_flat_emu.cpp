// CPU emulation of the CUDA flat blur path (csrc/cuda/redact_cuda.cu, FACEMASK_CUDA_FLAT=1) against the CPU core.
// Built and run by tests/test_cuda_flat_emulation.py, which copies the flat path's device functions unchanged out of
// redact_cuda.cu into flat_extract.inc (with the helpers they call) and compiles this file with ASan/UBSan. The
// device functions are plain C++ apart from the CUDA qualifiers and a few intrinsics, shimmed below; the box passes
// run as a one-thread block (every block loop strides by blockDim.x, so that is a valid block size). What this does
// NOT cover: the GPU memory model, launch order and PDL, shared-memory limits - the GPU tests cover those.
// emu_redact() builds the plane jobs with redact_cuda.cu's own plane_job() / flat_group() (copied out too).
// Second mode: the cluster path (FACEMASK_CUDA_CLUSTER=1): per wave, the host's plan_clusters() parts and packs the
// planes (cluster sizes 3, 8, 16; the batch cut into 2-41 parts, so 1-16 parts per plane), then per cluster: step 1
// for every block, each with its own shared memory (a vector, poisoned), then per block the gather from the other
// blocks' shared memory, the vertical passes and the upsampling - block by block, so a block that overwrote its own
// RM before a later block gathered from it would show up as wrong bytes. Blocks of one thread for the steps with block barriers,
// 256 threads (8 warps, run one after another) for the row loop.
// Usage: cuda_flat_emu [trials] [flat|cluster]; prints "<n> cases, <k> plane failures", exit 0 only when k == 0.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <type_traits>
#include <vector>
#include "core/formats.hpp"
#include "core/redact.hpp"
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__
struct Dim3 { unsigned x = 0, y = 0, z = 0; };
static Dim3 threadIdx, blockIdx, blockDim;
static inline void __syncthreads() {}
static inline unsigned __umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((static_cast<unsigned long long>(a) * b) >> 32);
}
template <typename T> static inline T __ldcg(const T* p) { return *p; }
using std::max;
using std::min;
namespace facemask { namespace cuda { namespace {
#include "flat_extract.inc"
}  // namespace

struct EmuResult { int waves = 0; };

// Redactor::redact's blur job setup (plane_job, scratch offsets, flat_group) and the three flat stages per wave.
bool emu_redact(const ImageView& fr, const std::vector<Region>& regions, const RedactParams& params, bool cluster,
                int cl_size, double cl_parts) {
  std::vector<RegionPlan> plans;
  std::vector<int> wave;
  for (const Region& r : regions) {
    RegionPlan pl = plan_region(r, params, fr.width, fr.height);
    if (pl.empty) continue;
    int w = 0;
    for (size_t q = 0; q < plans.size(); ++q) {
      const RegionPlan& o = plans[q];
      if (pl.x0 < o.x1 && o.x0 < pl.x1 && pl.y0 < o.y1 && o.y0 < pl.y1) w = std::max(w, wave[q] + 1);
    }
    plans.push_back(pl);
    wave.push_back(w);
  }
  std::vector<DevPlaneJob> jobs;
  std::vector<int> jw;
  long long scratch_bytes = 0;
  auto alloc = [&](long long n) { const long long o = scratch_bytes; scratch_bytes += (n + 127) & ~127LL; return o; };
  const FormatInfo& fi = format_info(fr.format);
  for (size_t pi = 0; pi < plans.size(); ++pi) {
    for (int p = 0; p < fi.num_planes; ++p) {
      DevPlaneJob j{};
      if (!plane_job(plans[pi], static_cast<int>(pi), fr, p, true, &j)) continue;
      j.s0 = alloc(static_cast<long long>(j.ny) * j.sp);
      j.s1 = alloc(static_cast<long long>(j.ny) * j.sp);
      j.ug = flat_group(j);
      jobs.push_back(j);
      jw.push_back(wave[pi]);
    }
  }
  std::vector<uint8_t> scratch(static_cast<size_t>(scratch_bytes) + 64, 0xcd);
  FlatArgs k;
  k.jobs = jobs.data();
  k.plans = plans.data();
  k.scratch = scratch.data();
  int nw = 0;
  for (int w : jw) nw = std::max(nw, w + 1);
  std::vector<uint8_t> smem(256 * 1024);
  for (int w = 0; cluster && w < nw; ++w) {
    // The wave's planes, parted and packed by the host's plan_clusters(), then run cluster by cluster.
    std::vector<DevPlaneJob> wj;
    double total = 0.0;
    for (size_t q = 0; q < jobs.size(); ++q)
      if (jw[q] == w) {
        wj.push_back(jobs[q]);
        total += static_cast<double>(jobs[q].w) * jobs[q].h;
      }
    const int csize = cl_size;
    std::vector<ClusterBlock> cb;
    plan_clusters(wj, csize, std::max(64.0, total / cl_parts), &cb);
    for (size_t c0 = 0; c0 < cb.size(); c0 += static_cast<size_t>(csize)) {
      std::vector<PartGeo> geo(static_cast<size_t>(csize));
      std::vector<std::vector<uint8_t>> sm(static_cast<size_t>(csize));
      blockDim.x = 1;
      threadIdx.x = 0;
      for (int r = 0; r < csize; ++r) {  // step 1 of every block of the cluster (then the cluster barrier)
        const ClusterBlock& b = cb[c0 + static_cast<size_t>(r)];
        if (b.job < 0) continue;
        const DevPlaneJob& j = wj[static_cast<size_t>(b.job)];
        if (b.rank0 + b.part != r || b.nparts > csize || b.nparts > j.ny) { std::printf("bad slot\n"); return false; }
        geo[r] = part_geo(j, b.part, b.nparts);
        if (geo[r].g1 <= geo[r].g0 || geo[r].r1 <= geo[r].r0) { std::printf("empty part\n"); return false; }
        sm[r].assign(static_cast<size_t>(geo[r].bytes), 0xcd);
        if (j.cs == 1) cl_rows<uint8_t>(j, geo[r], sm[r].data());
        else if (j.cs == 2) cl_rows<uint16_t>(j, geo[r], sm[r].data());
        else cl_rows<unsigned>(j, geo[r], sm[r].data());
      }
      for (int r = 0; r < csize; ++r) {
        const ClusterBlock& b = cb[c0 + static_cast<size_t>(r)];
        if (b.job < 0) continue;
        const DevPlaneJob& j = wj[static_cast<size_t>(b.job)];
        blockDim.x = 1;
        threadIdx.x = 0;
        cl_gather(j, geo[r], b.nparts, sm[r].data(), [&](int q) { return sm[static_cast<size_t>(b.rank0 + q)].data(); });
        cl_vpass(j, geo[r], sm[r].data());
        blockDim.x = 256;
        for (unsigned t = 0; t < 256; ++t) {
          threadIdx.x = t;
          cl_up(plans.data(), j, geo[r], sm[r].data());
        }
      }
    }
  }
  for (int w = 0; !cluster && w < nw; ++w) {
    for (size_t q = 0; q < jobs.size(); ++q) {
      if (jw[q] != w) continue;
      const DevPlaneJob& j = jobs[q];
      for (int c = 0; c < j.nx * j.ny; ++c) flat_decimate_cell(k, j, c);
    }
    blockDim.x = 1;
    threadIdx.x = 0;
    for (size_t q = 0; q < jobs.size(); ++q) {
      if (jw[q] != w) continue;
      const DevPlaneJob& j = jobs[q];
      if (2 * flat_box_buf(j.nx, j.ny, j.cs) > static_cast<int>(smem.size())) { std::printf("smem\n"); return false; }
      if (j.cs == 1) flat_box_plane<uint8_t>(k, j, smem.data());
      else if (j.cs == 2) flat_box_plane<uint16_t>(k, j, smem.data());
      else flat_box_plane<unsigned>(k, j, smem.data());
    }
    blockDim.x = 256;
    for (size_t q = 0; q < jobs.size(); ++q) {
      if (jw[q] != w) continue;
      const DevPlaneJob& j = jobs[q];
      for (int first = 0; first < j.h; first += 8) {  // a block of 8 warps, a warp per rect row
        int spans[8][4];  // flat_up_kernel's shared spans: one thread per row, then the block barrier
        for (int t = 0; t < 8; ++t)
          if (first + t < j.h) row_spans(j, j.y0 + first + t, spans[t]);
        for (unsigned t = 0; t < 256; ++t) {
          threadIdx.x = t;
          const int r = first + static_cast<int>(t >> 5);
          if (r < j.h) up_row(k.plans, j, r, spans[t >> 5], k.scratch + j.s0, j.sp, 0);
        }
      }
    }
  }
  return true;
}
}}  // namespace facemask::cuda

using namespace facemask;
int main(int argc, char** argv) {
  const int ntrials = argc > 1 ? std::atoi(argv[1]) : 200;
  const bool cluster = argc > 2 && std::strcmp(argv[2], "cluster") == 0;
  std::mt19937 rng(7);
  const char* names[] = {"NV12", "NV21", "I420", "YV12", "GRAY8", "RGBA", "ARGB", "BGRx", "xBGR", "RGB", "BGR"};
  int fails = 0, cases = 0;
  for (int trial = 0; trial < ntrials; ++trial) {
    const char* nm = names[trial % 11];
    PixelFormat pf;
    if (!format_from_name(nm, &pf)) { std::printf("fmt %s?\n", nm); return 2; }
    const FormatInfo& fi = format_info(pf);
    const int W = 318 + 2 * static_cast<int>(rng() % 40), H = 178 + 2 * static_cast<int>(rng() % 30);
    const int pad = (trial / 11) % 3 == 1 ? 1 + static_cast<int>(rng() % 5) : ((trial / 11) % 3 == 2 ? 16 : 0);
    std::vector<std::vector<uint8_t>> buf(fi.num_planes), ref(fi.num_planes);
    ImageView a, b;
    a.format = b.format = pf; a.width = b.width = W; a.height = b.height = H;
    for (int p = 0; p < fi.num_planes; ++p) {
      const int pw = plane_width(fi, p, W), ph = plane_height(fi, p, H), ps = fi.planes[p].pixel_stride;
      const int stride = pw * ps + pad;
      buf[p].resize(static_cast<size_t>(stride) * ph + 8);
      for (auto& v : buf[p]) v = static_cast<uint8_t>(rng());
      ref[p] = buf[p];
      a.data[p] = buf[p].data(); b.data[p] = ref[p].data();
      a.stride[p] = b.stride[p] = stride;
    }
    std::vector<Region> regs;
    std::vector<std::vector<float>> masks;
    masks.reserve(16);
    const int nreg = 3 + static_cast<int>(rng() % 6);
    for (int r = 0; r < nreg; ++r) {
      Region g;
      const float s = 8.f + static_cast<float>(rng() % 200);
      const float x = -30.f + static_cast<float>(rng() % (W + 20)) + (rng() % 10) * 0.1f;
      const float y = -30.f + static_cast<float>(rng() % (H + 20)) + (rng() % 10) * 0.1f;
      g.det.x1 = x; g.det.y1 = y; g.det.x2 = x + s * (0.7f + (rng() % 6) * 0.1f); g.det.y2 = y + s;
      if (rng() % 5 == 0) {
        masks.emplace_back(9 * 7);
        for (auto& v : masks.back()) v = static_cast<float>(rng() % 1000) / 1000.f;
        g.mask = masks.back().data(); g.mask_w = 9; g.mask_h = 7;
      }
      regs.push_back(g);
    }
    RedactParams prm;
    prm.mode = RedactMode::kBlur;
    prm.shape = (trial % 3 == 0) ? RedactShape::kBox : RedactShape::kOval;
    prm.strength = (trial % 4 == 0) ? 3.5f : ((trial % 4 == 1) ? 0.4f : 1.f);
    std::string err;
    if (!redact(b, regs, prm, &err)) { std::printf("core: %s\n", err.c_str()); return 2; }
    const int cl_size = trial % 3 == 0 ? 16 : (trial % 3 == 1 ? 8 : 3);  // cluster size, parts of the batch: P 1-16
    if (!cuda::emu_redact(a, regs, prm, cluster, cl_size, 2.0 + trial % 40)) return 2;
    ++cases;
    for (int p = 0; p < fi.num_planes; ++p) {
      size_t diff = 0;
      for (size_t i = 0; i < buf[p].size(); ++i) diff += buf[p][i] != ref[p][i];
      if (diff) { ++fails; std::printf("%s %dx%d pad %d plane %d: %zu bytes differ\n", nm, W, H, pad, p, diff); }
    }
  }
  std::printf("%d cases, %d plane failures\n", cases, fails);
  return fails ? 1 : 0;
}
