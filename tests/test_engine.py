"""Engine builder without TensorRT: nvinfer naming, sidecar staleness, trtexec flags per version, the version layer
driven by a fake `tensorrt` module, the CLI's no-TensorRT path, and mypy against the TensorRT stubs.

THE FAKE TENSORRT MODULE CHECKS CONTROL FLOW ONLY: which flags, profiles, caches and calls the builder uses for
each TensorRT generation (8.5 / 8.6 / 10.x / 11.x, exposing only that generation's members). It builds nothing and
proves nothing about real engines; the first real engine is built on the user's GPU (tensorrt.md §8, H).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from facemask_ds import engine
from facemask_ds.engine import BuildError, BuildSpec, StaleEngine
from facemask_ds.trt_compat import TrtUnsupported

ROOT = Path(__file__).resolve().parent.parent


def _has_tensorrt() -> bool:
    try:
        import tensorrt  # noqa: F401
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture()
def model(tmp_path) -> Path:
    """A tiny prepared detector-like ONNX: dynamic batch, 3x32x64 input named like CenterFace's."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 3, 3, 3], np.ones(54, np.float32).tolist())
    g = helper.make_graph([helper.make_node("Conv", ["input.1", "w"], ["heat"], pads=[1, 1, 1, 1])], "g",
                          [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["batch", 3, 32, 64])],
                          [helper.make_tensor_value_info("heat", TensorProto.FLOAT, ["batch", 2, 32, 64])], [w])
    p = tmp_path / "models" / "face.onnx"
    p.parent.mkdir()
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(p))
    return p


# -- nvinfer naming (deepstream-contract.md §4.4) ----------------------------------------------------------------------
def test_engine_name_is_nvinfers(model, tmp_path, monkeypatch):
    real = str(model.resolve())
    assert str(engine.nvinfer_engine_path(model, 4, 1, "int8")) == real + "_b4_gpu1_int8.engine"
    link = tmp_path / "link"
    link.symlink_to(model.parent, target_is_directory=True)
    assert str(engine.nvinfer_engine_path(link / "face.onnx", 1, 0, "fp32")) == real + "_b1_gpu0_fp32.engine"
    monkeypatch.chdir(model.parent)
    assert str(engine.nvinfer_engine_path("face.onnx", 2, 0, "best")) == real + "_b2_gpu0_best.engine"


def test_effective_mode_int8_without_calibration_file_is_fp16():
    assert engine.nvinfer_mode("int8", False) == "fp16" and engine.nvinfer_mode("int8", True) == "int8"
    assert engine.nvinfer_mode("best", False) == "fp16" and engine.nvinfer_mode("fp32", False) == "fp32"
    with pytest.raises(ValueError):
        engine.nvinfer_mode("tf32", False)


def test_spec_from_config_resolves_relative_to_the_config(model, tmp_path):
    cfg = tmp_path / "cfg" / "infer.txt"
    cfg.parent.mkdir()
    good = "../models/face.onnx_b2_gpu0_fp16.engine"
    cfg.write_text(f"# c\n[property]\nonnx-file=../models/face.onnx\nmodel-engine-file={good}\nbatch-size=2\n"
                   "network-mode=2\ninfer-dims=3;32;64\nnet-scale-factor=0.5\noffsets=1;2;3\n[class-attrs-all]\ntopk=3\n")
    spec = engine.spec_from_nvinfer_config(cfg)
    assert spec.onnx.resolve() == model.resolve() and spec.batch_size == 2 and spec.precision == "fp16"
    assert spec.infer_hw == (32, 64) and spec.preprocess.offsets == (1.0, 2.0, 3.0)
    assert str(spec.target()) == str(model.resolve()) + "_b2_gpu0_fp16.engine"
    cfg.write_text(cfg.read_text().replace(good, "../models/face_fp16.engine"))
    with pytest.raises(BuildError, match="rebuilds on every start"):
        engine.spec_from_nvinfer_config(cfg)


