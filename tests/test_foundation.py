"""The build kit itself: artifacts installed in the package, doctor, env."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from facemask_ds import paths


def test_native_build_info(native):
    info = native.build_info()
    assert info["version"] == "0.1.0"
    assert info["deepstream_abi"].count(".") == 1
    assert isinstance(info["cuda"], bool)


def test_artifacts_inside_package():
    lib = paths.parser_library_path()
    plug = paths.plugin_path()
    assert lib.name == "libnvdsinfer_facemask.so" and lib.is_file()
    assert plug.name == "libgstfacemask.so" and plug.is_file()
    # nothing written to system directories
    assert "site-packages" in str(lib) or "dist-packages" in str(lib)


def test_env_prepends_both_and_keeps_entries(tmp_path):
    base = {"GST_PLUGIN_PATH": "/a:/b", "PATH": os.environ["PATH"]}
    env = paths.gst_env(base)
    d = str(paths.plugin_dir())
    assert env["GST_PLUGIN_PATH"].split(":") == [d, "/a", "/b"]
    # _1_0 unset before: it must not hide the old GST_PLUGIN_PATH entries
    assert env["GST_PLUGIN_PATH_1_0"].split(":") == [d, "/a", "/b"]
    env2 = paths.gst_env({**env, "GST_PLUGIN_PATH_1_0": f"{d}:/c"})
    assert env2["GST_PLUGIN_PATH_1_0"].split(":") == [d, "/c"]  # idempotent, keeps /c
    assert env2["GST_PLUGIN_PATH"].split(":") == [d, "/a", "/b"]


def test_env_eval_lets_gst_inspect_find_element(gst_registry):
    if not shutil.which("gst-inspect-1.0"):
        pytest.fail("gst-inspect-1.0 missing")
    exe = shutil.which("facemask-ds") or f"{sys.executable} -m facemask_ds"
    script = f'export GST_PLUGIN_PATH_1_0=/nonexistent; eval "$({exe} env)"; gst-inspect-1.0 facemaskblur'
    env = {k: v for k, v in os.environ.items() if not k.startswith("GST_PLUGIN_PATH")}
    env["GST_REGISTRY"] = str(gst_registry)
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "facemaskblur" in r.stdout


def test_doctor_reports_and_succeeds():
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "doctor", "--json"], capture_output=True, text=True)
    import json

    rep = json.loads(r.stdout)
    assert r.returncode == 0, (rep.get("problems"), r.stderr)
    assert rep["parser_library"]["path"].endswith("libnvdsinfer_facemask.so")
    assert rep["gst_plugin"]["gst_inspect_finds_facemaskblur"] is True
    # the plugin's own statement of its build: CUDA yes/no and the NVMM backend's DeepStream ABI (or not built)
    assert "NVMM backend" in rep["gst_plugin"]["build_info"] and "CUDA kernels" in rep["gst_plugin"]["build_info"]
    assert rep["parser_library"]["deepstream_abi"] == rep["native_module"]["deepstream_abi"]
    for k in ("python", "gstreamer", "cuda_driver", "cuda_runtime", "deepstream", "tensorrt", "onnxruntime"):
        assert rep[k]


def test_doctor_fails_with_one_line_reason(tmp_path):
    env = dict(os.environ, FACEMASK_DS_LIB_DIR=str(tmp_path))  # point at an empty dir: parser lib "missing"
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "doctor"], capture_output=True, text=True, env=env)
    assert r.returncode == 1
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "libnvdsinfer_facemask.so" in lines[0]
