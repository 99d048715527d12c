"""``facemask-ds models``: the supported face-detector families and how each one is deployed."""

from __future__ import annotations

import json

from .. import models


def register(sub) -> None:
    p = sub.add_parser(
        "models", help="list the supported face-detector families and their nvinfer settings",
        description="List the model families facemask-ds can deploy: input size rules, colour order, nvinfer "
                    "net-scale-factor/offsets, padding convention, output names, parse functions and default "
                    "thresholds (face-models.md §3).")
    p.add_argument("family", nargs="?", help="show one family in detail (e.g. centerface)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _row(f: models.ModelFamily) -> dict:
    return {
        "family": f.key, "name": f.name, "description": f.description, "colour": f.color_name,
        "model-color-format": f.color_format, "net-scale-factor": f.net_scale_factor, "offsets": list(f.offsets),
        "maintain-aspect-ratio": int(f.maintain_aspect_ratio), "symmetric-padding": int(f.symmetric_padding),
        "padding": f.padding, "default_hw": list(f.default_hw), "size_multiple": f.size_multiple,
        "fixed_sizes": [list(s) for s in f.fixed_sizes], "output_names": list(f.output_names),
        "output_roles": list(f.output_roles), "parse_bbox_func": f.parse_bbox_func,
        "parse_mask_func": f.parse_mask_func, "score_threshold": f.score_threshold, "nms_iou": f.nms_iou,
        "landmarks": f.num_landmarks, "notes": f.notes,
    }


def run(args) -> int:
    try:
        fams = [models.get(args.family)] if args.family else list(models.FAMILIES.values())
    except KeyError as e:
        print(f"facemask-ds models: {e.args[0]}")
        return 2
    if args.json:
        print(json.dumps([_row(f) for f in fams], indent=2))
        return 0
    if not args.family:
        print(f"{'family':<11} {'colour':<6} {'scale':<10} {'padding':<38} {'size':<18} {'score':<5} nms")
        for f in fams:
            size = ("|".join(f"{h}x{w}" for h, w in f.fixed_sizes) if f.fixed_sizes
                    else f"{f.default_hw[0]}x{f.default_hw[1]} (/{f.size_multiple})")
            print(f"{f.key:<11} {f.color_name:<6} {f.net_scale_factor:<10.6g} {f.padding:<38} {size:<18} "
                  f"{f.score_threshold:<5g} {f.nms_iou:g}")
        print("\n`facemask-ds models <family>` for details.")
        return 0
    for k, v in _row(fams[0]).items():
        print(f"{k:>22}: {v}")
    return 0
