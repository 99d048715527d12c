// Region sources of facemaskblur (see regions.hpp).
#include "regions.hpp"

#include <gst/video/video.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#if defined(HAVE_GST_ANALYTICS)
#include <gst/analytics/analytics.h>
#endif

namespace facemask_gst {

facemask::RedactParams zone_params(const facemask::RedactParams& p) {
  facemask::RedactParams z = p;
  z.shape = facemask::RedactShape::kBox;
  z.margin = 1.f;
  z.feather = 0.f;
  return z;
}

namespace {

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && g_ascii_isspace(s[a])) ++a;
  while (b > a && g_ascii_isspace(s[b - 1])) --b;
  return s.substr(a, b - a);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

bool to_float(const std::string& t, float* v) {
  const std::string s = trim(t);
  if (s.empty()) return false;
  char* end = nullptr;
  const double d = g_ascii_strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || !std::isfinite(d) || std::fabs(d) > 1e7) return false;
  *v = static_cast<float>(d);
  return true;
}

bool value_to_double(const GValue* v, double* out) {
  if (G_VALUE_HOLDS_FLOAT(v)) {
    *out = g_value_get_float(v);
  } else if (G_VALUE_HOLDS_DOUBLE(v)) {
    *out = g_value_get_double(v);
  } else if (G_VALUE_HOLDS_INT(v)) {
    *out = g_value_get_int(v);
  } else if (G_VALUE_HOLDS_UINT(v)) {
    *out = g_value_get_uint(v);
  } else {
    return false;
  }
  return std::isfinite(*out);
}

// Numbers of a GstValueArray / GstValueList field. False if the field is missing or any entry is not a number.
bool number_list(const GstStructure* s, const char* field, std::vector<double>* out) {
  const GValue* v = gst_structure_get_value(s, field);
  if (v == nullptr) return false;
  out->clear();
  if (GST_VALUE_HOLDS_ARRAY(v)) {
    const guint n = gst_value_array_get_size(v);
    for (guint i = 0; i < n; ++i) {
      double d;
      if (!value_to_double(gst_value_array_get_value(v, i), &d)) return false;
      out->push_back(d);
    }
    return true;
  }
  if (GST_VALUE_HOLDS_LIST(v)) {
    const guint n = gst_value_list_get_size(v);
    for (guint i = 0; i < n; ++i) {
      double d;
      if (!value_to_double(gst_value_list_get_value(v, i), &d)) return false;
      out->push_back(d);
    }
    return true;
  }
  return false;
}

bool type_wanted(const Settings& st, GQuark type) {
  if (st.roi_types.empty()) return true;
  for (GQuark q : st.roi_types) {
    if (q == type) return true;
  }
  return false;
}

}  // namespace

bool parse_privacy_zones(const std::string& s, std::vector<facemask::RectF>* out, std::string* error) {
  std::vector<facemask::RectF> zones;
  const std::string all = trim(s);
  if (!all.empty()) {
    const std::vector<std::string> items = split(all, ';');
    for (size_t k = 0; k < items.size(); ++k) {
      const std::string item = trim(items[k]);
      if (item.empty()) {
        if (k + 1 == items.size()) break;  // trailing ';'
        if (error) *error = "empty zone in '" + s + "' (expected x,y,w,h;x,y,w,h)";
        return false;
      }
      const std::vector<std::string> f = split(item, ',');
      facemask::RectF r;
      if (f.size() != 4 || !to_float(f[0], &r.x) || !to_float(f[1], &r.y) || !to_float(f[2], &r.w) ||
          !to_float(f[3], &r.h)) {
        if (error) *error = "zone '" + item + "' is not four numbers x,y,w,h";
        return false;
      }
      if (!(r.w > 0.f) || !(r.h > 0.f)) {
        if (error) *error = "zone '" + item + "' has a width or height <= 0";
        return false;
      }
      zones.push_back(r);
    }
  }
  if (out) out->swap(zones);
  return true;
}

