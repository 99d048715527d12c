"""The one thin TensorRT version layer (TensorRT 8.5 -> 11.x), see tensorrt.md §3.

Everything that differs between TensorRT generations is decided here, by feature presence and major version:

* network creation flags: EXPLICIT_BATCH on 8.x only (ignored on 10, removed on 11 where bit 0 means
  STRONGLY_TYPED); STRONGLY_TYPED on request on 10.x; enum members looked up by name, never by integer;
* precision: ``BuilderFlag.FP16/INT8`` on 8.x-10.x; TensorRT 11 has no precision flags, so FP16 needs an
  FP16 (AutoCast) ONNX and INT8 a Q/DQ ONNX;
* INT8 calibrators exist up to 10.x only (``IInt8EntropyCalibrator2``);
* ``builder_optimization_level`` from 8.6.

Stdlib only (numpy only for calibration batches), so ``scripts/build_engine.py`` can run inside a DeepStream
container next to a copy of this file and :mod:`engine`. ``import tensorrt`` happens inside the functions that
need it; mypy checks those calls against the TensorRT 10.13 stubs (tests/typecheck).
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

if TYPE_CHECKING:  # pragma: no cover
    import tensorrt


class TrtUnavailable(RuntimeError):
    """TensorRT's Python bindings cannot be imported here."""


class TrtUnsupported(RuntimeError):
    """The requested build is not possible with this TensorRT version; the message says what to do instead."""


def import_tensorrt() -> Any:
    try:
        import tensorrt as trt
    except Exception as e:  # noqa: BLE001 - ImportError, or the PyPI stub failing to reach NVIDIA's index
        raise TrtUnavailable(
            f"TensorRT's Python module cannot be imported ({type(e).__name__}: {e}). Build on the DeepStream target "
            "(same TensorRT and GPU as the runtime), e.g. inside the DeepStream container; DS 7.1/8.0 containers "
            "ship no Python TensorRT, use the printed trtexec command there") from e
    return trt


def parse_version(v: str) -> tuple[int, int]:
    parts = (v.split(".") + ["0"])[:2]
    try:
        return int(parts[0]), int(parts[1])
    except ValueError as e:
        raise ValueError(f"cannot parse a TensorRT version from {v!r} (expected e.g. 8.5, 10.16.1.11)") from e


class TrtApi:
    """A TensorRT module plus its version; each method is one version-dependent decision."""

    def __init__(self, trt: Any) -> None:
        self.trt = trt
        self.version = str(getattr(trt, "__version__", "0.0"))
        self.major, self.minor = parse_version(self.version)
        if (self.major, self.minor) < (8, 5):
            raise TrtUnsupported(f"TensorRT {self.version} is older than 8.5 (DeepStream 6.2); not supported")

    # -- network ----------------------------------------------------------------------------------------------------
    def network_flags(self, strongly_typed: bool = False) -> int:
        F = self.trt.NetworkDefinitionCreationFlag
        flags = 0
        if self.major < 10:
            flags |= 1 << int(getattr(F, "EXPLICIT_BATCH"))
            if strongly_typed:
                raise TrtUnsupported(f"strongly typed networks need TensorRT 10+, this is {self.version}")
        elif self.major == 10 and strongly_typed:
            flags |= 1 << int(getattr(F, "STRONGLY_TYPED"))
        # 11.x: always strongly typed; no flag needed (and EXPLICIT_BATCH no longer exists)
        return flags

    @property
    def always_strongly_typed(self) -> bool:
        return self.major >= 11

    @property
    def has_precision_flags(self) -> bool:
        return self.major < 11 and hasattr(self.trt.BuilderFlag, "FP16")

    @property
    def has_calibrators(self) -> bool:
        return self.major < 11 and hasattr(self.trt, "IInt8EntropyCalibrator2")

    @property
    def has_optimization_level(self) -> bool:
        return (self.major, self.minor) >= (8, 6)

    # -- precision --------------------------------------------------------------------------------------------------
    def apply_precision(self, config: Any, precision: str, *, strongly_typed: bool, has_qdq: bool,
                        has_fp16_tensors: bool, calibrator: Any = None, profile: Any = None) -> list[str]:
        """Set the builder flags for *precision* (fp32|fp16|int8|best); returns notes for the log."""
        notes: list[str] = []
        if precision == "fp32":
            return notes
        if strongly_typed or self.always_strongly_typed:
            # Strong typing: the ONNX decides the precision; flags are not allowed.
            need = {"fp16": has_fp16_tensors or has_qdq, "int8": has_qdq, "best": has_qdq}[precision]
            if not need:
                what = ("an FP16 ONNX: python -m modelopt.onnx.autocast --onnx_path m.onnx --output_path "
                        "m_fp16.onnx --keep_io_types" if precision == "fp16" else
                        "a Q/DQ INT8 ONNX from modelopt.onnx.quantization.quantize(..., quantize_mode='int8')")
                raise TrtUnsupported(
                    f"{precision} on a strongly typed network (TensorRT {self.version}) has no builder flag: the "
                    f"ONNX itself must carry the precision. Convert it first to {what}")
            notes.append(f"strongly typed: precision taken from the ONNX ({precision})")
            return notes
        BF = self.trt.BuilderFlag
        if precision in ("fp16", "best"):
            config.set_flag(getattr(BF, "FP16"))
        if precision in ("int8", "best"):
            config.set_flag(getattr(BF, "INT8"))
            if has_qdq:
                notes.append("explicit quantization (Q/DQ in the ONNX): no calibrator used")
            elif calibrator is not None:
                if not self.has_calibrators:
                    raise TrtUnsupported(f"TensorRT {self.version} has no INT8 calibrators")
                setattr(config, "int8_calibrator", calibrator)
                if profile is not None and hasattr(config, "set_calibration_profile"):
                    getattr(config, "set_calibration_profile")(profile)
            else:
                raise TrtUnsupported("INT8 needs calibration images or an existing calibration cache "
                                     "(--calib-images / --calib-cache), or a Q/DQ ONNX")
        return notes

    def set_optimization_level(self, config: Any, level: int | None) -> bool:
        if level is None:
            return False
        if not self.has_optimization_level:
            raise TrtUnsupported(f"builder optimization level needs TensorRT 8.6+, this is {self.version}")
        config.builder_optimization_level = int(level)
        return True


