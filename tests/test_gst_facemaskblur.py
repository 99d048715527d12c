"""facemaskblur (system-memory backend) driven through real GStreamer pipelines: PyGObject appsrc -> facemaskblur
-> appsink compared with the independent numpy oracle (tests/oracles/redact.py), gst-launch-1.0 subprocess tests,
tee bit-identity, hold-frames, metadata sources, OpenCV facedetect interop on a real photo."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from oracles import redact as orc

MODES = ["blur", "pixelate", "fill"]
SHAPES = ["box", "ellipse", "oval"]


# ---------------------------------------------------------------------------------------------------------------------
# helpers


def _video(Gst):
    import gi

    gi.require_version("GstVideo", "1.0")
    from gi.repository import GstVideo

    return GstVideo


def _caps_str(fmt, w, h):
    return f"video/x-raw,format={fmt},width={w},height={h},framerate=30/1"


def _info(Gst, fmt, w, h):
    GstVideo = _video(Gst)
    caps = Gst.Caps.from_string(f"video/x-raw,format={fmt},width={w},height={h},framerate=30/1")
    return caps, GstVideo.VideoInfo.new_from_caps(caps)


def planes_to_bytes(info, fmt, w, h, planes) -> bytes:
    buf = bytearray(info.size)
    for p, arr in enumerate(planes):
        ph = arr.shape[0]
        row = arr.reshape(ph, -1)
        off, stride = info.offset[p], info.stride[p]
        for y in range(ph):
            buf[off + y * stride: off + y * stride + row.shape[1]] = row[y].tobytes()
    return bytes(buf)


def bytes_to_planes(info, fmt, w, h, data: bytes):
    out = []
    for p, shape in enumerate(orc.plane_shapes(fmt, w, h)):
        ph = shape[0]
        rowlen = int(np.prod(shape[1:]))
        off, stride = info.offset[p], info.stride[p]
        a = np.frombuffer(data, np.uint8, count=stride * (ph - 1) + rowlen, offset=off)
        rows = np.stack([a[y * stride: y * stride + rowlen] for y in range(ph)])
        out.append(rows.reshape(shape).copy())
    return out


def run_element(Gst, fmt, w, h, frames, props="", extra_chain=""):
    """frames: list of (planes, rois) with rois = [(type, x, y, w, h, [param structure strings])].
    Returns (list of output planes per frame, element)."""
    GstVideo = _video(Gst)
    caps, info = _info(Gst, fmt, w, h)
    pipe = Gst.parse_launch(
        f"appsrc name=src format=time caps={_caps_str(fmt, w, h)} ! facemaskblur name=fm {props} {extra_chain}"
        " ! appsink name=sink sync=false")
    src, sink, fm = pipe.get_by_name("src"), pipe.get_by_name("sink"), pipe.get_by_name("fm")
    pipe.set_state(Gst.State.PLAYING)
    outs = []
    try:
        for i, (planes, rois) in enumerate(frames):
            buf = Gst.Buffer.new_wrapped(planes_to_bytes(info, fmt, w, h, planes))
            buf.pts = i * Gst.SECOND // 30
            buf.duration = Gst.SECOND // 30
            for roi in rois:
                rtype, x, y, rw, rh = roi[:5]
                meta = GstVideo.buffer_add_video_region_of_interest_meta(buf, rtype, x, y, rw, rh)
                for s in (roi[5] if len(roi) > 5 else []):
                    st, _ = Gst.Structure.from_string(s)
                    assert st is not None, s
                    meta.add_param(st)
            assert src.emit("push-buffer", buf) == Gst.FlowReturn.OK
            sample = sink.emit("try-pull-sample", 5 * Gst.SECOND)
            assert sample is not None, "no output buffer"
            ob = sample.get_buffer()
            outs.append(bytes_to_planes(info, fmt, w, h, ob.extract_dup(0, ob.get_size())))
        src.emit("end-of-stream")
        msg = pipe.get_bus().timed_pop_filtered(5 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        assert msg is not None and msg.type == Gst.MessageType.EOS, msg and msg.parse_error()
        counters = {k: fm.get_property(k) for k in ("regions-redacted", "frames-redacted", "frames-skipped")}
    finally:
        pipe.set_state(Gst.State.NULL)
    return outs, counters


def assert_close(got, exp, what=""):
    for p, (g, e) in enumerate(zip(got, exp)):
        d = np.abs(g.astype(int) - e.astype(int))
        assert d.max() <= 1, f"{what} plane {p}: max diff {d.max()} at {np.argwhere(d > 1)[:4].tolist()}"
        assert (d == 0).mean() > 0.995, f"{what} plane {p}: {(d != 0).sum()} pixels off by one"


def smooth_frame(fmt, w, h, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(xx * 255 // max(1, w - 1)), (yy * 255 // max(1, h - 1)), ((xx + yy) * 7) % 256], -1)
    rgb = (rgb + rng.integers(0, 40, size=rgb.shape)).clip(0, 255).astype(np.uint8)
    return orc.to_rgb_planes(rgb, fmt)


# Fractional-free ROI boxes (ROI meta is integer); landmarks of a rolled face for the first.
ROIS = [("face", 12, 9, 30, 38), ("face", 50, 20, 27, 20), ("face", 70, 40, 40, 40)]
LMS0 = [[19.0, 22.0], [32.0, 24.5], [26.0, 30.0], [20.5, 37.0], [30.5, 38.5]]
LM_PARAM = ("facemask/landmarks, x=(float)<" + ", ".join(f"{p[0]}" for p in LMS0) + ">, y=(float)<"
            + ", ".join(f"{p[1]}" for p in LMS0) + ">")


def boxes_of(rois):
    return np.array([[x, y, x + w, y + h] for (_, x, y, w, h, *_) in rois], np.float32)


def oracle_frame(planes, fmt, w, h, rois, landmarks=None, **kw):
    return orc.redact(planes, fmt, w, h, boxes_of(rois), landmarks=landmarks, **kw)


# ---------------------------------------------------------------------------------------------------------------------
# pixels vs oracle


@pytest.mark.parametrize("fmt", orc.FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_every_format_and_mode_matches_oracle(Gst, fmt, mode):
    w, h = 97, 71  # odd sizes: padded strides, odd chroma
    planes = smooth_frame(fmt, w, h, seed=len(fmt))
    rois = [ROIS[0] + ([LM_PARAM],), ROIS[1], ROIS[2]]
    outs, cnt = run_element(Gst, fmt, w, h, [(planes, rois)], props=f"mode={mode} fill-color=0x3080c0")
    lms = [LMS0, None, None]
    exp = orc.redact(planes, fmt, w, h, boxes_of(rois), landmarks=lms, mode=mode, fill=(0x30, 0x80, 0xC0))
    assert_close(outs[0], exp, f"{fmt} {mode}")
    assert cnt["regions-redacted"] == 3 and cnt["frames-redacted"] == 1


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", MODES)
def test_every_shape_matches_oracle(Gst, shape, mode):
    w, h = 120, 90
    for fmt in ("RGBA", "NV12"):
        planes = smooth_frame(fmt, w, h, seed=3)
        rois = [ROIS[0] + ([LM_PARAM],), ROIS[1]]
        props = f"mode={mode} shape={shape} strength=1.7 margin=1.15 feather=0.2"
        outs, _ = run_element(Gst, fmt, w, h, [(planes, rois)], props=props)
        exp = orc.redact(planes, fmt, w, h, boxes_of(rois), landmarks=[LMS0, None], mode=mode, shape=shape,
                         strength=1.7, margin=1.15, feather=0.2)
        assert_close(outs[0], exp, f"{fmt} {mode} {shape}")


def test_landmarks_change_the_oval(Gst):
    """The facemask/landmarks parameter is read: with it the oval is rolled/shifted (differs from the plain
    ellipse), and equals the oracle's landmark-fitted oval."""
    w, h = 64, 64
    planes = smooth_frame("RGBA", w, h)
    with_lm, _ = run_element(Gst, "RGBA", w, h, [(planes, [ROIS[0] + ([LM_PARAM],)])], props="mode=fill feather=0")
    without, _ = run_element(Gst, "RGBA", w, h, [(planes, [ROIS[0]])], props="mode=fill feather=0")
    assert (with_lm[0][0] != without[0][0]).any()
    exp = orc.redact(planes, "RGBA", w, h, boxes_of([ROIS[0]]), landmarks=[LMS0], mode="fill", feather=0.0)
    assert_close(with_lm[0], exp)


