"""``facemask-ds prepare-onnx``: make a face-detector ONNX runnable by nvinfer / TensorRT, or say why not."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import models, onnx_tools


def register(sub) -> None:
    p = sub.add_parser(
        "prepare-onnx", help="rewrite placeholder dims to dynamic batch + fixed HxW and verify with ONNX Runtime",
        description="Rewrite the input to [batch, 3, H, W] with a dynamic batch and the chosen H x W (e.g. CenterFace's "
                    "placeholder [10,3,32,32]), drop initializers listed as graph inputs, keep FP32 I/O, write static "
                    "per-frame output dims, then run ONNX Runtime at batch 1 and batch N and require every frame of the "
                    "batch to match that frame run alone. Prints the I/O table. Refuses, with the reason, models "
                    "nvinfer cannot run (image input not first, data-dependent output shapes, non-batch-major "
                    "outputs). Exit 0 = written and verified, 3 = refused.")
    p.add_argument("onnx", help="input ONNX file")
    p.add_argument("-o", "--output", required=True, help="output ONNX file")
    p.add_argument("--family", help=f"model family ({', '.join(models.keys())}): size rules, default size and the "
                   "normalisation of the verification frames")
    p.add_argument("--height", type=int, help="network input height (default: the family's)")
    p.add_argument("--width", type=int, help="network input width (default: the family's)")
    p.add_argument("--batch", type=int, default=3, help="batch size of the ONNX Runtime check (default 3); 1 = keep "
                   "a fixed batch of 1 for graphs that hard-code it (deploy with nvinfer batch-size=1 only)")
    p.add_argument("--image", help="a photo to use as frame 0 of the check (any format OpenCV reads)")
    p.set_defaults(func=run)


def load_image(path: str):
    import cv2

    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {path}")
    return bgr[:, :, ::-1].copy()


def print_report(r: onnx_tools.PrepareReport) -> None:
    print(onnx_tools.format_io_table(r.inputs + r.outputs))
    check = ("batch 1 only (fixed batch 1: nvinfer batch-size=1)" if r.batch_checked == 1 else
             f"batch 1 vs batch {r.batch_checked}: per-frame outputs agree (max |diff| "
             f"{max(r.max_abs_diff.values(), default=0.0):.3g})")
    print(f"\ninput {r.height}x{r.width} (HxW), opset {r.opset}, {r.dropped_initializer_inputs} initializer inputs "
          f"dropped; {check}")
    print(f"sha256 {r.sha256}  {r.dst}")
    for w in r.warnings:
        print(f"warning: {w}", file=sys.stderr)


def run(args) -> int:
    def say(msg: str) -> None:
        print(f"[prepare-onnx] {msg}", file=sys.stderr, flush=True)

    try:
        fam = models.get(args.family) if args.family else None
        img = load_image(args.image) if args.image else None
        if Path(args.output).resolve() == Path(args.onnx).resolve():
            raise ValueError("output must differ from the input file")
        r = onnx_tools.prepare(args.onnx, args.output, fam, args.height, args.width, batch=args.batch, image=img,
                               progress=say)
    except onnx_tools.NotDeployable as e:
        print(f"facemask-ds prepare-onnx: refused: {e}", file=sys.stderr)
        if isinstance(e, onnx_tools.BatchNotDynamic):
            print("It runs at batch 1: `--batch 1` prepares it for nvinfer batch-size=1 only.", file=sys.stderr)
        return 3
    except (KeyError, ValueError, OSError) as e:
        print(f"facemask-ds prepare-onnx: {e}", file=sys.stderr)
        return 2
    print_report(r)
    return 0
