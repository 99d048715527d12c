"""The demo: sample data commands and scripts/demo.sh end to end (installation step skipped: the suite already
runs inside the installed package)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import datasets

ROOT = Path(__file__).resolve().parent.parent


def test_demo_image_is_the_astronaut(tmp_path):
    import cv2

    r = subprocess.run([sys.executable, "-m", "facemask_ds", "demo", "image", str(tmp_path / "a.png")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    img = cv2.cvtColor(cv2.imread(str(tmp_path / "a.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(img, datasets.astronaut_rgb())


def test_demo_clip_has_frames_and_audio(tmp_path, gst_env):
    p = tmp_path / "c.mp4"
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "demo", "clip", str(p), "--seconds", "0.8", "--fps", "10",
                        "--size", "320x240"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "8 frames 320x240" in r.stdout
    dec = subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={p}", "!", "decodebin", "!", "videoconvert", "!",
                          "video/x-raw,format=GRAY8", "!", "fdsink", "fd=1"], capture_output=True, env=gst_env,
                         timeout=60)
    assert dec.returncode == 0 and len(dec.stdout) == 8 * 320 * 240
    aud = subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={p}", "!", "qtdemux", "name=d", "d.audio_0", "!",
                          "queue", "!", "fakesink"], capture_output=True, env=gst_env, timeout=60)
    assert aud.returncode == 0
    r = subprocess.run([sys.executable, "-m", "facemask_ds", "demo", "clip", str(p), "--size", "oops"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "WxH" in r.stderr


@pytest.mark.slow
def test_demo_script_end_to_end(tmp_path, gst_env):
    demo = tmp_path / "demo"
    demo.mkdir()
    shutil.copy2(datasets.centerface_onnx(), demo / "centerface.onnx")  # checksum matches: no download
    env = dict(gst_env)
    env.update(FACEMASK_DEMO_SKIP_INSTALL="1", FACEMASK_DEMO_DIR=str(demo),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    r = subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh")], capture_output=True, text=True, env=env,
                       timeout=900)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    for f in ("bundle/config_infer_primary_centerface.txt", "bundle/README.md", "emulate/report.json",
              "emulate/astronaut.emulated.png", "sample.mp4", "sample_redacted.mp4", "before_after.png",
              "redact_stats.json"):
        assert (demo / f).is_file(), f
    rep = json.loads((demo / "emulate" / "report.json").read_text())
    assert len(rep["frames"][0]["detections"]) == 1
    assert rep["warnings"] == [w for w in rep["warnings"] if "does not exist yet" in w]  # only: engine not built
    st = json.loads((demo / "redact_stats.json").read_text())
    assert st["frames"] == 100 and st["frames_with_faces"] == 100 and st["audio"].startswith("remuxed")
    assert str(demo / "sample_redacted.mp4") in r.stdout
