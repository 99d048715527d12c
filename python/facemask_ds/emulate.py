"""nvinfer on the CPU: prove a deployment bundle without a GPU.

For each image, exactly what gst-nvinfer does for a primary detector (deepstream-contract.md §2, §4):

1. read the config as nvinfer does (:mod:`facemask_ds.nvinfer_parse`): groups, keys, class attributes, paths
   relative to the config file;
2. scale the frame to the network input with nvinfer's geometry (even-rounded source rect, maintain-aspect-ratio,
   symmetric-padding, black padding; computed in ``csrc/core/nvinfer_geometry`` through the bindings), convert
   the colour format and normalise ``y = net-scale-factor * (x - offsets[c])`` into an FP32 NCHW (or NHWC) tensor;
3. run the ONNX file named by ``onnx-file`` with ONNX Runtime (the TensorRT engine's stand-in);
4. call the parse function named in the config from the library named in the config through the real DeepStream
   prototype (``_native.call_parse_function``: dlopen + dlsym + NvDsInferLayerInfo vectors, as nvinfer);
5. apply nvinfer's clustering for the configured cluster-mode and its back-mapping with the clamping quirks
   (``csrc/core/cluster`` and ``nvinfer_geometry``).

The image preprocessing (resize, pad, normalise) is numpy/OpenCV; nvinfer's GPU scaler (NvBufSurfTransform)
interpolates slightly differently, so scores can differ in the last digits while the geometry is identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import nvinfer_parse
from .nvinfer_parse import ConfigError, NvinferConfig
from .nvinfer_preprocess import CV_INTERP, PreprocessError, network_input, nvinfer_scaling


class EmulateError(RuntimeError):
    """nvinfer would fail here, or the emulator cannot reproduce what nvinfer would do."""


def _cv2():
    try:
        import cv2
    except ImportError as e:  # pragma: no cover
        raise EmulateError("the emulator needs OpenCV for image I/O and resizing: pip install "
                           "opencv-python-headless") from e
    return cv2


def _native():
    from . import _native

    return _native


@dataclass
class Detection:
    class_id: int
    label: str | None
    confidence: float
    left: float
    top: float
    width: float
    height: float
    mask: np.ndarray | None = None     # instance-mask models: the parser's float mask (box frame)

    def to_json(self) -> dict[str, Any]:
        d = {"class_id": self.class_id, "label": self.label, "confidence": round(float(self.confidence), 6),
             "left": round(float(self.left), 3), "top": round(float(self.top), 3),
             "width": round(float(self.width), 3), "height": round(float(self.height), 3)}
        if self.mask is not None:
            d["mask_width"] = int(self.mask.shape[1])
            d["mask_height"] = int(self.mask.shape[0])
        return d


@dataclass
class FrameResult:
    image: str
    width: int
    height: int
    scaling: dict[str, Any]
    detections: list[Detection]
    parsed: int                        # objects the parse function returned
    after_clustering: int
    dropped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"image": self.image, "width": self.width, "height": self.height, "scaling": self.scaling,
                "parsed": self.parsed, "after_clustering": self.after_clustering, "dropped": self.dropped,
                "detections": [d.to_json() for d in self.detections], "warnings": self.warnings}


class Emulator:
    """One nvinfer instance (primary detector, batch 1) built from a config file."""

    def __init__(self, config: str | Path | NvinferConfig, threads: int = 0):
        self.config = config if isinstance(config, NvinferConfig) else nvinfer_parse.load_config(config)
        cfg = self.config
        self.warnings: list[str] = list(cfg.warnings)
        ntype = cfg.network_type
        if ntype not in (0, 3):
            raise EmulateError(f"network-type={ntype}: the emulator reproduces detectors (0) and instance-mask "
                               "detectors (3) only")
        if cfg.get_int("process-mode", 1) != 1:
            raise EmulateError("process-mode=2 (secondary, on objects) is not emulated; use process-mode=1")
        if cfg.get_str("mean-file"):
            raise EmulateError("mean-file is not supported by the emulator")
        if cfg.get_bool("input-tensor-from-meta"):
            raise EmulateError("input-tensor-from-meta (nvdspreprocess) is not emulated")
        self.instance_mask = ntype == 3
        fkey = "parse-bbox-instance-mask-func-name" if self.instance_mask else "parse-bbox-func-name"
        self.parse_func = cfg.get_str(fkey)
        if not self.parse_func:
            raise EmulateError(f"{fkey} is not set: nvinfer would use its built-in resnet10 parser, which the "
                               "emulator does not reproduce")
        self.custom_lib = cfg.get_path("custom-lib-path")
        if self.custom_lib is None:
            raise EmulateError("custom-lib-path is not set: nvinfer cannot find the parse function "
                               f"{self.parse_func}")
        if not self.custom_lib.is_file():
            raise EmulateError(f"custom-lib-path {self.custom_lib} does not exist (resolved relative to "
                               f"{cfg.directory})")
        onnx = cfg.get_path("onnx-file")
        if onnx is None:
            raise EmulateError("onnx-file is not set: the emulator runs the ONNX model with ONNX Runtime (an engine "
                               "file cannot run without TensorRT)")
        if not onnx.is_file():
            raise EmulateError(f"onnx-file {onnx} does not exist (resolved relative to {cfg.directory})")
        self.onnx_path = onnx
        self.num_classes = cfg.num_detected_classes
        self.cluster_mode = cfg.cluster_mode
        self.class_attrs = cfg.class_attrs()
        self.color_format = cfg.get_int("model-color-format", 0)
        if self.color_format not in (0, 1, 2):
            raise EmulateError(f"model-color-format={self.color_format} is not 0 (RGB), 1 (BGR) or 2 (GRAY)")
        self.net_scale = cfg.get_double("net-scale-factor", 1.0)
        self.offsets = cfg.get_double_list("offsets")
        if len(self.offsets) > 4:
            raise EmulateError("offsets has more than 4 values")
        self.keep_aspect = cfg.get_bool("maintain-aspect-ratio")
        self.symmetric = cfg.get_bool("symmetric-padding")
        self.nhwc = cfg.get_int("network-input-order", 0) == 1
        self.interp = CV_INTERP.get(cfg.get_int("scaling-filter", 0), "INTER_LINEAR")
        self.crop_to_roi = cfg.get_bool("crop-objects-to-roi-boundary")
        self.filter_out = cfg.get_int_list("filter-out-class-ids")
        self.labels = self._labels()
        self._session(threads)

    # ---------------------------------------------------------------------------------------------------------
    def _labels(self) -> list[str]:
        p = self.config.get_path("labelfile-path")
        if p is None:
            return []
        if not p.is_file():
            self.warnings.append(f"labelfile-path {p} does not exist: objects get no label")
            return []
        return [ln.strip() for ln in p.read_text().splitlines()]

    def _session(self, threads: int) -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:  # pragma: no cover
            raise EmulateError("the emulator needs ONNX Runtime: pip install onnxruntime") from e
        so = ort.SessionOptions()
        so.log_severity_level = 3
        if threads:
            so.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(self.onnx_path), so, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001
            raise EmulateError(f"ONNX Runtime cannot load {self.onnx_path}: {e}") from e
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise EmulateError(f"{self.onnx_path} has {len(inputs)} inputs; the emulator handles one image input")
        self.input_name = inputs[0].name
        shape = list(inputs[0].shape)
        if len(shape) != 4:
            raise EmulateError(f"input {self.input_name} has shape {shape}; nvinfer needs [batch, C, H, W] "
                               "(or NHWC with infer-dims)")
        infer_dims = self.config.get_int_list("infer-dims")
        if infer_dims:
            if len(infer_dims) != 3:
                raise EmulateError(f"infer-dims must be c;h;w, got {infer_dims}")
            c, h, w = infer_dims
        else:
            # nvinfer: networkInfo from input tensor 0 as w=d[2], h=d[1], c=d[0] (batch removed), whatever the order
            c, h, w = shape[1], shape[2], shape[3]
            if not all(isinstance(v, int) and v > 0 for v in (c, h, w)):
                raise EmulateError(f"input {self.input_name} has dynamic dims {shape}: set infer-dims=c;h;w (nvinfer "
                                   "needs them too) or fix them with facemask-ds prepare-onnx")
            if self.nhwc:
                self.warnings.append("network-input-order=1 (NHWC) without infer-dims: nvinfer still reads the "
                                     "input dims as C,H,W and gets the network size wrong; set infer-dims")
        if not isinstance(shape[0], int) or shape[0] != 1:
            if isinstance(shape[0], int) and shape[0] > 1:
                raise EmulateError(f"input batch dim is fixed to {shape[0]}; nvinfer forces it dynamic, the emulator "
                                   "needs batch 1 (re-export or use prepare-onnx)")
        self.net_c, self.net_h, self.net_w = int(c), int(h), int(w)
        want_c = 1 if self.color_format == 2 else 3
        if self.net_c != want_c:
            raise EmulateError(f"model-color-format={self.color_format} gives {want_c} channels but the network "
                               f"input has {self.net_c}")
        self.output_names = [o.name for o in self.session.get_outputs()]
        blobs = self.config.get_list("output-blob-names")
        for b in blobs:
            if b not in self.output_names:
                self.warnings.append(f"output-blob-names lists '{b}', which the model does not have (nvinfer only "
                                     "warns)")

    # ---------------------------------------------------------------------------------------------------------
    def preprocess(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """RGB uint8 HxWx3 frame -> (network input [1,C,H,W] float32, nvinfer scaling dict)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise EmulateError(f"expected an RGB uint8 image HxWx3, got {rgb.dtype} {rgb.shape}")
        H, W = rgb.shape[:2]
        try:
            s = nvinfer_scaling(W, H, self.net_w, self.net_h, self.keep_aspect, self.symmetric)
            x = network_input(rgb, s, self.net_w, self.net_h, self.net_c, self.color_format, self.net_scale,
                              self.offsets, self.interp, self.nhwc)
        except PreprocessError as e:
            raise EmulateError(str(e)) from None
        return x[None], s

    def infer(self, tensor: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """Run the model on a [1, ...] tensor; outputs keep their batch dim (the harness rebases per frame)."""
        outs = self.session.run(None, {self.input_name: tensor})
        layers = []
        for name, arr in zip(self.output_names, outs):
            arr = np.ascontiguousarray(arr)
            if arr.ndim < 2 or arr.shape[0] != 1:
                raise EmulateError(f"output {name} has shape {arr.shape}; nvinfer needs batch-major outputs (dim 0 = "
                                   "batch)")
            layers.append((name, arr))
        return layers

    def parse(self, layers: list[tuple[str, np.ndarray]]) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """Call the configured parse function through the DeepStream prototype. -> (objects (N,6), masks)."""
        params = {
            "num_classes": self.num_classes,
            "pre_cluster_thresholds": [float(a["pre-cluster-threshold"]) for a in self.class_attrs],
            "post_cluster_thresholds": [float(a["post-cluster-threshold"]) for a in self.class_attrs],
        }
        net = (self.net_w, self.net_h, self.net_c)
        try:
            res = _native().call_parse_function(str(self.custom_lib), self.parse_func, layers, net, params)
        except AttributeError:
            raise EmulateError("this build has no parse-function harness (_native.call_parse_function)") from None
        except (ValueError, RuntimeError, OSError) as e:
            raise EmulateError(f"{self.parse_func} from {self.custom_lib}: {e}") from None
        return _objects_from_harness(res)

    def run(self, rgb: np.ndarray, name: str = "<frame>") -> FrameResult:
        tensor, s = self.preprocess(rgb)
        layers = self.infer(tensor)
        objs, masks = self.parse(layers)
        nat = _native()
        per_class = [{k: a[k] for k in ("pre-cluster-threshold", "post-cluster-threshold", "nms-iou-threshold", "topk")}
                     for a in self.class_attrs]
        cl = nat.nvinfer_cluster(objs, self.num_classes, self.cluster_mode, per_class, self.instance_mask)
        if cl["error"]:
            raise EmulateError(cl["error"])
        warnings = list(cl["warnings"])
        H, W = rgb.shape[:2]
        filters = [{k: int(a[k]) for k in ("detected-min-w", "detected-min-h", "detected-max-w", "detected-max-h",
                                           "roi-top-offset", "roi-bottom-offset")} for a in self.class_attrs]
        bm = nat.nvinfer_back_map(cl["objects"], s, {
            "surface_width": W, "surface_height": H, "crop_objects_to_roi_boundary": self.crop_to_roi,
            "filter_out_class_ids": self.filter_out, "per_class": filters})
        dropped: dict[str, int] = {}
        kept_src = []
        for i, r in enumerate(bm["reasons"]):
            if r == "kept":
                kept_src.append(cl["source_index"][i])
            else:
                dropped[r] = dropped.get(r, 0) + 1
        if dropped.get("roi-bottom-offset (bottom edge below the frame)"):
            warnings.append("nvinfer drops boxes whose bottom edge passes the frame bottom unless "
                            "crop-objects-to-roi-boundary=1")
        dets = []
        for row, src in zip(bm["objects"], kept_src):
            cid = int(row[5])
            dets.append(Detection(class_id=cid, label=self.labels[cid] if cid < len(self.labels) else None,
                                  confidence=float(row[4]), left=float(row[0]), top=float(row[1]),
                                  width=float(row[2]), height=float(row[3]),
                                  mask=masks[src] if src < len(masks) else None))
        return FrameResult(image=name, width=W, height=H, scaling=dict(s), detections=dets, parsed=len(objs),
                           after_clustering=int(cl["objects"].shape[0]), dropped=dropped, warnings=warnings)

    def run_file(self, path: str | Path) -> tuple[FrameResult, np.ndarray]:
        rgb = read_rgb(path)
        return self.run(rgb, str(path)), rgb


def _objects_from_harness(res: Any) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """The harness's frame-0 dict -> (N, 6) [left, top, width, height, confidence, class_id] + masks."""
    frame = res[0] if isinstance(res, (list, tuple)) else res
    if not frame.get("returned", True):
        raise EmulateError("the parse function returned false: nvinfer logs an error and leaves the frame's "
                           "output unset")
    boxes = np.asarray(frame["boxes"], np.float64).reshape(-1, 4)
    scores = np.asarray(frame["scores"], np.float64).reshape(-1)
    classes = np.asarray(frame["classes"], np.float64).reshape(-1)
    objs = np.column_stack([boxes, scores, classes]) if len(scores) else np.zeros((0, 6))
    masks = list(frame.get("masks", [None] * len(scores)))
    return objs, masks


def read_rgb(path: str | Path) -> np.ndarray:
    cv2 = _cv2()
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise EmulateError(f"cannot read image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def annotate(rgb: np.ndarray, result: FrameResult) -> np.ndarray:
    """Draw the boxes (and labels) on a copy of the frame, clamped to it, as nvdsosd would show them."""
    cv2 = _cv2()
    out = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    H, W = out.shape[:2]
    for d in result.detections:
        x1, y1 = int(round(d.left)), int(round(d.top))
        x2, y2 = int(round(min(d.left + d.width, W - 1))), int(round(min(d.top + d.height, H - 1)))
        cv2.rectangle(out, (x1, y1), (x2, y2), (0, 0, 255), 3)
        txt = f"{d.label or d.class_id} {d.confidence:.2f}"
        cv2.putText(out, txt, (x1, max(12, y1 - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out  # BGR, ready for cv2.imwrite
