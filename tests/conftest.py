"""Shared fixtures. The suite runs against the *installed* package (scripts/test.sh installs it).

A missing native module is a hard failure, never a skip: the whole point of the suite is the built code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import facemask_ds
from facemask_ds import paths

ROOT = Path(__file__).resolve().parent.parent
DATA_CACHE = Path(os.environ.get("FACEMASK_TEST_CACHE", ROOT / "tests" / ".cache"))

try:
    from facemask_ds import _native  # noqa: F401
except ImportError as e:  # pragma: no cover - must fail loudly
    raise RuntimeError(
        f"facemask_ds._native did not build or cannot be imported ({e}). "
        "Run scripts/test.sh, which builds and installs the package before testing.") from e

assert Path(facemask_ds.__file__).resolve().is_relative_to(ROOT / "python") is False or os.environ.get(
    "FACEMASK_ALLOW_SOURCE_TREE"), "tests must run against the installed package, not python/ in the source tree"


@pytest.fixture(scope="session")
def native():
    from facemask_ds import _native

    return _native


@pytest.fixture(scope="session")
def parser_lib() -> Path:
    return paths.parser_library_path(required=True)


@pytest.fixture(scope="session")
def gst_registry(tmp_path_factory) -> Path:
    """A private GStreamer registry for this test session (no stale cache from earlier builds)."""
    reg = tmp_path_factory.mktemp("gstreg") / "registry.bin"
    os.environ["GST_REGISTRY"] = str(reg)
    os.environ["GST_REGISTRY_1_0"] = str(reg)
    return reg


@pytest.fixture(scope="session")
def gst_env(gst_registry) -> dict:
    """Environment for gst-launch-1.0 / gst-inspect-1.0 subprocesses that finds facemaskblur."""
    if not shutil.which("gst-launch-1.0"):
        pytest.fail("gst-launch-1.0 is not installed; scripts/test.sh installs gstreamer1.0-tools")
    env = paths.gst_env()
    env["GST_REGISTRY"] = str(gst_registry)
    env["GST_REGISTRY_1_0"] = str(gst_registry)
    return env


@pytest.fixture(scope="session")
def Gst(gst_registry):
    """PyGObject Gst with the installed plugin registered in-process."""
    gi = pytest.importorskip("gi")
    gi.require_version("Gst", "1.0")
    gi.require_version("GstVideo", "1.0")
    gi.require_version("GstApp", "1.0")
    from gi.repository import Gst as _Gst

    _Gst.init(None)
    assert paths.register_plugin(), "could not register the installed facemask plugin"
    assert _Gst.ElementFactory.find("facemaskblur") is not None, "facemaskblur not found after registration"
    return _Gst


def run(cmd, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(cmd, **kw)
