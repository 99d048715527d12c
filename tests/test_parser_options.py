"""The facemask_parser.ini reader (csrc/core/options.cpp) through _native.parse_parser_options: keys, precedence,
syntax, error reporting, per-family defaults as documented in docs/parser-options.md."""

from __future__ import annotations

import pytest

FAMILIES = ["CenterFace", "RetinaFace", "Scrfd", "YuNet", "YoloV5Face", "YoloV8Face", "BlazeFace"]


def test_defaults_per_family(native):
    r = native.parse_parser_options("")
    assert r["errors"] == []
    for f in FAMILIES:
        o = r["families"][f]
        assert o["output_names"] == [] and o["landmark_order"] == [] and o["variant"] == "auto"
        assert (o["score_threshold"], o["top_k"], o["mask_width"], o["mask_height"]) == (-1.0, 300, 32, 32)
        assert o["nms_iou"] == pytest.approx(0.3 if f in ("CenterFace", "BlazeFace") else 0.4)


def test_precedence_common_then_family_regardless_of_order(native):
    text = """
        [CenterFace]
        top-k = 7
        [common]
        top-k = 50
        nms-iou = 0.45
        mask_width = 16
    """
    r = native.parse_parser_options(text)
    assert r["errors"] == []
    assert r["families"]["CenterFace"]["top_k"] == 7 and r["families"]["RetinaFace"]["top_k"] == 50
    assert all(r["families"][f]["nms_iou"] == pytest.approx(0.45) for f in FAMILIES)
    assert all(r["families"][f]["mask_width"] == 16 for f in FAMILIES)


def test_syntax_comments_bom_case_and_lists(native):
    text = ("\ufeff# comment\n; another\ntop-k = 9\n[ centerface ]\n  OUTPUT_NAMES =  hm ; sc;of ; lm  \n"
            "Landmark-Order = 1;0;2;4;3\nscore-threshold = 0.35\nvariant = AUTO\n[BlazeFace]\n"
            "landmark-order = 0;1;2;3;5;4\nvariant = full\n")
    r = native.parse_parser_options(text)
    assert r["errors"] == []
    cf = r["families"]["CenterFace"]
    assert cf["output_names"] == ["hm", "sc", "of", "lm"] and cf["landmark_order"] == [1, 0, 2, 4, 3]
    assert cf["score_threshold"] == pytest.approx(0.35) and cf["variant"] == "auto" and cf["top_k"] == 9
    bf = r["families"]["BlazeFace"]
    assert bf["landmark_order"] == [0, 1, 2, 3, 5, 4] and bf["variant"] == "full"


@pytest.mark.parametrize("line,needle", [
    ("top-k = 0", "top-k '0'"), ("top-k = 1.5", "top-k '1.5'"), ("nms-iou = 0", "nms-iou '0'"),
    ("nms-iou = nan", "nms-iou 'nan'"), ("score-threshold = 1.2", "score-threshold '1.2'"),
    ("score-threshold = -0.5", "score-threshold '-0.5'"), ("mask-width = 2000", "mask-width '2000'"),
    ("mask-height = x", "mask-height 'x'"), ("landmark-order = 0;1;2;3", "needs 5"),
    ("landmark-order = 0;1;1;3;4", "not a permutation"), ("output-names = a;;c", "empty entry"),
    ("variant =", "variant is empty"), ("colour = red", "unknown key 'colour'"), ("just words", "expected 'key = value'"),
])
def test_bad_entries_are_reported_with_line_and_ignored(native, line, needle):
    r = native.parse_parser_options(f"[Scrfd]\ntop-k = 11\n{line}\n", "f.ini")
    assert len(r["errors"]) == 1 and r["errors"][0].startswith("f.ini:3: ") and needle in r["errors"][0], r["errors"]
    o = r["families"]["Scrfd"]
    assert o["top_k"] == 11 and o["nms_iou"] == pytest.approx(0.4) and o["mask_width"] == 32  # others untouched


def test_unknown_and_malformed_sections_skip_their_entries(native):
    r = native.parse_parser_options("[Yolo]\ntop-k = 1\n[CenterFace\ntop-k = 2\n[YuNet]\ntop-k = 3\n")
    assert len(r["errors"]) == 2
    assert "unknown section [Yolo]" in r["errors"][0] and "malformed section header" in r["errors"][1]
    assert r["families"]["YuNet"]["top_k"] == 3
    assert all(r["families"][f]["top_k"] == 300 for f in FAMILIES if f != "YuNet")


def test_common_landmark_order_is_checked_per_family(native):
    r = native.parse_parser_options("[common]\nlandmark-order = 1;0;2;4;3\n")
    assert len(r["errors"]) == 1 and "BlazeFace needs 6" in r["errors"][0]
    assert r["families"]["BlazeFace"]["landmark_order"] == []
    assert r["families"]["Scrfd"]["landmark_order"] == [1, 0, 2, 4, 3]


def test_generated_ini_of_every_family_reads_cleanly(native):
    """What the config generator writes (python/facemask_ds/nvinfer_config.py) is read without a single error and
    with the values it meant, by the library's own reader."""
    from facemask_ds import models, nvinfer_config

    for fam in models.FAMILIES.values():
        names = [f"renamed_{i}" for i in range(len(fam.output_names))]
        for kw in ({}, {"output_names": names, "top_k": 17, "mask_size": (24, 16), "nms_iou": 0.5}):
            d = nvinfer_config.default_deployment(fam, **kw)
            text = nvinfer_config.render_parser_ini(d)
            r = native.parse_parser_options(text, fam.name)
            assert r["errors"] == [], (fam.name, r["errors"], text)
            sections = [ln.strip()[1:-1] for ln in text.splitlines() if ln.strip().startswith("[")]
            assert len(sections) == 1
            key = next(f for f in FAMILIES if f.lower() == sections[0].lower())
            o = r["families"][key]
            if kw:
                assert o["output_names"] == names and o["top_k"] == 17 and (o["mask_width"], o["mask_height"]) == (
                    24, 16) and o["nms_iou"] == pytest.approx(0.5)
