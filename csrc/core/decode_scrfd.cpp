// SCRFD (insightface *_bnkps / plain exports). face-models.md §2.2.
//
// Layouts (batch removed): per level s a score [K*A,1], bbox [K*A,4] and (optional) kps [K*A,10] tensor,
// K = ceil(H/s) * ceil(W/s):
//   3 levels s = 8/16/32, A = 2 anchors per cell  (9 outputs, 6 without keypoints)
//   5 levels s = 8..128,  A = 1                   (15 outputs, 10 without keypoints)
// Lookup: options.output_names in the insightface order score_8, score_16, ..., bbox_8, ..., kps_8, ...; else names
// score_<s> / bbox_<s> / kps_<s>; else by shape (row counts differ per level, columns 1/4/10), which also covers
// insightface's numerically named outputs. options.variant "3" / "5" forces the level count (default: auto).
// Decode: anchor centre (c s, r s) -- no half-cell offset -- repeated A times; scores are already sigmoid;
//   x1 = cx - d0 s, y1 = cy - d1 s, x2 = cx + d2 s, y2 = cy + d3 s; keypoint i = (cx + k(2i) s, cy + k(2i+1) s).
// Landmark order: WIDER FACE order = canonical.
#include <cmath>

#include "core/decode_internal.hpp"

