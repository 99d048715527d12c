"""ONNX -> TensorRT plan that DeepStream's nvinfer loads without rebuilding (tensorrt.md §3.4, §7).

* The engine is written under the exact name nvinfer generates for the config
  (``<realpath onnx>_b<batch>_gpu<id>_<fp32|fp16|int8|best>.engine``, with nvinfer's effective mode: INT8
  without ``int8-calib-file`` is named fp16), next to the ONNX.
* One optimisation profile per input: min batch 1, opt = max = ``batch-size`` (what nvinfer builds).
* A sidecar ``<engine>.json`` records TensorRT version, GPU, precision, profile and the ONNX sha256, so a stale
  engine (changed ONNX, other TensorRT/GPU/precision/profile), which nvinfer would silently reuse, is detected;
  the builder refuses to reuse or overwrite it unless told to (``force``).
* ``trtexec_command`` prints the equivalent trtexec command for a TensorRT version (flags per tensorrt.md §4).

Stdlib only (numpy/OpenCV only for INT8 calibration images); runs standalone next to :mod:`trt_compat`.
"""

from __future__ import annotations

import configparser
import ctypes
import datetime as _dt
import hashlib
import json
import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

try:  # package import, or standalone copy next to trt_compat.py (scripts/build_engine.py, bundles)
    from .trt_compat import (TrtApi, TrtUnavailable, TrtUnsupported, import_tensorrt, make_entropy_calibrator,
                             new_builder, new_logger, parse_version)
except ImportError:  # pragma: no cover - standalone
    from trt_compat import (TrtApi, TrtUnavailable, TrtUnsupported, import_tensorrt,  # type: ignore[no-redef,import-not-found]
                            make_entropy_calibrator, new_builder, new_logger, parse_version)

PRECISIONS = ("fp32", "fp16", "int8", "best")
NETWORK_MODE = {"fp32": 0, "int8": 1, "fp16": 2, "best": 3}  # nvinfer network-mode values
MODE_OF_NETWORK_MODE = {v: k for k, v in NETWORK_MODE.items()}
DEFAULT_TRTEXEC = "/usr/src/tensorrt/bin/trtexec"
SIDECAR_FORMAT = 1


class BuildError(RuntimeError):
    pass


class StaleEngine(BuildError):
    """An engine already exists under the target name but does not match this build."""


# -- names -------------------------------------------------------------------------------------------------------------
def nvinfer_mode(precision: str, int8_calib_file: bool) -> str:
    """The mode string nvinfer puts in the engine name: INT8/BEST without a calibration file fall back to fp16
    (deepstream-contract.md §4.4)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision in ("int8", "best") and not int8_calib_file:
        return "fp16"
    return precision


def nvinfer_engine_path(onnx: str | Path, batch_size: int, gpu_id: int = 0, mode: str = "fp32") -> Path:
    """``<realpath onnx>_b<batch>_gpu<id>_<mode>.engine``, exactly as nvinfer names a built engine."""
    if mode not in PRECISIONS:
        raise ValueError(f"mode must be one of {PRECISIONS}, got {mode!r}")
    return Path(os.path.realpath(onnx) + f"_b{int(batch_size)}_gpu{int(gpu_id)}_{mode}.engine")


def engine_file_name(onnx_name: str, batch_size: int, gpu_id: int, mode: str) -> str:
    """The engine's file name only (for configs that reference it relative to the ONNX directory)."""
    return f"{Path(onnx_name).name}_b{int(batch_size)}_gpu{int(gpu_id)}_{mode}.engine"


def sidecar_path(engine: str | Path) -> Path:
    return Path(str(engine) + ".json")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- GPU ---------------------------------------------------------------------------------------------------------------
