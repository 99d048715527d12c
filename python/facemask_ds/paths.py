"""Where the native artifacts of this installation live.

Wheels put them inside the package (``facemask_ds/lib``, ``facemask_ds/gst-plugins``). A scikit-build-core
editable install keeps ``__file__`` in the source tree while the binaries go to site-packages, so the
distribution's RECORD is consulted as a fallback. ``FACEMASK_DS_LIB_DIR`` / ``FACEMASK_DS_PLUGIN_DIR``
override both (for tests of a build tree).
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import metadata
from pathlib import Path

PARSER_LIBRARY = "libnvdsinfer_facemask.so"
PLUGIN_LIBRARY = "libgstfacemask.so"
DIST_NAME = "facemask-ds"


class NativeArtifactMissing(FileNotFoundError):
    """A native library this installation should contain was not built or not installed."""


def package_dir() -> Path:
    return Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def _from_record(name: str) -> Path | None:
    try:
        dist = metadata.distribution(DIST_NAME)
    except metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if f.name == name:
            p = Path(dist.locate_file(f)).resolve()
            if p.exists():
                return p
    return None


def _find(name: str, subdir: str, env: str) -> Path | None:
    override = os.environ.get(env)
    if override:
        p = Path(override) / name
        return p if p.exists() else None
    p = package_dir() / subdir / name
    if p.exists():
        return p
    return _from_record(name)


def parser_library_path(required: bool = True) -> Path | None:
    """Absolute path of ``libnvdsinfer_facemask.so`` (the nvinfer ``custom-lib-path``)."""
    p = _find(PARSER_LIBRARY, "lib", "FACEMASK_DS_LIB_DIR")
    if p is None and required:
        raise NativeArtifactMissing(
            f"{PARSER_LIBRARY} is not part of this installation; reinstall with `pip install .` "
            "and check `facemask-ds doctor`")
    return p


def plugin_path(required: bool = True) -> Path | None:
    """Absolute path of ``libgstfacemask.so`` (None when GStreamer dev files were missing at build time)."""
    p = _find(PLUGIN_LIBRARY, "gst-plugins", "FACEMASK_DS_PLUGIN_DIR")
    if p is None and required:
        raise NativeArtifactMissing(
            f"{PLUGIN_LIBRARY} was not built (GStreamer development files missing at build time?); "
            "run scripts/test.sh or install libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev and reinstall")
    return p


def plugin_dir(required: bool = True) -> Path | None:
    p = plugin_path(required)
    return p.parent if p else None


def gst_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment in which gst-launch-1.0 / gst-inspect-1.0 find ``facemaskblur``.

    GStreamer reads ``GST_PLUGIN_PATH_1_0`` *instead of* ``GST_PLUGIN_PATH`` when it is set. Both are set:
    ``GST_PLUGIN_PATH`` = plugin dir + its old entries; ``GST_PLUGIN_PATH_1_0`` = plugin dir + its old entries,
    or, when it was unset, + the old ``GST_PLUGIN_PATH`` entries (so nothing the user had is hidden).
    Idempotent: the plugin dir is never added twice.
    """
    env = dict(os.environ if base is None else base)
    d = str(plugin_dir(required=True))

    def split(v: str | None) -> list[str]:
        return [x for x in (v or "").split(os.pathsep) if x]

    plain = split(env.get("GST_PLUGIN_PATH"))
    versioned = split(env.get("GST_PLUGIN_PATH_1_0")) if "GST_PLUGIN_PATH_1_0" in env else list(plain)
    for key, parts in (("GST_PLUGIN_PATH", plain), ("GST_PLUGIN_PATH_1_0", versioned)):
        parts = [d] + [p for p in parts if p != d]
        env[key] = os.pathsep.join(parts)
    return env


def register_plugin() -> bool:
    """In-process: make ``facemaskblur`` visible to an initialised GStreamer (PyGObject)."""
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst

    if not Gst.is_initialized():
        Gst.init(None)
    return bool(Gst.Registry.get().scan_path(str(plugin_dir(required=True))))
