"""10 000 frames through facemaskblur in a native GstHarness (tests/native/gst_redact_soak.cpp), with the plugin and
the harness built with -fsanitize=address,undefined: no AddressSanitizer / UBSan error, no LeakSanitizer leak, and the
harness's own checks (no-copy skip returns the same buffer, a shared input is never modified) hold on every frame.
The ASan build goes to tests/.cache/parser-builds/gst-asan-ubsan (reused between runs)."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

import parser_checks as pc

FRAMES = int(os.environ.get("FACEMASK_SOAK_FRAMES", "10000"))


@pytest.mark.slow
def test_facemaskblur_10k_frames_under_asan_ubsan(tmp_path):
    bdir = pc.cmake_build("gst-asan-ubsan", {"FACEMASK_GST": "ON", "FACEMASK_SANITIZE": "address,undefined"},
                          targets=("gstfacemask", "gst_redact_soak"))
    plugin = bdir / "csrc" / "gst" / "libgstfacemask.so"
    tool = pc.built_tool(bdir, "gst_redact_soak")
    assert plugin.exists() and tool.exists()
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    for k in [k for k in env if k.startswith("GST_")]:  # hermetic: no plugin paths / registry of the session
        env.pop(k)
    env["GST_REGISTRY"] = str(tmp_path / "registry.bin")
    env["GST_REGISTRY_FORK"] = "no"          # scan in-process so ASan sees everything
    env["GST_PLUGIN_SYSTEM_PATH"] = ""       # only the harness's own plugins (coreelements via gstcheck)
    env["G_DEBUG"] = "gc-friendly"
    env["G_SLICE"] = "always-malloc"
    # G_SLICE=always-malloc: GSlice's magazines are process-lifetime caches LeakSanitizer would report; no
    # suppression file is used, so every other unfreed allocation fails the test.
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:halt_on_error=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    r = subprocess.run([str(tool), str(plugin), str(FRAMES)], capture_output=True, text=True, env=env, timeout=600)
    out = r.stdout + r.stderr
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "SOAK-FAIL"):
        assert marker not in out, out[-6000:]
    assert r.returncode == 0, out[-6000:]
    assert f"soak: OK {FRAMES} frames" in r.stdout
    m = re.search(r"\((\d+) redacted, (\d+) skipped", r.stdout)
    red, skipped = int(m.group(1)), int(m.group(2))
    assert red + skipped == FRAMES and red > FRAMES // 2 and skipped > FRAMES // 20, r.stdout
