// ASan/UBSan fuzz driver for nvinfer's emulated post-processing (core/cluster + core/nvinfer_geometry):
// random and hostile inputs (NaN, Inf, huge, negative, out-of-range classes, every cluster mode, extreme rects),
// two threads at once (the functions must be reentrant). Built and run by tests/test_emulate_cluster.py.
// Usage: emulate_fuzz SECONDS SEED
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "core/cluster.hpp"
#include "core/nvinfer_geometry.hpp"

namespace {

std::atomic<long> g_calls{0}, g_scalings_ok{0}, g_cluster_ok{0}, g_kept{0};

float hostile(std::mt19937& rng) {
  std::uniform_int_distribution<int> pick(0, 9);
  std::uniform_real_distribution<float> u(-100.f, 2000.f);
  switch (pick(rng)) {
    case 0: return std::numeric_limits<float>::quiet_NaN();
    case 1: return std::numeric_limits<float>::infinity();
    case 2: return -std::numeric_limits<float>::infinity();
    case 3: return 3.0e38f;
    case 4: return -1.0f;
    case 5: return 0.f;
    default: return u(rng);
  }
}

void worker(double seconds, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u01(0.f, 1.f);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    const bool evil = u01(rng) < 0.3f;
    // --- scaling -------------------------------------------------------------------------------------------
    facemask::NvinferScaling s;
    std::string err;
    const float sl = evil ? hostile(rng) : u01(rng) * 50.f, st = evil ? hostile(rng) : u01(rng) * 50.f;
    const float sw = evil ? hostile(rng) : 2.f + u01(rng) * 4000.f, sh = evil ? hostile(rng) : 2.f + u01(rng) * 4000.f;
    const uint32_t nw = evil ? static_cast<uint32_t>(rng()) : 8u + rng() % 1500u;
    const uint32_t nh = evil ? static_cast<uint32_t>(rng()) : 8u + rng() % 1500u;
    const bool ok = facemask::nvinfer_compute_scaling(sl, st, sw, sh, nw, nh, rng() & 1, rng() & 1, &s, &err);
    g_calls++;
    if (ok) {
      g_scalings_ok++;
      if (!(s.ratio_x > 0) || !(s.ratio_y > 0) || s.dest_width == 0 || s.dest_height == 0) {
        std::fprintf(stderr, "VIOLATION: accepted scaling with zero size/ratio\n");
        std::abort();
      }
    } else if (err.empty()) {
      std::fprintf(stderr, "VIOLATION: refused scaling without a message\n");
      std::abort();
    }
    // --- objects ----------------------------------------------------------------------------------------------
    const int n = static_cast<int>(rng() % 60);
    std::vector<facemask::NvinferBox> objs(n);
    for (auto& o : objs) {
      o.left = evil ? hostile(rng) : u01(rng) * 600.f;
      o.top = evil ? hostile(rng) : u01(rng) * 400.f;
      o.width = evil ? hostile(rng) : u01(rng) * 200.f;
      o.height = evil ? hostile(rng) : u01(rng) * 200.f;
      o.confidence = evil ? hostile(rng) : u01(rng);
      o.class_id = static_cast<int>(rng() % 5) - (evil ? 1 : 0);
    }
    facemask::ClusterConfig cfg;
    cfg.num_detected_classes = rng() % 5;
    cfg.cluster_mode = static_cast<int>(rng() % 7) - 1;
    cfg.instance_mask = (rng() % 4) == 0;
    const int npc = static_cast<int>(rng() % 6);
    for (int c = 0; c < npc; ++c) {
      facemask::ClusterClassParams p;
      p.pre_cluster_threshold = evil ? hostile(rng) : u01(rng) * 0.5f;
      p.post_cluster_threshold = evil ? hostile(rng) : u01(rng) * 0.5f;
      p.nms_iou_threshold = evil ? hostile(rng) : u01(rng);
      p.topk = static_cast<int>(rng() % 12) - 2;
      cfg.per_class.push_back(p);
    }
    const auto r = facemask::nvinfer_cluster(objs, cfg);
    if (r.error.empty()) g_cluster_ok++;
    if (r.objects.size() != r.source_index.size()) {
      std::fprintf(stderr, "VIOLATION: objects/source_index size mismatch\n");
      std::abort();
    }
    for (size_t i = 0; i < r.source_index.size(); ++i) {
      const int k = r.source_index[i];
      if (k < 0 || k >= n || static_cast<unsigned>(r.objects[i].class_id) >= cfg.num_detected_classes) {
        std::fprintf(stderr, "VIOLATION: bad source index / class\n");
        std::abort();
      }
    }
    if (!ok) continue;
    facemask::NvinferBackMapParams p;
    p.surface_width = evil ? static_cast<uint32_t>(rng()) : 1u + rng() % 4000u;
    p.surface_height = evil ? static_cast<uint32_t>(rng()) : 1u + rng() % 4000u;
    p.crop_objects_to_roi_boundary = rng() & 1;
    p.has_parent = rng() & 1;
    p.parent_left = hostile(rng);
    p.parent_top = hostile(rng);
    p.filter_out_class_ids = {static_cast<int>(rng() % 4)};
    for (int c = 0; c < 3; ++c) {
      facemask::NvinferObjectFilter f;
      f.roi_top_offset = evil ? static_cast<uint32_t>(rng()) : rng() % 50;
      f.roi_bottom_offset = evil ? static_cast<uint32_t>(rng()) : rng() % 50;
      f.detected_min_w = rng() % 20;
      f.detected_max_h = rng() % 300;
      p.per_class.push_back(f);
    }
    std::vector<facemask::NvinferDropReason> reasons;
    const auto kept = facemask::nvinfer_map_objects(r.objects, s, p, &reasons);
    g_kept += static_cast<long>(kept.size());
    if (reasons.size() != r.objects.size()) {
      std::fprintf(stderr, "VIOLATION: one reason per object expected\n");
      std::abort();
    }
    for (const auto& o : kept)
      if (!p.has_parent && (o.left < 0 || o.top < 0)) {
        std::fprintf(stderr, "VIOLATION: negative left/top after nvinfer's clamp\n");
        std::abort();
      }
    float x = 0, y = 0;
    facemask::nvinfer_back_map_point(s, hostile(rng), hostile(rng), 0, 0, &x, &y);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const unsigned seed = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 1u;
  std::thread a(worker, seconds, seed), b(worker, seconds, seed * 7919u + 13u);
  a.join();
  b.join();
  std::printf("emulate_fuzz: %ld calls %ld scalings_ok %ld clusters_ok %ld kept\n", g_calls.load(),
              g_scalings_ok.load(), g_cluster_ok.load(), g_kept.load());
  return 0;
}
