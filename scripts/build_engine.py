#!/usr/bin/env python3
"""Build a DeepStream-ready TensorRT engine (same as `facemask-ds build-engine`; see --help).

Runs with the installed facemask-ds package, from a source checkout (python/facemask_ds next to this script's
parent) or from a deployment bundle (engine.py and trt_compat.py next to this file), so it works inside a
DeepStream container that has TensorRT but not facemask-ds.
"""

import sys
from pathlib import Path

here = Path(__file__).resolve().parent
try:
    from facemask_ds.engine import main
except ImportError:
    if (here.parent / "python" / "facemask_ds" / "engine.py").exists():
        sys.path.insert(0, str(here.parent / "python"))
        from facemask_ds.engine import main
    else:
        sys.path.insert(0, str(here))
        from engine import main  # bundle: tools/engine.py + tools/trt_compat.py

if __name__ == "__main__":
    sys.exit(main())
