"""facemask-ds: face redaction for NVIDIA DeepStream and GStreamer.

The native parts (parser library, GStreamer plugin, ``facemask_ds._native``) are built by ``pip install .``
and installed inside this package; :mod:`facemask_ds.paths` finds them for normal and editable installs.
"""

__version__ = "0.1.0"

from .paths import parser_library_path, plugin_dir  # noqa: E402,F401
