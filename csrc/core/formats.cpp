// Pixel format table (see formats.hpp).
#include "core/formats.hpp"

namespace facemask {
namespace {

PlaneLayout packed(int pixel_stride, int o0, Comp c0, int o1, Comp c1, int o2, Comp c2) {
  PlaneLayout p;
  p.pixel_stride = pixel_stride;
  p.num_channels = 3;
  p.offset[0] = o0;
  p.offset[1] = o1;
  p.offset[2] = o2;
  p.comp[0] = c0;
  p.comp[1] = c1;
  p.comp[2] = c2;
  return p;
}

PlaneLayout single(Comp c, int sub) {
  PlaneLayout p;
  p.pixel_stride = 1;
  p.num_channels = 1;
  p.comp[0] = c;
  p.sub_x = p.sub_y = sub;
  return p;
}

PlaneLayout pair(Comp c0, Comp c1) {
  PlaneLayout p;
  p.pixel_stride = 2;
  p.num_channels = 2;
  p.offset[0] = 0;
  p.offset[1] = 1;
  p.comp[0] = c0;
  p.comp[1] = c1;
  p.sub_x = p.sub_y = 2;
  return p;
}

struct Table {
  FormatInfo f[kNumPixelFormats];
  Table() {
    using C = Comp;
    auto rgb4 = [&](PixelFormat pf, const char* name, int r, int g, int b) {
      FormatInfo& fi = f[static_cast<int>(pf)];
      fi.format = pf;
      fi.name = name;
      fi.num_planes = 1;
      fi.yuv = false;
      fi.planes[0] = packed(4, r, C::kR, g, C::kG, b, C::kB);
    };
    rgb4(PixelFormat::kRGBA, "RGBA", 0, 1, 2);
    rgb4(PixelFormat::kBGRA, "BGRA", 2, 1, 0);
    rgb4(PixelFormat::kRGBx, "RGBx", 0, 1, 2);
    rgb4(PixelFormat::kBGRx, "BGRx", 2, 1, 0);
    rgb4(PixelFormat::kARGB, "ARGB", 1, 2, 3);
    rgb4(PixelFormat::kABGR, "ABGR", 3, 2, 1);
    rgb4(PixelFormat::kxRGB, "xRGB", 1, 2, 3);
    rgb4(PixelFormat::kxBGR, "xBGR", 3, 2, 1);
    auto rgb3 = [&](PixelFormat pf, const char* name, int r, int g, int b) {
      FormatInfo& fi = f[static_cast<int>(pf)];
      fi.format = pf;
      fi.name = name;
      fi.num_planes = 1;
      fi.yuv = false;
      fi.planes[0] = packed(3, r, C::kR, g, C::kG, b, C::kB);
    };
    rgb3(PixelFormat::kRGB, "RGB", 0, 1, 2);
    rgb3(PixelFormat::kBGR, "BGR", 2, 1, 0);
    auto planar = [&](PixelFormat pf, const char* name, C c1, C c2) {
      FormatInfo& fi = f[static_cast<int>(pf)];
      fi.format = pf;
      fi.name = name;
      fi.num_planes = 3;
      fi.yuv = true;
      fi.planes[0] = single(C::kY, 1);
      fi.planes[1] = single(c1, 2);
      fi.planes[2] = single(c2, 2);
    };
    planar(PixelFormat::kI420, "I420", C::kU, C::kV);
    planar(PixelFormat::kYV12, "YV12", C::kV, C::kU);
    auto semi = [&](PixelFormat pf, const char* name, C c0, C c1) {
      FormatInfo& fi = f[static_cast<int>(pf)];
      fi.format = pf;
      fi.name = name;
      fi.num_planes = 2;
      fi.yuv = true;
      fi.planes[0] = single(C::kY, 1);
      fi.planes[1] = pair(c0, c1);
    };
    semi(PixelFormat::kNV12, "NV12", C::kU, C::kV);
    semi(PixelFormat::kNV21, "NV21", C::kV, C::kU);
    FormatInfo& g = f[static_cast<int>(PixelFormat::kGRAY8)];
    g.format = PixelFormat::kGRAY8;
    g.name = "GRAY8";
    g.num_planes = 1;
    g.yuv = true;
    g.planes[0] = single(C::kY, 1);
  }
};

const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

const FormatInfo& format_info(PixelFormat f) {
  int i = static_cast<int>(f);
  if (i < 0 || i >= kNumPixelFormats) i = 0;
  return table().f[i];
}

bool format_from_name(const std::string& name, PixelFormat* out) {
  for (int i = 0; i < kNumPixelFormats; ++i) {
    if (name == table().f[i].name) {
      if (out) *out = static_cast<PixelFormat>(i);
      return true;
    }
  }
  return false;
}

int plane_width(const FormatInfo& fi, int plane, int frame_width) {
  if (plane < 0 || plane >= fi.num_planes || frame_width <= 0) return 0;
  const int s = fi.planes[plane].sub_x;
  return (frame_width + s - 1) / s;
}

int plane_height(const FormatInfo& fi, int plane, int frame_height) {
  if (plane < 0 || plane >= fi.num_planes || frame_height <= 0) return 0;
  const int s = fi.planes[plane].sub_y;
  return (frame_height + s - 1) / s;
}

namespace {
int floor_shift8(int v) {  // floor(v / 256) for any sign
  return v >= 0 ? (v >> 8) : -((-v + 255) >> 8);
}
uint8_t clamp_u8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }
}  // namespace

uint8_t fill_value(const FormatInfo& fi, Comp comp, uint8_t r, uint8_t g, uint8_t b) {
  const int R = r, G = g, B = b;
  switch (comp) {
    case Comp::kR: return r;
    case Comp::kG: return g;
    case Comp::kB: return b;
    case Comp::kY:
      if (fi.format == PixelFormat::kGRAY8) return clamp_u8((77 * R + 150 * G + 29 * B + 128) >> 8);
      return clamp_u8(floor_shift8(66 * R + 129 * G + 25 * B + 128) + 16);
    case Comp::kU: return clamp_u8(floor_shift8(-38 * R - 74 * G + 112 * B + 128) + 128);
    case Comp::kV: return clamp_u8(floor_shift8(112 * R - 94 * G - 18 * B + 128) + 128);
  }
  return 0;
}

}  // namespace facemask