# -- sidecar / staleness -----------------------------------------------------------------------------------------------
def test_staleness_detection(model):
    spec = BuildSpec(onnx=model, batch_size=2, precision="fp16")
    gpu = {"id": 0, "name": "NVIDIA H100", "compute_capability": "9.0"}
    prof = {"input.1": {"min": [1, 3, 32, 64], "opt": [2, 3, 32, 64], "max": [2, 3, 32, 64]}}
    want = engine.expected_record(spec, "10.16.1.11", gpu, prof)
    eng = spec.target()
    assert engine.check_existing(eng, want) == ("absent", [])
    eng.write_bytes(b"plan")
    state, why = engine.check_existing(eng, want)
    assert state == "unknown" and "no sidecar" in why[0]
    engine.sidecar_path(eng).write_text(json.dumps(want))
    assert engine.check_existing(eng, want)[0] == "current"
    other = dict(want, gpu=dict(gpu, id=3))  # another index of the same GPU model is fine
    assert engine.check_existing(eng, other)[0] == "current"
    for key, val in (("tensorrt_version", "10.14.1.48"), ("onnx_sha256", "0" * 64), ("precision", "fp32"),
                     ("gpu", {"id": 0, "name": "Tesla T4", "compute_capability": "7.5"})):
        state, why = engine.check_existing(eng, dict(want, **{key: val}))
        assert state == "stale" and why[0].startswith(key)


# -- trtexec (tensorrt.md §4) ------------------------------------------------------------------------------------------
COMMON = {"onnx", "saveEngine", "minShapes", "optShapes", "maxShapes", "memPoolSize", "timingCacheFile", "device"}
TRTEXEC_FLAGS = {  # flags each version's sampleOptions.cpp parses, per the table of tensorrt.md §4
    "8.5": COMMON | {"fp16", "int8", "calib", "best", "buildOnly"},
    "8.6": COMMON | {"fp16", "int8", "calib", "best", "fp8", "skipInference", "buildOnly", "builderOptimizationLevel"},
    "10.16": COMMON | {"fp16", "int8", "calib", "best", "fp8", "bf16", "skipInference", "builderOptimizationLevel",
                       "stronglyTyped"},
    "11.4": COMMON | {"skipInference", "builderOptimizationLevel", "stronglyTyped"},
}


def _flags(argv):
    return {a[2:].split("=", 1)[0] for a in argv[1:]}


@pytest.mark.parametrize("version", sorted(TRTEXEC_FLAGS))
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8", "best"])
def test_trtexec_flags_exist_in_that_version(model, version, precision):
    spec = BuildSpec(onnx=model, batch_size=4, precision=precision, workspace_mib=2048, timing_cache=Path("t.cache"),
                     int8_calib_file=model.parent / "calib.table" if precision in ("int8", "best") else None,
                     optimization_level=None if version == "8.5" else 4)
    if version == "11.4" and precision != "fp32":
        with pytest.raises(TrtUnsupported, match="AutoCast"):
            engine.trtexec_command(spec, version, "input.1", (3, 32, 64))
        return
    argv = engine.trtexec_command(spec, version, "input.1", (3, 32, 64))
    assert _flags(argv) <= TRTEXEC_FLAGS[version], _flags(argv) - TRTEXEC_FLAGS[version]
    assert {"fp32": set(), "fp16": {"fp16"}, "int8": {"int8", "calib"}, "best": {"best", "calib"}}[precision] \
        <= _flags(argv)
    assert "--memPoolSize=workspace:2048" in argv  # plain number = MiB in every version
    assert f"--saveEngine={spec.target()}" in argv
    assert "--optShapes='input.1':4x3x32x64" in argv and "--minShapes='input.1':1x3x32x64" in argv
    # the printed form is a valid shell command that gives back exactly argv
    assert shlex.split(engine.format_command(argv).replace("\\\n", " ")) == argv


def test_trtexec_version_guards(model):
    with pytest.raises(TrtUnsupported, match="8.6"):
        engine.trtexec_command(BuildSpec(onnx=model, optimization_level=3), "8.5.3.1", "x", (3, 8, 8))
    with pytest.raises(TrtUnsupported, match="10"):
        engine.trtexec_command(BuildSpec(onnx=model, strongly_typed=True), "8.6.1", "x", (3, 8, 8))
    argv = engine.trtexec_command(BuildSpec(onnx=model, precision="fp16", strongly_typed=True), "10.3", "img", (3, 8, 8))
    assert "--stronglyTyped" in argv and "--fp16" not in argv and "--minShapes=img:1x3x8x8" in argv


# -- the fake tensorrt module ------------------------------------------------------------------------------------------
class _Enum:
    def __init__(self, **members):
        self.__dict__.update(members)


