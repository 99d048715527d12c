"""``facemask-ds emulate --config CONFIG IMAGE...``: run an nvinfer config on the CPU."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "emulate",
        help="run an nvinfer config on images on the CPU (nvinfer's preprocessing, ONNX Runtime, the configured "
             "parse function, clustering and back-mapping)",
        description="Emulate DeepStream's nvinfer for a primary detector, without a GPU: read CONFIG as nvinfer "
                    "does, preprocess each IMAGE as nvinfer does, run onnx-file with ONNX Runtime, call the parse "
                    "function named in the config from custom-lib-path, apply nvinfer's clustering and "
                    "back-mapping, print the detections as JSON and write an annotated (or redacted) image. "
                    "Everything a DeepStream user would trip over (unknown keys, unset num-detected-classes, wrong "
                    "cluster-mode for masks, an engine name that forces a rebuild, ...) is reported as a warning.")
    p.add_argument("--config", "-c", required=True, help="nvinfer config file (.txt key file or .yml)")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    p.add_argument("--out-dir", "-o", default="emulate-out",
                   help="directory for the annotated/redacted images (default: %(default)s)")
    p.add_argument("--redact", action="store_true",
                   help="write redacted images (facemaskblur) instead of boxes drawn on the image")
    p.add_argument("--no-images", action="store_true", help="only print JSON, write no image")
    p.add_argument("--json", metavar="FILE", help="write the JSON report to FILE instead of stdout")
    p.add_argument("--strict", action="store_true", help="exit with status 3 when there is any warning")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..emulate import EmulateError, Emulator, annotate
    from ..nvinfer_parse import ConfigError

    try:
        emu = Emulator(args.config)
    except (ConfigError, EmulateError) as e:
        print(f"facemask-ds emulate: error: {e}", file=sys.stderr)
        return 1
    for w in emu.warnings:
        print(f"warning: {w}", file=sys.stderr)
    out_dir = Path(args.out_dir)
    frames, status = [], 0
    any_warning = bool(emu.warnings)
    for img in args.images:
        try:
            res, rgb = emu.run_file(img)
        except EmulateError as e:
            print(f"facemask-ds emulate: error: {img}: {e}", file=sys.stderr)
            status = 1
            continue
        for w in res.warnings:
            print(f"warning: {img}: {w}", file=sys.stderr)
            any_warning = True
        entry = res.to_json()
        if not args.no_images:
            out_dir.mkdir(parents=True, exist_ok=True)
            stem = Path(img).stem
            if args.redact:
                from ..redact import RedactOptions, redact_rgb

                boxes = [(d.left, d.top, d.width, d.height, d.confidence) for d in res.detections]
                out = redact_rgb(rgb, boxes, None, RedactOptions())
                path = out_dir / f"{stem}.redacted.png"
                _write_rgb(path, out)
            else:
                import cv2

                path = out_dir / f"{stem}.emulated.png"
                cv2.imwrite(str(path), annotate(rgb, res))
            entry["output_image"] = str(path)
        frames.append(entry)
        print(f"{img}: {len(res.detections)} detection(s)", file=sys.stderr)
    report = {"config": str(emu.config.path), "parse_function": emu.parse_func, "custom_lib": str(emu.custom_lib),
              "onnx": str(emu.onnx_path), "network": {"width": emu.net_w, "height": emu.net_h, "channels": emu.net_c},
              "cluster_mode": emu.cluster_mode, "warnings": emu.warnings, "frames": frames}
    text = json.dumps(report, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n")
    else:
        print(text)
    if status == 0 and args.strict and any_warning:
        return 3
    return status


def _write_rgb(path: Path, rgb) -> None:
    import cv2

    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
