"""An sdist carries everything needed to build; a wheel built from it installs and works in a fresh venv."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_sdist_builds_and_installs(tmp_path):
    r = subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path / "dist"), str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (sdist,) = (tmp_path / "dist").glob("facemask_ds-*.tar.gz")
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for needed in ("CMakeLists.txt", "pyproject.toml", "cmake/facemask_build_config.h.in", "csrc/core/decode.hpp",
                   "csrc/core/CMakeLists.txt", "csrc/nvdsinfer/CMakeLists.txt", "csrc/gst/CMakeLists.txt",
                   "csrc/bindings/module.cpp", "python/facemask_ds/cli.py"):
        assert needed in names, f"{needed} missing from the sdist"
    assert not any(n.startswith((".venv/", "build/")) for n in names)

    # Build the wheel from the sdist (CUDA off to keep the suite short: the CUDA build is covered elsewhere).
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path / "wh"), str(sdist),
                        "-Ccmake.define.FACEMASK_CUDA=OFF", f"-Cbuild-dir={tmp_path / 'bld'}"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (whl,) = (tmp_path / "wh").glob("facemask_ds-*.whl")
    with zipfile.ZipFile(whl) as zf:
        wn = zf.namelist()
    assert "facemask_ds/lib/libnvdsinfer_facemask.so" in wn
    assert "facemask_ds/gst-plugins/libgstfacemask.so" in wn
    assert any(n.startswith("facemask_ds/_native") and n.endswith(".so") for n in wn)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(whl)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run([str(py), "-c", "import facemask_ds, facemask_ds._native as n; "
                        "print(facemask_ds.parser_library_path()); print(n.build_info()['cuda'])"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lib, cuda = r.stdout.split()
    assert str(venv) in lib and cuda == "False"
