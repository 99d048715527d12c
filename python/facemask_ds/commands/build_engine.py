"""``facemask-ds build-engine``: ONNX -> TensorRT engine under nvinfer's own file name (no rebuild at start)."""

from __future__ import annotations

from .. import engine


def register(sub) -> None:
    p = sub.add_parser("build-engine", help="build the TensorRT engine nvinfer expects for a config (on the target)",
                       description=engine.CLI_DESCRIPTION)
    engine.add_arguments(p)
    p.set_defaults(func=engine.run_cli)