def fake_tensorrt(version: str, calls: list, plan: bytes | None = b"PLAN", parse_errors=()):
    """A `tensorrt` stand-in that exposes only the members of that TensorRT generation (tensorrt.md §3.1) and
    records every builder call. CONTROL FLOW ONLY."""
    major, minor = (int(x) for x in version.split(".")[:2])
    m = types.ModuleType("tensorrt")
    m.__version__ = version
    if major < 10:
        m.NetworkDefinitionCreationFlag = _Enum(EXPLICIT_BATCH=0)
    elif major == 10:
        m.NetworkDefinitionCreationFlag = _Enum(EXPLICIT_BATCH=0, STRONGLY_TYPED=1)
    else:
        m.NetworkDefinitionCreationFlag = _Enum(STRONGLY_TYPED=0, PREFER_JIT_PYTHON_PLUGINS=1)
    m.BuilderFlag = _Enum(FP16="FP16", INT8="INT8") if major < 11 else _Enum(DIRECT_IO="DIRECT_IO")
    m.MemoryPoolType = _Enum(WORKSPACE="WORKSPACE")
    m.LayerType = _Enum(QUANTIZE="Q", DEQUANTIZE="DQ", CONVOLUTION="CONV")
    m.DataType = _Enum(FLOAT="FLOAT", HALF="HALF")

    class Logger:
        WARNING, VERBOSE = "W", "V"

        def __init__(self, sev):
            calls.append(("Logger", sev))

    m.Logger = Logger
    m.ILogger = object
    m.Dims = lambda v: tuple(v)
    m.init_libnvinfer_plugins = lambda logger, ns: calls.append(("init_plugins",))
    if major < 11:
        class IInt8EntropyCalibrator2:
            def __init__(self):
                pass
        m.IInt8EntropyCalibrator2 = IInt8EntropyCalibrator2

    class Tensor:
        def __init__(self, name, shape, dtype="FLOAT"):
            self.name, self.shape, self.dtype = name, shape, dtype

    class Layer:
        type, num_outputs = "CONV", 1

        def get_output(self, j):
            return Tensor("o", (1,))

    class Network:
        def __init__(self, flags):
            self.flags, self.inputs, self.num_layers = flags, [], 1

        @property
        def num_inputs(self):
            return len(self.inputs)

        def get_input(self, i):
            return self.inputs[i]

        def get_layer(self, i):
            return Layer()

    class OnnxParser:
        def __init__(self, net, logger):
            self.net = net
            self.num_errors = len(parse_errors)

        def parse_from_file(self, path):
            calls.append(("parse_from_file", path))
            mdl = onnx.load(path)
            for i in mdl.graph.input:
                d = [x.dim_value if x.HasField("dim_value") else -1 for x in i.type.tensor_type.shape.dim]
                self.net.inputs.append(Tensor(i.name, tuple(d)))
            return not parse_errors

        def get_error(self, i):
            return parse_errors[i]

    m.OnnxParser = OnnxParser

    class Profile:
        def set_shape(self, name, mn, opt, mx):
            calls.append(("set_shape", name, mn, opt, mx))

    class TimingCache:
        def __init__(self, data):
            self.data = data

        def serialize(self):
            return self.data + b"+"

    class Config:
        __slots__ = ("_tc",) + (("builder_optimization_level",) if (major, minor) >= (8, 6) else ()) + \
                    (("int8_calibrator",) if major < 11 else ())

        def set_flag(self, f):
            calls.append(("set_flag", f))

        def set_memory_pool_limit(self, pool, n):
            calls.append(("set_memory_pool_limit", pool, n))

        def add_optimization_profile(self, p):
            calls.append(("add_optimization_profile",))

        def create_timing_cache(self, data):
            calls.append(("create_timing_cache", bytes(data)))
            self._tc = TimingCache(bytes(data))
            return self._tc

        def set_timing_cache(self, tc, ignore_mismatch):
            calls.append(("set_timing_cache", ignore_mismatch))

        def get_timing_cache(self):
            return self._tc

        def set_calibration_profile(self, p):
            calls.append(("set_calibration_profile",))

    class Builder:
        def __init__(self, logger):
            pass

        def create_network(self, flags):
            calls.append(("create_network", flags))
            return Network(flags)

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, net, cfg):
            calls.append(("build_serialized_network",))
            if major >= 11 or (major, minor) >= (8, 6):
                calls.append(("opt_level", getattr(cfg, "builder_optimization_level", None)))
            if major < 11:
                calls.append(("calibrator", getattr(cfg, "int8_calibrator", None) is not None))
            return plan

    m.Builder = Builder
    return m


