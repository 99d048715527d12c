// Face shapes (formulas documented in shapes.hpp).
#include "core/shapes.hpp"

#include <algorithm>
#include <cmath>

namespace facemask {
namespace {

constexpr float kPi = 3.14159265358979323846f;

bool box_ok(const Detection& d) {
  return std::isfinite(d.x1) && std::isfinite(d.y1) && std::isfinite(d.x2) && std::isfinite(d.y2) && d.x2 > d.x1 &&
         d.y2 > d.y1;
}

Ellipse scaled(Ellipse e, float margin) {
  if (!(margin > 0.f) || !std::isfinite(margin)) {
    e.rx = e.ry = 0.f;
    return e;
  }
  e.rx *= margin;
  e.ry *= margin;
  return e;
}

}  // namespace

Ellipse box_ellipse(const Detection& d, float margin) {
  Ellipse e;
  if (!box_ok(d)) return e;
  e.cx = 0.5f * (d.x1 + d.x2);
  e.cy = 0.5f * (d.y1 + d.y2);
  e.rx = 0.5f * (d.x2 - d.x1);
  e.ry = 0.5f * (d.y2 - d.y1);
  e.angle = 0.f;
  return scaled(e, margin);
}

Ellipse fit_face_oval(const Detection& d, float margin) {
  if (!box_ok(d)) return Ellipse{};
  Ellipse base = box_ellipse(d, 1.f);
  const int n = d.num_landmarks;
  if (n < 5 || n > kMaxLandmarks) return scaled(base, margin);

  const float w = d.x2 - d.x1, h = d.y2 - d.y1;
  const float gx0 = d.x1 - 0.25f * w, gx1 = d.x2 + 0.25f * w;
  const float gy0 = d.y1 - 0.25f * h, gy1 = d.y2 + 0.25f * h;
  // Landmarks used: eyes 0, 1; 5 points: mouth corners 3, 4; 6 points (BlazeFace): nose 2.
  const int used5[4] = {0, 1, 3, 4};
  const int used6[3] = {0, 1, 2};
  const int* used = n == 5 ? used5 : used6;
  const int nused = n == 5 ? 4 : 3;
  for (int k = 0; k < nused; ++k) {
    const float x = d.lx[used[k]], y = d.ly[used[k]];
    if (!std::isfinite(x) || !std::isfinite(y) || x < gx0 || x > gx1 || y < gy0 || y > gy1) {
      return scaled(base, margin);
    }
  }

  // Roll from the eye line, modulo a half turn, clamped.
  const float ex = d.lx[1] - d.lx[0], ey = d.ly[1] - d.ly[0];
  float theta = 0.f;
  if (std::sqrt(ex * ex + ey * ey) >= 1e-3f * std::max(w, h)) {
    theta = std::atan2(ey, ex);
    if (theta > 0.5f * kPi) theta -= kPi;
    if (theta <= -0.5f * kPi) theta += kPi;
    theta = std::clamp(theta, -kPi / 3.f, kPi / 3.f);
  }

  // Extents: the rolled ellipse tangent to the four sides of the box.
  const float A = 0.5f * w, B = 0.5f * h;
  const float c = std::cos(theta), s = std::sin(theta);
  const float C = c * c, S = s * s;
  const float det = C - S;
  const float floor_sq = (0.25f * std::min(A, B)) * (0.25f * std::min(A, B));
  float rx = std::max(A, B), ry = rx;
  float ang = 0.f;
  if (det >= 0.25f) {
    const float rx2 = (A * A * C - B * B * S) / det;
    const float ry2 = (B * B * C - A * A * S) / det;
    if (rx2 > floor_sq && ry2 > floor_sq) {
      rx = std::sqrt(rx2);
      ry = std::sqrt(ry2);
      ang = theta;
    }
  }

  // Centre: half-way towards the landmark face centre, bounded.
  const float exm = 0.5f * (d.lx[0] + d.lx[1]), eym = 0.5f * (d.ly[0] + d.ly[1]);
  float lcx, lcy;
  if (n == 5) {
    const float mx = 0.5f * (d.lx[3] + d.lx[4]), my = 0.5f * (d.ly[3] + d.ly[4]);
    lcx = exm + 0.31f * (mx - exm);
    lcy = eym + 0.31f * (my - eym);
  } else {
    lcx = exm + 0.67f * (d.lx[2] - exm);
    lcy = eym + 0.67f * (d.ly[2] - eym);
  }
  const float dcx = std::clamp(0.5f * (lcx - base.cx), -0.15f * w, 0.15f * w);
  const float dcy = std::clamp(0.5f * (lcy - base.cy), -0.15f * h, 0.15f * h);

  Ellipse e;
  e.cx = base.cx + dcx;
  e.cy = base.cy + dcy;
  e.rx = rx;
  e.ry = ry;
  e.angle = ang;
  return scaled(e, margin);
}

RectF ellipse_bounds(const Ellipse& e, float grow) {
  RectF r;
  r.x = e.cx;
  r.y = e.cy;
  if (ellipse_empty(e)) return r;
  if (!(grow > 0.f) || !std::isfinite(grow)) grow = 0.f;
  const float c = std::cos(e.angle), s = std::sin(e.angle);
  const float hw = std::sqrt(e.rx * e.rx * c * c + e.ry * e.ry * s * s) + grow;
  const float hh = std::sqrt(e.rx * e.rx * s * s + e.ry * e.ry * c * c) + grow;
  r.x = e.cx - hw;
  r.y = e.cy - hh;
  r.w = 2.f * hw;
  r.h = 2.f * hh;
  return r;
}

void rasterize_face_oval(const Detection& d, int mask_w, int mask_h, float* out) {
  if (mask_w <= 0 || mask_h <= 0 || out == nullptr) return;
  const long n = static_cast<long>(mask_w) * mask_h;
  if (!box_ok(d)) {
    std::fill(out, out + n, 0.f);
    return;
  }
  const Ellipse e = fit_face_oval(d, 1.f);
  const float w = d.x2 - d.x1, h = d.y2 - d.y1;
  const float cw = w / mask_w, ch = h / mask_h;
  const float feather = std::max(cw, ch);
  for (int i = 0; i < mask_h; ++i) {
    const float y = d.y1 + (i + 0.5f) * ch;
    for (int j = 0; j < mask_w; ++j) {
      const float x = d.x1 + (j + 0.5f) * cw;
      out[static_cast<long>(i) * mask_w + j] = ellipse_alpha(e, x, y, feather);
    }
  }
}

}  // namespace facemask
