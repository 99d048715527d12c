/* Public layout of the FACEMASK.LANDMARKS DeepStream user meta attached by facemaskblur in tensor-meta mode.
 *
 * Attached to an NvDsObjectMeta (obj_user_meta_list) as NvDsUserMeta with
 *   base_meta.meta_type = nvds_get_user_meta_type("FACEMASK.LANDMARKS")
 * and user_meta_data pointing to one FacemaskLandmarksMeta (g_malloc'd; copy_func duplicates it, release_func
 * frees it, so it survives nvvideoconvert copies and nvdsmetamux merges).
 *
 * Coordinates are streammux-output frame pixels (the same space as rect_params). Points use the kit's canonical
 * order: 0 eye on the image's left, 1 other eye, 2 nose tip, 3 mouth corner on the image's left, 4 other mouth
 * corner (BlazeFace: 6 points, see the decoder header). Plain C, usable from C and C++ probes. */
#ifndef FACEMASK_NVMM_LANDMARKS_H_
#define FACEMASK_NVMM_LANDMARKS_H_
#include <stdint.h>

#define FACEMASK_LANDMARKS_META_TYPE "FACEMASK.LANDMARKS"
#define FACEMASK_LANDMARKS_META_VERSION 1u
#define FACEMASK_LANDMARKS_MAX_POINTS 6

typedef struct FacemaskLandmarksMeta {
  uint32_t version;    /* FACEMASK_LANDMARKS_META_VERSION */
  uint32_t num_points; /* valid entries of x/y (5 for most families, 6 for BlazeFace) */
  float x[FACEMASK_LANDMARKS_MAX_POINTS];
  float y[FACEMASK_LANDMARKS_MAX_POINTS];
  float score;         /* detector confidence of the face these points belong to */
  uint32_t gie_unique_id; /* unique_id of the nvinfer whose tensor meta was decoded */
} FacemaskLandmarksMeta;

#endif /* FACEMASK_NVMM_LANDMARKS_H_ */