def _build(monkeypatch, version, spec, **kw):
    calls: list = []
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt(version, calls, **kw))
    monkeypatch.setattr(engine, "gpu_info", lambda i: {"id": i, "name": "FakeGPU", "compute_capability": "8.6"})
    res = engine.build(spec, progress=lambda s: calls.append(("progress", s)))
    return res, calls


@pytest.mark.parametrize("version,flags", [("8.5.3.1", 1), ("8.6.1.6", 1), ("10.16.1.11", 0), ("11.4.0.106", 0)])
def test_fake_trt_network_flags_profile_and_files(monkeypatch, model, version, flags):
    spec = BuildSpec(onnx=model, batch_size=4, precision="fp32", workspace_mib=64)
    res, calls = _build(monkeypatch, version, spec)
    assert ("create_network", flags) in calls  # EXPLICIT_BATCH bit only on 8.x
    assert ("set_shape", "input.1", (1, 3, 32, 64), (4, 3, 32, 64), (4, 3, 32, 64)) in calls
    assert ("set_memory_pool_limit", "WORKSPACE", 64 << 20) in calls
    assert not [c for c in calls if c[0] == "set_flag"]
    assert res.engine == Path(str(model.resolve()) + "_b4_gpu0_fp32.engine") and res.engine.read_bytes() == b"PLAN"
    side = json.loads(res.sidecar.read_text())
    assert side["tensorrt_version"] == version and side["onnx_sha256"] == engine.sha256_file(model)
    assert side["profile"]["input.1"] == {"min": [1, 3, 32, 64], "opt": [4, 3, 32, 64], "max": [4, 3, 32, 64]}
    assert side["gpu"]["name"] == "FakeGPU" and side["precision"] == "fp32"


def test_fake_trt_strongly_typed_on_10(monkeypatch, model):
    _, calls = _build(monkeypatch, "10.16.1.11", BuildSpec(onnx=model, precision="fp32", strongly_typed=True))
    assert ("create_network", 2) in calls
    with pytest.raises(TrtUnsupported, match="TensorRT 10"):
        _build(monkeypatch, "8.6.1.6", BuildSpec(onnx=model, precision="fp32", strongly_typed=True, force=True))


@pytest.mark.parametrize("version", ["8.5.3.1", "10.16.1.11"])
def test_fake_trt_fp16_flag(monkeypatch, model, version):
    res, calls = _build(monkeypatch, version, BuildSpec(onnx=model, precision="fp16"))
    assert ("set_flag", "FP16") in calls and res.engine.name.endswith("_b1_gpu0_fp16.engine")


def test_fake_trt_11_has_no_fp16_flag_and_says_what_to_do(monkeypatch, model):
    with pytest.raises(TrtUnsupported, match="autocast"):
        _build(monkeypatch, "11.4.0.106", BuildSpec(onnx=model, precision="fp16"))
    with pytest.raises(TrtUnsupported, match="Q/DQ"):
        _build(monkeypatch, "11.4.0.106", BuildSpec(onnx=model, precision="int8",
                                                    int8_calib_file=model.parent / "calib.table"))


def test_fake_trt_int8_uses_the_calibration_cache(monkeypatch, model):
    cache = model.parent / "calib.table"
    with pytest.raises(TrtUnsupported, match="calib"):
        _build(monkeypatch, "10.16.1.11", BuildSpec(onnx=model, precision="int8"))
    with pytest.raises(BuildError, match="does not exist"):
        _build(monkeypatch, "10.16.1.11", BuildSpec(onnx=model, precision="int8", int8_calib_file=cache))
    cache.write_bytes(b"TRT-8501-EntropyCalibration2\n")
    res, calls = _build(monkeypatch, "10.16.1.11", BuildSpec(onnx=model, precision="int8", int8_calib_file=cache))
    assert ("set_flag", "INT8") in calls and ("calibrator", True) in calls and ("set_calibration_profile",) in calls
    assert res.engine.name.endswith("_int8.engine")


def test_fake_trt_optimization_level_only_from_8_6(monkeypatch, model):
    with pytest.raises(TrtUnsupported, match="8.6"):
        _build(monkeypatch, "8.5.3.1", BuildSpec(onnx=model, precision="fp32", optimization_level=5))
    _, calls = _build(monkeypatch, "8.6.1.6", BuildSpec(onnx=model, precision="fp32", optimization_level=5))
    assert ("opt_level", 5) in calls


