// YOLOv5-Face (deepcam-cn export_cat) and the split layout of DeepStream-Yolo-Face exports. face-models.md §2.3, §5.1.
//
// Layouts (batch removed):
//   decoded rows [N,16]: cx, cy, w, h, obj, x1, y1, ..., x5, y5, cls (pixels; obj and cls already sigmoid);
//     score = obj * cls. Name "output"/"output0"/"out"/"pred", or options.output_names = {name}, else the only
//     [N,16] tensor.
//   split (DeepStream-Yolo-Face): boxes [N,4] (cx, cy, w, h), scores [N,1] (already obj * cls), landmarks [N,10]
//     (x, y per point) or [N,15] (x, y, visibility); names "boxes"/"scores"/"landmarks", or options.output_names =
//     {boxes, scores, landmarks}, else by shape.
// Rows are anchor decodes already done by the graph, so N is not checked against the net size (any N works).
// Candidates are pre-filtered with obj >= threshold (valid because cls <= 1), then score = obj * cls is checked.
// Landmark order: WIDER FACE order = canonical.
#include <cmath>

#include "core/decode_internal.hpp"

namespace facemask {
namespace detail {

namespace {
const std::vector<const char*> kSingleNames = {"output", "output0", "out", "pred"};
}

int find_yolo_split(Ctx& c, int idx[3], bool* explicit_failed) {
  // Returns 1 when the split layout (boxes/scores/landmarks) is present and sets idx.
  const auto& outs = *c.outputs;
  *explicit_failed = false;
  const auto& names = c.opt->output_names;
  std::vector<bool> used(outs.size(), false);
  if (names.size() == 3) {
    for (int j = 0; j < 3; ++j) {
      idx[j] = -1;
      for (size_t i = 0; i < outs.size(); ++i)
        if (outs[i].name == names[j]) idx[j] = static_cast<int>(i);
      if (idx[j] < 0) {
        c.fail("layer '" + names[j] + "' (from output_names) not found; outputs: " + outputs_str(outs));
        *explicit_failed = true;
        return 0;
      }
    }
    return 1;
  }
  if (!names.empty()) return 0;
  const char* def[3] = {"boxes", "scores", "landmarks"};
  for (int j = 0; j < 3; ++j) {
    idx[j] = -1;
    for (size_t i = 0; i < outs.size(); ++i)
      if (outs[i].name == def[j]) {
        idx[j] = static_cast<int>(i);
        used[i] = true;
      }
  }
  if (idx[0] >= 0 && idx[1] >= 0 && idx[2] >= 0) return 1;
  // by shape: exactly one [N,4], [N,1] and [N,10|15] tensor with the same N
  if (outs.size() != 3) return 0;
  std::fill(used.begin(), used.end(), false);
  idx[0] = take_matrix(outs, used, -1, 4);
  idx[1] = take_matrix(outs, used, -1, 1);
  idx[2] = take_matrix(outs, used, -1, 15);
  if (idx[2] < 0) idx[2] = take_matrix(outs, used, -1, 10);
  return idx[0] >= 0 && idx[1] >= 0 && idx[2] >= 0;
}

int find_yolo_rows(Ctx& c, const std::vector<const char*>& default_names, const char* layout) {
  const auto& outs = *c.outputs;
  const auto& names = c.opt->output_names;
  if (names.size() == 1) {
    for (size_t i = 0; i < outs.size(); ++i)
      if (outs[i].name == names[0]) return static_cast<int>(i);
    c.fail("layer '" + names[0] + "' (from output_names) not found; outputs: " + outputs_str(outs));
    return -2;
  }
  if (!names.empty()) {
    c.fail(std::string("output_names must name 1 tensor (") + layout + ") or 3 (boxes, scores, landmarks)");
    return -2;
  }
  for (const char* n : default_names)
    for (size_t i = 0; i < outs.size(); ++i)
      if (outs[i].name == n) return static_cast<int>(i);
  return -1;
}

bool decode_yolo_split(Ctx& c, const int idx[3]) {
  const auto& outs = *c.outputs;
  int64_t r[3], k[3];
  const char* role[3] = {"boxes", "scores", "landmarks"};
  for (int j = 0; j < 3; ++j)
    if (!mat_dims(c, outs[idx[j]], role[j], &r[j], &k[j])) return false;
  if (k[0] != 4 || k[1] != 1 || (k[2] != 10 && k[2] != 15) || r[1] != r[0] || r[2] != r[0])
    return c.fail("split layout needs boxes [N,4], scores [N,1], landmarks [N,10|15]; got " +
                  dims_str(outs[idx[0]].dims) + ", " + dims_str(outs[idx[1]].dims) + ", " +
                  dims_str(outs[idx[2]].dims));
  const Reader bx = reader(outs[idx[0]]), sc = reader(outs[idx[1]]), lm = reader(outs[idx[2]]);
  const int64_t lc = k[2], per = lc == 15 ? 3 : 2;
  for_each_at_least(sc, 0, r[0], 1, c.thr, [&](int64_t i) {
    const float cx = bx[4 * i], cy = bx[4 * i + 1], w = bx[4 * i + 2], h = bx[4 * i + 3];
    float lx[5], ly[5];
    for (int p = 0; p < 5; ++p) {
      lx[p] = lm[lc * i + per * p];
      ly[p] = lm[lc * i + per * p + 1];
    }
    emit(c, cx - w * 0.5f, cy - h * 0.5f, cx + w * 0.5f, cy + h * 0.5f, sc[i], 5, lx, ly);
  });
  return c.res->error.empty();
}

bool decode_yolov5face(Ctx& c) {
  const auto& outs = *c.outputs;
  int sidx[3];
  bool explicit_failed;
  if (find_yolo_split(c, sidx, &explicit_failed)) return decode_yolo_split(c, sidx);
  if (explicit_failed) return false;
  int id = find_yolo_rows(c, kSingleNames, "[N,16] rows");
  if (id == -2) return false;
  if (id < 0) {
    std::vector<bool> used(outs.size(), false);
    id = take_matrix(outs, used, -1, 16);
  }
  if (id < 0)
    return c.fail("no [N,16] output (cx,cy,w,h,obj,10 landmarks,cls) and no boxes/scores/landmarks split; outputs: " +
                  outputs_str(outs));
  int64_t n, cols;
  if (!mat_dims(c, outs[id], "rows", &n, &cols)) return false;
  if (cols != 16) return c.fail("layer '" + outs[id].name + "' (rows): expected [N,16], got dims " + dims_str(outs[id].dims));
  const Reader t = reader(outs[id]);
  for_each_at_least(t, 4, n, 16, c.thr, [&](int64_t i) {
    const int64_t b = 16 * i;
    const float score = t[b + 4] * t[b + 15];
    if (!(score >= c.thr)) return;
    const float cx = t[b], cy = t[b + 1], w = t[b + 2], h = t[b + 3];
    float lx[5], ly[5];
    for (int p = 0; p < 5; ++p) {
      lx[p] = t[b + 5 + 2 * p];
      ly[p] = t[b + 6 + 2 * p];
    }
    emit(c, cx - w * 0.5f, cy - h * 0.5f, cx + w * 0.5f, cy + h * 0.5f, score, 5, lx, ly);
  });
  return c.res->error.empty();
}

}  // namespace detail
}  // namespace facemask