def test_privacy_zones_match_oracle(Gst):
    w, h = 80, 60
    for fmt in ("RGBA", "I420"):
        planes = smooth_frame(fmt, w, h)
        outs, cnt = run_element(Gst, fmt, w, h, [(planes, [])],
                                props='privacy-zones="4,6,30,20; 60.5,40,40,40;" mode=pixelate')
        # zones: box shape, margin 1, no feather, same mode/strength
        exp = orc.redact(planes, fmt, w, h, np.array([[4, 6, 34, 26], [60.5, 40, 100.5, 80]], np.float32),
                         mode="pixelate", shape="box", margin=1.0, feather=0.0)
        assert_close(outs[0], exp, fmt)
        assert cnt["regions-redacted"] == 2


def test_roi_type_and_confidence_filters(Gst):
    w, h = 64, 48
    planes = smooth_frame("RGB", w, h)
    rois = [("face", 2, 2, 20, 20, ["detection, confidence=(double)0.9"]),
            ("face", 30, 2, 20, 20, ["detection, confidence=(double)0.2"]),
            ("plate", 2, 26, 20, 20),
            ("face", 30, 26, 20, 20)]  # no confidence: always kept
    outs, cnt = run_element(Gst, "RGB", w, h, [(planes, rois)], props="roi-types=face min-confidence=0.5 mode=fill")
    kept = [rois[0], rois[3]]
    exp = oracle_frame(planes, "RGB", w, h, kept, mode="fill")
    assert_close(outs[0], exp)
    assert cnt["regions-redacted"] == 2
    outs, cnt = run_element(Gst, "RGB", w, h, [(planes, rois)], props="roi-types=plate,car mode=fill")
    assert_close(outs[0], oracle_frame(planes, "RGB", w, h, [rois[2]], mode="fill"))


