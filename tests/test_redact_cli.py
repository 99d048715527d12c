"""facemask-ds redact: the detector path (ORT + core decode/NMS/back-map) against a numpy oracle, and the image and
video CLI end to end through GStreamer and facemaskblur on real data (CenterFace, astronaut, a generated clip)."""

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

from facemask_ds.redact import FaceDetector, RedactError, RedactOptions


def _oracle_detect(rgb, model, net_w, net_h, thr=0.2, iou=0.3):
    """Stretch to the network size (CenterFace, no letterbox), ORT, numpy decode + NMS, per-axis back-mapping."""
    import cv2
    import onnx
    import onnxruntime as ort

    m = onnx.load(str(model))
    inits = {i.name for i in m.graph.initializer}
    keep = [i for i in m.graph.input if i.name not in inits]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    for d, n in zip(m.graph.input[0].type.tensor_type.shape.dim, ["b", None, "h", "w"]):
        if n:
            d.dim_param = n
    for o in m.graph.output:
        for k, d in enumerate(o.type.tensor_type.shape.dim):
            d.dim_param = f"{o.name}_{k}"
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    H, W = rgb.shape[:2]
    sw, sh = W // 2 * 2, H // 2 * 2
    x = cv2.resize(rgb[:sh, :sw], (net_w, net_h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    hm, sc, of, lm = sess.run(None, {sess.get_inputs()[0].name: x.transpose(2, 0, 1)[None]})
    boxes, scores, lms = o_centerface.decode(hm[0], sc[0], of[0], lm[0], net_w, net_h, thr)
    k = o_common.nms(boxes, scores, iou)
    rx, ry = net_w / sw, net_h / sh
    b = boxes[k] / np.array([rx, ry, rx, ry])
    b[:, 2] = np.minimum(b[:, 2], W)
    b[:, 3] = np.minimum(b[:, 3], H)
    return b, scores[k], lms[k] / np.array([rx, ry])


@pytest.fixture(scope="module")
def model():
    return datasets.centerface_onnx()


def test_detector_matches_oracle(model):
    rgb = datasets.astronaut_rgb()[:, 30:]          # 512x482: non-square, odd aspect
    det = FaceDetector(RedactOptions(model=model, detection_size=(300, 200), threads=1))
    got = det.detect(rgb)
    assert got["net_size"] == (320, 224)           # rounded up to multiples of 32
    b, s, lm = _oracle_detect(rgb, model, 320, 224)
    assert len(got["scores"]) == len(s) >= 1
    np.testing.assert_allclose(got["boxes"], b, rtol=1e-4, atol=0.05)
    np.testing.assert_allclose(got["scores"], s, rtol=1e-5)
    np.testing.assert_allclose(got["landmarks"], lm, rtol=1e-4, atol=0.05)


def test_detector_i420_path_finds_the_same_face(model):
    import cv2

    rgb = datasets.astronaut_rgb()
    yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    H, W = rgb.shape[:2]
    y = yuv[:H]
    u = yuv[H:H + H // 4].reshape(H // 2, W // 2)
    v = yuv[H + H // 4:].reshape(H // 2, W // 2)
    det = FaceDetector(RedactOptions(model=model, threads=1))
    a, b = det.detect(rgb), det.detect_i420(y, u, v)
    assert len(a["scores"]) == len(b["scores"]) == 1
    assert o_common.iou(a["boxes"][0], b["boxes"][0]) > 0.9


def test_detector_errors(model, tmp_path):
    with pytest.raises(RedactError, match="--model"):
        FaceDetector(RedactOptions(model=None))
    with pytest.raises(RedactError, match="does not exist"):
        FaceDetector(RedactOptions(model=tmp_path / "none.onnx"))
    with pytest.raises(RedactError, match="unknown model family"):
        FaceDetector(RedactOptions(model=model, family="nope"))


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "facemask_ds", "redact", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def test_redact_image_cli(model, tmp_path, gst_env):
    import cv2

    rgb = datasets.astronaut_rgb()
    src = tmp_path / "a.png"
    cv2.imwrite(str(src), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    r = _cli(src, "-o", tmp_path / "b.png", "--model", model, "--stats-json", tmp_path / "s.json", "--compare",
             tmp_path / "cmp.png", "--shape", "box", "--mode", "fill", "--margin", "1.0", "--feather", "0")
    assert r.returncode == 0, r.stderr
    st = json.loads((tmp_path / "s.json").read_text())
    assert st["faces"] == 1
    x1, y1, x2, y2, _ = st["per_frame"][0][0]
    out = cv2.cvtColor(cv2.imread(str(tmp_path / "b.png")), cv2.COLOR_BGR2RGB)
    inside = out[int(y1) + 2:int(y2) - 2, int(x1) + 2:int(x2) - 2].reshape(-1, 3)
    assert (inside == inside[0]).all(), "mode=fill must paint the whole box one colour"
    assert not np.array_equal(inside, rgb[int(y1) + 2:int(y2) - 2, int(x1) + 2:int(x2) - 2].reshape(-1, 3))
    np.testing.assert_array_equal(out[300:, :], rgb[300:, :])        # far from the face: untouched
    assert (tmp_path / "cmp.png").is_file()
    cmp = cv2.imread(str(tmp_path / "cmp.png"))
    assert cmp.shape == (512, 512 * 2 + 8, 3)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, gst_env):
    d = tmp_path_factory.mktemp("clip")
    p = d / "clip.mp4"
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "demo", "clip", str(p), "--seconds", "1.2", "--fps",
                        "10", "--size", "480x272"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return p


def _decode_frames(path: Path, env) -> np.ndarray:
    r = subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={path}", "!", "decodebin", "!", "videoconvert",
                        "!", "video/x-raw,format=RGB", "!", "fdsink", "fd=1"], capture_output=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return np.frombuffer(r.stdout, np.uint8)


def _has_audio(path: Path, env) -> bool:
    r = subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={path}", "!", "qtdemux", "name=d", "d.audio_0",
                        "!", "queue", "!", "fakesink"], capture_output=True, env=env, timeout=60)
    return r.returncode == 0


def test_redact_video_cli(model, clip, tmp_path, gst_env):
    out = tmp_path / "out.mp4"
    r = _cli(clip, "-o", out, "--model", model, "--detection-size", "480x272", "--stats-json", tmp_path / "s.json",
             "--compare", tmp_path / "cmp.png", "--mode", "fill", "--shape", "box", "--hold-frames", "0", "--feather", "0",
             "--margin", "1.0")
    assert r.returncode == 0, r.stderr
    assert "fps" in r.stderr and "audio remuxed" in r.stderr
    st = json.loads((tmp_path / "s.json").read_text())
    assert st["frames"] == 12 and st["net_size"] == [480, 288]
    assert st["frames_with_faces"] == 12 and st["faces"] >= 12
    assert _has_audio(out, gst_env) and _has_audio(clip, gst_env)
    a = _decode_frames(clip, gst_env).reshape(12, 272, 480, 3).astype(int)
    b = _decode_frames(out, gst_env).reshape(12, 272, 480, 3).astype(int)
    for k in (0, 6, 11):
        x1, y1, x2, y2, _ = max(st["per_frame"][k], key=lambda f: (f[2] - f[0]) * (f[3] - f[1]))
        ys, xs = slice(int(y1) + 3, int(y2) - 3), slice(int(x1) + 3, int(x2) - 3)
        inner = b[k, ys, xs].reshape(-1, 3)
        assert inner.std(axis=0).max() < 6, "face box must be filled (up to coding noise)"
        assert np.abs(a[k, ys, xs] - b[k, ys, xs]).mean() > 20
        mask = np.ones((272, 480), bool)
        for f in st["per_frame"][k]:
            mask[max(0, int(f[1]) - 8):int(f[3]) + 8, max(0, int(f[0]) - 8):int(f[2]) + 8] = False
        assert np.abs(a[k][mask] - b[k][mask]).mean() < 4, "background must survive (up to coding noise)"
    assert (tmp_path / "cmp.png").is_file()


def test_redact_video_no_audio_and_mkv(model, clip, tmp_path, gst_env):
    out = tmp_path / "out.mkv"
    r = _cli(clip, "-o", out, "--model", model, "--detection-size", "320x192", "--no-audio", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "not kept" in r.stderr
    assert _decode_frames(out, gst_env).size == 12 * 272 * 480 * 3


@pytest.mark.parametrize("args,msg", [
    (["--model", "/nonexistent.onnx"], "does not exist"),
    (["--set", "no-such-prop=1"], "no property 'no-such-prop'"),
    (["--mode", "sparkle"], ""),
    (["-o", "x.avi"], "unsupported output container"),
])
def test_redact_video_errors(model, clip, tmp_path, args, msg):
    base = ["--model", model, "-o", tmp_path / "o.mp4", "--no-progress"]
    r = _cli(clip, *base, *args)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and "error" in r.stderr
    assert msg in r.stderr


def test_redact_missing_input(model, tmp_path):
    r = _cli(tmp_path / "none.mp4", "--model", model)
    assert r.returncode == 1 and "does not exist" in r.stderr


def test_redact_not_a_video(model, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    r = _cli(bad, "--model", model, "-o", tmp_path / "o.mp4", timeout=120)
    assert r.returncode == 1 and "cannot decode" in r.stderr and "Traceback" not in r.stderr
