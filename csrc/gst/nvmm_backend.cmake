# DeepStream NVMM backend build (included by csrc/gst/CMakeLists.txt when DEEPSTREAM_DIR gives SDK headers and
# csrc/gst/nvmm_*.cpp exist). The SDK headers are SYSTEM includes: they are not warning-free under -Wextra; our
# own NVMM sources are compiled with -Wall -Wextra -Werror.
target_include_directories(gstfacemask SYSTEM PRIVATE ${FACEMASK_DS_SDK_INCLUDE})
set_source_files_properties(${FACEMASK_GST_NVMM_SOURCES} PROPERTIES COMPILE_OPTIONS "-Wall;-Wextra;-Werror")

set(_fm_ds_libdirs "${DEEPSTREAM_DIR}/lib" "${DEEPSTREAM_DIR}/lib64")
set(_fm_ds_missing "")
set(_fm_ds_libs "")
foreach(_lib nvbufsurface nvds_meta nvdsgst_meta nvdsbufferpool)
  find_library(FACEMASK_DS_LIB_${_lib} NAMES ${_lib} PATHS ${_fm_ds_libdirs} NO_DEFAULT_PATH)
  if(FACEMASK_DS_LIB_${_lib})
    list(APPEND _fm_ds_libs ${FACEMASK_DS_LIB_${_lib}})
  else()
    list(APPEND _fm_ds_missing lib${_lib}.so)
  endif()
endforeach()

if(_fm_ds_missing OR NOT FACEMASK_HAVE_CUDA)
  # Headers-only SDK (e.g. the public source tree) or no CUDA toolkit: the backend cannot be linked honestly.
  # Compile its object files anyway (verification against the SDK headers) and build the plugin without it.
  get_target_property(_fm_srcs gstfacemask SOURCES)
  list(FILTER _fm_srcs EXCLUDE REGEX "/nvmm_[^/]*\\.cpp$")
  set_property(TARGET gstfacemask PROPERTY SOURCES ${_fm_srcs})
  get_target_property(_fm_defs gstfacemask COMPILE_DEFINITIONS)
  list(REMOVE_ITEM _fm_defs "FACEMASK_HAVE_NVMM=1")
  set_property(TARGET gstfacemask PROPERTY COMPILE_DEFINITIONS ${_fm_defs})
  set(FACEMASK_GST_NVMM OFF)
  if(FACEMASK_HAVE_CUDA)
    add_library(facemask_nvmm_objects OBJECT ${FACEMASK_GST_NVMM_SOURCES})
    target_include_directories(facemask_nvmm_objects SYSTEM PRIVATE ${FACEMASK_DS_SDK_INCLUDE})
    target_include_directories(facemask_nvmm_objects PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${FACEMASK_GENERATED_INCLUDE})
    target_compile_definitions(facemask_nvmm_objects PRIVATE FACEMASK_HAVE_NVMM=1 GST_USE_UNSTABLE_API=1)
    target_link_libraries(facemask_nvmm_objects PRIVATE facemask_cuda PkgConfig::GST CUDA::toolkit)
    message(STATUS "facemask: NVMM backend objects compiled against ${FACEMASK_DS_SDK_INCLUDE} but NOT linked "
                   "(missing in ${DEEPSTREAM_DIR}/lib: ${_fm_ds_missing}); the plugin is built without it")
  else()
    message(STATUS "facemask: NVMM backend skipped: it needs the CUDA toolkit")
  endif()
else()
  target_link_libraries(gstfacemask PRIVATE ${_fm_ds_libs} CUDA::cuda_driver CUDA::cudart_static)
  set_target_properties(gstfacemask PROPERTIES BUILD_RPATH "${DEEPSTREAM_DIR}/lib" INSTALL_RPATH "${DEEPSTREAM_DIR}/lib")
  message(STATUS "facemask: NVMM backend linked against ${_fm_ds_libs}")
endif()
