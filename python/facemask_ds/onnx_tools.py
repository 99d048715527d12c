"""Inspect and prepare face-detector ONNX files for nvinfer / TensorRT.

``prepare()`` rewrites placeholder dims (e.g. CenterFace's fixed ``[10,3,32,32]``) to a dynamic batch and a
chosen H x W, drops initializers that are also listed as graph inputs (old exporter style), keeps FP32 I/O,
writes static non-batch output dims, and verifies the result with ONNX Runtime at batch 1 and batch N (each
frame's outputs in the batch must equal that frame run alone). Models nvinfer cannot run are refused with the
reason (:class:`NotDeployable`): image input not first / extra inputs, non-FP32 image input, data-dependent
output shapes, outputs that are not batch-major.

What this proves and what it does not (tensorrt.md §8, technique D): the graph is valid ONNX, the batch dim is
genuinely dynamic, and the profile / ``infer-dims`` derivation is right. It says nothing about TensorRT op
support or numerics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .engine import sha256_file  # the engine sidecar records the same hash
from .models import ModelFamily

# Ops whose output shape depends on the data: nvinfer needs static non-batch output dims.
DATA_DEPENDENT_OPS = {"NonZero", "NonMaxSuppression", "Unique", "Compress"}
TRT85_MAX_OPSET = 17
BATCH_DIM = "batch"


class NotDeployable(ValueError):
    """The model cannot run under nvinfer as it is; the message says why and what to do."""


class BatchNotDynamic(NotDeployable):
    """The model runs at batch 1 but not at batch N: deployable with nvinfer batch-size=1 only (``batch=1``)."""


@dataclass
class TensorInfo:
    kind: str                  # "input" | "output"
    name: str
    dtype: str
    shape: list                # ints, symbolic names (str) or None for unknown

    def shape_str(self) -> str:
        return "[" + ", ".join("?" if d is None else str(d) for d in self.shape) + "]"


@dataclass
class PrepareReport:
    src: Path
    dst: Path
    height: int
    width: int
    batch_checked: int
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    dropped_initializer_inputs: int
    opset: int
    max_abs_diff: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    sha256: str = ""

    @property
    def input_name(self) -> str:
        return self.inputs[0].name

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.outputs]

    def output_shapes(self) -> dict[str, list[int]]:
        """Per-frame (batch removed) static output dims."""
        return {o.name: [int(d) for d in o.shape[1:]] for o in self.outputs}


_ONNX_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool",
                10: "float16", 11: "float64", 16: "bfloat16"}


def _require_onnx():
    try:
        import onnx  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise SystemExit("facemask-ds: the `onnx` package is needed: pip install 'facemask-ds[onnx]'") from e
    import onnx

    return onnx


def _dims(vi) -> list:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return []
    out: list = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def _info(kind: str, vi) -> TensorInfo:
    return TensorInfo(kind, vi.name, _ONNX_DTYPES.get(vi.type.tensor_type.elem_type,
                                                      f"type{vi.type.tensor_type.elem_type}"), _dims(vi))


def real_inputs(model) -> list:
    """Graph inputs that are not initializers (old exporters list every weight as an input too)."""
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def io_table(model) -> list[TensorInfo]:
    return [_info("input", i) for i in real_inputs(model)] + [_info("output", o) for o in model.graph.output]


def format_io_table(infos: Sequence[TensorInfo]) -> str:
    rows = [("", "name", "dtype", "shape")] + [(t.kind, t.name, t.dtype, t.shape_str()) for t in infos]
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in rows)


def opset_of(model) -> int:
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    return 0


def _looks_like_image(info: TensorInfo) -> bool:
    s = info.shape
    return len(s) == 4 and (s[1] in (1, 3) or s[3] in (1, 3))


def check_structure(model) -> list[str]:
    """Static refusals (raise NotDeployable) and warnings (returned) before anything is run."""
    warnings: list[str] = []
    ins = [_info("input", i) for i in real_inputs(model)]
    if not ins:
        raise NotDeployable("the model has no inputs")
    first = ins[0]
    if not _looks_like_image(first):
        img = [i for i in ins[1:] if _looks_like_image(i)]
        if img:
            raise NotDeployable(
                f"image input not first: nvinfer feeds IO tensor 0 ({first.name!r} {first.shape_str()}) with the "
                f"image, but the image-like input is {img[0].name!r} {img[0].shape_str()}; re-export with the image "
                "as the first input")
        raise NotDeployable(
            f"input 0 {first.name!r} {first.shape_str()} is not an image tensor [batch, 3, H, W]; nvinfer needs the "
            "image as IO tensor 0 with 3 dims after the batch")
    if first.shape[1] not in (1, 3) and first.shape[3] in (1, 3):
        raise NotDeployable(
            f"input {first.name!r} {first.shape_str()} is NHWC; this tool prepares NCHW models only (re-export NCHW, "
            "or use nvinfer's network-input-order=1 with a hand-written config)")
    if len(ins) > 1:
        extra = ", ".join(f"{i.name!r} {i.shape_str()}" for i in ins[1:])
        raise NotDeployable(
            f"extra graph inputs besides the image ({extra}): nvinfer would need an NvDsInferInitializeInputLayers "
            "function to fill them; fold them into the graph as constants")
    if first.dtype != "float32":
        raise NotDeployable(
            f"image input {first.name!r} is {first.dtype}; nvinfer's preprocessor writes float32, so the engine input "
            "must be FP32 (keep FP32 I/O when converting, e.g. AutoCast keep_io_types=True)")
    ops = {n.op_type for n in model.graph.node}
    dd = sorted(ops & DATA_DEPENDENT_OPS)
    if dd:
        raise NotDeployable(
            f"data-dependent output shapes: the graph contains {', '.join(dd)}; nvinfer needs static non-batch output "
            "dims. Export the raw head outputs (before NMS / filtering) and let the parser decode them")
    for o in model.graph.output:
        info = _info("output", o)
        if info.dtype != "float32":
            warnings.append(f"output {info.name!r} is {info.dtype}; the parser accepts it but FP32 outputs are the "
                            "tested path")
    op = opset_of(model)
    if op > TRT85_MAX_OPSET:
        warnings.append(f"opset {op} > {TRT85_MAX_OPSET}: TensorRT 8.5/8.6 (DeepStream 6.2-7.0) may not parse it; "
                        "DeepStream 7.1+ (TensorRT 10) is fine")
    return warnings


def _set_dims(vi, dims: Sequence) -> None:
    shape = vi.type.tensor_type.shape
    del shape.dim[:]
    for d in dims:
        nd = shape.dim.add()
        if isinstance(d, str):
            nd.dim_param = d
        elif d is not None:
            nd.dim_value = int(d)


def choose_size(model, family: ModelFamily | None, height: int | None, width: int | None) -> tuple[int, int, str]:
    """(H, W, why): explicit size > family default (or the model's size if it is one of a fixed-size family's
    sizes) > the model's own static H x W."""
    ins = real_inputs(model)
    s = _dims(ins[0]) if ins else []
    model_hw = (s[2], s[3]) if len(s) == 4 and all(isinstance(d, int) and d > 0 for d in s[2:]) else None
    if height or width:
        if not (height and width):
            raise NotDeployable("give both --height and --width")
        h, w, why = int(height), int(width), "requested"
    elif family is not None and family.fixed_sizes and model_hw in family.fixed_sizes:
        (h, w), why = model_hw, "the model's fixed size"
    elif family is not None:
        (h, w), why = family.default_hw, f"{family.name} default"
    elif model_hw:
        (h, w), why = model_hw, "the model's static size"
    else:
        raise NotDeployable("the model's H and W are dynamic: pass --height and --width (or --family)")
    if family is not None:
        err = family.check_size(h, w)
        if err:
            raise NotDeployable(err)
    return h, w, why