std::vector<GQuark> parse_roi_types(const std::string& s) {
  std::vector<GQuark> out;
  for (const std::string& item : split(s, ',')) {
    const std::string t = trim(item);
    if (!t.empty()) out.push_back(g_quark_from_string(t.c_str()));
  }
  return out;
}

bool landmarks_from_structure(const GstStructure* s, facemask::Detection* det) {
  if (s == nullptr || !gst_structure_has_name(s, "facemask/landmarks")) return false;
  std::vector<double> xs, ys;
  if (!number_list(s, "x", &xs) || !number_list(s, "y", &ys)) return false;
  if (xs.size() != ys.size() || xs.size() < 5) return false;
  const int n = static_cast<int>(std::min<size_t>(xs.size(), facemask::kMaxLandmarks));
  for (int i = 0; i < n; ++i) {
    det->lx[i] = static_cast<float>(xs[i]);
    det->ly[i] = static_cast<float>(ys[i]);
  }
  det->num_landmarks = n;
  return true;
}

void collect_regions(GstBuffer* buf, const Settings& st, std::vector<facemask::Region>* out, CollectStats* stats) {
  CollectStats local;
  CollectStats& cs = stats ? *stats : local;
  gpointer state = nullptr;
  GstMeta* meta;
  while ((meta = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta);
    cs.roi_metas++;
    if (!type_wanted(st, roi->roi_type)) {
      cs.skipped_type++;
      continue;
    }
    facemask::Region r;
    r.det.x1 = static_cast<float>(roi->x);
    r.det.y1 = static_cast<float>(roi->y);
    r.det.x2 = static_cast<float>(roi->x) + static_cast<float>(roi->w);
    r.det.y2 = static_cast<float>(roi->y) + static_cast<float>(roi->h);
    r.det.score = 1.f;
    bool have_conf = false;
    double conf = 1.0;
    for (GList* l = roi->params; l != nullptr; l = l->next) {
      const GstStructure* s = static_cast<const GstStructure*>(l->data);
      if (s == nullptr) continue;
      if (gst_structure_has_name(s, "facemask/landmarks")) {
        landmarks_from_structure(s, &r.det);
      }
      const GValue* cv = gst_structure_get_value(s, "confidence");
      double d;
      if (!have_conf && cv != nullptr && value_to_double(cv, &d)) {
        have_conf = true;
        conf = d;
      }
    }
    if (have_conf) {
      r.det.score = static_cast<float>(conf);
      if (conf < st.min_confidence) {
        cs.skipped_conf++;
        continue;
      }
    }
    out->push_back(r);
  }

#if defined(HAVE_GST_ANALYTICS) && GST_CHECK_VERSION(1, 24, 0)
  GstAnalyticsRelationMeta* rm = gst_buffer_get_analytics_relation_meta(buf);
  if (rm != nullptr) {
    gpointer it = nullptr;
    GstAnalyticsODMtd od;
    while (gst_analytics_relation_meta_iterate(rm, &it, gst_analytics_od_mtd_get_mtd_type(), &od)) {
      cs.analytics++;
      if (!type_wanted(st, gst_analytics_od_mtd_get_obj_type(&od))) {
        cs.skipped_type++;
        continue;
      }
      gint x = 0, y = 0, w = 0, h = 0;
      gfloat c = 0.f;
      if (!gst_analytics_od_mtd_get_location(&od, &x, &y, &w, &h, &c)) continue;
      if (c < st.min_confidence) {
        cs.skipped_conf++;
        continue;
      }
      facemask::Region r;
      r.det.x1 = static_cast<float>(x);
      r.det.y1 = static_cast<float>(y);
      r.det.x2 = static_cast<float>(x) + static_cast<float>(w);
      r.det.y2 = static_cast<float>(y) + static_cast<float>(h);
      r.det.score = c;
      out->push_back(r);
    }
  }
#endif
}

}  // namespace facemask_gst