def gpu_info(gpu_id: int = 0) -> dict[str, Any]:
    """Name and compute capability of CUDA device *gpu_id* through the driver API; {} without a driver."""
    try:
        cu = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return {}
    if cu.cuInit(0) != 0:
        return {}
    dev = ctypes.c_int()
    if cu.cuDeviceGet(ctypes.byref(dev), gpu_id) != 0:
        return {}
    name = ctypes.create_string_buffer(256)
    cu.cuDeviceGetName(name, 256, dev)
    major, minor = ctypes.c_int(), ctypes.c_int()
    cu.cuDeviceGetAttribute(ctypes.byref(major), 75, dev)  # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
    cu.cuDeviceGetAttribute(ctypes.byref(minor), 76, dev)  # ..._MINOR
    return {"id": gpu_id, "name": name.value.decode(errors="replace"), "compute_capability": f"{major.value}.{minor.value}"}


# -- build specification -----------------------------------------------------------------------------------------------
@dataclass
class Preprocess:
    """nvinfer preprocessing, needed only to turn calibration images into input tensors."""
    net_scale_factor: float = 1.0
    offsets: tuple[float, ...] = (0.0, 0.0, 0.0)
    color_format: int = 0          # 0 RGB, 1 BGR
    maintain_aspect_ratio: bool = False
    symmetric_padding: bool = False


@dataclass
class BuildSpec:
    onnx: Path
    batch_size: int = 1
    precision: str = "fp16"
    gpu_id: int = 0
    infer_hw: tuple[int, int] | None = None       # fills dynamic H/W of input 0
    int8_calib_file: Path | None = None           # nvinfer's int8-calib-file = the calibration cache
    calib_images: Path | None = None
    calib_max_images: int = 512
    preprocess: Preprocess = field(default_factory=Preprocess)
    workspace_mib: int | None = None
    timing_cache: Path | None = None
    optimization_level: int | None = None
    strongly_typed: bool = False
    engine_path: Path | None = None               # default: nvinfer's generated name
    force: bool = False
    verbose: bool = False

    def __post_init__(self) -> None:
        self.onnx = Path(self.onnx)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not 1 <= int(self.batch_size) <= 1024:
            raise ValueError(f"batch size must be 1..1024, got {self.batch_size}")
        if self.precision in ("int8", "best") and self.calib_images and not self.int8_calib_file:
            self.int8_calib_file = self.onnx.parent / "calib.table"

    @property
    def mode(self) -> str:
        return nvinfer_mode(self.precision, self.int8_calib_file is not None)

    def target(self) -> Path:
        return Path(self.engine_path) if self.engine_path else nvinfer_engine_path(self.onnx, self.batch_size,
                                                                                  self.gpu_id, self.mode)


def spec_from_nvinfer_config(cfg_path: str | Path, **overrides: Any) -> BuildSpec:
    """A BuildSpec with exactly the values nvinfer will use for this config (.txt or .yml): onnx-file and
    int8-calib-file resolved relative to the config, batch-size, gpu-id, network-mode, infer-dims and the
    preprocessing keys. ``model-engine-file``, when set, must resolve to nvinfer's generated name."""
    cfg_path = Path(cfg_path)
    prop = _read_property_group(cfg_path)
    base = cfg_path.resolve().parent

    def path(key: str) -> Path | None:
        v = prop.get(key)
        return None if not v else (Path(v) if os.path.isabs(v) else base / v)

    onnx = path("onnx-file")
    if onnx is None:
        raise BuildError(f"{cfg_path}: [property] has no onnx-file")
    mode = MODE_OF_NETWORK_MODE.get(int(prop.get("network-mode", 0)))
    if mode is None:
        raise BuildError(f"{cfg_path}: network-mode must be 0..3")
    hw = None
    if prop.get("infer-dims"):
        d = [int(x) for x in prop["infer-dims"].split(";") if x.strip()]
        if len(d) == 3:
            hw = (d[1], d[2])
    offs = tuple(float(x) for x in prop.get("offsets", "0;0;0").split(";") if x.strip()) or (0.0, 0.0, 0.0)
    kw: dict[str, Any] = dict(
        onnx=onnx, batch_size=int(prop.get("batch-size", 1)), precision=mode, gpu_id=int(prop.get("gpu-id", 0)),
        infer_hw=hw, int8_calib_file=path("int8-calib-file") if mode in ("int8", "best") else None,
        preprocess=Preprocess(float(prop.get("net-scale-factor", 1.0)), offs, int(prop.get("model-color-format", 0)),
                              prop.get("maintain-aspect-ratio", "0") in ("1", "true"),
                              prop.get("symmetric-padding", "0") in ("1", "true")),
        strongly_typed=prop.get("strongly-typed", "0") in ("1", "true"),
    )
    kw.update({k: v for k, v in overrides.items() if v is not None})
    spec = BuildSpec(**kw)
    eng = path("model-engine-file")
    if eng is not None and os.path.realpath(eng) != str(spec.target()):
        raise BuildError(f"{cfg_path}: model-engine-file resolves to {os.path.realpath(eng)}, but nvinfer names the "
                         f"engine it builds {spec.target()}; fix the config (facemask-ds gen-config writes the right "
                         "name), or nvinfer rebuilds on every start")
    return spec


