"""Typed deployment description -> nvinfer / nvinferserver / Triton / deepstream-app configs and gst recipes.

Every file is plain standard format (GKeyFile ``.txt``, YAML ``.yml``, protobuf text) so stock DeepStream and
``facemask-ds emulate`` read it. All paths are relative to the config file's directory (nvinfer resolves
``onnx-file``, ``model-engine-file``, ``int8-calib-file``, ``labelfile-path`` and ``custom-lib-path`` against it;
deepstream-contract.md §4.1). Every nvinfer key is checked against the known key set of deepstream-contract.md
§4.2/§4.3 (unknown keys are only warnings in nvinfer, so a typo would silently fall back to a default), every
nvinferserver field against the DS 9.1 protobuf schema, every parser-INI key against docs/parser-options.md.

Layout of a deployment folder (``facemask-ds bundle``; ``configs/<family>/`` holds the same text files):

    config_infer_primary_<f>.txt / .yml          nvinfer, bbox mode (network-type=0, cluster-mode=2)
    config_infer_primary_<f>_mask.txt / .yml     nvinfer, instance-mask mode (network-type=3, cluster-mode=4)
    config_nvinferserver_<f>.txt                 nvinferserver, local Triton model repository
    config_nvinferserver_<f>_grpc.txt            nvinferserver, remote Triton over gRPC
    triton_model_repo/facemask_<f>/config.pbtxt  Triton model (plan in 1/model.plan)
    deepstream_app_<f>.txt                       deepstream-app config (detection check with OSD boxes)
    pipelines.sh                                 gst-launch recipes: single, multi, tee (evidence + redacted), fanout
    labels.txt, lib/facemask_parser.ini          label file; parser options next to the parser library
    models/<onnx>, models/<engine>, lib/libnvdsinfer_facemask.so   (bundle only)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import NETWORK_MODE, engine_file_name, nvinfer_mode
from .models import PARSER_LIBRARY, ModelFamily

# -- known nvinfer keys (deepstream-contract.md §4.2, §4.3) ------------------------------------------------------------
PROPERTY_KEYS = frozenset("""
gie-unique-id process-mode interval gpu-id batch-size operate-on-gie-id operate-on-class-ids filter-out-class-ids
secondary-reinfer-interval input-object-min-width input-object-min-height input-object-max-width
input-object-max-height classifier-async-mode classifier-type stabilize-buffer-count
onnx-file model-engine-file int8-calib-file network-mode infer-dims network-input-order output-blob-names
output-io-formats layer-device-precision workspace-size force-implicit-batch-dim enable-dla use-dla-core
strongly-typed warmup-engine dynamic-properties
model-file proto-file uff-file uff-input-order uff-input-blob-name input-dims uff-input-dims tlt-encoded-model
tlt-model-key is-classifier
network-type model-color-format net-scale-factor offsets mean-file maintain-aspect-ratio symmetric-padding
scaling-filter scaling-compute-hw input-tensor-from-meta crop-objects-to-roi-boundary
custom-lib-path parse-bbox-func-name parse-bbox-instance-mask-func-name parse-classifier-func-name
parse-segmentation-func-name engine-create-func-name custom-network-config
num-detected-classes cluster-mode enable-dbscan classifier-threshold segmentation-threshold
segmentation-output-order output-instance-mask output-tensor-meta disable-output-host-copy tensor-meta-pool-size
auto-inc-mem max-gpu-mem-per
dump-input-tensor dump-output-tensor overwrite-input-tensor overwrite-output-tensor ip-tensor-file
op-tensor-files raw-output-file-write labelfile-path
""".split())
CLASS_ATTR_KEYS = frozenset("""
pre-cluster-threshold threshold post-cluster-threshold nms-iou-threshold topk eps group-threshold minBoxes
dbscan-min-score roi-top-offset roi-bottom-offset detected-min-w detected-min-h detected-max-w detected-max-h
border-color bg-color
""".split())
# labelfile-path is read in the [property] group too (gstnvinfer_property_parser.h key list).

# -- parser INI keys (docs/parser-options.md) --------------------------------------------------------------------------
PARSER_INI_KEYS = frozenset({"output-names", "landmark-order", "score-threshold", "nms-iou", "top-k", "mask-width",
                             "mask-height", "variant"})
PARSER_INI_NAME = "facemask_parser.ini"


class ConfigError(ValueError):
    pass


@dataclass
class Deployment:
    """Everything the generators need; paths are relative to the output directory."""
    family: ModelFamily
    height: int
    width: int
    onnx: str = ""                         # default models/<family key>.onnx
    input_name: str = "input"
    output_names: list[str] = field(default_factory=list)      # default: the family's
    output_shapes: dict[str, list[int]] = field(default_factory=dict)  # per-frame dims, when known
    batch_size: int = 1
    precision: str = "fp16"
    gpu_id: int = 0
    lib: str = f"lib/{PARSER_LIBRARY}"
    int8_calib_file: str | None = None     # e.g. models/calib.table (int8 / best)
    score_threshold: float | None = None   # default: family
    nms_iou: float | None = None
    top_k: int = 300
    mask_size: tuple[int, int] = (32, 32)
    segmentation_threshold: float = 0.5
    gie_unique_id: int = 1
    grpc_url: str = "localhost:8001"
    streammux_hw: tuple[int, int] = (1080, 1920)

    def __post_init__(self) -> None:
        err = self.family.check_size(self.height, self.width)
        if err:
            raise ConfigError(err)
        if not self.onnx:
            self.onnx = f"models/{self.family.key}.onnx"
        if not self.output_names:
            self.output_names = list(self.family.output_names)
        if self.score_threshold is None:
            self.score_threshold = self.family.score_threshold
        if self.nms_iou is None:
            self.nms_iou = self.family.nms_iou
        if self.precision not in NETWORK_MODE:
            raise ConfigError(f"precision must be one of {list(NETWORK_MODE)}")
        if self.precision in ("int8", "best") and not self.int8_calib_file:
            self.int8_calib_file = "models/calib.table"
        if not 1 <= self.batch_size <= 1024:
            raise ConfigError("batch-size must be 1..1024")

    @property
    def key(self) -> str:
        return self.family.key

    @property
    def mode(self) -> str:
        return nvinfer_mode(self.precision, bool(self.int8_calib_file))

    @property
    def engine(self) -> str:
        """Engine path relative to the output dir: nvinfer's generated name, next to the ONNX."""
        return str(Path(self.onnx).parent / engine_file_name(self.onnx, self.batch_size, self.gpu_id, self.mode))

    @property
    def triton_model(self) -> str:
        return f"facemask_{self.key}"

    def file(self, kind: str) -> str:
        k = self.key
        return {
            "bbox_txt": f"config_infer_primary_{k}.txt", "bbox_yml": f"config_infer_primary_{k}.yml",
            "mask_txt": f"config_infer_primary_{k}_mask.txt", "mask_yml": f"config_infer_primary_{k}_mask.yml",
            "server_local": f"config_nvinferserver_{k}.txt", "server_grpc": f"config_nvinferserver_{k}_grpc.txt",
            "triton": f"triton_model_repo/{self.triton_model}/config.pbtxt",
            "triton_plan": f"triton_model_repo/{self.triton_model}/1/model.plan",
            "app": f"deepstream_app_{k}.txt", "pipelines": "pipelines.sh", "labels": "labels.txt",
            "parser_ini": str(Path(self.lib).parent / PARSER_INI_NAME),
        }[kind]