def test_nothing_to_redact_is_not_modified_or_mapped(Gst):
    w, h = 48, 32
    planes = smooth_frame("I420", w, h)
    outs, cnt = run_element(Gst, "I420", w, h, [(planes, []), (planes, [("plate", 1, 1, 10, 10)])],
                            props="roi-types=face")
    for o in outs:
        for a, b in zip(o, planes):
            assert (a == b).all()
    assert cnt["frames-skipped"] == 2 and cnt["frames-redacted"] == 0
    # a region entirely outside the frame is "nothing" too
    outs, cnt = run_element(Gst, "I420", w, h, [(planes, [("face", 500, 500, 10, 10)])])
    assert cnt["frames-skipped"] == 1


def test_hold_frames(Gst):
    """A face seen on frame 0 only stays redacted for hold-frames more frames, then the frame is untouched."""
    w, h = 64, 48
    planes = smooth_frame("RGBA", w, h)
    roi = [("face", 10, 10, 24, 24)]
    frames = [(planes, roi)] + [(planes, [])] * 4
    outs, cnt = run_element(Gst, "RGBA", w, h, frames, props="hold-frames=2")
    red = oracle_frame(planes, "RGBA", w, h, roi)
    assert_close(outs[0], red)
    assert_close(outs[1], red)
    assert_close(outs[2], red)
    assert (outs[3][0] == planes[0]).all() and (outs[4][0] == planes[0]).all()
    assert cnt["frames-redacted"] == 3 and cnt["frames-skipped"] == 2
    outs, _ = run_element(Gst, "RGBA", w, h, frames[:2], props="hold-frames=0")
    assert (outs[1][0] == planes[0]).all()