def _read_property_group(cfg: Path) -> dict[str, str]:
    if cfg.suffix in (".yml", ".yaml"):
        try:
            import yaml
        except ImportError as e:
            raise BuildError("reading a .yml config needs PyYAML; pass the .txt config instead") from e
        doc = yaml.safe_load(cfg.read_text()) or {}
        return {str(k): str(v) for k, v in (doc.get("property") or {}).items()}
    cp = configparser.ConfigParser(interpolation=None, comment_prefixes=("#",), strict=False)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string(cfg.read_text())
    if "property" not in cp:
        raise BuildError(f"{cfg}: no [property] group (mandatory for nvinfer)")
    return dict(cp["property"])


# -- sidecar and staleness ---------------------------------------------------------------------------------------------
def expected_record(spec: BuildSpec, trt_version: str, gpu: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": SIDECAR_FORMAT,
        "tensorrt_version": trt_version,
        "gpu": {k: gpu.get(k) for k in ("id", "name", "compute_capability")},
        "precision": spec.precision,
        "nvinfer_mode": spec.mode,
        "strongly_typed": spec.strongly_typed,
        "batch_size": int(spec.batch_size),
        "profile": profile,
        "onnx": str(Path(os.path.realpath(spec.onnx))),
        "onnx_sha256": sha256_file(spec.onnx),
        "int8_calib_sha256": (sha256_file(spec.int8_calib_file)
                              if spec.int8_calib_file and Path(spec.int8_calib_file).exists() else None),
    }


COMPARED_KEYS = ("tensorrt_version", "gpu", "precision", "nvinfer_mode", "strongly_typed", "batch_size", "profile",
                 "onnx_sha256")


