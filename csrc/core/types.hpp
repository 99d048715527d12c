// Plain data types shared by every part of the core. No third-party dependency.
#pragma once
#include <cstdint>

namespace facemask {

/// Most landmarks any supported family yields (BlazeFace: 6; everything else: 5).
constexpr int kMaxLandmarks = 6;

/// One detected face. Coordinates are pixels of whatever space the producer works in (decoders: network input).
/// Canonical 5-point order (image coordinates): 0 eye on the image's left, 1 other eye, 2 nose tip,
/// 3 mouth corner on the image's left, 4 other mouth corner. BlazeFace adds 4 = mouth centre, 5/6 ears in its own
/// documented order (see the decoder header); num_landmarks says how many are valid.
struct Detection {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // corners, x2 >= x1, y2 >= y1
  float score = 0;
  int class_id = 0;
  int num_landmarks = 0;
  float lx[kMaxLandmarks] = {0, 0, 0, 0, 0, 0};
  float ly[kMaxLandmarks] = {0, 0, 0, 0, 0, 0};

  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
};

struct RectF {
  float x = 0, y = 0, w = 0, h = 0;
};

}  // namespace facemask
