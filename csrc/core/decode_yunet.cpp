// YuNet (OpenCV Zoo face_detection_yunet_2023mar). face-models.md §2.7.
//
// Outputs (batch removed), 12 tensors: cls_s [K,1], obj_s [K,1], bbox_s [K,4], kps_s [K,10] for s = 8/16/32,
// K = (H/s)(W/s) (one prediction per cell, rows r * cols + c). Lookup: options.output_names in the order cls_8,
// cls_16, cls_32, obj_8, ..., bbox_8, ..., kps_8, ...; else those names; else by shape (row counts differ per stride;
// of the two [K,1] tensors of a stride the first in output order is cls, the second obj -- the score is symmetric in
// them, so the choice cannot change a result).
// Decode: score = sqrt(clamp01(cls) clamp01(obj)); cx = (c + b0) s, cy = (r + b1) s, w = exp(b2) s, h = exp(b3) s,
//   box = centre -+ size/2; landmark i = ((k(2i) + c) s, (k(2i+1) + r) s).
// Landmark order: "right eye, left eye, nose tip, right mouth corner, left mouth corner" of the subject, i.e. the
// subject's right eye is on the image's left: identical to the canonical order.
#include <cmath>

#include "core/decode_internal.hpp"

namespace facemask {
namespace detail {

bool decode_yunet(Ctx& c) {
  const auto& outs = *c.outputs;
  const int strides[3] = {8, 16, 32};
  const char* kinds[4] = {"cls", "obj", "bbox", "kps"};
  const int64_t cols_want[4] = {1, 1, 4, 10};
  int id[3][4];
  int64_t gw[3], gh[3], rows[3];
  std::vector<bool> used(outs.size(), false);
  const auto& names = c.opt->output_names;
  for (int k = 0; k < 4; ++k)
    for (int l = 0; l < 3; ++l) {
      const size_t pos = static_cast<size_t>(k * 3 + l);
      const std::string n = pos < names.size() && !names[pos].empty()
                                ? names[pos]
                                : std::string(kinds[k]) + "_" + std::to_string(strides[l]);
      id[l][k] = -1;
      for (size_t i = 0; i < outs.size(); ++i)
        if (!used[i] && outs[i].name == n) {
          id[l][k] = static_cast<int>(i);
          used[i] = true;
          break;
        }
      if (id[l][k] < 0 && pos < names.size() && !names[pos].empty())
        return c.fail("layer '" + n + "' (" + kinds[k] + "_" + std::to_string(strides[l]) +
                      ", from output_names) not found; outputs: " + outputs_str(outs));
    }
  for (int l = 0; l < 3; ++l) {
    gw[l] = (c.net_w + strides[l] - 1) / strides[l];
    gh[l] = (c.net_h + strides[l] - 1) / strides[l];
    rows[l] = gw[l] * gh[l];
    for (int k = 0; k < 4; ++k) {
      if (id[l][k] < 0) id[l][k] = take_matrix(outs, used, rows[l], cols_want[k]);
      if (id[l][k] < 0)
        return c.fail(std::string("missing output layer '") + kinds[k] + "_" + std::to_string(strides[l]) +
                      "' (or any unused [" + std::to_string(rows[l]) + "," + std::to_string(cols_want[k]) +
                      "] tensor for a " + std::to_string(c.net_w) + "x" + std::to_string(c.net_h) +
                      " input); outputs: " + outputs_str(outs));
      int64_t r, cc;
      if (!mat_dims(c, outs[id[l][k]], kinds[k], &r, &cc)) return false;
      if (r != rows[l] || cc != cols_want[k])
        return c.fail("layer '" + outs[id[l][k]].name + "' (" + kinds[k] + "_" + std::to_string(strides[l]) +
                      "): expected [" + std::to_string(rows[l]) + "," + std::to_string(cols_want[k]) + "], got dims " +
                      dims_str(outs[id[l][k]].dims));
    }
  }
  // score >= thr needs cls >= thr^2 (obj <= 1 after clamping): scan cls first.
  const float pre = c.thr > 0.f ? c.thr * c.thr * (1.f - 1e-6f) : -INFINITY;
  for (int l = 0; l < 3; ++l) {
    const Reader cls = reader(outs[id[l][0]]), obj = reader(outs[id[l][1]]), bb = reader(outs[id[l][2]]),
                 kp = reader(outs[id[l][3]]);
    const float s = static_cast<float>(strides[l]);
    for_each_at_least(cls, 0, rows[l], 1, pre, [&](int64_t i) {
      const float a = std::fmin(std::fmax(cls[i], 0.f), 1.f), b = obj[i];
      if (std::isnan(b)) return;
      const float score = std::sqrt(a * std::fmin(std::fmax(b, 0.f), 1.f));
      if (!(score >= c.thr)) return;
      const int64_t r = i / gw[l], col = i % gw[l];
      const float cx = (static_cast<float>(col) + bb[4 * i]) * s, cy = (static_cast<float>(r) + bb[4 * i + 1]) * s;
      const float w = std::exp(bb[4 * i + 2]) * s, h = std::exp(bb[4 * i + 3]) * s;
      float lx[5], ly[5];
      for (int p = 0; p < 5; ++p) {
        lx[p] = (kp[10 * i + 2 * p] + static_cast<float>(col)) * s;
        ly[p] = (kp[10 * i + 2 * p + 1] + static_cast<float>(r)) * s;
      }
      emit(c, cx - w * 0.5f, cy - h * 0.5f, cx + w * 0.5f, cy + h * 0.5f, score, 5, lx, ly);
    });
  }
  return c.res->error.empty();
}

}  // namespace detail
}  // namespace facemask