def compare_record(existing: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Human-readable differences between an engine's sidecar and the build that is asked for."""
    diffs = []
    for k in COMPARED_KEYS:
        if k not in expected:
            continue
        a, b = existing.get(k), expected.get(k)
        if k == "gpu":  # the device index may differ between machines; name and SM may not
            a = {x: (a or {}).get(x) for x in ("name", "compute_capability")}
            b = {x: (b or {}).get(x) for x in ("name", "compute_capability")}
        if a != b:
            diffs.append(f"{k}: engine has {a!r}, this build wants {b!r}")
    return diffs


def check_existing(engine: Path, expected: dict[str, Any]) -> tuple[str, list[str]]:
    """('absent'|'current'|'stale'|'unknown', reasons). 'unknown' = an engine without a readable sidecar."""
    if not engine.exists():
        return "absent", []
    sc = sidecar_path(engine)
    if not sc.exists():
        return "unknown", [f"{engine} exists but has no sidecar {sc.name}: it was not built by facemask-ds (or by "
                           "nvinfer itself), so its TensorRT version, GPU and ONNX are unknown"]
    try:
        rec = json.loads(sc.read_text())
    except ValueError as e:
        return "unknown", [f"unreadable sidecar {sc}: {e}"]
    diffs = compare_record(rec, expected)
    return ("stale", diffs) if diffs else ("current", [])


# -- trtexec -----------------------------------------------------------------------------------------------------------
def _shape_arg(name: str, shape: list[int]) -> str:
    n = name if re.fullmatch(r"[A-Za-z0-9_]+", name) else f"'{name}'"
    return f"{n}:{'x'.join(str(d) for d in shape)}"


def trtexec_command(spec: BuildSpec, trt_version: str, input_name: str, chw: tuple[int, int, int],
                    trtexec: str = DEFAULT_TRTEXEC) -> list[str]:
    """The trtexec argv equivalent to :func:`build` for *trt_version* (flags per tensorrt.md §4)."""
    major, minor = parse_version(trt_version)
    c, h, w = chw
    b = int(spec.batch_size)
    args = [trtexec, f"--onnx={spec.onnx}", f"--saveEngine={spec.target()}",
            f"--minShapes={_shape_arg(input_name, [1, c, h, w])}",
            f"--optShapes={_shape_arg(input_name, [b, c, h, w])}",
            f"--maxShapes={_shape_arg(input_name, [b, c, h, w])}",
            f"--device={spec.gpu_id}"]
    if spec.workspace_mib:
        args.append(f"--memPoolSize=workspace:{int(spec.workspace_mib)}")
    strong = spec.strongly_typed or major >= 11
    if spec.precision != "fp32" and major >= 11:
        raise TrtUnsupported(
            f"trtexec {trt_version} has no --fp16/--int8/--best: convert the ONNX first (AutoCast for FP16, "
            "ModelOpt quantization for INT8) and build it with precision fp32 (strongly typed)")
    if spec.strongly_typed and major < 10:
        raise TrtUnsupported(f"--stronglyTyped needs TensorRT 10+, not {trt_version}")
    if spec.strongly_typed:
        args.append("--stronglyTyped")
    elif not strong:
        if spec.precision == "fp16":
            args.append("--fp16")
        elif spec.precision == "int8":
            args += ["--int8"] + ([f"--calib={spec.int8_calib_file}"] if spec.int8_calib_file else [])
        elif spec.precision == "best":
            args += ["--best"] + ([f"--calib={spec.int8_calib_file}"] if spec.int8_calib_file else [])
    if spec.timing_cache:
        args.append(f"--timingCacheFile={spec.timing_cache}")
    if spec.optimization_level is not None:
        if (major, minor) < (8, 6):
            raise TrtUnsupported(f"--builderOptimizationLevel needs TensorRT 8.6+, not {trt_version}")
        args.append(f"--builderOptimizationLevel={int(spec.optimization_level)}")
    args.append("--buildOnly" if (major, minor) < (8, 6) else "--skipInference")
    return args


def format_command(argv: list[str]) -> str:
    out = []
    for a in argv:
        if re.fullmatch(r"[A-Za-z0-9_./:=,+@%-]+", a):
            out.append(a)
        elif "'" in a and not re.search(r'["$`\\!]', a):
            out.append(f'"{a}"')
        else:
            out.append(shlex.quote(a))
    return " \\\n    ".join(out)


# -- calibration data --------------------------------------------------------------------------------------------------
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")


def calibration_batches(folder: Path, batch: int, chw: tuple[int, int, int], pre: Preprocess,
                        max_images: int) -> Iterator[Any]:
    """Float32 NCHW batches from the images in *folder*, preprocessed exactly as the emulator does it
    (:mod:`facemask_ds.nvinfer_preprocess`: nvinfer's scaling from the core, black padding,
    ``y = net-scale-factor * (x - offsets[c])``)."""
    import numpy as np
    try:
        import cv2

        from facemask_ds.nvinfer_preprocess import PreprocessError, network_input, nvinfer_scaling
    except ImportError as e:
        raise BuildError("INT8 calibration from images needs the facemask-ds package and OpenCV "
                         "(pip install facemask-ds opencv-python-headless), or an existing calibration cache") from e
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_EXTS)[:max_images]
    if len(files) < batch:
        raise BuildError(f"{folder}: {len(files)} calibration images, need at least batch-size={batch}")
    c, h, w = chw
    buf = []
    for f in files:
        bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if bgr is None:
            continue
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        try:
            s = nvinfer_scaling(rgb.shape[1], rgb.shape[0], w, h, pre.maintain_aspect_ratio, pre.symmetric_padding)
            buf.append(network_input(rgb, s, w, h, c, pre.color_format, pre.net_scale_factor, pre.offsets))
        except PreprocessError as e:
            raise BuildError(f"{f}: {e}") from None
        if len(buf) == batch:
            yield np.ascontiguousarray(np.stack(buf), dtype=np.float32)
            buf = []


