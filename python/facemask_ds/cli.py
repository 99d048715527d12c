"""``facemask-ds`` command line.

Each subcommand lives in ``facemask_ds/commands/<name>.py`` and exposes ``register(subparsers)``, which adds its
parser and sets ``func`` (called with the parsed namespace, returns the exit code). Commands are discovered in
the order of ``COMMANDS``; a module that is missing or fails to import is reported, not hidden.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

COMMANDS = [
    "doctor", "env", "models", "prepare_onnx", "build_engine", "gen_config", "bundle", "emulate", "redact", "demo",
]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="facemask-ds",
        description="Face redaction for NVIDIA DeepStream and GStreamer: prepare face-detector ONNX files, build "
                    "TensorRT engines, write nvinfer/nvinferserver/Triton configs, emulate nvinfer on the CPU and "
                    "redact images and video offline.",
    )
    p.add_argument("--version", action="version", version=f"facemask-ds {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"facemask_ds.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"facemask_ds.commands.{name}":
                continue  # command not shipped in this build
            raise
        mod.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
