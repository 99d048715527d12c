#!/usr/bin/env python3
"""mypy on the TensorRT builder against the tensorrt-stubs type stubs (recipe of tensorrt.md §6).

1. ``pip download --no-deps tensorrt-stubs==10.13.0.35.1`` (a plain install would drag in the `tensorrt`
   metapackage, which needs NVIDIA's index), cached in tests/.cache/wheels.
2. Unzip ``tensorrt/`` and ``tensorrt_bindings/`` into a temporary ``typings/`` and apply the documented patch:
   rename parameters called ``in`` (a syntax error), give ``channel_axis`` a default, drop ``import tensorrt_libs``.
3. Run mypy with tests/typecheck/mypy.ini (``mypy_path`` = that typings dir) on engine.py and trt_compat.py.

What this proves: every TensorRT attribute and call on the 10.x path exists with the right argument types. What
it does not: the 8.x / 11.x branches (accessed by name through getattr) and runtime behaviour.
Usage: python tests/typecheck/run_mypy.py [files...]   (exit status = mypy's)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
STUBS = "tensorrt-stubs==10.13.0.35.1"
CACHE = Path(os.environ.get("FACEMASK_TEST_CACHE", ROOT / "tests" / ".cache")) / "wheels"
DEFAULT_FILES = [ROOT / "python" / "facemask_ds" / "engine.py", ROOT / "python" / "facemask_ds" / "trt_compat.py"]


def stub_wheel() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    found = sorted(CACHE.glob("tensorrt_stubs-10.13.0.35.1-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", STUBS,
                        "-d", str(CACHE)], check=True)
        found = sorted(CACHE.glob("tensorrt_stubs-10.13.0.35.1-*.whl"))
    return found[0]


def patch(text: str) -> str:
    text = re.sub(r"\bin: list", "in_: list", text)
    text = re.sub(r"\bin: ", "in_: ", text)
    text = re.sub(r"(channel_axis: int)(\s*[,)])", r"\1 = ...\2", text)
    text = re.sub(r"^\s*import tensorrt_libs.*$", "", text, flags=re.M)
    return text


def make_typings(dest: Path) -> Path:
    typings = dest / "typings"
    with zipfile.ZipFile(stub_wheel()) as z:
        for n in z.namelist():
            if n.startswith(("tensorrt/", "tensorrt_bindings/")) and n.endswith(".pyi"):
                out = typings / n
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(patch(z.read(n).decode()))
    for pkg in ("tensorrt", "tensorrt_bindings"):
        (typings / pkg / "py.typed").write_text("")
    return typings


def main(argv: list[str]) -> int:
    files = [str(f) for f in (argv or DEFAULT_FILES)]
    with tempfile.TemporaryDirectory() as tmp:
        typings = make_typings(Path(tmp))
        cfg = Path(tmp) / "mypy.ini"
        cfg.write_text((HERE / "mypy.ini").read_text().replace("[mypy]\n", f"[mypy]\nmypy_path = {typings}\n", 1))
        cmd = [sys.executable, "-m", "mypy", "--config-file", str(cfg), "--no-incremental",
               "--cache-dir", os.devnull, *files]
        return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
