"""``facemask-ds bundle``: one command from a face-detector ONNX to a DeepStream deployment folder."""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
from pathlib import Path

from .. import engine, models, nvinfer_config as nc, onnx_tools, paths
from ..engine import PRECISIONS

LAUNCHER = '''#!/usr/bin/env python3
"""Build this bundle's TensorRT engine on the DeepStream target (`python3 tools/build_engine.py --help`)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import main  # noqa: E402  (tools/engine.py + tools/trt_compat.py, copied from facemask-ds)

if __name__ == "__main__":
    sys.exit(main())
'''


def register(sub) -> None:
    p = sub.add_parser(
        "bundle", help="ONNX -> deploy folder: prepared ONNX, configs, parser library, engine or its build command",
        description="Prepare the ONNX (prepare-onnx), write every config (gen-config) for it, copy the parser library "
                    "with a facemask_parser.ini next to it, and either build the TensorRT engine under nvinfer's own "
                    "name (when TensorRT is importable here and --build-engine is given) or write build_engine.sh with "
                    "the exact commands to build it on the target. Ends with a README.md for this deployment.")
    p.add_argument("--family", required=True, help=f"model family: {', '.join(models.keys())}")
    p.add_argument("--onnx", required=True, help="the face-detector ONNX (as exported / downloaded)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="deployment folder (created)")
    p.add_argument("--height", type=int, help="network input height (default: the family's)")
    p.add_argument("--width", type=int, help="network input width (default: the family's)")
    p.add_argument("--batch-size", type=int, default=1, help="nvinfer batch-size (default 1)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp16", help="default fp16")
    p.add_argument("--gpu-id", type=int, default=0)
    p.add_argument("--score-threshold", type=float, help="pre-cluster-threshold (default: the family's)")
    p.add_argument("--streammux", default="1920x1080", metavar="WxH", help="streammux resolution (1920x1080)")
    p.add_argument("--trt-version", default="10.16", help="TensorRT of the target for the trtexec line in "
                   "build_engine.sh (default 10.16 = DeepStream 9.1)")
    p.add_argument("--build-engine", action="store_true", help="also build the engine here (needs TensorRT and the "
                   "target's GPU; otherwise run build_engine.sh on the target)")
    p.add_argument("--force", action="store_true", help="write into a non-empty DIR")
    p.set_defaults(func=run)


def _say(msg: str) -> None:
    print(f"[bundle] {msg}", file=sys.stderr, flush=True)


def build_script(d: nc.Deployment, trt_version: str) -> str:
    spec = engine.BuildSpec(onnx=Path(d.onnx), batch_size=d.batch_size, precision=d.precision, gpu_id=d.gpu_id,
                            int8_calib_file=Path(d.int8_calib_file) if d.int8_calib_file else None,
                            infer_hw=(d.height, d.width))
    spec.engine_path = Path(d.engine)  # relative: the script runs in the bundle folder
    try:
        tx = engine.format_command(engine.trtexec_command(spec, trt_version, d.input_name, (3, d.height, d.width),
                                                          "${TRTEXEC:-" + engine.DEFAULT_TRTEXEC + "}"))
        tx = tx.replace("'${TRTEXEC:-" + engine.DEFAULT_TRTEXEC + "}'", '"${TRTEXEC:-' + engine.DEFAULT_TRTEXEC + '}"')
    except engine.TrtUnsupported as e:
        tx = f"# (no trtexec equivalent for TensorRT {trt_version}: {e})\nfalse"
    name = d.input_name if re.fullmatch(r"[A-Za-z0-9_]+", d.input_name) else f"'{d.input_name}'"
    shapes = f"--shapes={name}:{d.batch_size}x3x{d.height}x{d.width}"
    calib = ""
    if d.precision in ("int8", "best"):
        calib = (f"# INT8: the calibration table {d.int8_calib_file} must exist, or add --calib-images DIR to the "
                 "python command.\n")
    return f"""#!/bin/sh
# Build the TensorRT engine for this bundle ON THE DEPLOYMENT TARGET (inside the DeepStream container, same
# TensorRT and GPU as the runtime). The engine is written as {d.engine},
# the exact name nvinfer generates for {d.file('bbox_txt')}, so nvinfer loads it and never rebuilds.
set -eu
cd "$(dirname "$0")"
{calib}if python3 -c "import tensorrt" 2>/dev/null; then
  python3 tools/build_engine.py --config {d.file('bbox_txt')} "$@"
else
  echo "no Python TensorRT here: using trtexec (TensorRT {trt_version} flags; regenerate with --trt-version if needed)" >&2
  {tx}
fi
mkdir -p "$(dirname {d.file('triton_plan')})"
cp -f {d.engine} {d.file('triton_plan')}
echo "engine: {d.engine} (also {d.file('triton_plan')} for Triton)"
# check that this TensorRT/GPU deserializes it at the configured batch size (tensorrt.md §8 H)
if [ -x "${{TRTEXEC:-{engine.DEFAULT_TRTEXEC}}}" ]; then
  "${{TRTEXEC:-{engine.DEFAULT_TRTEXEC}}}" --loadEngine={d.engine} \
    "{shapes}" --iterations=1 --duration=0 --warmUp=0 >/dev/null && echo "engine check: loads and runs"
fi
"""


def readme(d: nc.Deployment, rep: onnx_tools.PrepareReport, built: bool, lib_ok: bool) -> str:
    f = d.family
    io = onnx_tools.format_io_table(rep.inputs + rep.outputs)
    verified = ("fixed batch 1 - the graph hard-codes it, so nvinfer batch-size must stay 1; fixed HxW, checked with "
                "ONNX Runtime" if rep.batch_checked == 1 else
                f"dynamic batch, fixed HxW, verified with ONNX Runtime at batch 1 and {rep.batch_checked}")
    return f"""# facemask-ds deployment: {f.name}

Generated by `facemask-ds bundle` from `{rep.src.name}` (sha256 of the prepared model: `{rep.sha256}`).

* Model: {f.description}. Input {d.height}x{d.width} (HxW), {f.color_name}, net-scale-factor
  {f.net_scale_factor:g}, offsets {';'.join(f'{o:g}' for o in f.offsets)}, {f.padding}.
* nvinfer: batch-size {d.batch_size}, {d.precision} (engine name mode `{d.mode}`), gpu {d.gpu_id}.
* Parse functions: `{f.parse_bbox_func}` (boxes), `{f.parse_mask_func}` (boxes + face-oval instance masks) in
  `{d.lib}`{'' if lib_ok else ' (MISSING: this installation has no parser library; rebuild facemask-ds)'}; its options
  are in `{d.file('parser_ini')}` (docs/parser-options.md).

## Files

| file | what |
|---|---|
| `{d.onnx}` | the prepared ONNX ({verified}) |
| `{d.engine}` | the TensorRT engine: {'built here (see its .json sidecar; only valid on the same TensorRT and GPU)' if built else 'NOT built yet: run `sh build_engine.sh` on the target'} |
| `{d.file('bbox_txt')}` / `.yml` | nvinfer, bounding boxes (cluster-mode=2) |
| `{d.file('mask_txt')}` / `.yml` | nvinfer, boxes + instance masks (network-type=3, cluster-mode=4) |
| `{d.file('server_local')}` | nvinferserver with the local Triton repository `triton_model_repo/` |
| `{d.file('server_grpc')}` | nvinferserver with a remote Triton at {d.grpc_url} (serve `triton_model_repo/` there) |
| `{d.file('app')}` | `deepstream-app -c {d.file('app')}`: draws the detections |
| `pipelines.sh` | gst-launch recipes: `single`, `multi`, `tee` (unredacted evidence + redacted), `fanout` |
| `build_engine.sh`, `tools/` | builds the engine on the target (Python TensorRT, or trtexec) |

## Steps on the target

1. `sh build_engine.sh` inside the DeepStream container (skip if the engine above was built on the same machine).
2. `eval "$(facemask-ds env)"` or put `libgstfacemask.so` on `GST_PLUGIN_PATH` for `facemaskblur`.
3. `sh pipelines.sh single` (or `IN=rtsp://... sh pipelines.sh tee`).
4. Check the first run's log: "deserialized trt engine from" and no "try rebuild".

## Model I/O

```
{io}
```
"""


def run(args) -> int:
    out = Path(args.output)
    try:
        fam = models.get(args.family)
        if out.exists() and any(out.iterdir()) and not args.force:
            raise ValueError(f"{out} is not empty (use --force to write into it)")
        src = Path(args.onnx)
        if not src.is_file():
            raise ValueError(f"ONNX file not found: {src}")
        onnx_dst = out / "models" / (src.stem + ".onnx")
        _say(f"1/4 preparing {src} -> {onnx_dst}")
        try:
            rep = onnx_tools.prepare(src, onnx_dst, fam, args.height, args.width, progress=_say)
        except onnx_tools.BatchNotDynamic as e:
            if args.batch_size != 1:
                raise onnx_tools.NotDeployable(f"{e}\nThe model runs at batch 1 only: bundle it with --batch-size 1")
            _say(f"the model's batch is not dynamic ({e}); batch-size is 1, so it is prepared with a fixed batch of 1")
            rep = onnx_tools.prepare(src, onnx_dst, fam, args.height, args.width, batch=1, progress=_say)
        for w in rep.warnings:
            _say(f"warning: {w}")
        w_, h_ = (int(x) for x in args.streammux.lower().split("x"))
        d = nc.deployment_from_onnx(fam, onnx_dst, out, batch_size=args.batch_size, precision=args.precision,
                                    gpu_id=args.gpu_id, score_threshold=args.score_threshold, streammux_hw=(h_, w_))
        _say("2/4 writing configs")
        nc.write_all(d, out)
        _say("3/4 parser library")
        lib = paths.parser_library_path(required=False)
        lib_ok = lib is not None
        if lib is not None:
            (out / d.lib).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(lib, out / d.lib)
        else:
            _say(f"warning: {paths.PARSER_LIBRARY} is not part of this installation; the bundle has no library")
        tools = out / "tools"
        tools.mkdir(exist_ok=True)
        pkg = Path(engine.__file__).parent
        for name in ("engine.py", "trt_compat.py"):
            shutil.copy2(pkg / name, tools / name)
        (tools / "build_engine.py").write_text(LAUNCHER)
        sh = out / "build_engine.sh"
        sh.write_text(build_script(d, args.trt_version))
        for f in (sh, tools / "build_engine.py"):
            f.chmod(f.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        built = False
        _say("4/4 engine")
        if args.build_engine:
            spec = engine.spec_from_nvinfer_config(out / d.file("bbox_txt"), force=True if args.force else None)
            res = engine.build(spec, progress=_say)
            plan = out / d.file("triton_plan")
            plan.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(res.engine, plan)
            built = True
        else:
            _say(f"engine not built here: run `sh {sh}` on the target (writes {d.engine})")
        (out / "README.md").write_text(readme(d, rep, built, lib_ok))
    except onnx_tools.NotDeployable as e:
        print(f"facemask-ds bundle: refused: {e}", file=sys.stderr)
        return 3
    except (engine.TrtUnavailable, engine.TrtUnsupported, engine.BuildError) as e:
        print(f"facemask-ds bundle: {e}\nThe rest of the bundle is written; run build_engine.sh on the target.",
              file=sys.stderr)
        return 1
    except (nc.ConfigError, KeyError, ValueError, OSError) as e:
        print(f"facemask-ds bundle: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    print(os.fspath(out))
    return 0
