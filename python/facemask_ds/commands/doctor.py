"""``facemask-ds doctor``: what this installation has, what it was built for, and whether GStreamer finds it."""

from __future__ import annotations

import ctypes
import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from ..paths import gst_env, parser_library_path, plugin_path

DS_VERSION_FILES = [
    Path("/opt/nvidia/deepstream/deepstream/version"),
]


def register(sub) -> None:
    p = sub.add_parser(
        "doctor", help="report versions, built libraries and their DeepStream ABI; non-zero if a part is missing",
        description="Report Python, GStreamer, CUDA driver/runtime, DeepStream, TensorRT and ONNX Runtime versions "
                    "(or 'absent'), the paths of the built native libraries and the DeepStream ABI each was built "
                    "for, and whether gst-inspect-1.0 finds facemaskblur with the environment of `facemask-ds env`. "
                    "Exits 1 with a one-line reason when a required part is missing.")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def _cuda_driver() -> str:
    for name in ("libcuda.so.1", "libcuda.so"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        v = ctypes.c_int(0)
        if lib.cuDriverGetVersion(ctypes.byref(v)) == 0 and v.value:
            return f"{v.value // 1000}.{(v.value % 1000) // 10}"
        return "present (version query failed)"
    return "absent"


def _cuda_runtime() -> str:
    for name in ("libcudart.so", "libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        v = ctypes.c_int(0)
        if lib.cudaRuntimeGetVersion(ctypes.byref(v)) == 0 and v.value:
            return f"{v.value // 1000}.{(v.value % 1000) // 10}"
    return "absent"


def _deepstream() -> str:
    for f in DS_VERSION_FILES:
        if f.exists():
            txt = f.read_text().strip().splitlines()
            return txt[0].split("=", 1)[-1].strip() if txt else "present"
    return "absent"


def _py_module_version(name: str) -> str:
    try:
        mod = __import__(name)
        return str(getattr(mod, "__version__", "present"))
    except Exception:  # noqa: BLE001 - a broken stub (e.g. PyPI tensorrt without NVIDIA index) counts as absent
        return "absent"


def _gstreamer() -> str:
    exe = shutil.which("gst-launch-1.0")
    if not exe:
        return "absent"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "GStreamer" in line:
            return line.split()[-1]
    return "present"


def _parser_info(lib: Path) -> dict:
    try:
        h = ctypes.CDLL(str(lib))
    except OSError as e:
        return {"error": str(e)}
    info: dict = {}
    for sym, key in (("FacemaskParserBuildInfo", "build_info"), ("FacemaskParserAbi", "deepstream_abi")):
        fn = getattr(h, sym, None)
        if fn is not None:
            fn.restype = ctypes.c_char_p
            val = fn().decode()
            if key == "build_info":
                try:
                    info.update(json.loads(val))
                    continue
                except ValueError:
                    pass
            info[key] = val
    return info


def _inspect(env: dict) -> tuple[bool, str]:
    exe = shutil.which("gst-inspect-1.0")
    if not exe:
        return False, "gst-inspect-1.0 not installed"
    r = subprocess.run([exe, "facemaskblur"], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        return False, (r.stderr or r.stdout).strip().splitlines()[-1] if (r.stderr or r.stdout) else "not found"
    # The element's read-only `build-info` property states CUDA and the DeepStream ABI of its NVMM backend.
    lines = r.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("build-info"):
            for follow in lines[i + 1:i + 4]:
                if "Default:" in follow:
                    return True, follow.split("Default:", 1)[1].strip().strip('"')
    return True, ""


def collect() -> tuple[dict, list[str]]:
    problems: list[str] = []
    rep: dict = {
        "python": f"{platform.python_version()} ({sys.executable})",
        "gstreamer": _gstreamer(),
        "cuda_driver": _cuda_driver(),
        "cuda_runtime": _cuda_runtime(),
        "deepstream": _deepstream(),
        "tensorrt": _py_module_version("tensorrt"),
        "onnxruntime": _py_module_version("onnxruntime"),
    }
    try:
        from .. import _native

        rep["native_module"] = {"path": _native.__file__, **_native.build_info()}
    except ImportError as e:
        rep["native_module"] = "absent"
        problems.append(f"facemask_ds._native is not built/importable ({e}); reinstall with `pip install .`")
    lib = parser_library_path(required=False)
    if lib is None:
        rep["parser_library"] = "absent"
        problems.append("libnvdsinfer_facemask.so is missing from the installation; reinstall with `pip install .`")
    else:
        rep["parser_library"] = {"path": str(lib), **_parser_info(lib)}
    plug = plugin_path(required=False)
    if plug is None:
        rep["gst_plugin"] = "absent"
        problems.append("libgstfacemask.so was not built (GStreamer development files missing at build time); "
                        "install libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev and reinstall")
    else:
        ok, detail = _inspect(gst_env())
        rep["gst_plugin"] = {"path": str(plug), "gst_inspect_finds_facemaskblur": ok}
        if detail:
            rep["gst_plugin"]["build_info" if ok else "detail"] = detail
        if not ok:
            problems.append(f"gst-inspect-1.0 does not find facemaskblur with `facemask-ds env`: {detail}")
    return rep, problems


def _print(rep: dict, indent: str = "") -> None:
    for k, v in rep.items():
        if isinstance(v, dict):
            print(f"{indent}{k}:")
            _print(v, indent + "  ")
        else:
            print(f"{indent}{k}: {v}")


def run(args) -> int:
    rep, problems = collect()
    if args.json:
        print(json.dumps({**rep, "problems": problems}, indent=2))
    else:
        _print(rep)
    if problems:
        print(f"facemask-ds doctor: FAIL: {problems[0]}", file=sys.stderr)
        return 1
    if not args.json:
        print("facemask-ds doctor: OK")
    return 0