# -- nvinfer -----------------------------------------------------------------------------------------------------------
Groups = dict[str, dict[str, Any]]


def nvinfer_groups(d: Deployment, mode: str) -> Groups:
    """``{"property": {...}, "class-attrs-all": {...}}`` for ``mode`` = "bbox" or "mask"."""
    if mode not in ("bbox", "mask"):
        raise ConfigError("mode must be 'bbox' or 'mask'")
    f = d.family
    p: dict[str, Any] = {
        "gpu-id": d.gpu_id,
        "gie-unique-id": d.gie_unique_id,
        "process-mode": 1,
        "interval": 0,
        "batch-size": d.batch_size,
        "onnx-file": d.onnx,
        "model-engine-file": d.engine,
        "network-mode": NETWORK_MODE[d.precision],
    }
    if d.int8_calib_file and d.precision in ("int8", "best"):
        p["int8-calib-file"] = d.int8_calib_file
    p.update({
        "infer-dims": f"3;{d.height};{d.width}",
        "network-input-order": 0,
        "model-color-format": f.color_format,
        "net-scale-factor": _num(f.net_scale_factor),
        "offsets": ";".join(_num(o) for o in f.offsets),
        "maintain-aspect-ratio": int(f.maintain_aspect_ratio),
        "symmetric-padding": int(f.symmetric_padding),
        "output-blob-names": ";".join(d.output_names),
        "labelfile-path": "labels.txt",
        "num-detected-classes": 1,
        "custom-lib-path": d.lib,
    })
    if mode == "bbox":
        p.update({"network-type": 0, "cluster-mode": 2, "parse-bbox-func-name": f.parse_bbox_func})
        ca: dict[str, Any] = {"pre-cluster-threshold": _num(d.score_threshold), "nms-iou-threshold": _num(d.nms_iou),
                              "topk": d.top_k}
    else:
        p.update({"network-type": 3, "cluster-mode": 4, "output-instance-mask": 1,
                  "segmentation-threshold": _num(d.segmentation_threshold),
                  "parse-bbox-instance-mask-func-name": f.parse_mask_func})
        ca = {"pre-cluster-threshold": _num(d.score_threshold), "topk": d.top_k}
    groups = {"property": p, "class-attrs-all": ca}
    validate_nvinfer(groups)
    return groups


