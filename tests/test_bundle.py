"""`facemask-ds bundle` on the real CenterFace ONNX: a complete deploy folder whose configs load, whose paths
resolve inside the folder, and whose build step names the engine exactly as nvinfer will."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import datasets
from facemask_ds import engine, paths

gi = pytest.importorskip("gi")
from gi.repository import GLib  # noqa: E402


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("b") / "deploy"
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "bundle", "--family", "centerface", "--onnx",
                        str(datasets.centerface_onnx()), "-o", str(out), "--batch-size", "2", "--height", "256",
                        "--width", "448"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return out, r


def test_bundle_layout_and_progress(bundle):
    out, r = bundle
    for rel in ("README.md", "build_engine.sh", "models/centerface.onnx", "lib/libnvdsinfer_facemask.so",
                "lib/facemask_parser.ini", "config_infer_primary_centerface.txt", "config_infer_primary_centerface.yml",
                "config_infer_primary_centerface_mask.txt", "config_nvinferserver_centerface.txt",
                "config_nvinferserver_centerface_grpc.txt", "triton_model_repo/facemask_centerface/config.pbtxt",
                "deepstream_app_centerface.txt", "pipelines.sh", "labels.txt", "tools/engine.py",
                "tools/trt_compat.py", "tools/build_engine.py"):
        assert (out / rel).is_file(), rel
    assert "1/4" in r.stderr and "4/4" in r.stderr
    assert (out / "lib/libnvdsinfer_facemask.so").read_bytes() == paths.parser_library_path().read_bytes()
    assert os.access(out / "build_engine.sh", os.X_OK)
    readme = (out / "README.md").read_text()
    assert "NvDsInferParseCenterFaceMask" in readme and "sh build_engine.sh" in readme


def test_bundle_model_is_prepared_at_the_requested_size(bundle):
    out, _ = bundle
    m = onnx.load(str(out / "models/centerface.onnx"))
    dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, 256, 448]
    s = ort.InferenceSession(str(out / "models/centerface.onnx"), providers=["CPUExecutionProvider"])
    assert s.run(["540"], {"input.1": np.zeros((2, 3, 256, 448), np.float32)})[0].shape == (2, 10, 64, 112)


def test_bundle_configs_point_inside_the_folder(bundle):
    out, _ = bundle
    kf = GLib.KeyFile()
    kf.load_from_file(str(out / "config_infer_primary_centerface.txt"), GLib.KeyFileFlags.NONE)
    g = "property"
    assert kf.get_integer_list(g, "infer-dims") == [3, 256, 448] and kf.get_integer(g, "batch-size") == 2
    for key in ("onnx-file", "custom-lib-path", "labelfile-path"):
        assert (out / kf.get_string(g, key)).is_file(), key
    onnx_real = os.path.realpath(out / kf.get_string(g, "onnx-file"))
    assert os.path.realpath(out / kf.get_string(g, "model-engine-file")) == onnx_real + "_b2_gpu0_fp16.engine"
    pbtxt = (out / "triton_model_repo/facemask_centerface/config.pbtxt").read_text()
    assert "dims: [ 3, 256, 448 ]" in pbtxt and "dims: [ 1, 64, 112 ]" in pbtxt and "max_batch_size: 2" in pbtxt


def test_bundle_moves_and_builds_with_the_same_name(bundle, tmp_path):
    """The folder is relocatable: build_engine.sh and the standalone tools name the engine by nvinfer's rule
    wherever the folder lands (checked without TensorRT: the command it would run)."""
    out, _ = bundle
    moved = tmp_path / "elsewhere"
    shutil.copytree(out, moved)
    sh = (moved / "build_engine.sh").read_text()
    assert "--saveEngine=models/centerface.onnx_b2_gpu0_fp16.engine" in sh
    assert "\"--optShapes='input.1':2x3x256x448\"" in sh and "--fp16" in sh
    assert subprocess.run(["sh", "-n", str(moved / "build_engine.sh")]).returncode == 0
    spec = engine.spec_from_nvinfer_config(moved / "config_infer_primary_centerface.txt")
    assert str(spec.target()) == os.path.realpath(moved / "models/centerface.onnx") + "_b2_gpu0_fp16.engine"
    # the bundled standalone builder runs without the facemask_ds package on its path
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-S", str(moved / "tools/build_engine.py"), "--config",
                        "config_infer_primary_centerface.txt", "--print-trtexec", "--trt-version", "10.3",
                        "--input-name", "input.1"], capture_output=True, text=True, cwd=moved, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"--saveEngine={spec.target()}" in r.stdout and "--skipInference" in r.stdout


def test_bundle_refuses_bad_input(tmp_path):
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "bundle", "--family", "centerface", "--onnx",
                        str(datasets.centerface_onnx()), "-o", str(tmp_path / "d"), "--height", "300", "--width",
                        "640"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 3 and "multiples of 32" in r.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "bundle", "--family", "centerface", "--onnx",
                        str(datasets.centerface_onnx()), "-o", str(tmp_path / "full")], capture_output=True, text=True)
    assert r.returncode == 2 and "not empty" in r.stderr


END_TO_END = r"""
import json, sys
import cv2, numpy as np, onnxruntime as ort
from gi.repository import GLib
from skimage import data
from facemask_ds import _native as n