# -- build -------------------------------------------------------------------------------------------------------------
@dataclass
class BuildResult:
    engine: Path
    sidecar: Path
    status: str            # "built" | "reused"
    record: dict[str, Any]
    notes: list[str]


def _network_facts(trt: Any, net: Any) -> tuple[bool, bool]:
    """(has Q/DQ layers, has FP16 tensors)."""
    qdq = fp16 = False
    LT = trt.LayerType
    q_types = {getattr(LT, n) for n in ("QUANTIZE", "DEQUANTIZE") if hasattr(LT, n)}
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        if layer.type in q_types:
            qdq = True
        for j in range(layer.num_outputs):
            if layer.get_output(j).dtype == trt.DataType.HALF:
                fp16 = True
    return qdq, fp16


def build(spec: BuildSpec, progress: Callable[[str], None] = print, trt_module: Any = None) -> BuildResult:
    """Build (or reuse an up-to-date) engine for *spec*. Raises TrtUnavailable, TrtUnsupported, StaleEngine,
    BuildError."""
    trt = trt_module if trt_module is not None else import_tensorrt()
    api = TrtApi(trt)
    if not Path(spec.onnx).is_file():
        raise BuildError(f"ONNX file not found: {spec.onnx}")
    target = spec.target()
    gpu = gpu_info(spec.gpu_id)
    progress(f"TensorRT {api.version}; GPU {gpu.get('name', '?')} (SM {gpu.get('compute_capability', '?')}); "
             f"precision {spec.precision} (engine name mode: {spec.mode}); batch {spec.batch_size}")

    logger = new_logger(spec.verbose)
    if hasattr(trt, "init_libnvinfer_plugins"):
        trt.init_libnvinfer_plugins(logger, "")
    builder = new_builder(logger)
    strong = spec.strongly_typed
    net = builder.create_network(api.network_flags(strong))
    parser = trt.OnnxParser(net, logger)
    progress(f"parsing {spec.onnx}")
    if not parser.parse_from_file(str(spec.onnx)):
        errs = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise BuildError("TensorRT's ONNX parser failed:\n  " + "\n  ".join(errs or ["(no error text)"]))

    profile_rec: dict[str, Any] = {}
    profile = builder.create_optimization_profile()
    chw0: tuple[int, int, int] | None = None
    for i in range(net.num_inputs):
        t = net.get_input(i)
        full = [int(t.shape[k]) for k in range(len(t.shape))]
        rest = full[1:]
        if i == 0 and len(rest) == 3:
            if spec.infer_hw is not None:
                if rest[1] not in (-1, spec.infer_hw[0]) or rest[2] not in (-1, spec.infer_hw[1]):
                    raise BuildError(f"infer-dims {spec.infer_hw} contradict the ONNX input {t.name} {full}")
                rest[1], rest[2] = spec.infer_hw
            chw0 = (rest[0], rest[1], rest[2])
        if any(d < 0 for d in rest):
            raise BuildError(f"input {t.name!r} has dynamic non-batch dims {full}: run `facemask-ds "
                             "prepare-onnx` to fix H x W, or set infer-dims")
        mn, opt = [1, *rest], [int(spec.batch_size), *rest]
        profile.set_shape(t.name, trt.Dims(mn), trt.Dims(opt), trt.Dims(opt))
        profile_rec[t.name] = {"min": mn, "opt": opt, "max": opt}

    expected = expected_record(spec, api.version, gpu, profile_rec)
    state, reasons = check_existing(target, expected)
    if state == "current" and not spec.force:
        progress(f"up to date, not rebuilt: {target}")
        return BuildResult(target, sidecar_path(target), "reused", json.loads(sidecar_path(target).read_text()), [])
    if state in ("stale", "unknown") and not spec.force:
        raise StaleEngine(f"refusing to reuse or overwrite {target}:\n  " + "\n  ".join(reasons) +
                          "\nDelete it or pass --force to rebuild.")

    config = builder.create_builder_config()
    if spec.workspace_mib:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(spec.workspace_mib) << 20)
    config.add_optimization_profile(profile)
    qdq, fp16_tensors = _network_facts(trt, net)
    calibrator = None
    if spec.precision in ("int8", "best") and not qdq and not (strong or api.always_strongly_typed):
        cache = spec.int8_calib_file
        if cache is None:
            raise TrtUnsupported("INT8 needs --calib-images (to create the calibration cache) or --calib-cache "
                                 "(an existing nvinfer int8-calib-file), or a Q/DQ ONNX")
        if spec.calib_images:
            if chw0 is None:
                raise BuildError("calibration needs an image input [batch, C, H, W]")
            progress(f"INT8 calibration from {spec.calib_images} -> {cache}")
            batches = calibration_batches(Path(spec.calib_images), int(spec.batch_size), chw0, spec.preprocess,
                                          spec.calib_max_images)
        elif Path(cache).exists():
            batches = iter(())
            progress(f"INT8 calibration cache {cache}")
        else:
            raise BuildError(f"calibration cache {cache} does not exist; pass --calib-images to create it")
        calibrator = make_entropy_calibrator(api, batches, int(spec.batch_size), Path(cache))
    notes = api.apply_precision(config, spec.precision, strongly_typed=strong, has_qdq=qdq,
                                has_fp16_tensors=fp16_tensors, calibrator=calibrator, profile=profile)
    api.set_optimization_level(config, spec.optimization_level)
    cache_obj = None
    if spec.timing_cache:
        old = Path(spec.timing_cache).read_bytes() if Path(spec.timing_cache).exists() else b""
        cache_obj = config.create_timing_cache(old)
        config.set_timing_cache(cache_obj, False)
        progress(f"timing cache {spec.timing_cache} ({len(old)} bytes loaded)")

    progress("building the engine (minutes; TensorRT times kernels for this GPU)")
    t0 = time.monotonic()
    plan = builder.build_serialized_network(net, config)
    if plan is None:
        raise BuildError("TensorRT failed to build the engine (see the TensorRT log above)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(memoryview(plan))
    os.replace(tmp, target)
    if spec.timing_cache and cache_obj is not None:
        tc = config.get_timing_cache()
        Path(spec.timing_cache).write_bytes(bytes(memoryview(tc.serialize())))
    record = expected_record(spec, api.version, gpu, profile_rec)  # calib cache may exist only now
    record.update(built_utc=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  build_seconds=round(time.monotonic() - t0, 1), engine=target.name,
                  engine_sha256=sha256_file(target), notes=notes)
    sidecar_path(target).write_text(json.dumps(record, indent=2) + "\n")
    progress(f"wrote {target} ({target.stat().st_size} bytes) and {sidecar_path(target).name} "
             f"in {record['build_seconds']} s")
    return BuildResult(target, sidecar_path(target), "built", record, notes)


def installed_trt_version() -> str | None:
    """Version of the importable TensorRT module, else of the trtexec/libnvinfer on this machine, else None."""
    try:
        return str(import_tensorrt().__version__)
    except TrtUnavailable:
        pass
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libnvinfer-bin"], capture_output=True,
                             text=True, timeout=10).stdout
        m = re.match(r"(\d+\.\d+\.\d+(\.\d+)?)", out)
        return m.group(1) if m else None
    except (OSError, subprocess.SubprocessError):
        return None


