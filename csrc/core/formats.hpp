// Raw video formats the redaction core understands: plane layout, channel offsets, chroma subsampling, and the
// fill colour of each format. Plain C++17.
#pragma once
#include <cstdint>
#include <string>

namespace facemask {

/// Names equal GStreamer's (GstVideoFormat to_string) so the element and the bindings map by name.
enum class PixelFormat : int {
  kRGBA, kBGRA, kRGBx, kBGRx, kARGB, kABGR, kxRGB, kxBGR,  // 4 bytes per pixel; the A/x byte is never written
  kRGB, kBGR,                                              // 3 bytes per pixel
  kI420, kYV12,                                            // planar 4:2:0 (Y, U, V / Y, V, U)
  kNV12, kNV21,                                            // semi-planar 4:2:0 (Y, interleaved UV / VU)
  kGRAY8,                                                  // one 8-bit luma plane (full range)
};
constexpr int kNumPixelFormats = 15;

/// Colour component a channel holds.
enum class Comp : int { kR, kG, kB, kY, kU, kV };

struct PlaneLayout {
  int pixel_stride = 1;    // bytes from one pixel to the next in this plane
  int num_channels = 1;    // processed channels (the A/x byte of 4-byte formats is not one of them)
  int offset[3] = {0, 0, 0};  // byte offset of each processed channel inside a pixel
  Comp comp[3] = {Comp::kY, Comp::kY, Comp::kY};
  int sub_x = 1, sub_y = 1;   // subsampling: plane width = ceil(W / sub_x), height = ceil(H / sub_y)
};

struct FormatInfo {
  PixelFormat format;
  const char* name;   // "RGBA", "I420", ...
  int num_planes;
  bool yuv;           // true for I420/YV12/NV12/NV21 (BT.601 limited range) and GRAY8 (full-range luma)
  PlaneLayout planes[3];
};

const FormatInfo& format_info(PixelFormat f);
bool format_from_name(const std::string& name, PixelFormat* out);

/// Width / height of plane p for a W x H frame: ceil(W / sub_x), ceil(H / sub_y).
int plane_width(const FormatInfo& fi, int plane, int frame_width);
int plane_height(const FormatInfo& fi, int plane, int frame_height);

/// Value written into a channel holding component `comp` by a solid fill of colour (r, g, b):
///   R, G, B: the value itself.
///   GRAY8 luma (full range): Y = (77 R + 150 G + 29 B + 128) >> 8.
///   I420/YV12/NV12/NV21 (BT.601 limited range), with >> an arithmetic (floor) shift:
///     Y = ((66 R + 129 G + 25 B + 128) >> 8) + 16
///     U = ((-38 R - 74 G + 112 B + 128) >> 8) + 128
///     V = ((112 R - 94 G - 18 B + 128) >> 8) + 128
///   e.g. black -> Y 16, U 128, V 128; white -> 235, 128, 128.
uint8_t fill_value(const FormatInfo& fi, Comp comp, uint8_t r, uint8_t g, uint8_t b);

}  // namespace facemask
