// Build facts as string literals (plugin description, build-info property).
#pragma once
#include "facemask_build_config.h"

#ifndef FACEMASK_HAVE_NVMM
#define FACEMASK_HAVE_NVMM 0
#endif

#if FACEMASK_HAVE_CUDA
#define FACEMASK_CUDA_DESC "CUDA kernels: yes (CUDA " FACEMASK_CUDA_VERSION_STR ")"
#else
#define FACEMASK_CUDA_DESC "CUDA kernels: no"
#endif
#if FACEMASK_HAVE_NVMM
#define FACEMASK_NVMM_DESC "NVMM backend: DeepStream " FACEMASK_DS_VERSION_STR " ABI"
#else
#define FACEMASK_NVMM_DESC "NVMM backend: not built"
#endif
#if defined(HAVE_GST_ANALYTICS)
#define FACEMASK_ANALYTICS_DESC "GstAnalytics OD meta: yes"
#else
#define FACEMASK_ANALYTICS_DESC "GstAnalytics OD meta: no"
#endif
#define FACEMASK_BUILD_INFO                                                                                    \
  "facemask-ds " FACEMASK_VERSION "; system-memory backend: yes; " FACEMASK_CUDA_DESC "; " FACEMASK_NVMM_DESC \
  "; " FACEMASK_ANALYTICS_DESC