def test_frames(n: int, height: int, width: int, family: ModelFamily | None,
                image: np.ndarray | None = None) -> np.ndarray:
    """N float32 NCHW frames: frame 0 from *image* (RGB uint8, nearest-neighbour resized) when given, the others
    deterministic pseudo-random images; normalised like nvinfer would for the family."""
    rng = np.random.default_rng(1234)
    frames = []
    for i in range(n):
        if i == 0 and image is not None:
            ys = (np.arange(height) * image.shape[0] / height).astype(int)
            xs = (np.arange(width) * image.shape[1] / width).astype(int)
            rgb = image[ys][:, xs, :3].astype(np.float32)
        else:
            rgb = rng.integers(0, 256, size=(height, width, 3)).astype(np.float32)
        if family is not None:
            if family.color_format == 1:
                rgb = rgb[:, :, ::-1]
            rgb = family.net_scale_factor * (rgb - np.asarray(family.offsets, np.float32))
        frames.append(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
    return np.stack(frames).astype(np.float32)


def _session(model_bytes: bytes):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 2
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def _run_batch(sess, names: list[str], input_name: str, frames: np.ndarray, batch: int) -> list[np.ndarray]:
    try:
        return sess.run(names, {input_name: frames[:batch]})
    except Exception as e:  # noqa: BLE001
        raise BatchNotDynamic(
            f"the batch dimension is not really dynamic: ONNX Runtime failed at batch {batch} ({e}). Typical cause: a "
            "Reshape with a hard-coded batch; re-export with a dynamic batch axis, or prepare with batch 1 and deploy "
            "with batch-size=1") from e


def prepare(src: str | Path, dst: str | Path, family: ModelFamily | None = None, height: int | None = None,
            width: int | None = None, batch: int = 3, image: np.ndarray | None = None, rtol: float = 1e-4,
            atol: float = 1e-4, progress: Callable[[str], None] = lambda s: None) -> PrepareReport:
    """Rewrite *src* for nvinfer and verify it; writes *dst* only when every check passes.

    ``batch`` >= 2: the batch dimension becomes dynamic and is verified at batch 1 and *batch*. ``batch`` = 1:
    for models whose graph hard-codes batch 1 (e.g. tflite conversions); the batch dimension stays 1 and the
    model can only be deployed with nvinfer ``batch-size=1``."""
    onnx = _require_onnx()
    src, dst = Path(src), Path(dst)
    if batch < 1:
        raise ValueError("batch must be >= 1")
    progress(f"loading {src}")
    try:
        model = onnx.load(str(src))
    except Exception as e:  # noqa: BLE001 - any parse failure is a user error
        raise NotDeployable(f"cannot read {src} as ONNX: {e}") from e
    g = model.graph
    inits = {i.name for i in g.initializer}
    n_before = len(g.input)
    keep = [i for i in g.input if i.name not in inits]
    dropped = n_before - len(keep)
    if dropped:
        del g.input[:]
        g.input.extend(keep)
    used = {x for n in g.node for x in n.input} | {o.name for o in g.output}
    unused = [i for i in g.initializer if i.name not in used]
    if unused and not any(a.type == a.GRAPH or a.type == a.GRAPHS for n in g.node for a in n.attribute):
        keep_init = [i for i in g.initializer if i.name in used]
        del g.initializer[:]
        g.initializer.extend(keep_init)
        progress(f"dropped {len(unused)} unused initializers")
    warnings = check_structure(model)
    h, w, why = choose_size(model, family, height, width)
    progress(f"input size {h}x{w} (HxW, {why}); batch dimension -> dynamic '{BATCH_DIM}'")
    inp = g.input[0]
    c = _dims(inp)[1] if isinstance(_dims(inp)[1], int) else 3
    bdim: int | str = BATCH_DIM if batch > 1 else 1
    _set_dims(inp, [bdim, c, h, w])
    out_ranks = {o.name: len(_dims(o)) for o in g.output}
    for o in g.output:
        _set_dims(o, [None] * out_ranks[o.name])
    del g.value_info[:]  # stale intermediate shapes of the placeholder size

    # Batch 1 twice with different content: shapes must not depend on the data.
    progress("ONNX Runtime: batch 1")
    try:
        sess = _session(model.SerializeToString())
    except Exception as e:  # noqa: BLE001
        raise NotDeployable(f"ONNX Runtime cannot load the rewritten model at {h}x{w}: {e}") from e
    frames = test_frames(max(batch, 2), h, w, family, image)
    names = [o.name for o in g.output]
    single: list[list[np.ndarray]] = []
    for i in range(len(frames)):
        try:
            single.append(sess.run(names, {inp.name: frames[i:i + 1]}))
        except Exception as e:  # noqa: BLE001
            raise NotDeployable(f"ONNX Runtime failed at batch 1, {h}x{w}: {e}") from e
    for k, name in enumerate(names):
        shapes = {tuple(s[k].shape) for s in single}
        if len(shapes) > 1:
            raise NotDeployable(f"data-dependent output shapes: output {name!r} has shapes {sorted(shapes)} for "
                                "different frames; nvinfer needs static non-batch output dims")
        shp = single[0][k].shape
        if len(shp) == 0 or shp[0] != 1:
            raise NotDeployable(f"output {name!r} has shape {list(shp)} at batch 1: not batch-major (dim 0 must be the "
                                "batch); nvinfer slices every output by dim 0")
    diffs: dict[str, float] = {}
    if batch == 1:
        progress("batch 1 only: the batch dimension stays 1 (deploy with nvinfer batch-size=1)")
        for k in range(len(names)):
            _set_dims(g.output[k], [1, *single[0][k].shape[1:]])
            diffs[names[k]] = 0.0
        multi: list[np.ndarray] = []
    else:
        progress(f"ONNX Runtime: batch {batch}")
        multi = _run_batch(sess, names, inp.name, frames, batch)
    for k, name in enumerate(names if batch > 1 else []):
        got, one = multi[k], single[0][k]
        if got.shape != (batch, *one.shape[1:]):
            raise BatchNotDynamic(
                f"output {name!r} is not batch-major: shape {list(one.shape)} at batch 1 but {list(got.shape)} at "
                f"batch {batch} (expected {[batch, *one.shape[1:]]}); nvinfer slices every output by dim 0")
        d = 0.0
        for i in range(batch):
            ref = single[i][k][0]
            if not np.allclose(got[i], ref, rtol=rtol, atol=atol, equal_nan=True):
                bad = float(np.nanmax(np.abs(got[i] - ref)))
                raise BatchNotDynamic(f"frame {i} of a batch of {batch} differs from the same frame run alone in output "
                                    f"{name!r} (max |diff| {bad:g}): frames are mixed across the batch")
            d = max(d, float(np.nanmax(np.abs(got[i] - ref))) if ref.size else 0.0)
        diffs[name] = d
        _set_dims(g.output[k], [BATCH_DIM, *one.shape[1:]])
    try:
        onnx.checker.check_model(model)
    except Exception as e:  # noqa: BLE001
        raise NotDeployable(f"the rewritten model fails onnx.checker: {e}") from e
    if family is not None and family.output_names and set(names) != set(family.output_names):
        warnings.append(
            f"output names {names} differ from {family.name}'s defaults {list(family.output_names)}; the bundle "
            f"writes them to facemask_parser.ini (output-names, assumed in role order "
            f"{'; '.join(family.output_roles)}) - check that order")
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))
    progress(f"wrote {dst}")
    return PrepareReport(src=src, dst=dst, height=h, width=w, batch_checked=batch,
                         inputs=[_info("input", inp)], outputs=[_info("output", o) for o in g.output],
                         dropped_initializer_inputs=dropped, opset=opset_of(model), max_abs_diff=diffs,
                         warnings=warnings, sha256=sha256_file(dst))


def inspect(path: str | Path) -> tuple[list[TensorInfo], int]:
    onnx = _require_onnx()
    m = onnx.load(str(path), load_external_data=False)
    return io_table(m), opset_of(m)
