"""scripts/trace_gpu.py summary: the per-item timeline summary of the CUDA kernel's profiling build (CPU only: the
CSV is synthesised here with known busy times, so the printed fits and counts have exact expected values)."""
import csv
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "trace_gpu.py"
FIELDS = "item,kind,job,a,n,w,h,nx,ny,fx,fy,nch,block,sm,ask,go,done,s4,s5,s6,s7".split(",")


def test_trace_summary_fits_and_plane_completion(tmp_path):
    rows = []
    # Decimation bands (kind 0) of two plane jobs: busy = 5 us + 2 us per 1000 decimated pixels (n * fy * w); the
    # band of each job that finishes last (the one that runs the fused vertical passes) is the 8-row one (a = 4).
    t = 0
    for job, w in ((0, 100), (1, 200)):
        for a, n in ((0, 4), (4, 8), (12, 2)):
            px = n * 4 * w
            busy = 5000 + 2 * px
            go = t + 100  # steps: decimation 1 us, horizontal passes 2 us, copy out 0.5 us, fused vertical 0.5 us
            rows.append(dict(item=len(rows), kind=0, job=job, a=a, n=n, w=w, h=64, nx=w // 4, ny=16, fx=4, fy=4, nch=1,
                             block=len(rows), sm=len(rows) // 2, ask=t, go=go, done=go + busy, s4=go + 1000,
                             s5=go + 3000, s6=go + 3500, s7=go + 4000 if a == 4 else -1))
            t += 50
    # One upsampling item that waited 3 us for its plane and never finished (done -1: left out).
    rows.append(dict(item=len(rows), kind=2, job=0, a=0, n=1, w=100, h=64, nx=25, ny=16, fx=4, fy=4, nch=1, block=0,
                     sm=0, ask=100, go=3100, done=-1, s4=-1, s5=-1, s6=-1, s7=-1))
    path = tmp_path / "t.csv"
    with open(path, "w", newline="") as f:
        wr = csv.DictWriter(f, FIELDS)
        wr.writeheader()
        wr.writerows(rows)
    r = subprocess.run([sys.executable, str(SCRIPT), "summary", str(path), "--tail", "2"], capture_output=True,
                       text=True, check=True)
    out = r.stdout
    assert "6 items" in out  # the unfinished item is not counted
    assert "fit 5.0 us + 2.00 us per 1000 px (R^2 1.00)" in out
    # Completing bands: the a=12 ones were started last, but the a=4 bands (8 rows) finish last for each job; their
    # busy times are 5 us + 2 us per 1000 px of 8 * 4 * w pixels (w = 100, 200): median (11.4 + 17.8) / 2 = 14.6 us.
    assert "items that complete a plane (run its fused vertical passes): n=2, busy median 14.6 us" in out
    assert out.count("    last: rows") == 2
    for step, n, med in (("decimate", 6, 1.0), ("horizontal passes", 6, 2.0), ("copy out + count", 6, 0.5),
                         ("fused vertical passes", 2, 0.5)):
        assert f"step {step}: n={n} median {med:.2f}" in out, step
    bad = subprocess.run([sys.executable, str(SCRIPT), "summary", str(tmp_path / "missing.csv")], capture_output=True,
                         text=True)
    assert bad.returncode != 0 and "missing.csv" in bad.stderr
