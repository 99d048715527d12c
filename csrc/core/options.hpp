// Per-deployment decoder options from a small INI file (facemask_parser.ini; keys and defaults in
// docs/parser-options.md). Plain C++17: parsing only. Where the file lives and when it is read is the caller's
// business (the nvinfer parser library reads it once per process, next to itself or from $FACEMASK_PARSER_CONFIG).
#pragma once
#include <string>
#include <vector>

#include "core/decode.hpp"

namespace facemask {

/// Built-in options of a family (before any file): DecoderOptions defaults plus the family's NMS IoU
/// (CenterFace and BlazeFace 0.3, the others 0.4).
DecoderOptions default_options(Family f);

/// Score threshold used when the caller supplies none (nvinfer passed an empty pre-cluster threshold vector):
/// CenterFace 0.2, every other family 0.5.
float fallback_score_threshold(Family f);

/// Number of landmarks a family's decoder yields (BlazeFace 6, the others 5); `landmark-order` must list as many.
int family_num_landmarks(Family f);

/// Options of every family after applying a file.
struct ParserOptions {
  DecoderOptions family[kNumFamilies];  // indexed by static_cast<int>(Family)
  std::string source;                   // file the options came from ("" = built-in defaults only)
  std::vector<std::string> errors;      // "<source>:<line>: <problem>", one per ignored entry / unreadable file

  ParserOptions();  // every family at default_options()
  const DecoderOptions& get(Family f) const { return family[static_cast<int>(f)]; }
};

/// Parses INI text: sections [common] and [<Family>] (family names as in the exported symbols, case-insensitive),
/// `key = value` lines, '#' or ';' comments, keys case-insensitive with '_' accepted for '-'. Precedence: built-in
/// defaults < [common] < [<Family>], independent of the order in the file. Bad entries are reported in `errors` and
/// ignored (the option keeps its lower-precedence value). Never throws except std::bad_alloc.
ParserOptions parse_options_ini(const std::string& text, const std::string& source_name);

/// Reads and parses a file. An unreadable file yields the defaults and one entry in `errors`.
ParserOptions load_options_file(const std::string& path);

}  // namespace facemask