def record_summary(rec: dict[str, Any]) -> str:
    return json.dumps({k: rec.get(k) for k in COMPARED_KEYS}, indent=2)



# -- command line (shared by `facemask-ds build-engine`, scripts/build_engine.py and bundles) -------------------------
CLI_DESCRIPTION = (
    "Build a TensorRT engine that DeepStream's nvinfer loads as is: written under the exact name nvinfer generates "
    "for the config (<onnx>_b<batch>_gpu<id>_<mode>.engine, next to the ONNX), with a dynamic-batch profile "
    "(min 1, opt = max = batch size) and a sidecar JSON (TensorRT version, GPU, precision, profile, ONNX sha256). "
    "An existing engine that does not match is never silently reused or overwritten (--force rebuilds). Run it on "
    "the deployment target: engines only load on the TensorRT build and GPU they were built with. Without "
    "TensorRT it exits 2 and prints the equivalent trtexec command.")


def add_arguments(p: Any) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", metavar="CFG", help="nvinfer config (.txt/.yml): take onnx-file, batch-size, gpu-id, "
                     "network-mode, int8-calib-file, infer-dims and preprocessing from it (recommended)")
    src.add_argument("--onnx", metavar="MODEL", help="prepared ONNX file (see `facemask-ds prepare-onnx`)")
    p.add_argument("--batch-size", type=int, help="nvinfer batch-size = profile opt/max batch (default 1)")
    p.add_argument("--precision", choices=PRECISIONS, help="fp32 | fp16 | int8 | best (default fp16)")
    p.add_argument("--gpu-id", type=int, help="CUDA device (default 0)")
    p.add_argument("--height", type=int, help="input height, only for ONNX files with dynamic H")
    p.add_argument("--width", type=int, help="input width, only for ONNX files with dynamic W")
    p.add_argument("--calib-images", metavar="DIR", help="INT8: folder of representative frames for calibration")
    p.add_argument("--calib-cache", metavar="FILE", help="INT8: calibration cache to read/write (= nvinfer's "
                   "int8-calib-file; default <onnx dir>/calib.table)")
    p.add_argument("--calib-max-images", type=int, default=512, help="INT8: use at most this many images (512)")
    p.add_argument("--workspace-mib", type=int, help="builder workspace limit in MiB (TensorRT default: all memory)")
    p.add_argument("--timing-cache", metavar="FILE", help="TensorRT timing cache to load and update (same TensorRT "
                   "and GPU only); speeds up rebuilds")
    p.add_argument("--opt-level", type=int, choices=range(0, 6), metavar="0-5",
                   help="builder optimization level (TensorRT 8.6+; default 3)")
    p.add_argument("--strongly-typed", action="store_true", help="TensorRT 10: strongly typed network (precision "
                   "from the ONNX; matches nvinfer's strongly-typed=1). Always on with TensorRT 11")
    p.add_argument("--output", metavar="ENGINE", help="engine path (default: nvinfer's generated name; anything else "
                   "makes nvinfer rebuild unless model-engine-file names it)")
    p.add_argument("--force", action="store_true", help="rebuild even if an engine with that name exists")
    p.add_argument("--print-trtexec", action="store_true", help="print the equivalent trtexec command and exit")
    p.add_argument("--trt-version", metavar="V", help="TensorRT version for --print-trtexec (default: the installed "
                   "one), e.g. 8.5, 8.6, 10.16, 11.4")
    p.add_argument("--trtexec", default=DEFAULT_TRTEXEC, help=f"trtexec path in the printed command ({DEFAULT_TRTEXEC})")
    p.add_argument("--input-name", help="ONNX input name for --print-trtexec when the `onnx` package is missing")
    p.add_argument("--verbose", action="store_true", help="TensorRT verbose log")


