// Where facemaskblur's regions come from on system-memory buffers: GstVideoRegionOfInterestMeta (+ its
// `facemask/landmarks` parameter), GstAnalytics object-detection metadata (GStreamer >= 1.24 builds), and the
// property strings (privacy zones, roi types).
#pragma once
#include <gst/gst.h>

#include <string>
#include <vector>

#include "backend.hpp"
#include "core/redact.hpp"

namespace facemask_gst {

/// "x,y,w,h;x,y,w,h" in frame pixels (numbers may be fractional; spaces allowed; empty string = no zones;
/// a trailing ';' is allowed). w and h must be > 0 and every value finite. On error returns false with *error set
/// and leaves *out untouched.
bool parse_privacy_zones(const std::string& s, std::vector<facemask::RectF>* out, std::string* error);

/// "face,plate" -> quarks (spaces trimmed, empty items ignored); empty string -> empty list (= every type).
std::vector<GQuark> parse_roi_types(const std::string& s);

/// Landmarks from a `facemask/landmarks` structure (fields `x` and `y`: GstValueArray or GstValueList of
/// float/double/int, equal length 5 or 6; more than 6 points: the first 6). False if absent or malformed.
bool landmarks_from_structure(const GstStructure* s, facemask::Detection* det);

struct CollectStats {
  int roi_metas = 0;      // ROI metas seen
  int analytics = 0;      // analytics OD entries seen
  int skipped_type = 0;   // dropped by roi-types
  int skipped_conf = 0;   // dropped by min-confidence
};

/// Append the regions of one buffer (frame pixels) to *out: every ROI meta (and, when built with GstAnalytics,
/// every OD mtd) that passes roi-types and min-confidence. A ROI's confidence is read from any of its parameter
/// structures' `confidence` field (double or float, as DL Streamer and others attach); a ROI without one is
/// never dropped by min-confidence. Reads metadata only (never maps memory).
void collect_regions(GstBuffer* buf, const Settings& st, std::vector<facemask::Region>* out, CollectStats* stats);

}  // namespace facemask_gst