def _num(v: float | None) -> str:
    if v is None:
        raise ConfigError("missing number")
    r = repr(float(v))
    return r[:-2] if r.endswith(".0") else r


def validate_nvinfer(groups: Groups) -> None:
    """Raise ConfigError on any key nvinfer does not know (and on missing mandatory keys)."""
    if "property" not in groups:
        raise ConfigError("[property] group is mandatory")
    for g, kv in groups.items():
        if g == "property":
            known = PROPERTY_KEYS
        elif g == "class-attrs-all" or re.fullmatch(r"class-attrs-\d+", g):
            known = CLASS_ATTR_KEYS
        else:
            raise ConfigError(f"unknown nvinfer config group [{g}]")
        bad = sorted(set(kv) - known)
        if bad:
            raise ConfigError(f"[{g}]: keys nvinfer does not know: {', '.join(bad)}")
    p = groups["property"]
    for k in ("gie-unique-id", "num-detected-classes", "cluster-mode"):
        if k not in p:
            raise ConfigError(f"[property] {k} must be set (deepstream-contract.md §8)")
    if int(p.get("network-type", 0)) == 3 and int(p["cluster-mode"]) != 4:
        raise ConfigError("instance-mask mode (network-type=3) needs cluster-mode=4")


HEADER = ("# Generated by facemask-ds gen-config for {name} ({mode} mode). Paths are relative to this file.\n"
          "# {notes}\n")


def render_txt(groups: Groups, header: str = "") -> str:
    out = [header] if header else []
    for g, kv in groups.items():
        out.append(f"[{g}]")
        out += [f"{k}={v}" for k, v in kv.items()]
        out.append("")
    return "\n".join(out)


def render_yml(groups: Groups, header: str = "") -> str:
    out = [header] if header else []
    for g, kv in groups.items():
        out.append(f"{g}:")
        for k, v in kv.items():
            s = str(v)
            if not re.fullmatch(r"[A-Za-z0-9_./;:+-]+", s) or s.lower() in ("true", "false", "yes", "no", "on",
                                                                           "off", "null", "~"):
                s = '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
            out.append(f"  {k}: {s}")
    return "\n".join(out) + "\n"


# -- nvinferserver (protobuf text) -------------------------------------------------------------------------------------
class Enum(str):
    """A protobuf enum value (rendered bare)."""