def spec_from_args(a: Any) -> BuildSpec:
    hw = (a.height, a.width) if a.height and a.width else None
    over = dict(batch_size=a.batch_size, precision=a.precision, gpu_id=a.gpu_id, infer_hw=hw,
                int8_calib_file=Path(a.calib_cache) if a.calib_cache else None,
                calib_images=Path(a.calib_images) if a.calib_images else None, calib_max_images=a.calib_max_images,
                workspace_mib=a.workspace_mib, timing_cache=Path(a.timing_cache) if a.timing_cache else None,
                optimization_level=a.opt_level, strongly_typed=a.strongly_typed or None,
                engine_path=Path(a.output) if a.output else None, force=a.force or None, verbose=a.verbose or None)
    if a.config:
        return spec_from_nvinfer_config(a.config, **over)
    kw = {k: v for k, v in over.items() if v is not None}
    return BuildSpec(onnx=Path(a.onnx), **kw)


def onnx_input(spec: BuildSpec, name: str | None) -> tuple[str, tuple[int, int, int]]:
    """Input 0's name and CHW, from the ONNX file (needs the `onnx` package) or from --input-name + infer dims."""
    try:
        import onnx
    except ImportError:
        onnx = None  # type: ignore[assignment]
    if onnx is not None and Path(spec.onnx).exists():
        m = onnx.load(str(spec.onnx), load_external_data=False)
        inits = {i.name for i in m.graph.initializer}
        inp = next(i for i in m.graph.input if i.name not in inits)
        d = [x.dim_value if x.HasField("dim_value") else -1 for x in inp.type.tensor_type.shape.dim]
        c, h, w = d[1], d[2], d[3]
        if spec.infer_hw:
            h, w = spec.infer_hw
        if min(c, h, w) <= 0:
            raise BuildError(f"input {inp.name} has dynamic dims {d}; pass --height/--width")
        return name or inp.name, (c, h, w)
    if not (name and spec.infer_hw):
        raise BuildError("without the `onnx` package, pass --input-name, --height and --width (or --config with "
                         "infer-dims)")
    return name, (3, spec.infer_hw[0], spec.infer_hw[1])


