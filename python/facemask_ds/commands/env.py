"""``facemask-ds env``: shell exports so gst-launch-1.0 finds facemaskblur (``eval "$(facemask-ds env)"``)."""

from __future__ import annotations

import shlex
import sys

from ..paths import NativeArtifactMissing, gst_env, parser_library_path


def register(sub) -> None:
    p = sub.add_parser(
        "env", help="print shell exports for GStreamer (use: eval \"$(facemask-ds env)\")",
        description="Print `export` lines that prepend the installed plugin directory to GST_PLUGIN_PATH and "
                    "GST_PLUGIN_PATH_1_0 (existing entries kept, nothing added twice) and name the parser library "
                    "in FACEMASK_DS_PARSER_LIB. Use: eval \"$(facemask-ds env)\"")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        env = gst_env()
    except NativeArtifactMissing as e:
        print(f"facemask-ds env: {e}", file=sys.stderr)
        return 1
    for key in ("GST_PLUGIN_PATH", "GST_PLUGIN_PATH_1_0"):
        print(f"export {key}={shlex.quote(env[key])}")
    lib = parser_library_path(required=False)
    if lib:
        print(f"export FACEMASK_DS_PARSER_LIB={shlex.quote(str(lib))}")
    return 0