# message -> field -> sub-message name (or None for scalars); from DS 9.1 nvdsinferserver_*.proto
SERVER_SCHEMA: dict[str, dict[str, str | None]] = {
    "PluginControl": {"infer_config": "InferenceConfig", "input_control": "InputControl",
                      "output_control": "OutputControl"},
    "InputControl": {"process_mode": None, "operate_on_gie_id": None, "operate_on_class_ids": None, "interval": None,
                     "secondary_reinfer_interval": None, "async_mode": None, "object_control": "InputObjectControl"},
    "InputObjectControl": {"bbox_filter": "BBoxFilter"},
    "BBoxFilter": {"min_width": None, "min_height": None, "max_width": None, "max_height": None},
    "OutputControl": {"output_tensor_meta": None, "detect_control": "OutputDetectionControl", "classifier_type": None},
    "OutputDetectionControl": {"default_filter": "DetectClassFilter", "specific_class_filters": "MapDetectClassFilter",
                               "filter_out_class_ids": None},
    "DetectClassFilter": {"bbox_filter": "BBoxFilter", "roi_top_offset": None, "roi_bottom_offset": None,
                          "border_color": "Color", "bg_color": "Color"},
    "MapDetectClassFilter": {"key": None, "value": "DetectClassFilter"},
    "Color": {"r": None, "g": None, "b": None, "a": None},
    "InferenceConfig": {"unique_id": None, "gpu_ids": None, "max_batch_size": None, "backend": "BackendParams",
                        "preprocess": "PreProcessParams", "input_tensor_from_meta": "InputTensorFromMeta",
                        "postprocess": "PostProcessParams", "custom_lib": "CustomLib", "extra": "ExtraControl",
                        "lstm": "LstmParams", "clip_object_outside_roi": None},
    "InputTensorFromMeta": {"is_first_dim_batch": None},
    "LstmParams": {"loops": None},
    "BackendParams": {"inputs": "InputLayer", "outputs": "OutputLayer", "trt_is": "TritonParams",
                      "triton": "TritonParams", "output_mem_type": None, "disable_warmup": None},
    "InputLayer": {"name": None, "dims": None, "data_type": None},
    "OutputLayer": {"name": None, "max_buffer_bytes": None},
    "TritonParams": {"model_name": None, "version": None, "class_params": None, "model_repo": "TritonModelRepo",
                     "grpc": "TritonGrpcParams"},
    "TritonModelRepo": {"root": None, "log_level": None, "strict_model_config": None, "tf_gpu_memory_fraction": None,
                        "tf_disable_soft_placement": None, "min_compute_capacity": None, "backend_dir": None,
                        "model_control_mode": None, "cuda_device_memory": None,
                        "pinned_memory_pool_byte_size": None, "backend_configs": None},
    "TritonGrpcParams": {"url": None, "enable_cuda_buffer_sharing": None},
    "PreProcessParams": {"network_format": None, "tensor_order": None, "tensor_name": None,
                         "maintain_aspect_ratio": None, "frame_scaling_hw": None, "frame_scaling_filter": None,
                         "normalize": "ScaleNormalize", "symmetric_padding": None},
    "ScaleNormalize": {"scale_factor": None, "channel_offsets": None, "mean_file": None},
    "PostProcessParams": {"labelfile_path": None, "detection": "DetectionParams", "classification": None,
                          "segmentation": None, "other": None, "trtis_classification": None,
                          "triton_classification": None},
    "DetectionParams": {"num_detected_classes": None, "per_class_params": "MapPerClassParams",
                        "custom_parse_bbox_func": None, "nms": "Nms", "dbscan": None, "group_rectangle": None,
                        "simple_cluster": None},
    "MapPerClassParams": {"key": None, "value": "PerClassParams"},
    "PerClassParams": {"pre_threshold": None},
    "Nms": {"confidence_threshold": None, "iou_threshold": None, "topk": None},
    "CustomLib": {"path": None},
    "ExtraControl": {"copy_input_to_host_buffers": None, "output_buffer_pool_size": None,
                     "custom_process_funcion": None},
}


def render_textproto(msg: dict[str, Any], indent: int = 0) -> str:
    pad = "  " * indent
    out = []
    for k, v in msg.items():
        items = v if isinstance(v, list) and v and isinstance(v[0], dict) else [v]
        for it in items:
            if isinstance(it, dict):
                out.append(f"{pad}{k} {{")
                out.append(render_textproto(it, indent + 1))
                out.append(f"{pad}}}")
            elif isinstance(it, list):
                out.append(f"{pad}{k}: [{', '.join(_scalar(x) for x in it)}]")
            else:
                out.append(f"{pad}{k}: {_scalar(it)}")
    return "\n".join(x for x in out if x != "")


