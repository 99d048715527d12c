"""``facemask-ds gen-config``: nvinfer / nvinferserver / Triton / deepstream-app configs and gst-launch recipes."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import models, nvinfer_config as nc
from ..engine import PRECISIONS


def register(sub) -> None:
    p = sub.add_parser(
        "gen-config", help="write nvinfer (.txt/.yml, bbox and mask mode), nvinferserver, Triton, deepstream-app "
                           "configs and gst-launch recipes",
        description="Write, into DIR: nvinfer configs in .txt and .yml for bbox mode (network-type=0, cluster-mode=2) "
                    "and instance-mask mode (network-type=3, cluster-mode=4, output-instance-mask=1); nvinferserver "
                    "configs for a local Triton model repository and for a remote Triton over gRPC plus the Triton "
                    "model repository (config.pbtxt); a deepstream-app config; pipelines.sh with gst-launch recipes "
                    "(single stream, multi-stream batch, tee with an unredacted evidence branch beside a redacted "
                    "one, fan-out); labels.txt and lib/facemask_parser.ini. Every nvinfer key is checked against "
                    "the known key set; paths are relative to the config files; model-engine-file is the exact name "
                    "nvinfer generates. --all writes the checked-in configs/ tree for every family.")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output directory")
    p.add_argument("--family", help=f"model family: {', '.join(models.keys())}")
    p.add_argument("--all", action="store_true", help="every family with its defaults into DIR/<family>/")
    p.add_argument("--onnx", help="prepared ONNX: take input/output names and sizes from it (its path is written "
                   "relative to DIR); default models/<family>.onnx with the family's reference names")
    p.add_argument("--height", type=int, help="network input height (without --onnx; default: the family's)")
    p.add_argument("--width", type=int, help="network input width (without --onnx; default: the family's)")
    p.add_argument("--batch-size", type=int, default=1, help="nvinfer batch-size (default 1)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp16", help="network-mode (default fp16)")
    p.add_argument("--int8-calib-file", help="int8/best: calibration table path relative to DIR "
                   "(default models/calib.table)")
    p.add_argument("--gpu-id", type=int, default=0)
    p.add_argument("--score-threshold", type=float, help="pre-cluster-threshold (default: the family's)")
    p.add_argument("--nms-iou", type=float, help="NMS IoU (default: the family's)")
    p.add_argument("--top-k", type=int, default=300, help="faces per frame at most (300)")
    p.add_argument("--mask-size", type=int, nargs=2, default=(32, 32), metavar=("W", "H"),
                   help="instance-mask resolution of the ...Mask parse functions (32 32)")
    p.add_argument("--lib", default=nc.Deployment.lib, help="custom-lib-path relative to DIR "
                   "(default lib/libnvdsinfer_facemask.so)")
    p.add_argument("--grpc-url", default="localhost:8001", help="remote Triton gRPC endpoint (localhost:8001)")
    p.add_argument("--streammux", default="1920x1080", metavar="WxH", help="streammux resolution for the "
                   "deepstream-app config and recipes (1920x1080)")
    p.set_defaults(func=run)


def deployment_from_args(args, family: models.ModelFamily, out_dir: Path) -> nc.Deployment:
    w, h = (int(x) for x in args.streammux.lower().split("x"))
    kw = dict(batch_size=args.batch_size, precision=args.precision, gpu_id=args.gpu_id, lib=args.lib,
              int8_calib_file=args.int8_calib_file, score_threshold=args.score_threshold, nms_iou=args.nms_iou,
              top_k=args.top_k, mask_size=tuple(args.mask_size), grpc_url=args.grpc_url, streammux_hw=(h, w))
    if args.onnx:
        return nc.deployment_from_onnx(family, args.onnx, out_dir, **kw)
    if args.height or args.width:
        kw.update(height=args.height or family.default_hw[0], width=args.width or family.default_hw[1])
    return nc.default_deployment(family, **kw)


def run(args) -> int:
    out = Path(args.output)
    try:
        if args.all:
            files = nc.generate_repo_configs(out)
        else:
            if not args.family:
                raise ValueError("--family is required (or --all)")
            d = deployment_from_args(args, models.get(args.family), out)
            files = nc.write_all(d, out)
    except (nc.ConfigError, KeyError, ValueError, OSError) as e:
        print(f"facemask-ds gen-config: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    for f in files:
        print(f)
    return 0
