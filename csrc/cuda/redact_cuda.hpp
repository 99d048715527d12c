// CUDA twin of the CPU redaction core (csrc/core/redact.hpp): one batched, pitch-aware pass over every region of
// every frame of a batch, on a caller-given stream. Host-side planning (region rect, sigma, per-plane decimation
// factor and box radius, cell, shape, face oval) is the core's plan_region()/plane_blur(); per-pixel coverage and
// compositing are the core's FACEMASK_HD region_alpha()/composite_u8(). Only the pixel passes (decimation, 3 + 3 box
// passes on the decimated grid, bilinear upsampling, pixelate, fill) are re-implemented here, with the exact integer
// arithmetic of the spec; built with --fmad=false so the float coverage rounds like the CPU core: results are
// byte-identical to csrc/core (tests/test_cuda_redact.py, scripts/bench_gpu.py). Ellipse pixels are pre-classified
// (sure inside / sure outside / feather ramp) from a bound on the core's signed distance with a wide safety band;
// only ramp pixels evaluate region_alpha() (sure-outside pixels are not touched, sure-inside ones not loaded).
//
// Launch structure: all work of a batch is one cooperative kernel launch whose phases are separated by grid-wide
// syncs. Blur: stage A decimates bands of rows of each region plane into its small grid of cell averages in shared
// memory and runs the 3 horizontal box passes there (many blocks per plane); stage B runs the 3 vertical passes (the
// block finishing a plane's last band, or bands of grid columns); stage C samples the grid bilinearly per pixel (one
// warp per row: the sure-inside span, then the feather-ramp pixels) and composites. The three stages of a wave share
// one phase (one work queue in dataflow order; an item waits only for its own plane's earlier stage, via per-plane
// counters), so one plane's upsampling overlaps another's decimation. Pixelate and fill are one phase. Regions whose
// rects overlap an earlier region of the same frame form a later "wave" (the core processes regions in order, a later
// one sees the output of earlier ones); waves are further phases of the same launch. Devices without cooperative
// launch fall back to one launch per phase. Descriptors and instance masks travel in one host->device copy per batch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/redact.hpp"

struct CUstream_st;

namespace facemask {
namespace cuda {

using Stream = CUstream_st*;  // cudaStream_t; nullptr = the legacy default stream

/// One region of a batch: which frame, and the core Region (frame pixels). region.mask, if set, is a HOST pointer
/// (mask_w x mask_h floats); it is copied into a pinned staging buffer during redact(), so it may be freed after.
struct BatchRegion {
  int frame = 0;
  Region region;
  float mask_threshold = -1.f;  // >= 0: this region's instance-mask threshold (DeepStream's per-object
                                // mask_params.threshold) instead of params.mask_threshold
};

struct LaunchStats {
  int regions = 0;        // regions given
  int regions_drawn = 0;  // non-empty plans
  int waves = 0;          // dependency waves (1 when no two regions of a frame overlap)
  int launches = 0;       // kernel launches issued (1 with cooperative launch)
  bool cooperative = false;
  bool flat = false;         // blur by the flat path (three plain launches per wave, redact_cuda.cu)
  bool cluster = false;      // blur by the cluster path (one launch of thread block clusters, sm_90+, redact_cuda.cu)
  size_t upload_bytes = 0;   // descriptor + mask bytes copied host->device
  size_t scratch_bytes = 0;  // device scratch for the blur's intermediate
  int work_items = 0;        // block work items over all phases
  double kernel_us = 0;      // with set_timing(true): device time of the launch(es), CUDA events
  double host_us = 0;        // host time in redact() until the work is enqueued (planning, staging, launch)
};

/// True when the CUDA runtime sees at least one device; otherwise false with *why set.
bool cuda_available(std::string* why);

/// Benchmarks only: the median device time of one launch of an empty kernel (one block of 32 threads; with
/// cooperative, through cudaLaunchCooperativeKernel), measured exactly as Redactor::set_timing() measures a redaction:
/// a CUDA event recorded on `stream` right before the launch call and one right after it, so the host-side launch
/// call is inside the interval for both. Returns a negative value and sets *error on a CUDA error.
double empty_launch_us(Stream stream, int iters, bool cooperative, std::string* error);

/// Reusable redaction context bound to the device current at construction. Not thread-safe: one per thread or
/// element instance. Device buffers grow as needed and are reused between batches.
class Redactor {
 public:
  Redactor();
  ~Redactor();
  Redactor(const Redactor&) = delete;
  Redactor& operator=(const Redactor&) = delete;

  /// Enqueue the redaction of `regions` into the frames (in place) on `stream`. frames[i].data[p] are DEVICE
  /// pointers (pitch-linear planes, stride in bytes) of any format of core/formats.hpp. Returns false with *error
  /// set for invalid frames/params, bad frame indices or CUDA errors; never throws. The work is asynchronous: the
  /// caller synchronises the stream before the pixels are read elsewhere (the NVMM backend does).
  bool redact(const ImageView* frames, int num_frames, const BatchRegion* regions, size_t num_regions,
              const RedactParams& params, Stream stream, std::string* error, LaunchStats* stats = nullptr);

  /// Disable the cooperative single launch (tests/benchmarks compare both paths).
  void set_force_multi_launch(bool on) { force_multi_launch_ = on; }
  /// Time the launch(es) with CUDA events (synchronises the stream inside redact(); benchmarks only).
  void set_timing(bool on) { timing_ = on; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool force_multi_launch_ = false;
  bool timing_ = false;
};

}  // namespace cuda
}  // namespace facemask