def _scalar(v: Any) -> str:
    if isinstance(v, Enum):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _num(v) if isinstance(v, float) else str(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def validate_textproto(msg: dict[str, Any], message: str = "PluginControl", where: str = "") -> None:
    schema = SERVER_SCHEMA[message]
    for k, v in msg.items():
        if k not in schema:
            raise ConfigError(f"nvinferserver: {where or message} has no field {k!r}")
        sub = schema[k]
        for it in (v if isinstance(v, list) else [v]):
            if isinstance(it, dict):
                if sub is None:
                    raise ConfigError(f"nvinferserver: {where}{k} is a scalar field, got a message")
                validate_textproto(it, sub, f"{where}{k}.")
            elif sub is not None and not isinstance(it, list):
                raise ConfigError(f"nvinferserver: {where}{k} is a message, got {it!r}")


def nvinferserver_msg(d: Deployment, remote: bool) -> dict[str, Any]:
    f = d.family
    triton: dict[str, Any] = {"model_name": d.triton_model, "version": -1}
    if remote:
        triton["grpc"] = {"url": d.grpc_url, "enable_cuda_buffer_sharing": False}
    else:
        triton["model_repo"] = {"root": "triton_model_repo", "strict_model_config": True, "log_level": 1}
    msg = {
        "infer_config": {
            "unique_id": d.gie_unique_id,
            "gpu_ids": [d.gpu_id],
            "max_batch_size": d.batch_size,
            "backend": {
                "inputs": [{"name": d.input_name, "dims": [3, d.height, d.width]}],
                "triton": triton,
                "output_mem_type": Enum("MEMORY_TYPE_CPU"),
            },
            "preprocess": {
                "network_format": Enum("IMAGE_FORMAT_BGR" if f.color_format == 1 else "IMAGE_FORMAT_RGB"),
                "tensor_order": Enum("TENSOR_ORDER_LINEAR"),
                "tensor_name": d.input_name,
                "maintain_aspect_ratio": int(f.maintain_aspect_ratio),
                "symmetric_padding": int(f.symmetric_padding),
                "frame_scaling_hw": Enum("FRAME_SCALING_HW_DEFAULT"),
                "frame_scaling_filter": 1,
                "normalize": {"scale_factor": float(f.net_scale_factor),
                              "channel_offsets": [float(o) for o in f.offsets]},
            },
            "postprocess": {
                "labelfile_path": "labels.txt",
                "detection": {
                    "num_detected_classes": 1,
                    "per_class_params": [{"key": 0, "value": {"pre_threshold": float(d.score_threshold or 0)}}],
                    "custom_parse_bbox_func": f.parse_bbox_func,
                    "nms": {"confidence_threshold": float(d.score_threshold or 0),
                            "iou_threshold": float(d.nms_iou or 0), "topk": d.top_k},
                },
            },
            "custom_lib": {"path": d.lib},
        },
        "input_control": {"process_mode": Enum("PROCESS_MODE_FULL_FRAME"), "interval": 0},
        "output_control": {"output_tensor_meta": False},
    }
    validate_textproto(msg)
    return msg


def render_nvinferserver(d: Deployment, remote: bool) -> str:
    how = (f"remote Triton over gRPC at {d.grpc_url}: the server must already serve model {d.triton_model!r} "
           "(its repository: triton_model_repo/), with the same TensorRT as the engine" if remote else
           "local Triton model repository triton_model_repo/ (root is relative to this file)")
    head = (f"# Generated by facemask-ds gen-config: nvinferserver config for {d.family.name}, {how}.\n"
            "# nvinferserver has no instance-mask parser: bbox mode only. The parser finds layers by name, so the\n"
            "# output order of config.pbtxt does not matter.\n")
    return head + render_textproto(nvinferserver_msg(d, remote)) + "\n"


def triton_config(d: Deployment) -> str:
    lines = [f'name: "{d.triton_model}"', 'platform: "tensorrt_plan"', f"max_batch_size: {d.batch_size}",
             'default_model_filename: "model.plan"',
             f'input [\n  {{\n    name: "{d.input_name}"\n    data_type: TYPE_FP32\n'
             f"    dims: [ 3, {d.height}, {d.width} ]\n  }}\n]"]
    if d.output_shapes:
        outs = ",\n".join(f'  {{\n    name: "{n}"\n    data_type: TYPE_FP32\n    dims: [ '
                          f'{", ".join(str(x) for x in d.output_shapes[n])} ]\n  }}' for n in d.output_names)
        lines.append(f"output [\n{outs}\n]")
    else:
        lines.append("# outputs omitted: Triton completes them from the plan (their shapes depend on the export)")
    lines.append(f"instance_group [\n  {{\n    kind: KIND_GPU\n    count: 1\n    gpus: [ {d.gpu_id} ]\n  }}\n]")
    head = (f"# Generated by facemask-ds gen-config. 1/model.plan must be built with the TensorRT of this Triton "
            f"server\n# on its GPU (same plan as {Path(d.engine).name}).\n")
    return head + "\n".join(lines) + "\n"


# -- deepstream-app ----------------------------------------------------------------------------------------------------
def deepstream_app_groups(d: Deployment, uri: str = "file:///opt/nvidia/deepstream/deepstream/samples/streams/"
                                                    "sample_1080p_h264.mp4") -> Groups:
    h, w = d.streammux_hw
    return {
        "application": {"enable-perf-measurement": 1, "perf-measurement-interval-sec": 5},
        "tiled-display": {"enable": 0},
        "source0": {"enable": 1, "type": 3, "uri": uri, "num-sources": 1, "gpu-id": d.gpu_id, "cudadec-memtype": 0},
        "streammux": {"gpu-id": d.gpu_id, "live-source": 0, "batch-size": d.batch_size,
                      "batched-push-timeout": 40000, "width": w, "height": h, "enable-padding": 0,
                      "nvbuf-memory-type": 0},
        "primary-gie": {"enable": 1, "gpu-id": d.gpu_id, "batch-size": d.batch_size, "gie-unique-id": d.gie_unique_id,
                        "nvbuf-memory-type": 0, "config-file": d.file("bbox_txt")},
        "osd": {"enable": 1, "gpu-id": d.gpu_id, "border-width": 2, "text-size": 12, "text-color": "1;1;1;1",
                "text-bg-color": "0.3;0.3;0.3;1", "font": "Serif", "show-clock": 0, "nvbuf-memory-type": 0},
        "sink0": {"enable": 1, "type": 3, "container": 1, "codec": 1, "bitrate": 4000000, "sync": 0,
                  "output-file": f"detections_{d.key}.mp4", "source-id": 0, "gpu-id": d.gpu_id,
                  "nvbuf-memory-type": 0},
        "tests": {"file-loop": 0},
    }


# -- gst-launch recipes ------------------------------------------------------------------------------------------------
def pipelines_sh(d: Deployment) -> str:
    h, w = d.streammux_hw
    bbox = d.file("bbox_txt")
    enc = ("nvvideoconvert ! 'video/x-raw(memory:NVMM),format=NV12' ! nvv4l2h264enc bitrate=4000000 ! h264parse ! "
           "mp4mux")
    return f"""#!/bin/sh
# gst-launch-1.0 recipes for {d.family.name} with nvinfer + facemaskblur (generated by facemask-ds gen-config).
# Usage: [IN=uri] [N=streams] [GST_LAUNCH=gst-launch-1.0] sh pipelines.sh single|multi|tee|fanout
# Needs DeepStream and the facemask plugin on GST_PLUGIN_PATH (eval "$(facemask-ds env)").
# Objects are in streammux resolution, so facemaskblur runs before any tiler or scaler.
set -eu
cd "$(dirname "$0")"
IN=${{IN:-file:///opt/nvidia/deepstream/deepstream/samples/streams/sample_1080p_h264.mp4}}
N=${{N:-4}}
GST_LAUNCH=${{GST_LAUNCH:-gst-launch-1.0}}
MUX="nvstreammux name=m width={w} height={h} batched-push-timeout=40000"
INFER="nvinfer config-file-path={bbox}"
ENC="{enc}"

case "${{1:-single}}" in
single)
  # one stream: decode -> batch of 1 -> detect -> blur faces -> encode
  eval "$GST_LAUNCH" -e uridecodebin uri=\\"\\$IN\\" ! m.sink_0 $MUX batch-size=1 ! $INFER ! \\
    facemaskblur ! $ENC ! filesink location=redacted.mp4 ;;
multi)
  # N streams in one batch; nvinfer splits the batch into chunks of the config's batch-size
  # (generate the config with --batch-size $N for one inference per batch). Blur before the tiler.
  SRCS=""
  i=0; while [ $i -lt "$N" ]; do SRCS="$SRCS uridecodebin uri=\\\"\\$IN\\\" ! m.sink_$i"; i=$((i+1)); done
  eval "$GST_LAUNCH" -e $SRCS $MUX batch-size="$N" ! $INFER ! facemaskblur ! \\
    nvmultistreamtiler width={w} height={h} ! $ENC ! filesink location=redacted_tiled.mp4 ;;
tee)
  # Evidence (unredacted) next to a redacted output. A tee shares buffers between branches, so the blurring
  # branch gets its own copy first (nvvideoconvert disable-passthrough=1 + RGBA caps): the evidence branch can
  # never see blurred pixels and the redacted branch never leaves the copy unblurred (deepstream-contract.md §6).
  eval "$GST_LAUNCH" -e uridecodebin uri=\\"\\$IN\\" ! m.sink_0 $MUX batch-size=1 ! $INFER ! tee name=t \\
    t. ! queue ! $ENC ! filesink location=evidence_unredacted.mp4 \\
    t. ! queue ! nvvideoconvert disable-passthrough=1 ! "'video/x-raw(memory:NVMM),format=RGBA'" ! \\
    facemaskblur ! $ENC ! filesink location=redacted.mp4 ;;
fanout)
  # Several outputs that must all be redacted: blur once, before the tee; every branch is redacted by construction.
  eval "$GST_LAUNCH" -e uridecodebin uri=\\"\\$IN\\" ! m.sink_0 $MUX batch-size=1 ! $INFER ! facemaskblur ! tee name=t \\
    t. ! queue ! $ENC ! filesink location=redacted.mp4 \\
    t. ! queue ! fakesink sync=false ;;
*) echo "usage: sh pipelines.sh single|multi|tee|fanout" >&2; exit 2 ;;
esac
"""


# -- parser INI --------------------------------------------------------------------------------------------------------
def parser_ini_sections(d: Deployment, mode: str = "bbox") -> dict[str, dict[str, str]]:
    """The [<Family>] section. ``output-names`` is written only when the model's names differ from the family's
    reference names: without the key the decoder tries the reference names, its fallbacks and the tensor shapes
    (docs/parser-options.md), whereas a given name must exist."""
    sec: dict[str, str] = {}
    if list(d.output_names) != list(d.family.output_names):
        sec["output-names"] = ";".join(d.output_names)
    sec.update({
        "score-threshold": "-1",
        "nms-iou": _num(d.nms_iou),
        "top-k": str(d.top_k),
        "mask-width": str(d.mask_size[0]),
        "mask-height": str(d.mask_size[1]),
    })
    out = {d.family.name: sec}
    validate_parser_ini(out)
    return out


def validate_parser_ini(sections: dict[str, dict[str, str]]) -> None:
    from .models import FAMILIES

    names = {f.name.lower() for f in FAMILIES.values()} | {"common"}
    for s, kv in sections.items():
        if s.lower() not in names:
            raise ConfigError(f"{PARSER_INI_NAME}: unknown section [{s}]")
        bad = sorted({k.replace("_", "-").lower() for k in kv} - PARSER_INI_KEYS)
        if bad:
            raise ConfigError(f"{PARSER_INI_NAME}: [{s}] unknown keys {', '.join(bad)}")


def render_parser_ini(d: Deployment) -> str:
    head = (f"# facemask_parser.ini for {d.family.name}, read by {PARSER_LIBRARY} from its own directory\n"
            "# (or from $FACEMASK_PARSER_CONFIG). Keys: docs/parser-options.md. score-threshold -1 = use nvinfer's\n"
            "# pre-cluster-threshold; nms-iou and top-k are applied inside the parse functions.\n")
    body = []
    for s, kv in parser_ini_sections(d).items():
        body.append(f"[{s}]")
        if "output-names" not in kv:
            body.append(f"# output-names = {';'.join(d.family.output_names)}   (reference names; unset = those, the "
                        "decoder's fallbacks, then by shape)")
        else:
            body.append(f"# output names of this model, in the role order {'; '.join(d.family.output_roles)}")
        body += [f"{k} = {v}" for k, v in kv.items()]
    return head + "\n".join(body) + "\n"


# -- everything --------------------------------------------------------------------------------------------------------
def render_all(d: Deployment) -> dict[str, str]:
    """{relative path: text} of every generated file."""
    notes = (f"{d.family.color_name}, net-scale-factor {_num(d.family.net_scale_factor)}, {d.family.padding}; "
             f"engine {Path(d.engine).name} = the name nvinfer generates (no rebuild)")
    files: dict[str, str] = {}
    for mode in ("bbox", "mask"):
        g = nvinfer_groups(d, mode)
        hdr = HEADER.format(name=d.family.name, mode=mode, notes=notes)
        files[d.file(f"{mode}_txt")] = render_txt(g, hdr)
        files[d.file(f"{mode}_yml")] = render_yml(g, hdr)
    files[d.file("server_local")] = render_nvinferserver(d, remote=False)
    files[d.file("server_grpc")] = render_nvinferserver(d, remote=True)
    files[d.file("triton")] = triton_config(d)
    app = deepstream_app_groups(d)
    files[d.file("app")] = render_txt(app, f"# Generated by facemask-ds gen-config: deepstream-app -c {d.file('app')}"
                                           f" (draws the {d.family.name} detections; redaction recipes: "
                                           "pipelines.sh)\n")
    files[d.file("pipelines")] = pipelines_sh(d)
    files[d.file("labels")] = "face\n"
    files[d.file("parser_ini")] = render_parser_ini(d)
    return files


def write_all(d: Deployment, out_dir: str | Path) -> list[Path]:
    out_dir = Path(out_dir)
    written = []
    for rel, text in render_all(d).items():
        p = out_dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        if rel.endswith(".sh"):
            p.chmod(0o755)
        written.append(p)
    return written


def default_deployment(family: ModelFamily, **kw: Any) -> Deployment:
    """The deployment ``configs/<family>/`` is generated from: the family's default size, batch 1, FP16."""
    h, w = family.default_hw
    kw.setdefault("input_name", "input.1" if family.key == "centerface" else "input")
    if family.key == "centerface" and not kw.get("output_shapes"):
        kw["output_shapes"] = {"537": [1, h // 4, w // 4], "538": [2, h // 4, w // 4], "539": [2, h // 4, w // 4],
                               "540": [10, h // 4, w // 4]}
    return Deployment(family=family, height=kw.pop("height", h), width=kw.pop("width", w), **kw)



def deployment_from_onnx(family: ModelFamily, onnx_path: str | Path, out_dir: str | Path, **kw: Any) -> Deployment:
    """A Deployment whose names, size and output dims come from a prepared ONNX file (paths relative to out_dir)."""
    import os

    from .onnx_tools import inspect

    infos, _ = inspect(onnx_path)
    ins = [t for t in infos if t.kind == "input"]
    outs = [t for t in infos if t.kind == "output"]
    s = ins[0].shape
    if len(s) != 4 or not all(isinstance(x, int) and x > 0 for x in s[1:]):
        raise ConfigError(f"{onnx_path}: input {ins[0].name} {ins[0].shape_str()} has no static C, H, W; run "
                          "`facemask-ds prepare-onnx` first")
    shapes: dict[str, list[int]] = {}
    for o in outs:
        if not all(isinstance(x, int) and x > 0 for x in o.shape[1:]):
            raise ConfigError(f"{onnx_path}: output {o.name} {o.shape_str()} has no static per-frame dims; run "
                              "`facemask-ds prepare-onnx` first")
        shapes[o.name] = [int(x) for x in o.shape[1:]]
    if s[0] == 1 and int(kw.get("batch_size", 1)) > 1:
        raise ConfigError(f"{onnx_path}: the model has a fixed batch of 1 (prepared with batch 1), so nvinfer "
                          f"batch-size must be 1, not {kw['batch_size']}")
    names = [o.name for o in outs]
    if family.output_names and set(names) == set(family.output_names):
        names = list(family.output_names)  # keep the parser's role order
    rel = os.path.relpath(Path(onnx_path).resolve(), Path(out_dir).resolve())
    return Deployment(family=family, height=int(s[2]), width=int(s[3]), onnx=rel, input_name=ins[0].name,
                      output_names=names, output_shapes=shapes, **kw)


REPO_README = """# Generated deployment configs (do not edit by hand)

One folder per model family, generated by `facemask-ds gen-config --all -o configs` from the model registry
(`python/facemask_ds/models.py`) for the family's default input size, batch 1, FP16. A test regenerates them
and fails on any difference. Each folder has the layout of a deployment bundle; `facemask-ds bundle --family F
--onnx M -o DIR` writes the same files for *your* ONNX (real tensor names and sizes) and adds `models/` (prepared
ONNX, engine), `lib/libnvdsinfer_facemask.so` and a README. Paths inside the configs are relative to the config
file. See docs/deploy.md.

| family | input (HxW) | colour | nvinfer preprocessing | parse functions |
|---|---|---|---|---|
"""


def generate_repo_configs(root: str | Path) -> list[Path]:
    """Write ``<root>/<family>/...`` for every family plus ``<root>/README.md``."""
    from .models import FAMILIES

    root = Path(root)
    written: list[Path] = []
    rows = []
    for f in FAMILIES.values():
        d = default_deployment(f)
        written += write_all(d, root / f.key)
        rows.append(f"| {f.key} | {d.height}x{d.width} | {f.color_name} | net-scale-factor {_num(f.net_scale_factor)}, "
                    f"offsets {';'.join(_num(o) for o in f.offsets)}, {f.padding} | `{f.parse_bbox_func}`, "
                    f"`{f.parse_mask_func}` |")
    readme = root / "README.md"
    readme.write_text(REPO_README + "\n".join(rows) + "\n")
    return written + [readme]