namespace facemask {
namespace detail {

namespace {
struct Level {
  int stride;
  int score = -1, bbox = -1, kps = -1;
  int64_t gw = 0, gh = 0, rows = 0;
};

// Tries one configuration; on success fills levels. Returns "" or a reason.
std::string try_config(Ctx& c, int nlev, int A, std::vector<Level>* levels) {
  const auto& outs = *c.outputs;
  const int strides[5] = {8, 16, 32, 64, 128};
  std::vector<Level> lv(nlev);
  std::vector<bool> used(outs.size(), false);
  const auto& names = c.opt->output_names;
  auto by_name = [&](const std::string& n) {
    for (size_t i = 0; i < outs.size(); ++i)
      if (!used[i] && outs[i].name == n) {
        used[i] = true;
        return static_cast<int>(i);
      }
    return -1;
  };
  const char* kinds[3] = {"score", "bbox", "kps"};
  // explicit names / documented names
  for (int k = 0; k < 3; ++k)
    for (int l = 0; l < nlev; ++l) {
      lv[l].stride = strides[l];
      const size_t pos = static_cast<size_t>(k * nlev + l);
      int* slot = k == 0 ? &lv[l].score : k == 1 ? &lv[l].bbox : &lv[l].kps;
      if (pos < names.size() && !names[pos].empty()) {
        *slot = by_name(names[pos]);
        if (*slot < 0) return "layer '" + names[pos] + "' (from output_names) not found";
      } else {
        *slot = by_name(std::string(kinds[k]) + "_" + std::to_string(strides[l]));
      }
    }
  // shape fallback
  for (int l = 0; l < nlev; ++l) {
    Level& L = lv[l];
    L.gw = (c.net_w + L.stride - 1) / L.stride;
    L.gh = (c.net_h + L.stride - 1) / L.stride;
    L.rows = L.gw * L.gh * A;
    if (L.score < 0) L.score = take_matrix(outs, used, L.rows, 1);
    if (L.bbox < 0) L.bbox = take_matrix(outs, used, L.rows, 4);
    if (L.kps < 0) L.kps = take_matrix(outs, used, L.rows, 10);
    if (L.score < 0 || L.bbox < 0)
      return "no score/bbox pair for stride " + std::to_string(L.stride) + " ([" + std::to_string(L.rows) +
             ",1] / [" + std::to_string(L.rows) + ",4] with " + std::to_string(A) + " anchors per cell)";
  }
  *levels = lv;
  return "";
}
}  // namespace

bool decode_scrfd(Ctx& c) {
  const auto& outs = *c.outputs;
  const std::string& v = c.opt->variant;
  std::vector<std::pair<int, int>> configs;  // (levels, anchors)
  if (v == "3")
    configs = {{3, 2}};
  else if (v == "5")
    configs = {{5, 1}};
  else if (v == "auto" || v.empty()) {
    bool five = outs.size() == 15 || outs.size() == 10;
    for (const auto& t : outs)
      if (t.name == "score_64" || t.name == "score_128") five = true;
    configs = five ? std::vector<std::pair<int, int>>{{5, 1}, {3, 2}} : std::vector<std::pair<int, int>>{{3, 2}, {5, 1}};
  } else
    return c.fail("unknown variant '" + v + "' (auto, 3, 5)");

  std::vector<Level> lv;
  std::string why;
  int A = 0;
  for (const auto& cf : configs) {
    const std::string r = try_config(c, cf.first, cf.second, &lv);
    if (r.empty()) {
      A = cf.second;
      why.clear();
      break;
    }
    if (why.empty()) why = r;
  }
  if (A == 0)
    return c.fail("cannot find the SCRFD outputs for a " + std::to_string(c.net_w) + "x" + std::to_string(c.net_h) +
                  " input: " + why + "; outputs: " + outputs_str(outs));

  // Validate every tensor before reading.
  bool with_kps = true, any_kps = false;
  for (const auto& L : lv) {
    with_kps = with_kps && L.kps >= 0;
    any_kps = any_kps || L.kps >= 0;
  }
  if (any_kps && !with_kps)
    for (const auto& L : lv)
      if (L.kps < 0)
        return c.fail("keypoint layer for stride " + std::to_string(L.stride) + " (kps_" + std::to_string(L.stride) +
                      ", [" + std::to_string(L.rows) + ",10]) missing while other strides have one; outputs: " +
                      outputs_str(outs));
  for (const auto& L : lv) {
    const int ids[3] = {L.score, L.bbox, with_kps ? L.kps : -1};
    const int64_t cols_want[3] = {1, 4, 10};
    const char* role[3] = {"score", "bbox", "kps"};
    for (int k = 0; k < 3; ++k) {
      if (ids[k] < 0) continue;
      int64_t rows, cols;
      if (!mat_dims(c, outs[ids[k]], role[k], &rows, &cols)) return false;
      if (rows != L.rows || cols != cols_want[k])
        return c.fail("layer '" + outs[ids[k]].name + "' (" + role[k] + ", stride " + std::to_string(L.stride) +
                      "): expected [" + std::to_string(L.rows) + "," + std::to_string(cols_want[k]) + "] for a " +
                      std::to_string(c.net_w) + "x" + std::to_string(c.net_h) + " input, got dims " +
                      dims_str(outs[ids[k]].dims));
    }
  }

  for (const auto& L : lv) {
    const Reader sc = reader(outs[L.score]), bb = reader(outs[L.bbox]);
    const Reader kp = with_kps ? reader(outs[L.kps]) : Reader{};
    const float s = static_cast<float>(L.stride);
    for_each_at_least(sc, 0, L.rows, 1, c.thr, [&](int64_t i) {
      const int64_t cell = i / A, r = cell / L.gw, col = cell % L.gw;
      const float cx = static_cast<float>(col) * s, cy = static_cast<float>(r) * s;
      float lx[5], ly[5];
      if (with_kps)
        for (int p = 0; p < 5; ++p) {
          lx[p] = cx + kp[10 * i + 2 * p] * s;
          ly[p] = cy + kp[10 * i + 2 * p + 1] * s;
        }
      emit(c, cx - bb[4 * i] * s, cy - bb[4 * i + 1] * s, cx + bb[4 * i + 2] * s, cy + bb[4 * i + 3] * s, sc[i],
           with_kps ? 5 : 0, lx, ly);
    });
  }
  return c.res->error.empty();
}

}  // namespace detail
}  // namespace facemask
