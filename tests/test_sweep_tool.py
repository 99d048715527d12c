"""scripts/bench_gpu_sweep.py (a GPU benchmark) refuses a malformed --configs with a clear message before it needs
PyTorch or a GPU (CPU only; the sweep itself runs on the device machine)."""
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_gpu_sweep.py"


@pytest.mark.parametrize("configs,msg", [
    ("{x", "--configs is not valid JSON"),
    ("[1, 2]", "--configs must be a JSON object of name -> {knob: value}"),
    ('{"a": 3}', "--configs must be a JSON object of name -> {knob: value}"),
    ("{}", "--configs must be a JSON object of name -> {knob: value}"),
])
def test_sweep_rejects_malformed_configs(configs, msg):
    r = subprocess.run([sys.executable, str(SCRIPT), "--configs", configs], capture_output=True, text=True)
    assert r.returncode == 1
    assert msg in r.stderr
    assert "Traceback" not in r.stderr


def test_sweep_help_names_the_knobs_reading():
    r = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    assert "--configs" in r.stdout and "--repeats" in r.stdout and "FACEMASK_CUDA_" in r.stdout
