// INI reader for the per-deployment decoder options (docs/parser-options.md).
#include "core/options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace facemask {

DecoderOptions default_options(Family f) {
  DecoderOptions o;
  o.nms_iou = (f == Family::kCenterFace || f == Family::kBlazeFace) ? 0.3f : 0.4f;
  return o;
}

float fallback_score_threshold(Family f) { return f == Family::kCenterFace ? 0.2f : 0.5f; }

int family_num_landmarks(Family f) { return f == Family::kBlazeFace ? 6 : 5; }

ParserOptions::ParserOptions() {
  for (int i = 0; i < kNumFamilies; ++i) family[i] = default_options(static_cast<Family>(i));
}

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t p = v.find(';', start);
    out.push_back(trim(v.substr(start, p == std::string::npos ? std::string::npos : p - start)));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

// Locale-independent full-string number parsing (a GStreamer app may have called setlocale()).
bool parse_float(const std::string& s, float* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (*b == '+') ++b;
  float v = 0.f;
  auto r = std::from_chars(b, e, v);
  if (r.ec != std::errc() || r.ptr != e) return false;
  *out = v;
  return true;
}

bool parse_int(const std::string& s, long long* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (*b == '+') ++b;
  long long v = 0;
  auto r = std::from_chars(b, e, v);
  if (r.ec != std::errc() || r.ptr != e) return false;
  *out = v;
  return true;
}

struct Entry {
  int line;
  std::string key;  // normalised: lower case, '_' -> '-'
  std::string value;
};

constexpr int kCommon = -1;

// Applies one entry to one family's options. Returns "" or a problem description.
std::string apply(const Entry& en, Family fam, DecoderOptions* o) {
  const std::string& v = en.value;
  const std::string& k = en.key;
  if (k == "output-names") {
    if (v.empty()) {
      o->output_names.clear();
      return "";
    }
    auto names = split_list(v);
    for (const auto& n : names)
      if (n.empty()) return "output-names '" + v + "' has an empty entry";
    o->output_names = names;
    return "";
  }
  if (k == "landmark-order") {
    if (v.empty()) {
      o->landmark_order.clear();
      return "";
    }
    const int n = family_num_landmarks(fam);
    auto parts = split_list(v);
    if (static_cast<int>(parts.size()) != n)
      return "landmark-order '" + v + "' has " + std::to_string(parts.size()) + " entries; " + family_name(fam) +
             " needs " + std::to_string(n);
    std::vector<int> order;
    std::vector<bool> seen(static_cast<size_t>(n), false);
    for (const auto& p : parts) {
      long long x = 0;
      if (!parse_int(p, &x) || x < 0 || x >= n || seen[static_cast<size_t>(x)])
        return "landmark-order '" + v + "' is not a permutation of 0.." + std::to_string(n - 1);
      seen[static_cast<size_t>(x)] = true;
      order.push_back(static_cast<int>(x));
    }
    o->landmark_order = order;
    return "";
  }
  if (k == "score-threshold") {
    float x = 0.f;
    if (!parse_float(v, &x) || !(x <= 1.f) || (x < 0.f && x != -1.f))
      return "score-threshold '" + v + "' is not -1 or a number in [0, 1]";
    o->score_threshold = x;
    return "";
  }
  if (k == "nms-iou") {
    float x = 0.f;
    if (!parse_float(v, &x) || !(x > 0.f && x <= 1.f)) return "nms-iou '" + v + "' is not a number in (0, 1]";
    o->nms_iou = x;
    return "";
  }
  if (k == "top-k") {
    long long x = 0;
    if (!parse_int(v, &x) || x < 1 || x > 100000) return "top-k '" + v + "' is not an integer in [1, 100000]";
    o->top_k = static_cast<int>(x);
    return "";
  }
  if (k == "mask-width" || k == "mask-height") {
    long long x = 0;
    if (!parse_int(v, &x) || x < 1 || x > 1024) return k + " '" + v + "' is not an integer in [1, 1024]";
    (k == "mask-width" ? o->mask_width : o->mask_height) = static_cast<int>(x);
    return "";
  }
  if (k == "variant") {
    if (v.empty()) return "variant is empty (use 'auto')";
    o->variant = lower(v);
    return "";
  }
  return "unknown key '" + k + "' (see docs/parser-options.md)";
}

}  // namespace

ParserOptions parse_options_ini(const std::string& text, const std::string& source_name) {
  ParserOptions po;
  po.source = source_name;
  auto err = [&](int line, const std::string& msg) {
    po.errors.push_back(source_name + ":" + std::to_string(line) + ": " + msg);
  };
  // Pass 1: collect entries per section (kCommon or a family index); unknown sections are reported once.
  std::vector<std::pair<int, Entry>> entries;
  int section = kCommon;
  bool section_ok = true;
  std::istringstream in(text);
  std::string raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    if (line_no == 1 && raw.size() >= 3 && raw.compare(0, 3, "\xEF\xBB\xBF") == 0) raw.erase(0, 3);  // UTF-8 BOM
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      const size_t close = line.find(']');
      if (close == std::string::npos || trim(line.substr(close + 1)).size() > 0) {
        err(line_no, "malformed section header '" + line + "'");
        section_ok = false;
        continue;
      }
      const std::string name = trim(line.substr(1, close - 1));
      section_ok = true;
      if (lower(name) == "common") {
        section = kCommon;
        continue;
      }
      bool found = false;
      for (int i = 0; i < kNumFamilies; ++i)
        if (lower(name) == lower(family_name(static_cast<Family>(i)))) {
          section = i;
          found = true;
        }
      if (!found) {
        err(line_no, "unknown section [" + name + "] (use [common] or a family: CenterFace, RetinaFace, Scrfd, "
                     "YuNet, YoloV5Face, YoloV8Face, BlazeFace); its entries are ignored");
        section_ok = false;
      }
      continue;
    }
    if (!section_ok) continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) {
      err(line_no, "expected 'key = value', got '" + line + "'");
      continue;
    }
    Entry en;
    en.line = line_no;
    en.key = lower(trim(line.substr(0, eq)));
    std::replace(en.key.begin(), en.key.end(), '_', '-');
    en.value = trim(line.substr(eq + 1));
    entries.emplace_back(section, en);
  }
  // Pass 2: [common] entries (file order) to every family, then each family's own entries. A [common] problem that
  // does not depend on the family is reported once; a family-dependent one (landmark-order length) per family.
  for (const auto& se : entries) {
    if (se.first != kCommon) continue;
    std::vector<std::string> seen_msgs;
    for (int i = 0; i < kNumFamilies; ++i) {
      std::string p = apply(se.second, static_cast<Family>(i), &po.family[i]);
      if (!p.empty() && std::find(seen_msgs.begin(), seen_msgs.end(), p) == seen_msgs.end()) {
        seen_msgs.push_back(p);
        err(se.second.line, "[common] " + p);
      }
    }
  }
  for (const auto& se : entries) {
    if (se.first == kCommon) continue;
    const Family f = static_cast<Family>(se.first);
    std::string p = apply(se.second, f, &po.family[se.first]);
    if (!p.empty()) err(se.second.line, std::string("[") + family_name(f) + "] " + p);
  }
  return po;
}

ParserOptions load_options_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    ParserOptions po;
    po.errors.push_back(path + ": cannot read the options file; using built-in defaults");
    return po;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) {
    ParserOptions po;
    po.errors.push_back(path + ": read error; using built-in defaults");
    return po;
  }
  return parse_options_ini(ss.str(), path);
}

}  // namespace facemask
