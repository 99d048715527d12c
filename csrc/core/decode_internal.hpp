// Private helpers shared by the decode_<family>.cpp files: dtype reading (FP16 -> float), layer lookup by name and
// by shape, dims validation, candidate collection. Not part of the public interface (see decode.hpp).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/decode.hpp"

namespace facemask {
namespace detail {

/// IEEE 754 binary16 -> binary32 (exact for every bit pattern, NaN payload kept, subnormals handled).
float half_to_float(uint16_t h);

const char* dtype_name(DataType t);

/// Formats dims as "[a,b,c]".
std::string dims_str(const std::vector<int64_t>& dims);

/// Read-only element access of a FLOAT or HALF tensor as float. Only constructed after validation.
struct Reader {
  const void* data = nullptr;
  bool half = false;
  float operator[](int64_t i) const {
    if (half) return half_to_float(static_cast<const uint16_t*>(data)[i]);
    return static_cast<const float*>(data)[i];
  }
};

/// Calls fn(index) for every i in [0, n) with value(i) >= thr (NaN never passes). For HALF the comparison is done on
/// the bit patterns first (monotonic for non-negative values), so a mostly-empty heatmap costs one integer compare
/// per element.
template <class Fn>
void for_each_at_least(const Reader& r, int64_t begin, int64_t n, int64_t step, float thr, Fn&& fn);

/// Everything a family decoder needs from the request, resolved once.
struct Ctx {
  Family family;
  const char* fam = "";  // family name for messages
  const std::vector<TensorView>* outputs = nullptr;
  int net_w = 0, net_h = 0;
  float thr = 0.f;
  int top_k = 300;
  const DecoderOptions* opt = nullptr;
  DecodeResult* res = nullptr;
  int64_t skipped_nonfinite = 0;