def _ticker(progress: Callable[[str], None]) -> Callable[[], None]:
    import threading

    stop = threading.Event()
    t0 = time.monotonic()

    def run() -> None:
        while not stop.wait(30):
            progress(f"... still building ({int(time.monotonic() - t0)} s)")

    threading.Thread(target=run, daemon=True).start()
    return stop.set


def run_cli(a: Any, prog: str = "facemask-ds build-engine") -> int:
    import sys

    def say(msg: str) -> None:
        print(f"[build-engine] {msg}", file=sys.stderr, flush=True)

    try:
        spec = spec_from_args(a)
    except (BuildError, ValueError, OSError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2

    def trtexec_text(version: str) -> str:
        name, chw = onnx_input(spec, a.input_name)
        return format_command(trtexec_command(spec, version, name, chw, a.trtexec))

    if a.print_trtexec:
        ver = a.trt_version or installed_trt_version()
        if not ver:
            print(f"{prog}: no TensorRT found here; name the target's version with --trt-version (DeepStream 6.2/6.3: "
                  "8.5, 6.4/7.0: 8.6, 7.1: 10.3, 8.0: 10.9, 9.0: 10.14, 9.1/9.2: 10.16)", file=sys.stderr)
            return 2
        try:
            text = trtexec_text(ver)
            print(f"# trtexec for TensorRT {ver}")
            print(text)
        except (BuildError, TrtUnsupported, ValueError) as e:
            print(f"{prog}: {e}", file=sys.stderr)
            return 2
        return 0
    stop: Callable[[], None] | None = None
    try:
        import tensorrt  # noqa: F401
    except Exception:  # noqa: BLE001
        ver = a.trt_version or installed_trt_version() or "10.16"
        print(f"{prog}: TensorRT's Python module is not available here, so no engine was built.\n"
              "Build on the DeepStream target (same TensorRT and GPU as the runtime). There, either run this "
              "command again or use trtexec (shown for TensorRT "
              f"{ver}{'' if a.trt_version or installed_trt_version() else ', the DeepStream 9.1 version; use --trt-version'}):",
              file=sys.stderr)
        try:
            print(trtexec_text(ver), file=sys.stderr)
        except (BuildError, TrtUnsupported, ValueError) as e:
            print(f"(no trtexec command: {e})", file=sys.stderr)
        return 3
    try:
        stop = _ticker(say)
        res = build(spec, progress=say)
    except (TrtUnavailable, TrtUnsupported, BuildError, ValueError, OSError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 1
    finally:
        if stop is not None:
            stop()
    print(res.engine)
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="build_engine.py", description=CLI_DESCRIPTION)
    add_arguments(p)
    return run_cli(p.parse_args(argv), prog="build_engine.py")