out, mode, fam = sys.argv[1], sys.argv[2], sys.argv[3]
kf = GLib.KeyFile()
kf.load_from_file(f"{out}/config_infer_primary_{fam}{'_mask' if mode == 'mask' else ''}.txt", GLib.KeyFileFlags.NONE)
g = "property"
c, h, w = kf.get_integer_list(g, "infer-dims")
# the astronaut is square: stretch == letterbox for square networks; CenterFace stretches
assert (h == w or kf.get_integer(g, "maintain-aspect-ratio") == 0) and kf.get_integer(g, "model-color-format") == 0
rgb = cv2.resize(data.astronaut(), (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
x = kf.get_double(g, "net-scale-factor") * (rgb - np.asarray(kf.get_double_list(g, "offsets"), np.float32))
sess = ort.InferenceSession(f"{out}/" + kf.get_string(g, "onnx-file"), providers=["CPUExecutionProvider"])
names = kf.get_string_list(g, "output-blob-names")
outs = sess.run(names, {sess.get_inputs()[0].name: x.transpose(2, 0, 1)[None].copy()})
sym = kf.get_string(g, "parse-bbox-instance-mask-func-name" if mode == "mask" else "parse-bbox-func-name")
params = {"num_classes": kf.get_integer(g, "num-detected-classes"),
          "pre_cluster_thresholds": [kf.get_double("class-attrs-all", "pre-cluster-threshold")]}
r = n.call_parse_function(f"{out}/" + kf.get_string(g, "custom-lib-path"), sym, list(zip(names, outs)), (w, h, c),
                          params)[0]
print(json.dumps({"boxes": np.asarray(r["boxes"]).tolist(), "scores": np.asarray(r["scores"]).tolist(),
                  "masks": [list(m.shape) for m in r.get("masks", [])], "returned": r["returned"]}))
"""


@pytest.mark.parametrize("mode", ["bbox", "mask"])
def test_bundle_end_to_end_with_the_bundled_parser(bundle, mode):
    """The bundle's own pieces, wired as its config says: prepared ONNX (ONNX Runtime) -> the bundled
    libnvdsinfer_facemask.so called through nvinfer's prototype by the configured function name, reading the
    bundled facemask_parser.ini next to it. The astronaut's face (near x=224, y=116 of 512x512) is found."""
    import json

    out, _ = bundle
    env = {k: v for k, v in os.environ.items() if k != "FACEMASK_PARSER_CONFIG"}
    r = subprocess.run([sys.executable, "-c", END_TO_END, str(out), mode, "centerface"], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout)
    log = [ln for ln in r.stderr.splitlines() if ln.startswith("facemask-parser:")]
    assert log == [f"facemask-parser: options from {out.resolve()}/lib/facemask_parser.ini"], log  # read, no errors
    assert res["returned"] is True and len(res["scores"]) >= 1
    (left, top, bw, bh), score = res["boxes"][0], res["scores"][0]
    cx, cy = (left + bw / 2) * 512 / 448, (top + bh / 2) * 512 / 256  # network (448x256) -> photo pixels
    assert score > 0.5 and abs(cx - 224) < 40 and abs(cy - 116) < 50
    if mode == "mask":
        assert res["masks"][0] == [32, 32]  # mask-height x mask-width from the bundled INI


def test_emulators_config_reader_accepts_the_bundle(bundle):
    """facemask-ds emulate reads the same files: the bundle's configs give no warning but the engine still to build."""
    nvinfer_parse = pytest.importorskip("facemask_ds.nvinfer_parse")
    out, _ = bundle
    for name in ("config_infer_primary_centerface.txt", "config_infer_primary_centerface.yml",
                 "config_infer_primary_centerface_mask.txt", "config_infer_primary_centerface_mask.yml"):
        cfg = nvinfer_parse.load_config(out / name)
        others = [w for w in cfg.warnings if not w.startswith("model-engine-file")]
        assert others == [], (name, others)


@pytest.mark.parametrize("variant,size", [("short", 128), ("full", 192)])
def test_bundle_blazeface_batch1_graph(tmp_path, variant, size):
    """Real BlazeFace (tflite2onnx) hard-codes batch 1: refused for batch-size 2 with the reason, bundled with a
    fixed batch of 1 for batch-size 1, and the bundled parser finds the astronaut's face through the INI's
    output names (the full-range export renames its outputs)."""
    import json

    model = datasets.blazeface_onnx(variant)
    cmd = [sys.executable, "-m", "facemask_ds", "bundle", "--family", "blazeface", "--onnx", str(model), "--height",
           str(size), "--width", str(size)]
    r = subprocess.run(cmd + ["-o", str(tmp_path / "b2"), "--batch-size", "2"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 3 and "--batch-size 1" in r.stderr
    out = tmp_path / "b1"
    r = subprocess.run(cmd + ["-o", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    m = onnx.load(str(out / "models" / model.name))
    assert [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim] == [1, 3, size, size]
    ini = (out / "lib/facemask_parser.ini").read_text()
    names = [o.name for o in m.graph.output]
    assert f"output-names = {';'.join(names)}" in ini
    env = {k: v for k, v in os.environ.items() if k != "FACEMASK_PARSER_CONFIG"}
    r = subprocess.run([sys.executable, "-c", END_TO_END, str(out), "bbox", "blazeface"], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout)
    assert res["scores"] and res["scores"][0] > 0.5
    left, top, bw, bh = res["boxes"][0]
    cx, cy = (left + bw / 2) * 512 / size, (top + bh / 2) * 512 / size
    assert abs(cx - 224) < 40 and abs(cy - 116) < 50


def test_bundle_build_engine_path_with_fake_tensorrt(tmp_path, monkeypatch, capsys):
    """CONTROL FLOW ONLY (fake `tensorrt`, see test_engine.py): with --build-engine the bundle builds through
    build-engine's config path, names the engine as nvinfer does, writes the sidecar and the Triton plan copy."""
    import json

    from facemask_ds import cli
    from test_engine import fake_tensorrt

    calls: list = []
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt("10.16.1.11", calls))
    monkeypatch.setattr(engine, "gpu_info", lambda i: {"id": i, "name": "FakeGPU", "compute_capability": "9.0"})
    out = tmp_path / "d"
    args = cli.build_parser().parse_args(["bundle", "--family", "centerface", "--onnx", str(datasets.centerface_onnx()),
                                          "-o", str(out), "--batch-size", "4", "--build-engine"])
    assert args.func(args) == 0, capsys.readouterr().err
    eng = Path(os.path.realpath(out / "models/centerface.onnx") + "_b4_gpu0_fp16.engine")
    assert eng.read_bytes() == b"PLAN"
    side = json.loads(Path(str(eng) + ".json").read_text())
    assert side["batch_size"] == 4 and side["profile"]["input.1"]["max"] == [4, 3, 384, 640]
    assert (out / "triton_model_repo/facemask_centerface/1/model.plan").read_bytes() == b"PLAN"
    assert ("set_flag", "FP16") in calls
    assert "built here" in (out / "README.md").read_text()