  /// Sets the error (first one wins) and returns false, so decoders can `return c.fail(...)`.
  bool fail(const std::string& msg);
};

/// A role a family needs (e.g. "heatmap"), with the names it is known by (first = documented default).
struct Role {
  const char* role;
  std::vector<const char*> aliases;
};

/// Resolves the tensors for `roles` by name: options.output_names (positional, per role) override the aliases.
/// Writes the index into outputs or -1 per role. Fails (error set) only when an explicitly configured name is absent.
bool find_by_name(Ctx& c, const std::vector<Role>& roles, std::vector<int>* idx);

/// Checks dtype (FLOAT/HALF), non-null data, positive dims; `rank` after squeezing leading 1s (rank <= 0: any).
/// On success writes the squeezed dims. Reports "<family>: layer '<name>' (<role>): ...".
bool check_tensor(Ctx& c, const TensorView& t, const char* role, int rank, std::vector<int64_t>* dims_out);

/// check_tensor for a row-major matrix [rows, cols] (leading 1s squeezed; rank 1 = one column).
bool mat_dims(Ctx& c, const TensorView& t, const char* role, int64_t* rows, int64_t* cols);

/// "'name' [dims], ..." of all outputs, for error messages.
std::string outputs_str(const std::vector<TensorView>& outs);

/// First output not yet used whose (squeezed rank-2) shape is [rows, cols] (rows < 0: any); marks it used. -1 if none.
int take_matrix(const std::vector<TensorView>& outs, std::vector<bool>& used, int64_t rows, int64_t cols);

/// Reader for a validated tensor.
inline Reader reader(const TensorView& t) { return Reader{t.data, t.dtype == DataType::kHalf}; }

/// Squeezes leading dims of size 1 until the rank is `rank` (no-op when already <= rank).
std::vector<int64_t> squeeze_leading(const std::vector<int64_t>& dims, int rank);

inline bool finite(float v) { return std::isfinite(v); }

/// Appends a detection after clamping its box to the net, applying the landmark order and checking every value is
/// finite (non-finite candidates are counted and skipped). `lx/ly` are in the model's own point order.
void emit(Ctx& c, float x1, float y1, float x2, float y2, float score, int n_lm, const float* lx, const float* ly);

/// Inverse of the logistic function, for thresholding raw logits before computing sigmoid: returns -inf for thr <= 0
/// and +inf for thr >= 1 ("no finite logit reaches it").
float logit_threshold(float thr);

inline float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

// Family decoders (one file each). Each returns false after c.fail(...) on malformed input.
bool decode_centerface(Ctx& c);
bool decode_retinaface(Ctx& c);
bool decode_scrfd(Ctx& c);
bool decode_yunet(Ctx& c);
bool decode_yolov5face(Ctx& c);
bool decode_yolov8face(Ctx& c);
bool decode_blazeface(Ctx& c);

// DeepStream-Yolo-Face split layout (boxes [N,4] cx,cy,w,h / scores [N,1] / landmarks [N,10|15]), shared by the
// YOLOv5-Face and YOLOv8-Face decoders (decode_yolov5face.cpp). find_* returns 1 when present.
int find_yolo_split(Ctx& c, int idx[3], bool* explicit_failed);
bool decode_yolo_split(Ctx& c, const int idx[3]);
// The single decoded-rows tensor of a YOLO-face export: output_names[0] when one name is given, else the first of
// the default names present. Returns its index, -1 when none matched (caller falls back to shapes), -2 after
// c.fail() (a configured name is missing, or output_names has neither 1 nor 3 entries; `layout` names the
// expected shape in that message).
int find_yolo_rows(Ctx& c, const std::vector<const char*>& default_names, const char* layout);

// ---- template implementation -----------------------------------------------------------------------------------

/// Smallest binary16 bit pattern (non-negative) whose value is >= thr, for thr > 0. 0x7C00 (inf) when none finite.
uint16_t half_bits_at_least(float thr);

/// Contiguous float32 scan: the smallest k' >= k, k' = k + 32 m, such that p[k' .. k' + 32) holds a value >= thr,
/// or the first such k' with k' + 32 > n when no block does (the caller tests that tail element by element).
/// Branch-free within a block; an AVX2 copy is picked at run time (decode.cpp).
int64_t next_block_at_least(const float* p, int64_t k, int64_t n, float thr);

/// The same for binary16 values p[k * step] (any stride; 1, 2 and 16 (RetinaFace conf, YOLOv5-Face rows) compiled
/// as constants): a
/// value passes when (uint16_t)(bits - tb) <= span (see for_each_at_least).
int64_t next_block_half_at_least(const uint16_t* p, int64_t k, int64_t n, int64_t step, uint16_t tb, uint16_t span);

template <class Fn>
void for_each_at_least(const Reader& r, int64_t begin, int64_t n, int64_t step, float thr, Fn&& fn) {
  // Contiguous maps are scanned in blocks of 32 with a branch-free (vectorisable) "any candidate?" test first, so an
  // almost empty heatmap costs about one SIMD compare per 8-16 elements.
  constexpr int64_t kBlock = 32;
  if (r.half && thr > 0.f) {
    const uint16_t* p = static_cast<const uint16_t*>(r.data);
    const uint16_t tb = half_bits_at_least(thr);
    // sign bit clear and tb <= bits <= 0x7C00 (+inf); 0x7C01..0x7FFF are NaN: one unsigned range test
    const uint16_t span = static_cast<uint16_t>(0x7C00 - tb);
    auto pass = [&](uint16_t b) { return static_cast<uint16_t>(b - tb) <= span; };
    int64_t k = 0;
    for (;;) {
      k = next_block_half_at_least(p + begin, k, n, step, tb, span);
      if (k + kBlock > n) break;
      const uint16_t* q = p + begin + k * step;
      for (int64_t j = 0; j < kBlock; ++j)
        if (pass(q[j * step])) fn(k + j);
      k += kBlock;
    }
    for (int64_t i = begin + k * step; k < n; ++k, i += step)
      if (pass(p[i])) fn(k);
    return;
  }
  if (!r.half) {
    const float* p = static_cast<const float*>(r.data);
    int64_t k = 0;
    if (step == 1) {
      for (;;) {
        k = next_block_at_least(p + begin, k, n, thr);
        if (k + kBlock > n) break;
        const float* q = p + begin + k;
        for (int64_t j = 0; j < kBlock; ++j)
          if (q[j] >= thr) fn(k + j);
        k += kBlock;
      }
    } else {  // strided (a column of a row-major matrix): branch-free block test, independent loads
      for (; k + kBlock <= n; k += kBlock) {
        const float* q = p + begin + k * step;
        int any = 0;
        for (int64_t j = 0; j < kBlock; ++j) any |= static_cast<int>(q[j * step] >= thr);
        if (!any) continue;
        for (int64_t j = 0; j < kBlock; ++j)
          if (q[j * step] >= thr) fn(k + j);
      }
    }
    for (int64_t i = begin + k * step; k < n; ++k, i += step)
      if (p[i] >= thr) fn(k);
    return;
  }
  for (int64_t k = 0, i = begin; k < n; ++k, i += step)
    if (r[i] >= thr) fn(k);
}

}  // namespace detail
}  // namespace facemask
