// YOLOv8-Face (derronqi / akanametov; Ultralytics pose head, kpt_shape 5x3). face-models.md §2.5, §5.1.
//
// Layouts (batch removed), all already decoded by the graph (box DFL, sigmoid score, keypoints in pixels):
//   rows [N,20]: cx, cy, w, h, score, 5 x (x, y, visibility)
//   channel-major [20,N]: the standard Ultralytics export before the transpose (8 400 columns at 640x640)
//   split (DeepStream-Yolo-Face): boxes [N,4] (cx, cy, w, h), scores [N,1], landmarks [N,15] (x, y, vis)
// [20,20] is ambiguous: read as rows unless options.variant = "channels" ("rows" forces rows).
// Lookup: options.output_names = {name} (or 3 names for the split layout); else "output0"/"output"/"out"/"pred";
// else the only tensor with a dimension of 20.
// score = column 4; box = centre -+ size/2; landmark i = (x_i, y_i); visibility is not used.
// Landmark order: WIDER FACE order = canonical.
#include <cmath>

#include "core/decode_internal.hpp"

namespace facemask {
namespace detail {

bool decode_yolov8face(Ctx& c) {
  const auto& outs = *c.outputs;
  int sidx[3];
  bool explicit_failed;
  if (find_yolo_split(c, sidx, &explicit_failed)) return decode_yolo_split(c, sidx);
  if (explicit_failed) return false;
  const std::string& v = c.opt->variant;
  if (!(v == "auto" || v.empty() || v == "rows" || v == "channels"))
    return c.fail("unknown variant '" + v + "' (auto, rows, channels)");
  int id = find_yolo_rows(c, {"output0", "output", "out", "pred"}, "[N,20] or [20,N]");
  if (id == -2) return false;
  for (size_t i = 0; i < outs.size() && id < 0; ++i) {
    const auto d = squeeze_leading(outs[i].dims, 2);
    if (d.size() == 2 && (d[0] == 20 || d[1] == 20)) id = static_cast<int>(i);
  }
  if (id < 0)
    return c.fail("no [N,20] / [20,N] output and no boxes/scores/landmarks split; outputs: " + outputs_str(outs));
  int64_t a, b;
  if (!mat_dims(c, outs[id], "predictions", &a, &b)) return false;
  bool channels;
  if (a == 20 && b == 20)
    channels = v == "channels";
  else if (b == 20)
    channels = false;
  else if (a == 20)
    channels = true;
  else
    return c.fail("layer '" + outs[id].name + "' (predictions): expected [N,20] or [20,N], got dims " +
                  dims_str(outs[id].dims));
  if (v == "rows" && channels) return c.fail("variant 'rows' but layer '" + outs[id].name + "' is [20,N]");
  if (v == "channels" && !channels) return c.fail("variant 'channels' but layer '" + outs[id].name + "' is [N,20]");
  const int64_t n = channels ? b : a;
  const int64_t rs = channels ? 1 : 20, cs = channels ? n : 1;  // element (i, ch) at i*rs + ch*cs
  const Reader t = reader(outs[id]);
  for_each_at_least(t, 4 * cs, n, rs, c.thr, [&](int64_t i) {
    const int64_t base = i * rs;
    auto at = [&](int ch) { return t[base + ch * cs]; };
    const float cx = at(0), cy = at(1), w = at(2), h = at(3);
    float lx[5], ly[5];
    for (int p = 0; p < 5; ++p) {
      lx[p] = at(5 + 3 * p);
      ly[p] = at(6 + 3 * p);
    }
    emit(c, cx - w * 0.5f, cy - h * 0.5f, cx + w * 0.5f, cy + h * 0.5f, at(4), 5, lx, ly);
  });
  return c.res->error.empty();
}

}  // namespace detail
}  // namespace facemask
