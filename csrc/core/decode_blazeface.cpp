// BlazeFace (MediaPipe face_detection_short_range / full_range, converted with tflite2onnx). face-models.md §2.10.
//
// Outputs (batch removed): regressors [N,16], classificators [N,1]; names "regressors"/"classificators", or
// options.output_names in that order, else by shape ([N,16] and [N,1]).
// Anchors (SSD style, size 1x1, offset 0.5), selected by options.variant "short" / "full" or, with "auto", by N:
//   short range, S = 128, N = 896: 16x16 grid x 2 anchors (stride 8), then 8x8 grid x 6 anchors (stride 16),
//     cell-major (row, column, then the anchors of the cell)
//   full range,  S = 192, N = 2304: 48x48 grid x 1 anchor (stride 4)
//   anchor centre = ((c + 0.5)/grid_w, (r + 0.5)/grid_h) in normalised input units
// Decode (normalised): cx = raw0/S + acx, cy = raw1/S + acy, w = raw2/S, h = raw3/S; keypoint i =
//   (raw(4+2i)/S + acx, raw(5+2i)/S + acy); score = sigmoid(clip(raw, -100, 100)). Results are scaled by the
//   network size (net_w, net_h) into network-input pixels.
// Landmarks: 6 points in the model's order, kept as is (num_landmarks = 6): 0 right eye, 1 left eye (of the subject,
// i.e. 0 is on the image's left as in the canonical order), 2 nose tip, 3 mouth centre, 4 right ear tragion, 5 left
// ear tragion. Slots 3/4 are therefore NOT mouth corners for this family.
#include <cmath>

#include "core/decode_internal.hpp"

namespace facemask {
namespace detail {

bool decode_blazeface(Ctx& c) {
  const auto& outs = *c.outputs;
  static const std::vector<Role> roles = {{"regressors", {"regressors", "reshaped_regressor_face_4", "regressor", "boxes"}},
                                   {"classificators", {"classificators", "reshaped_classifier_face_4", "classificator", "scores"}}};
  std::vector<int> idx;
  if (!find_by_name(c, roles, &idx)) return false;
  std::vector<bool> used(outs.size(), false);
  for (int i : idx)
    if (i >= 0) used[i] = true;
  const int64_t want_cols[2] = {16, 1};
  for (int j = 0; j < 2; ++j)
    if (idx[j] < 0) {
      idx[j] = take_matrix(outs, used, -1, want_cols[j]);
      if (idx[j] < 0)
        return c.fail(std::string("missing output layer '") + roles[j].role + "' (or any [N," +
                      std::to_string(want_cols[j]) + "] tensor); outputs: " + outputs_str(outs));
    }
  int64_t rows[2], cols[2];
  for (int j = 0; j < 2; ++j) {
    if (!mat_dims(c, outs[idx[j]], roles[j].role, &rows[j], &cols[j])) return false;
    if (cols[j] != want_cols[j])
      return c.fail("layer '" + outs[idx[j]].name + "' (" + roles[j].role + "): expected [N," +
                    std::to_string(want_cols[j]) + "], got dims " + dims_str(outs[idx[j]].dims));
  }
  if (rows[0] != rows[1])
    return c.fail("regressors has " + std::to_string(rows[0]) + " rows but classificators " + std::to_string(rows[1]));
  const int64_t n = rows[0];
  const std::string& v = c.opt->variant;
  bool full;
  if (v == "short")
    full = false;
  else if (v == "full")
    full = true;
  else if (v == "auto" || v.empty()) {
    if (n != 896 && n != 2304)
      return c.fail(std::to_string(n) + " anchors: expected 896 (short range, 128x128) or 2304 (full range, 192x192)");
    full = n == 2304;
  } else
    return c.fail("unknown variant '" + v + "' (auto, short, full)");
  const int64_t want_n = full ? 2304 : 896;
  if (n != want_n)
    return c.fail(std::string(full ? "full" : "short") + " range needs " + std::to_string(want_n) + " anchors, got " +
                  std::to_string(n));
  const float S = full ? 192.f : 128.f;
  const float W = static_cast<float>(c.net_w), H = static_cast<float>(c.net_h);
  const Reader reg = reader(outs[idx[0]]), cls = reader(outs[idx[1]]);
  const float lt = logit_threshold(c.thr);
  for (int64_t i = 0; i < n; ++i) {
    const float raw = cls[i];
    if (!(raw >= lt)) continue;  // NaN never passes
    const float score = sigmoid(std::fmin(std::fmax(raw, -100.f), 100.f));
    if (!(score >= c.thr)) continue;
    int64_t r, col, grid;
    if (full) {
      grid = 48;
      r = i / 48;
      col = i % 48;
    } else if (i < 512) {
      grid = 16;
      r = (i / 2) / 16;
      col = (i / 2) % 16;
    } else {
      grid = 8;
      r = ((i - 512) / 6) / 8;
      col = ((i - 512) / 6) % 8;
    }
    const float acx = (static_cast<float>(col) + 0.5f) / static_cast<float>(grid);
    const float acy = (static_cast<float>(r) + 0.5f) / static_cast<float>(grid);
    const int64_t b = 16 * i;
    const float cx = reg[b] / S + acx, cy = reg[b + 1] / S + acy, w = reg[b + 2] / S, h = reg[b + 3] / S;
    float lx[6], ly[6];
    for (int p = 0; p < 6; ++p) {
      lx[p] = (reg[b + 4 + 2 * p] / S + acx) * W;
      ly[p] = (reg[b + 5 + 2 * p] / S + acy) * H;
    }
    emit(c, (cx - w * 0.5f) * W, (cy - h * 0.5f) * H, (cx + w * 0.5f) * W, (cy + h * 0.5f) * H, score, 6, lx, ly);
  }
  return c.res->error.empty();
}

}  // namespace detail
}  // namespace facemask
