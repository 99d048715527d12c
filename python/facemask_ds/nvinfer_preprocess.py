"""nvinfer's input preprocessing on the CPU — the one implementation used by the emulator and by INT8 calibration.

Geometry (even-rounded source rect, aspect-preserving destination, padding offsets) comes from the core
(``_native.nvinfer_scaling``, csrc/core/nvinfer_geometry); this module only moves pixels: crop, colour order,
resize, black (0) padding, then ``y = net-scale-factor * (x - offsets[c])`` for every pixel, padding included
(deepstream-contract.md §2.5).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

# NvBufSurfTransform_Inter (scaling-filter) -> the closest OpenCV interpolation.
CV_INTERP = {0: "INTER_NEAREST", 1: "INTER_LINEAR", 2: "INTER_CUBIC", 3: "INTER_AREA", 4: "INTER_LANCZOS4",
             5: "INTER_LINEAR", 6: "INTER_LINEAR"}


class PreprocessError(ValueError):
    """The frame cannot be turned into a network input (wrong type/shape, degenerate scaling)."""


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as e:  # pragma: no cover - opencv is in the test/demo extras
        raise PreprocessError("nvinfer preprocessing needs OpenCV (pip install opencv-python-headless)") from e
    return cv2


def nvinfer_scaling(width: int, height: int, net_w: int, net_h: int, maintain_aspect_ratio: bool,
                    symmetric_padding: bool) -> dict[str, Any]:
    """nvinfer's scaling of a full ``width`` x ``height`` frame to the network input (core geometry)."""
    try:
        from . import _native
    except ImportError as e:  # standalone copies (bundle tools/) without the package
        raise PreprocessError("nvinfer preprocessing needs the facemask-ds package (its native core computes "
                              "nvinfer's scaling); install it, or pass an existing calibration cache") from e
    try:
        return dict(_native.nvinfer_scaling((0.0, 0.0, float(width), float(height)), int(net_w), int(net_h),
                                            bool(maintain_aspect_ratio), bool(symmetric_padding)))
    except ValueError as e:
        raise PreprocessError(f"cannot scale a {width}x{height} frame to {net_w}x{net_h}: {e}") from None


def network_input(rgb: np.ndarray, scaling: dict[str, Any], net_w: int, net_h: int, net_c: int = 3,
                  color_format: int = 0, net_scale_factor: float = 1.0, offsets: Sequence[float] = (),
                  interpolation: str = "INTER_LINEAR", nhwc: bool = False) -> np.ndarray:
    """RGB uint8 HxWx3 frame -> one frame of network input, float32 [C,H,W] (or [H,W,C] with ``nhwc``).

    ``color_format``: nvinfer's model-color-format (0 RGB, 1 BGR, 2 GRAY).
    """
    cv2 = _cv2()
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise PreprocessError(f"expected an RGB uint8 image HxWx3, got {rgb.dtype} {rgb.shape}")
    s = scaling
    crop = rgb[s["src_top"]:s["src_top"] + s["src_height"], s["src_left"]:s["src_left"] + s["src_width"]]
    if color_format == 1:
        crop = crop[:, :, ::-1]
    elif color_format == 2:
        crop = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)[:, :, None]
    resized = cv2.resize(np.ascontiguousarray(crop), (s["dest_width"], s["dest_height"]),
                         interpolation=getattr(cv2, interpolation))
    if resized.ndim == 2:
        resized = resized[:, :, None]
    return pad_and_normalize(resized, s, net_w, net_h, net_c, net_scale_factor, offsets, nhwc)


def pad_and_normalize(resized: np.ndarray, scaling: dict[str, Any], net_w: int, net_h: int, net_c: int = 3,
                      net_scale_factor: float = 1.0, offsets: Sequence[float] = (),
                      nhwc: bool = False) -> np.ndarray:
    """The frame already scaled to the destination size and in the model's channel order (dest_h x dest_w x C
    uint8) -> one frame of network input: black (0) padding at nvinfer's offsets, then
    ``net-scale-factor * (x - offsets[c])`` for every pixel, padding included. float32 [C,H,W] (or [H,W,C])."""
    s = scaling
    canvas = np.zeros((net_h, net_w, net_c), np.uint8)  # black padding, as nvinfer
    ot, ol = s["offset_top"], s["offset_left"]
    canvas[ot:ot + s["dest_height"], ol:ol + s["dest_width"]] = resized[:, :, :net_c]
    offs = np.zeros(net_c, np.float32)
    n = min(len(offsets), net_c)
    offs[:n] = np.asarray(offsets, np.float32)[:n]
    x = np.float32(net_scale_factor) * (canvas.astype(np.float32) - offs)
    return np.ascontiguousarray(x if nhwc else x.transpose(2, 0, 1), dtype=np.float32)