def test_fake_trt_timing_cache_round_trip(monkeypatch, model, tmp_path):
    tc = tmp_path / "timing.cache"
    _, calls = _build(monkeypatch, "10.16.1.11", BuildSpec(onnx=model, precision="fp32", timing_cache=tc))
    assert ("create_timing_cache", b"") in calls and ("set_timing_cache", False) in calls and tc.read_bytes() == b"+"
    _, calls = _build(monkeypatch, "10.16.1.11", BuildSpec(onnx=model, precision="fp32", timing_cache=tc, force=True))
    assert ("create_timing_cache", b"+") in calls and tc.read_bytes() == b"++"


def test_fake_trt_errors(monkeypatch, model):
    with pytest.raises(BuildError, match="Unsupported operator NonZero"):
        _build(monkeypatch, "10.16.1.11", BuildSpec(onnx=model), parse_errors=("Unsupported operator NonZero",))
    with pytest.raises(BuildError, match="failed to build"):
        _build(monkeypatch, "10.16.1.11", BuildSpec(onnx=model), plan=None)
    assert not engine.nvinfer_engine_path(model, 1, 0, "fp16").exists()


def test_fake_trt_refuses_stale_engines(monkeypatch, model):
    spec = BuildSpec(onnx=model, precision="fp16")
    res, _ = _build(monkeypatch, "10.16.1.11", spec)
    res2, calls = _build(monkeypatch, "10.16.1.11", spec)
    assert res2.status == "reused" and ("build_serialized_network",) not in calls
    with pytest.raises(StaleEngine, match="tensorrt_version"):  # same name, other TensorRT
        _build(monkeypatch, "10.14.1.48", spec)
    m = onnx.load(str(model))                                     # re-exported ONNX, same name and shapes
    m.graph.initializer[0].float_data[0] = 2.0
    onnx.save(m, str(model))
    with pytest.raises(StaleEngine, match="onnx_sha256"):
        _build(monkeypatch, "10.16.1.11", spec)
    res3, _ = _build(monkeypatch, "10.16.1.11", BuildSpec(onnx=model, precision="fp16", force=True))
    assert res3.status == "built" and json.loads(res3.sidecar.read_text())["onnx_sha256"] == engine.sha256_file(model)
    res.engine.unlink()
    res.engine.write_bytes(b"someone else's")
    res.sidecar.unlink()
    with pytest.raises(StaleEngine, match="no sidecar"):
        _build(monkeypatch, "10.16.1.11", spec)