def test_tee_other_branch_is_bit_identical_pygobject(Gst):
    """ROI meta attached before a tee: the blurred branch is redacted, the other branch equals the input."""
    GstVideo = _video(Gst)
    w, h = 64, 48
    caps, info = _info(Gst, "RGBA", w, h)
    pipe = Gst.parse_launch(
        f"appsrc name=src format=time caps={_caps_str('RGBA', w, h)} ! tee name=t "
        "t. ! queue ! facemaskblur ! appsink name=a sync=false "
        "t. ! queue ! appsink name=b sync=false")
    src, a, b = pipe.get_by_name("src"), pipe.get_by_name("a"), pipe.get_by_name("b")
    planes = smooth_frame("RGBA", w, h)
    data = planes_to_bytes(info, "RGBA", w, h, planes)
    pipe.set_state(Gst.State.PLAYING)
    try:
        buf = Gst.Buffer.new_wrapped(data)
        buf.pts = 0
        GstVideo.buffer_add_video_region_of_interest_meta(buf, "face", 8, 8, 30, 30)
        src.emit("push-buffer", buf)
        sa = a.emit("try-pull-sample", 5 * Gst.SECOND)
        sb = b.emit("try-pull-sample", 5 * Gst.SECOND)
        ba, bb = sa.get_buffer(), sb.get_buffer()
        out_a = ba.extract_dup(0, ba.get_size())
        out_b = bb.extract_dup(0, bb.get_size())
    finally:
        pipe.set_state(Gst.State.NULL)
    assert out_b == data
    assert out_a != data
    assert_close(bytes_to_planes(info, "RGBA", w, h, out_a),
                 oracle_frame(planes, "RGBA", w, h, [("face", 8, 8, 30, 30)]))


# ---------------------------------------------------------------------------------------------------------------------
# gst-launch-1.0 / gst-inspect-1.0 subprocesses


def _md5s(out: str):
    return [ln.split()[-1] for ln in out.splitlines() if re.match(r"^\d+:\d+:\d+\.\d+\s+[0-9a-f]{32,128}$", ln.strip())]


def _launch(gst_env, pipeline: str):
    return subprocess.run(["gst-launch-1.0", "-q"] + pipeline.split(), env=gst_env, capture_output=True, text=True,
                          timeout=120)


SRC = "videotestsrc num-buffers=3 pattern=smpte ! video/x-raw,format=I420,width=64,height=48,framerate=30/1"


def test_tee_checksums(gst_env):
    plain = _launch(gst_env, f"{SRC} ! checksumsink")
    blurred = _launch(gst_env, f"{SRC} ! facemaskblur privacy-zones=8,8,32,24 ! checksumsink")
    teed = _launch(gst_env, f"{SRC} ! tee name=t t. ! queue ! facemaskblur privacy-zones=8,8,32,24 ! checksumsink "
                            "t. ! queue ! checksumsink")
    for r in (plain, blurred, teed):
        assert r.returncode == 0, r.stderr
    p, b, t = _md5s(plain.stdout), _md5s(blurred.stdout), _md5s(teed.stdout)
    assert len(p) == len(b) == 3 and len(t) == 6
    assert not set(p) & set(b), "redaction changed nothing"
    assert sorted(t) == sorted(p + b), "the plain branch behind the tee must keep the source's checksums"


def test_gst_launch_every_mode_and_format(gst_env):
    for fmt in ("RGBA", "BGRx", "RGB", "I420", "NV12", "GRAY8"):
        src = SRC.replace("I420", fmt)
        ref = _md5s(_launch(gst_env, f"{src} ! checksumsink").stdout)
        seen = set()
        for mode in MODES:
            r = _launch(gst_env, f"{src} ! facemaskblur privacy-zones=10,10,30,20 mode={mode} ! checksumsink")
            assert r.returncode == 0, r.stderr
            m = _md5s(r.stdout)
            assert len(m) == 3 and m[0] != ref[0], (fmt, mode)
            seen.add(m[0])
        assert len(seen) == 3, f"{fmt}: modes must differ"


def test_invalid_privacy_zones_is_a_clear_error(gst_env):
    r = _launch(gst_env, f"{SRC} ! facemaskblur privacy-zones=1,2,3 ! fakesink")
    assert r.returncode != 0
    assert "privacy-zones" in (r.stdout + r.stderr) and "x,y,w,h" in (r.stdout + r.stderr)
    r = _launch(gst_env, f"{SRC} ! facemaskblur privacy-zones=1,2,-3,4 ! fakesink")
    assert r.returncode != 0 and "<= 0" in (r.stdout + r.stderr)