# -- INT8 calibration (TensorRT <= 10.x) -------------------------------------------------------------------------------
class _CudaRt:
    """Just enough of the CUDA runtime (through ctypes) to stage calibration batches on the GPU."""

    NAMES = ("libcudart.so", "libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0")

    def __init__(self) -> None:
        for n in self.NAMES:
            try:
                self.lib = ctypes.CDLL(n)
                break
            except OSError:
                continue
        else:
            raise TrtUnavailable("libcudart (CUDA runtime) not found; INT8 calibration needs it")

    def malloc(self, nbytes: int) -> int:
        p = ctypes.c_void_p()
        rc = self.lib.cudaMalloc(ctypes.byref(p), ctypes.c_size_t(nbytes))
        if rc != 0:
            raise RuntimeError(f"cudaMalloc({nbytes}) failed with CUDA error {rc}")
        return int(p.value or 0)

    def htod(self, dst: int, src: Any) -> None:
        rc = self.lib.cudaMemcpy(ctypes.c_void_p(dst), ctypes.c_void_p(src.ctypes.data), ctypes.c_size_t(src.nbytes),
                                 ctypes.c_int(1))
        if rc != 0:
            raise RuntimeError(f"cudaMemcpy failed with CUDA error {rc}")

    def free(self, p: int) -> None:
        self.lib.cudaFree(ctypes.c_void_p(p))


def make_entropy_calibrator(api: TrtApi, batches: Iterable[Any], batch_size: int, cache: Path) -> Any:
    """An ``IInt8EntropyCalibrator2`` that feeds *batches* (float32 NCHW numpy arrays) and reads/writes *cache*
    (the table nvinfer's ``int8-calib-file`` points at). With an existing cache and no batches, TensorRT uses
    the cache."""
    if not api.has_calibrators:
        raise TrtUnsupported(
            f"TensorRT {api.version} has no INT8 calibrators (removed in 11.0): quantize the ONNX with "
            "modelopt.onnx.quantization (it can reuse a TensorRT calibration cache) and build it strongly typed")
    base = getattr(api.trt, "IInt8EntropyCalibrator2")

    class EntropyCalibrator(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            base.__init__(self)
            self._it: Iterator[Any] = iter(batches)
            self._cuda: _CudaRt | None = None
            self._ptr = 0
            self._n = 0

        def get_batch_size(self) -> int:
            return batch_size

        def get_batch(self, names: list[str]) -> list[int] | None:
            try:
                b = next(self._it)
            except StopIteration:
                return None
            if self._cuda is None:
                self._cuda = _CudaRt()
                self._ptr = self._cuda.malloc(b.nbytes)
            self._cuda.htod(self._ptr, b)
            self._n += 1
            return [self._ptr]

        def read_calibration_cache(self) -> bytes | None:
            return cache.read_bytes() if cache.exists() and cache.stat().st_size else None

        def write_calibration_cache(self, data: Any) -> None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(bytes(data))

        def __del__(self) -> None:
            if self._cuda is not None and self._ptr:
                self._cuda.free(self._ptr)

    return EntropyCalibrator()


# -- helpers mypy checks against the stubs (TensorRT 10 surface, the same on 8.5+ for these calls) -------------------
def new_builder(logger: "tensorrt.ILogger") -> "tensorrt.Builder":
    import tensorrt as trt

    return trt.Builder(logger)


def new_logger(verbose: bool) -> "tensorrt.Logger":
    import tensorrt as trt

    return trt.Logger(trt.Logger.VERBOSE if verbose else trt.Logger.WARNING)


def dims(values: list[int]) -> "tensorrt.Dims":
    import tensorrt as trt

    return trt.Dims(values)
