"""Generated configs: GKeyFile/YAML loading, the known nvinfer key set, paths relative to the config file that
resolve to nvinfer's own engine name, nvinferserver/Triton consistency, gst recipes, parser INI, configs/ drift."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from facemask_ds import engine, models
from facemask_ds import nvinfer_config as nc

ROOT = Path(__file__).resolve().parent.parent
gi = pytest.importorskip("gi")
from gi.repository import GLib  # noqa: E402


def keyfile(path: Path) -> GLib.KeyFile:
    kf = GLib.KeyFile()
    kf.load_from_file(str(path), GLib.KeyFileFlags.NONE)
    return kf


def kf_dict(kf: GLib.KeyFile) -> dict[str, dict[str, str]]:
    return {g: {k: kf.get_value(g, k) for k in kf.get_keys(g)[0]} for g in kf.get_groups()[0]}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("configs")
    nc.generate_repo_configs(root)
    return root


@pytest.mark.parametrize("key", models.keys())
@pytest.mark.parametrize("mode", ["bbox", "mask"])
def test_nvinfer_txt_loads_with_gkeyfile_and_uses_known_keys(generated, key, mode):
    f = models.get(key)
    d = nc.default_deployment(f)
    path = generated / key / d.file(f"{mode}_txt")
    kf = keyfile(path)
    groups = kf_dict(kf)
    assert set(groups) == {"property", "class-attrs-all"}
    assert set(groups["property"]) <= nc.PROPERTY_KEYS and set(groups["class-attrs-all"]) <= nc.CLASS_ATTR_KEYS
    p = "property"
    assert kf.get_integer(p, "num-detected-classes") == 1 and kf.get_integer(p, "gie-unique-id") == 1
    assert kf.get_integer_list(p, "infer-dims") == [3, *f.default_hw]
    assert kf.get_double_list(p, "offsets") == pytest.approx(list(f.offsets))
    assert kf.get_double(p, "net-scale-factor") == pytest.approx(f.net_scale_factor, rel=1e-12)
    assert kf.get_integer(p, "model-color-format") == f.color_format
    assert kf.get_integer(p, "maintain-aspect-ratio") == int(f.maintain_aspect_ratio)
    assert kf.get_integer(p, "symmetric-padding") == int(f.symmetric_padding)
    assert kf.get_string_list(p, "output-blob-names") == list(f.output_names)
    assert kf.get_double("class-attrs-all", "pre-cluster-threshold") == pytest.approx(f.score_threshold)
    if mode == "bbox":
        assert kf.get_integer(p, "network-type") == 0 and kf.get_integer(p, "cluster-mode") == 2
        assert kf.get_string(p, "parse-bbox-func-name") == f"NvDsInferParse{f.name}"
        assert kf.get_double("class-attrs-all", "nms-iou-threshold") == pytest.approx(f.nms_iou)
    else:
        assert kf.get_integer(p, "network-type") == 3 and kf.get_integer(p, "cluster-mode") == 4
        assert kf.get_integer(p, "output-instance-mask") == 1
        assert 0 < kf.get_double(p, "segmentation-threshold") < 1
        assert kf.get_string(p, "parse-bbox-instance-mask-func-name") == f"NvDsInferParse{f.name}Mask"
        assert "parse-bbox-func-name" not in kf.get_keys(p)[0]


@pytest.mark.parametrize("key", ["centerface", "scrfd", "yolov8face"])
def test_yml_says_the_same_as_txt(generated, key):
    d = nc.default_deployment(models.get(key))
    for mode in ("bbox", "mask"):
        txt = kf_dict(keyfile(generated / key / d.file(f"{mode}_txt")))
        yml = yaml.safe_load((generated / key / d.file(f"{mode}_yml")).read_text())
        assert set(yml) == set(txt)
        for g in txt:
            assert {k: str(v) for k, v in yml[g].items()} == txt[g]


def test_validation_rejects_typos_and_missing_keys():
    d = nc.default_deployment(models.get("scrfd"))
    g = nc.nvinfer_groups(d, "bbox")
    g["class-attrs-all"]["pre-cluster-treshold"] = 0.3
    with pytest.raises(nc.ConfigError, match="pre-cluster-treshold"):
        nc.validate_nvinfer(g)
    g = nc.nvinfer_groups(d, "bbox")
    del g["property"]["num-detected-classes"]
    with pytest.raises(nc.ConfigError, match="num-detected-classes"):
        nc.validate_nvinfer(g)
    g = nc.nvinfer_groups(d, "mask")
    g["property"]["cluster-mode"] = 2
    with pytest.raises(nc.ConfigError, match="cluster-mode=4"):
        nc.validate_nvinfer(g)
    with pytest.raises(nc.ConfigError, match="group"):
        nc.validate_nvinfer({"property": {}, "class-attrs-x": {}})
    with pytest.raises(nc.ConfigError, match="multiples of 32"):
        nc.Deployment(family=models.get("centerface"), height=360, width=640)


def test_paths_resolve_relative_to_the_config_and_name_nvinfers_engine(tmp_path):
    """model-engine-file, resolved like nvinfer does, is exactly the name nvinfer would build: no rebuild."""
    onnx = tmp_path / "store" / "my face.onnx"
    onnx.parent.mkdir()
    onnx.write_bytes(b"x")
    out = tmp_path / "deploy"
    d = nc.Deployment(family=models.get("yunet"), height=640, width=640, onnx=os.path.relpath(onnx, out),
                      batch_size=8, precision="int8", gpu_id=1)
    nc.write_all(d, out)
    kf = keyfile(out / d.file("bbox_txt"))
    base = out.resolve()
    onnx_file = (base / kf.get_string("property", "onnx-file")).resolve()
    assert onnx_file == onnx.resolve()
    eng = os.path.realpath(base / kf.get_string("property", "model-engine-file"))
    assert eng == str(onnx.resolve()) + "_b8_gpu1_int8.engine"  # int8 with int8-calib-file: mode int8
    assert kf.get_string("property", "int8-calib-file") == "models/calib.table"
    assert kf.get_string("property", "custom-lib-path") == "lib/libnvdsinfer_facemask.so"
    spec = engine.spec_from_nvinfer_config(out / d.file("bbox_txt"))  # the builder agrees
    assert str(spec.target()) == eng and spec.batch_size == 8 and spec.gpu_id == 1
    assert (out / "lib" / "facemask_parser.ini").exists() and (out / "labels.txt").read_text() == "face\n"


def test_deepstream_app_config(generated):
    d = nc.default_deployment(models.get("centerface"))
    kf = keyfile(generated / "centerface" / d.file("app"))
    assert kf.get_string("primary-gie", "config-file") == d.file("bbox_txt")
    assert (generated / "centerface" / kf.get_string("primary-gie", "config-file")).exists()
    assert kf.get_integer("streammux", "batch-size") == kf.get_integer("primary-gie", "batch-size") == 1
    assert kf.get_integer("streammux", "width") == 1920 and kf.get_integer("streammux", "height") == 1080


# -- nvinferserver / Triton --------------------------------------------------------------------------------------------
def _textproto_fields(text: str) -> list[tuple[str, str]]:
    """(path, value) pairs of a protobuf text file; asserts balanced braces and one statement per line."""
    stack, out = [], []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s == "}":
            stack.pop()
        elif s.endswith("{"):
            stack.append(s[:-1].strip())
        else:
            m = re.fullmatch(r"([a-z_]+): (.+)", s)
            assert m, f"not a text-proto field: {s!r}"
            out.append((".".join(stack + [m.group(1)]), m.group(2)))
    assert not stack
    return out


def test_nvinferserver_local_and_grpc(generated):
    f = models.get("centerface")
    d = nc.default_deployment(f)
    local = dict(_textproto_fields((generated / "centerface" / d.file("server_local")).read_text()))
    grpc = dict(_textproto_fields((generated / "centerface" / d.file("server_grpc")).read_text()))
    assert local["infer_config.backend.triton.model_repo.root"] == '"triton_model_repo"'
    assert "infer_config.backend.triton.grpc.url" not in local
    assert grpc["infer_config.backend.triton.grpc.url"] == '"localhost:8001"'
    assert not any(k.startswith("infer_config.backend.triton.model_repo") for k in grpc)
    for cfg in (local, grpc):
        assert cfg["infer_config.postprocess.detection.custom_parse_bbox_func"] == '"NvDsInferParseCenterFace"'
        assert cfg["infer_config.custom_lib.path"] == '"lib/libnvdsinfer_facemask.so"'
        assert cfg["infer_config.preprocess.network_format"] == "IMAGE_FORMAT_RGB"
        assert cfg["infer_config.preprocess.tensor_name"] == '"input.1"'
        assert cfg["infer_config.backend.triton.model_name"] == '"facemask_centerface"'
    triton = (generated / "centerface" / d.file("triton")).read_text()
    assert 'name: "facemask_centerface"' in triton and 'platform: "tensorrt_plan"' in triton
    assert "max_batch_size: 1" in triton and "dims: [ 3, 384, 640 ]" in triton and "dims: [ 10, 96, 160 ]" in triton
    retina = dict(_textproto_fields((generated / "retinaface" / "config_nvinferserver_retinaface.txt").read_text()))
    assert retina["infer_config.preprocess.network_format"] == "IMAGE_FORMAT_BGR"
    assert retina["infer_config.preprocess.normalize.channel_offsets"] == "[104, 117, 123]"


def test_nvinferserver_schema_rejects_unknown_fields():
    with pytest.raises(nc.ConfigError, match="no field 'mask_func'"):
        nc.validate_textproto({"infer_config": {"postprocess": {"detection": {"mask_func": "x"}}}})
    with pytest.raises(nc.ConfigError, match="message"):
        nc.validate_textproto({"infer_config": {"backend": 3}})


# -- gst recipes -------------------------------------------------------------------------------------------------------
def _recipe(generated: Path, name: str, tmp_path: Path) -> list[str]:
    """Run pipelines.sh with a stand-in gst-launch-1.0 that prints its argv: the exact tokens gst-launch would get."""
    fake = tmp_path / "fake-gst-launch"
    fake.write_text("#!" + sys.executable + "\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    fake.chmod(0o755)
    env = dict(os.environ, IN="rtsp://cam/x?a=1&b=2", N="3", GST_LAUNCH=str(fake))
    r = subprocess.run(["sh", str(generated / "centerface" / "pipelines.sh"), name], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    import json

    return json.loads(r.stdout)


def _branches(argv: list[str]) -> list[list[str]]:
    out, cur = [], []
    for tok in argv:
        if tok == "t.":
            out.append(cur)
            cur = []
        else:
            cur.append(tok)
    return out + [cur]


def test_gst_recipes(generated, tmp_path):
    single = _recipe(generated, "single", tmp_path)
    assert "uri=rtsp://cam/x?a=1&b=2" in single  # the URI survives the shell unsplit
    assert single.index("config-file-path=config_infer_primary_centerface.txt") < single.index("facemaskblur")
    multi = _recipe(generated, "multi", tmp_path)
    assert [t for t in multi if t.startswith("m.sink_")] == ["m.sink_0", "m.sink_1", "m.sink_2"]
    assert "batch-size=3" in multi
    assert multi.index("facemaskblur") < multi.index("nvmultistreamtiler")  # blur in streammux resolution
    fan = _recipe(generated, "fanout", tmp_path)
    assert fan.index("facemaskblur") < fan.index("tee")  # every branch redacted by construction
    head, *branches = _branches(_recipe(generated, "tee", tmp_path))
    assert head[-2:] == ["tee", "name=t"] and "facemaskblur" not in head and len(branches) == 2
    evidence = [b for b in branches if "location=evidence_unredacted.mp4" in b][0]
    redacted = [b for b in branches if "location=redacted.mp4" in b][0]
    assert "facemaskblur" not in evidence
    # the blurring branch makes its own copy before writing pixels (deepstream-contract.md §6)
    blur = redacted.index("facemaskblur")
    conv = redacted.index("nvvideoconvert")
    assert conv < blur and redacted[conv + 1] == "disable-passthrough=1"
    assert redacted[conv + 3] == "video/x-raw(memory:NVMM),format=RGBA" and redacted[conv + 4] == "!"


# -- parser INI --------------------------------------------------------------------------------------------------------
def _doc_keys() -> set[str]:
    doc = (ROOT / "docs" / "parser-options.md").read_text()
    table = doc.split("## Keys", 1)[1].split("###", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\| `([a-z-]+)`", table, re.M)} | \
        {m.group(1) for m in re.finditer(r"^\| `[a-z-]+`, `([a-z-]+)`", table, re.M)}


@pytest.mark.parametrize("key", models.keys())
def test_parser_ini_uses_documented_keys(generated, key):
    import configparser

    cp = configparser.ConfigParser(interpolation=None)
    cp.read(generated / key / "lib" / "facemask_parser.ini")
    f = models.get(key)
    assert cp.sections() == [f.name]
    assert set(cp[f.name]) <= _doc_keys()
    assert "output-names" not in cp[f.name]  # reference names: left to the decoder's lookup (names, shapes)
    d = nc.default_deployment(f, output_names=[f"out{i}" for i in range(len(f.output_names))])
    assert nc.parser_ini_sections(d)[f.name]["output-names"] == ";".join(f"out{i}" for i in range(len(f.output_names)))
    assert float(cp[f.name]["nms-iou"]) == f.nms_iou and cp[f.name]["score-threshold"] == "-1"


def test_doc_keys_are_the_generators_keys():
    assert _doc_keys() == nc.PARSER_INI_KEYS


# -- checked-in configs/ -----------------------------------------------------------------------------------------------
def test_checked_in_configs_are_up_to_date(generated):
    repo = ROOT / "configs"
    got = {p.relative_to(generated): p.read_text() for p in generated.rglob("*") if p.is_file()}
    have = {p.relative_to(repo): p.read_text() for p in repo.rglob("*") if p.is_file()}
    assert sorted(got) == sorted(have), "run: facemask-ds gen-config --all -o configs"
    stale = [str(k) for k in got if got[k] != have[k]]
    assert not stale, f"configs/ differs from the generator ({stale}); run: facemask-ds gen-config --all -o configs"


def test_cli_gen_config(tmp_path):
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "gen-config", "--family", "blazeface", "--height", "192",
                        "--width", "192", "--batch-size", "4", "-o", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    kf = keyfile(tmp_path / "config_infer_primary_blazeface.txt")
    assert kf.get_integer_list("property", "infer-dims") == [3, 192, 192]
    assert kf.get_string("property", "model-engine-file") == "models/blazeface.onnx_b4_gpu0_fp16.engine"
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "gen-config", "--family", "blazeface", "--height", "256",
                        "--width", "256", "-o", str(tmp_path / "x")], capture_output=True, text=True)
    assert r.returncode == 2 and "only at 128x128, 192x192" in r.stderr
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "gen-config", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "evidence" in r.stdout


DS_INCLUDES = Path(os.environ.get("DEEPSTREAM_INCLUDES", "/work/deps/deepstream-9.1/includes"))


def _proto_messages() -> dict[str, set[str]]:
    """message name -> field names, read from the DS 9.1 nvinferserver .proto files (nested messages by own name;
    map<> fields included)."""
    fields: dict[str, set[str]] = {}
    for f in ("nvdsinferserver_common.proto", "nvdsinferserver_config.proto", "nvdsinferserver_plugin.proto"):
        text = re.sub(r"/\*.*?\*/|//[^\n]*", "", (DS_INCLUDES / f).read_text(), flags=re.S)
        stack: list[str | None] = []
        for tok in re.finditer(r"(message|enum|oneof)\s+(\w+)\s*\{|\{|\}|(?:repeated\s+)?(?:map<[^>]+>|[\w.]+)\s+(\w+)"
                               r"\s*=\s*\d+\s*;", text):
            if tok.group(1):
                stack.append(tok.group(2) if tok.group(1) == "message" else (stack[-1] if tok.group(1) == "oneof"
                                                                              and stack else None))
            elif tok.group(0) == "{":
                stack.append(None)
            elif tok.group(0) == "}":
                stack.pop()
            elif tok.group(3) and stack and stack[-1]:
                fields.setdefault(stack[-1], set()).add(tok.group(3))
    return fields


@pytest.mark.skipif(not (DS_INCLUDES / "nvdsinferserver_config.proto").exists(),
                    reason="DeepStream 9.1 nvinferserver .proto files not available")
def test_nvinferserver_schema_matches_the_deepstream_protos():
    protos = _proto_messages()
    alias = {"MapDetectClassFilter": None, "MapPerClassParams": None}  # map<> entries: key/value
    for msg, schema_fields in nc.SERVER_SCHEMA.items():
        if msg in alias:
            assert set(schema_fields) == {"key", "value"}
            continue
        assert msg in protos, msg
        assert set(schema_fields) <= protos[msg], (msg, set(schema_fields) - protos[msg])
