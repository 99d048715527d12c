// RetinaFace (biubug6/Pytorch_Retinaface, mobilenet0.25 / ResNet50). face-models.md §2.1.
//
// Outputs (batch removed): loc [N,4], conf [N,2], landms [N,10]; names "loc"/"conf"/"landms" (or options.output_names
// in that order), else by shape (the only [N,4], [N,2] and [N,10] tensors).
// Priors: steps 8/16/32 with sizes {16,32}, {64,128}, {256,512}; level k has a ceil(H/s) x ceil(W/s) grid ordered
// level -> row -> column -> anchor size; N must equal 2 * sum of cells (16 800 at 640x640).
// Decode in pixels (the normalised formulas times W, H), variances 0.1 / 0.2:
//   cx = (c + 0.5) s + loc0 0.1 m, cy likewise, w = m exp(loc2 0.2), h = m exp(loc3 0.2); corners = centre -+ size/2
//   landmark i = ((c + 0.5) s + l(2i) 0.1 m, (r + 0.5) s + l(2i+1) 0.1 m)
// Score = face probability, channel 1 of conf. The reference export applies softmax in the graph (test phase); raw
// exports give logits. options.variant: "probs" (use channel 1 as is), "logits" (softmax: 1/(1+exp(c0-c1))), or
// "auto" (default): probabilities if the first 64 rows are all in [0,1] and sum to 1 (+-1e-3, FP16 +-3e-3), else
// logits.
// Landmark order: WIDER FACE annotation order = canonical (image-left eye, other eye, nose, image-left mouth corner,
// other mouth corner).
#include <cmath>
#include <cstdlib>

#include "core/decode_internal.hpp"

namespace facemask {
namespace detail {

namespace {
constexpr int kSteps[3] = {8, 16, 32};
constexpr float kSizes[3][2] = {{16.f, 32.f}, {64.f, 128.f}, {256.f, 512.f}};
}  // namespace

bool decode_retinaface(Ctx& c) {
  const auto& outs = *c.outputs;
  static const std::vector<Role> roles = {{"loc", {"loc", "bbox", "boxes"}},
                                   {"conf", {"conf", "scores", "classifications"}},
                                   {"landms", {"landms", "landmarks", "landm"}}};
  std::vector<int> idx;
  if (!find_by_name(c, roles, &idx)) return false;
  std::vector<bool> used(outs.size(), false);
  for (int i : idx)
    if (i >= 0) used[i] = true;
  const int64_t want_cols[3] = {4, 2, 10};
  for (int j = 0; j < 3; ++j)
    if (idx[j] < 0) {
      idx[j] = take_matrix(outs, used, -1, want_cols[j]);
      if (idx[j] < 0)
        return c.fail(std::string("missing output layer '") + roles[j].role + "' (or any [N," +
                      std::to_string(want_cols[j]) + "] tensor); outputs: " + outputs_str(outs));
    }
  int64_t rows[3], cols[3];
  for (int j = 0; j < 3; ++j) {
    if (!mat_dims(c, outs[idx[j]], roles[j].role, &rows[j], &cols[j])) return false;
    if (cols[j] != want_cols[j])
      return c.fail("layer '" + outs[idx[j]].name + "' (" + roles[j].role + "): expected [N," +
                    std::to_string(want_cols[j]) + "], got dims " + dims_str(outs[idx[j]].dims));
  }
  int64_t gw[3], gh[3], off[4] = {0, 0, 0, 0};
  for (int l = 0; l < 3; ++l) {
    gw[l] = (c.net_w + kSteps[l] - 1) / kSteps[l];
    gh[l] = (c.net_h + kSteps[l] - 1) / kSteps[l];
    off[l + 1] = off[l] + gw[l] * gh[l] * 2;
  }
  const int64_t n = off[3];
  for (int j = 0; j < 3; ++j)
    if (rows[j] != n)
      return c.fail("layer '" + outs[idx[j]].name + "' (" + roles[j].role + ") has " + std::to_string(rows[j]) +
                    " priors but a " + std::to_string(c.net_w) + "x" + std::to_string(c.net_h) + " input has " +
                    std::to_string(n) + " (steps 8/16/32, 2 sizes each)");

  const Reader loc = reader(outs[idx[0]]), conf = reader(outs[idx[1]]), lm = reader(outs[idx[2]]);
  bool probs;
  const std::string& v = c.opt->variant;
  if (v == "probs" || v == "softmax")  // "softmax": the graph already applied it
    probs = true;
  else if (v == "logits")
    probs = false;
  else if (v == "auto" || v.empty()) {
    probs = true;
    const float tol = conf.half ? 3e-3f : 1e-3f;  // FP16 rounds p and 1-p separately (2^-11 each)
    for (int64_t i = 0; i < std::min<int64_t>(n, 64) && probs; ++i) {
      const float a = conf[2 * i], b = conf[2 * i + 1];
      probs = a >= 0.f && a <= 1.f && b >= 0.f && b <= 1.f && std::fabs(a + b - 1.f) <= tol;
    }
  } else
    return c.fail("unknown variant '" + v + "' (auto, probs, logits)");

  auto candidate = [&](int64_t i, float score) {
    int l = 0;
    while (i >= off[l + 1]) ++l;
    const int64_t k = i - off[l], cell = k / 2, a = k % 2;
    const int64_t r = cell / gw[l], col = cell % gw[l];
    const float s = static_cast<float>(kSteps[l]), m = kSizes[l][a];
    const float pcx = (static_cast<float>(col) + 0.5f) * s, pcy = (static_cast<float>(r) + 0.5f) * s;
    const float cx = pcx + loc[4 * i] * 0.1f * m, cy = pcy + loc[4 * i + 1] * 0.1f * m;
    const float w = m * std::exp(loc[4 * i + 2] * 0.2f), h = m * std::exp(loc[4 * i + 3] * 0.2f);
    float lx[5], ly[5];
    for (int p = 0; p < 5; ++p) {
      lx[p] = pcx + lm[10 * i + 2 * p] * 0.1f * m;
      ly[p] = pcy + lm[10 * i + 2 * p + 1] * 0.1f * m;
    }
    emit(c, cx - w * 0.5f, cy - h * 0.5f, cx + w * 0.5f, cy + h * 0.5f, score, 5, lx, ly);
  };
  if (probs) {
    for_each_at_least(conf, 1, n, 2, c.thr, [&](int64_t i) { candidate(i, conf[2 * i + 1]); });
  } else {
    const float lt = logit_threshold(c.thr);
    for (int64_t i = 0; i < n; ++i) {
      const float d = conf[2 * i + 1] - conf[2 * i];
      if (!(d >= lt)) continue;  // also drops NaN
      const float score = 1.f / (1.f + std::exp(-d));
      if (score >= c.thr) candidate(i, score);
    }
  }
  return c.res->error.empty();
}

}  // namespace detail
}  // namespace facemask