# -- CLI without TensorRT ----------------------------------------------------------------------------------------------
@pytest.mark.skipif(_has_tensorrt(), reason="TensorRT is installed here")
@pytest.mark.parametrize("entry", [["-m", "facemask_ds", "build-engine"], [str(ROOT / "scripts" / "build_engine.py")]])
def test_cli_without_tensorrt_prints_trtexec(model, entry):
    r = subprocess.run([sys.executable, *entry, "--onnx", str(model), "--batch-size", "2"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 3
    assert "TensorRT's Python module is not available" in r.stderr
    assert f"--saveEngine={model.resolve()}_b2_gpu0_fp16.engine" in r.stderr and "--fp16" in r.stderr
    r = subprocess.run([sys.executable, *entry, "--onnx", str(model), "--print-trtexec", "--trt-version", "8.5"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "--buildOnly" in r.stdout and "trtexec" in r.stdout
    r = subprocess.run([sys.executable, *entry, "--onnx", str(model), "--print-trtexec"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "--trt-version" in r.stderr


def test_cli_help_is_clear():
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "build-engine", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "exact name nvinfer generates" in r.stdout and "--print-trtexec" in r.stdout


# -- mypy against the TensorRT stubs (tensorrt.md §6) ------------------------------------------------------------------
def _mypy(*files):
    return subprocess.run([sys.executable, str(ROOT / "tests" / "typecheck" / "run_mypy.py"), *map(str, files)],
                          capture_output=True, text=True, timeout=600)


def test_mypy_builder_against_tensorrt_stubs():
    r = _mypy()
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_recipe_catches_trt_misuse(tmp_path):
    bad = tmp_path / "bad_builder.py"
    bad.write_text("import tensorrt as trt\n\n\ndef f(path: str) -> None:\n"
                   "    b = trt.Builder(trt.Logger(trt.Logger.WARNING))\n"
                   "    cfg = b.create_builder_config()\n    cfg.max_workspace_size = 1 << 30\n"
                   "    net = b.create_network(0)\n    b.build_engine(net, cfg)\n"
                   "    trt.OnnxParser(net, trt.Logger()).parse_from_file(3)\n")
    r = _mypy(bad)
    assert r.returncode != 0
    assert '"IBuilderConfig" has no attribute "max_workspace_size"' in r.stdout
    assert '"Builder" has no attribute "build_engine"' in r.stdout
    assert "parse_from_file" in r.stdout


def test_calibration_batches_follow_nvinfer_preprocessing(tmp_path):
    """Constant-colour frames: stretch fills the tensor with scale*(v-offset); a top-left / centred letterbox leaves
    black pixels (0) that are normalised too: scale*(0-offset) (deepstream-contract.md §2.5)."""
    import cv2

    rgb = (200, 100, 50)
    for i in range(2):
        img = np.zeros((40, 80, 3), np.uint8)
        img[:] = rgb[::-1]  # cv2 writes BGR
        cv2.imwrite(str(tmp_path / f"f{i}.png"), img)
    pre = engine.Preprocess(net_scale_factor=0.5, offsets=(10.0, 20.0, 30.0), color_format=0)
    (b,) = list(engine.calibration_batches(tmp_path, 2, (3, 32, 32), pre, 10))
    assert b.shape == (2, 3, 32, 32) and b.dtype == np.float32
    want = 0.5 * (np.array(rgb, np.float32) - [10, 20, 30])
    np.testing.assert_allclose(b[0, :, 16, 16], want)
    assert np.allclose(b[1], b[0])
    pre.maintain_aspect_ratio = True  # 80x40 -> 32x16 at the top, black below
    (b,) = list(engine.calibration_batches(tmp_path, 2, (3, 32, 32), pre, 10))
    np.testing.assert_allclose(b[0, :, 8, 16], want)
    np.testing.assert_allclose(b[0, :, 24, 16], 0.5 * (0 - np.array([10, 20, 30], np.float32)))
    pre.symmetric_padding, pre.color_format = True, 1  # centred: rows 8..23 image, BGR channel order
    (b,) = list(engine.calibration_batches(tmp_path, 2, (3, 32, 32), pre, 10))
    np.testing.assert_allclose(b[0, :, 16, 16], 0.5 * (np.array(rgb[::-1], np.float32) - [10, 20, 30]))
    np.testing.assert_allclose(b[0, :, 2, 16], -0.5 * np.array([10, 20, 30], np.float32))
    with pytest.raises(BuildError, match="at least batch-size"):
        list(engine.calibration_batches(tmp_path, 3, (3, 32, 32), pre, 10))


# -- per-version API guard lint (tensorrt.md §8, technique B, reduced) -------------------------------------------------
# Members that exist only in some TensorRT generations (tensorrt.md §3.1). The builder may touch them only by name
# (getattr/hasattr/setattr with a string, inside a version or presence guard that the fake-module tests exercise
# per version), never as plain attributes: mypy against the 10.13 stubs cannot see an unguarded use that breaks 8.x/11.x.
VERSION_SPECIFIC = {"EXPLICIT_BATCH", "STRONGLY_TYPED", "FP16", "INT8", "BF16", "FP8", "IInt8EntropyCalibrator2",
                    "int8_calibrator", "set_calibration_profile", "VERSION_COMPATIBLE", "EXCLUDE_LEAN_RUNTIME",
                    "hardware_compatibility_level"}
# Gone on the versions we support (removed in 10 or deprecated no-ops): never used at all.
REMOVED = {"max_workspace_size", "build_engine", "num_bindings", "get_binding_shape", "get_binding_name",
           "binding_is_input", "get_profile_shape", "max_batch_size", "platform_has_fast_fp16",
           "platform_has_fast_int8", "set_dynamic_range", "algorithm_selector", "has_implicit_batch_dimension"}


def test_version_specific_trt_members_only_touched_by_name():
    import ast

    for f in ("engine.py", "trt_compat.py"):
        tree = ast.parse((ROOT / "python" / "facemask_ds" / f).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                assert node.attr not in VERSION_SPECIFIC, f"{f}:{node.lineno}: plain .{node.attr} (use getattr)"
                assert node.attr not in REMOVED, f"{f}:{node.lineno}: .{node.attr} is not in TensorRT 10/11"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in REMOVED, f"{f}:{node.lineno}: {node.value!r}"
