// Calls one parse function of a parser library with layers read from raw files and prints the objects as JSON.
// Built with the kit's declarations of the same DeepStream ABI as the library (tests/test_parser_abi.py uses it to
// check 6.3 / 8.0 builds end to end, where the Python module's 9.1 harness cannot be used).
// Usage: parser_probe <lib.so> <symbol> <net_w> <net_h> <pre_cluster_threshold> <name>:<d0>x<d1>x..:<f32 file>...
// Buffers are float32 C-order with the batch dim removed (one frame).
#define FACEMASK_FORCE_KIT_DECLARATIONS 1
#include "nvds_compat.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s lib symbol net_w net_h threshold name:d0xd1..:file ...\n", argv[0]);
    return 2;
  }
  void* h = dlopen(argv[1], RTLD_LAZY);
  if (!h) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  const std::string symbol = argv[2];
  void* sym = dlsym(h, symbol.c_str());
  if (!sym) {
    std::fprintf(stderr, "no symbol %s\n", symbol.c_str());
    return 2;
  }
  NvDsInferNetworkInfo net{static_cast<unsigned>(std::atoi(argv[3])), static_cast<unsigned>(std::atoi(argv[4])), 3};
  NvDsInferParseDetectionParams params;
  params.numClassesConfigured = 1;
  params.perClassPreclusterThreshold = {static_cast<float>(std::atof(argv[5]))};
  std::vector<std::string> names;
  std::vector<std::vector<float>> bufs;
  std::vector<NvDsInferLayerInfo> layers;
  names.reserve(argc);
  bufs.reserve(argc);
  for (int i = 6; i < argc; ++i) {
    const std::string spec = argv[i];
    const size_t a = spec.find(':'), b = spec.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) return 2;
    names.push_back(spec.substr(0, a));
    NvDsInferLayerInfo li{};
    std::stringstream ds(spec.substr(a + 1, b - a - 1));
    std::string tok;
    unsigned n = 1;
    while (std::getline(ds, tok, 'x')) {
      li.inferDims.d[li.inferDims.numDims++] = static_cast<unsigned>(std::stoul(tok));
      n *= li.inferDims.d[li.inferDims.numDims - 1];
    }
    li.inferDims.numElements = n;
    std::ifstream f(spec.substr(b + 1), std::ios::binary);
    std::vector<float> data(n);
    f.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(n * sizeof(float)));
    if (!f) {
      std::fprintf(stderr, "short file for %s\n", names.back().c_str());
      return 2;
    }
    bufs.push_back(std::move(data));
    li.dataType = FLOAT;
    li.layerName = names.back().c_str();
    li.buffer = bufs.back().data();
    li.bindingIndex = i - 5;
    layers.push_back(li);
  }
  const bool mask = symbol.size() > 4 && symbol.compare(symbol.size() - 4, 4, "Mask") == 0;
  std::printf("{\"sizeof_detection_info\": %zu, \"objects\": [", sizeof(NvDsInferObjectDetectionInfo));
  bool ok;
  if (mask) {
    std::vector<NvDsInferInstanceMaskInfo> out;
    ok = reinterpret_cast<NvDsInferInstanceMaskParseCustomFunc>(sym)(layers, net, params, out);
    for (size_t i = 0; i < out.size(); ++i) {
      const auto& o = out[i];
      std::printf("%s{\"class\": %u, \"left\": %.9g, \"top\": %.9g, \"width\": %.9g, \"height\": %.9g, \"score\": %.9g, "
                  "\"mask_width\": %u, \"mask_height\": %u, \"mask_size\": %u}",
                  i ? ", " : "", o.classId, o.left, o.top, o.width, o.height, o.detectionConfidence, o.mask_width,
                  o.mask_height, o.mask_size);
      delete[] o.mask;
    }
  } else {
    std::vector<NvDsInferObjectDetectionInfo> out;
    ok = reinterpret_cast<NvDsInferParseCustomFunc>(sym)(layers, net, params, out);
    for (size_t i = 0; i < out.size(); ++i) {
      const auto& o = out[i];
      std::printf("%s{\"class\": %u, \"left\": %.9g, \"top\": %.9g, \"width\": %.9g, \"height\": %.9g, \"score\": %.9g",
                  i ? ", " : "", o.classId, o.left, o.top, o.width, o.height, o.detectionConfidence);
#if FACEMASK_DS_HAS_ROTATION_ANGLE
      std::printf(", \"rotation_angle\": %.9g", o.rotation_angle);
#endif
      std::printf("}");
    }
  }
  std::printf("], \"returned\": %s}\n", ok ? "true" : "false");
  return 0;
}
