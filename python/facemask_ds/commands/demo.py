"""``facemask-ds demo``: sample data for the demo and the benchmark (scripts/demo.sh drives the whole demo).

* ``facemask-ds demo image OUT.png`` — scikit-image's astronaut photo (public domain, NASA).
* ``facemask-ds demo clip OUT.mp4`` — a short H.264 clip made from registry images: the astronaut's head moving
  and scaling over a background photo, a second smaller copy crossing the other way, plus a sine audio track
  (so that audio remuxing is exercised); encoded with GStreamer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="write the demo's sample image / sample clip (scripts/demo.sh runs the demo)",
                       description="Sample data for the demo (scripts/demo.sh) and the deface benchmark.")
    s = p.add_subparsers(dest="demo_cmd", metavar="ACTION")
    pi = s.add_parser("image", help="write the astronaut sample photo")
    pi.add_argument("output")
    pc = s.add_parser("clip", help="write a sample clip with moving faces and an audio track")
    pc.add_argument("output")
    pc.add_argument("--seconds", type=float, default=4.0, help="duration (default: %(default)s)")
    pc.add_argument("--fps", type=int, default=25, help="frame rate (default: %(default)s)")
    pc.add_argument("--size", default="1280x720", help="WxH (default: %(default)s)")
    pc.add_argument("--no-audio", action="store_true", help="no audio track")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.demo_cmd == "image":
        import cv2

        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out), cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR))
        print(out)
        return 0
    if args.demo_cmd == "clip":
        try:
            w, h = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            print(f"facemask-ds demo: error: --size must be WxH, got {args.size!r}", file=sys.stderr)
            return 2
        try:
            n = make_sample_clip(Path(args.output), seconds=args.seconds, fps=args.fps, width=w, height=h,
                                 audio=not args.no_audio)
        except RuntimeError as e:
            print(f"facemask-ds demo: error: {e}", file=sys.stderr)
            return 1
        print(f"{args.output}: {n} frames {w}x{h} @ {args.fps} fps")
        return 0
    print("facemask-ds demo: choose an action: image or clip (scripts/demo.sh runs the whole demo)", file=sys.stderr)
    return 2


def astronaut() -> np.ndarray:
    try:
        from skimage import data
    except ImportError as e:
        raise RuntimeError("the sample data comes from scikit-image: pip install scikit-image") from e
    return data.astronaut()


def _background(width: int, height: int) -> np.ndarray:
    import cv2
    from skimage import data

    bg = data.coffee()  # public-domain registry photo (no face)
    return cv2.resize(bg, (width, height), interpolation=cv2.INTER_AREA)


def sample_frames(seconds: float = 4.0, fps: int = 25, width: int = 1280, height: int = 720):
    """Yield RGB frames: the astronaut's head sweeping left to right while growing, a smaller copy right to left."""
    import cv2

    head = astronaut()[0:300, 90:370]          # head and shoulders, face roughly centred
    bg = _background(width, height)
    n = max(1, int(round(seconds * fps)))
    for i in range(n):
        t = i / max(1, n - 1)
        f = bg.copy()
        for (x0, x1, y, s0, s1) in ((0.05, 0.65, 0.15, 0.55, 1.1), (0.8, 0.1, 0.55, 0.45, 0.35)):
            s = (s0 + (s1 - s0) * t) * height / 720
            hh, ww = int(head.shape[0] * s), int(head.shape[1] * s)
            if hh < 8 or ww < 8:
                continue
            im = cv2.resize(head, (ww, hh), interpolation=cv2.INTER_AREA)
            x = int((x0 + (x1 - x0) * t) * width)
            yy = int(y * height)
            xa, ya = max(0, x), max(0, yy)
            xb, yb = min(width, x + ww), min(height, yy + hh)
            if xb > xa and yb > ya:
                f[ya:yb, xa:xb] = im[ya - yy:yb - yy, xa - x:xb - x]
        yield f


def make_sample_clip(out: Path, seconds: float = 4.0, fps: int = 25, width: int = 1280, height: int = 720,
                     audio: bool = True) -> int:
    """Encode the sample frames (and a sine tone) to H.264 MP4 with GStreamer. Returns the frame count."""
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst

    if not Gst.is_initialized():
        Gst.init(None)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    enc = next((e for e in ("x264enc", "openh264enc", "avenc_h264") if Gst.ElementFactory.find(e)), None)
    enc = {"x264enc": "x264enc bitrate=6000 speed-preset=veryfast", "openh264enc": "openh264enc bitrate=6000000",
           None: None}.get(enc, enc)
    if enc is None:
        raise RuntimeError("no H.264 encoder (x264enc/openh264enc) in this GStreamer installation")
    aenc = next((e for e in ("avenc_aac", "voaacenc", "fdkaacenc") if Gst.ElementFactory.find(e)), None)
    n = max(1, int(round(seconds * fps)))
    desc = (f"appsrc name=src format=time caps=video/x-raw,format=RGB,width={width},height={height},"
            f"framerate={fps}/1 ! videoconvert ! video/x-raw,format=I420 ! {enc} ! h264parse ! mp4mux name=mux "
            f'! filesink location="{out}"')
    if audio and aenc:
        samples = 1024
        nbuf = int(seconds * 44100 / samples) + 1
        desc += (f" audiotestsrc num-buffers={nbuf} samplesperbuffer={samples} freq=440 volume=0.2 "
                 f"! audio/x-raw,rate=44100,channels=1 ! audioconvert ! {aenc} ! aacparse ! mux.")
    pipe = Gst.parse_launch(desc)
    src = pipe.get_by_name("src")
    pipe.set_state(Gst.State.PLAYING)
    count = 0
    try:
        dur = Gst.SECOND // fps
        for i, frame in enumerate(sample_frames(seconds, fps, width, height)):
            data = np.ascontiguousarray(frame)
            if width * 3 % 4:
                raise RuntimeError("width*3 must be a multiple of 4 for RGB buffers (use an even width divisible by 4)")
            buf = Gst.Buffer.new_wrapped(data.tobytes())
            buf.pts = i * dur
            buf.duration = dur
            if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                break
            count += 1
        src.emit("end-of-stream")
        msg = pipe.get_bus().timed_pop_filtered(120 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if msg is None or msg.type == Gst.MessageType.ERROR:
            detail = msg.parse_error()[0].message if msg is not None else "timeout"
            raise RuntimeError(f"encoding the sample clip failed: {detail}")
    finally:
        pipe.set_state(Gst.State.NULL)
    return count