def test_inspect_documents_properties_and_build(gst_env):
    r = subprocess.run(["gst-inspect-1.0", "facemaskblur"], env=gst_env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for prop in ("mode", "shape", "strength", "margin", "feather", "roi-types", "min-confidence", "privacy-zones",
                 "hold-frames", "draw-outline", "fill-color", "build-info", "regions-redacted", "tensor-meta-family",
                 "tensor-meta-gie-id", "tensor-meta-threshold"):
        assert re.search(rf"^\s+{re.escape(prop)}\s*:", out, re.M), prop
    assert "0.15 x strength x S" in out and "Default: 2" in out
    assert "NVMM backend:" in out and "CUDA kernels:" in out
    r = subprocess.run(["gst-inspect-1.0", "facemask"], env=gst_env, capture_output=True, text=True, timeout=60)
    assert "NVMM backend: not built" in r.stdout or "NVMM backend: DeepStream" in r.stdout


def test_draw_outline(Gst):
    w, h = 64, 64
    planes = smooth_frame("RGBA", w, h)
    outs, _ = run_element(Gst, "RGBA", w, h, [(planes, [("face", 16, 16, 32, 32)])],
                          props="draw-outline=true mode=fill feather=0 margin=1.0 shape=ellipse")
    o = outs[0][0]
    green = (o[..., 0] == 0) & (o[..., 1] == 255) & (o[..., 2] == 0)
    assert green.sum() > 60   # a ring of ~ 2*pi*16 px
    assert not green[30:34, 30:34].any() and not green[:8, :8].any()


# ---------------------------------------------------------------------------------------------------------------------
# interop with a real detector


def test_facedetect_interop_astronaut(Gst):
    """OpenCV's facedetect (gstreamer1.0-opencv) finds the astronaut's face and emits ROI meta 'face';
    facemaskblur redacts it: the face region changes strongly, the far background stays bit-identical."""
    if Gst.ElementFactory.find("facedetect") is None:
        pytest.fail("facedetect not found: scripts/test.sh installs gstreamer1.0-opencv and opencv-data")
    import datasets

    rgb = np.ascontiguousarray(datasets.astronaut_rgb()[:, :, :3])
    h, w, _ = rgb.shape
    caps = f"video/x-raw,format=RGB,width={w},height={h},framerate=1/1"
    pipe = Gst.parse_launch(f"appsrc name=src format=time caps={caps} ! facedetect display=false ! "
                            "facemaskblur name=fm roi-types=face ! appsink name=sink sync=false")
    src, sink, fm = pipe.get_by_name("src"), pipe.get_by_name("sink"), pipe.get_by_name("fm")
    pipe.set_state(Gst.State.PLAYING)
    try:
        buf = Gst.Buffer.new_wrapped(rgb.tobytes())
        buf.pts = 0
        src.emit("push-buffer", buf)
        sample = sink.emit("try-pull-sample", 30 * Gst.SECOND)
        assert sample is not None
        ob = sample.get_buffer()
        out = np.frombuffer(ob.extract_dup(0, ob.get_size()), np.uint8).reshape(h, w, 3)
        GstVideo = _video(Gst)
        roi = GstVideo.buffer_get_video_region_of_interest_meta_id(ob, 0)
        assert roi is not None, "facedetect attached no ROI meta"
        found = (roi.x, roi.y, roi.w, roi.h)
        n = fm.get_property("regions-redacted")
    finally:
        pipe.set_state(Gst.State.NULL)
    assert n >= 1, "facedetect found no face"
    # facedetect's box overlaps the known face location
    assert found[0] < 260 and found[0] + found[2] > 185 and found[1] < 150 and found[1] + found[3] > 80, found
    # the astronaut's face is around x 175..272, y 64..161 at 512x512 (gstreamer.md section 6)
    face = (slice(80, 150), slice(185, 260))
    diff = np.abs(out[face].astype(int) - rgb[face].astype(int)).mean()
    assert diff > 8, diff
    far = (slice(400, 512), slice(0, 100))
    assert (out[far] == rgb[far]).all()
