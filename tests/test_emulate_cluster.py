"""nvinfer clustering (csrc/core/cluster) against a numpy oracle written from deepstream-contract.md §2.3/§2.4."""

from __future__ import annotations

import numpy as np
import pytest

DEFAULT = {"pre-cluster-threshold": 0.2, "post-cluster-threshold": 0.0, "nms-iou-threshold": 0.3, "topk": -1}


def _iou(a, b):
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    ix = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    iy = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return 0.0 if union <= 0 else inter / union


def oracle_cluster(objs, num_classes, mode, per_class):
    p = [dict(DEFAULT, **(per_class[c] if c < len(per_class) else {})) for c in range(num_classes)]
    if mode == 0:
        mode = 2
        for q in p:
            q["topk"], q["nms-iou-threshold"] = 20, 0.5
    out = []
    for c in range(num_classes):
        rows = [i for i, o in enumerate(objs) if int(o[5]) == c and o[4] >= p[c]["pre-cluster-threshold"]]
        if mode == 2:
            order = sorted(rows, key=lambda i: -objs[i][4])           # stable: ties keep parser order
            kept = []
            for i in order:
                if all(_iou(objs[i], objs[k]) <= p[c]["nms-iou-threshold"] for k in kept):
                    kept.append(i)
            rows = [i for i in kept if objs[i][4] > p[c]["post-cluster-threshold"]]
        if p[c]["topk"] >= 0:
            rows = sorted(rows, key=lambda i: -objs[i][4])[: p[c]["topk"]]
        out.extend(rows)
    return out


def _run(native, objs, nc, mode, per_class=(), instance_mask=False):
    arr = np.asarray(objs, dtype=np.float64).reshape(-1, 6)
    return native.nvinfer_cluster(arr, nc, mode, list(per_class), instance_mask)


def test_nms_suppresses_overlaps_per_class_only(native):
    objs = [(10, 10, 50, 50, 0.9, 0), (12, 12, 50, 50, 0.8, 0), (12, 12, 50, 50, 0.7, 1), (200, 200, 30, 30, 0.6, 0)]
    r = _run(native, objs, 2, 2)
    assert r["error"] == "" and r["warnings"] == []
    assert r["source_index"] == [0, 3, 2]   # class 0 (by score) then class 1; same box in class 1 survives


def test_post_cluster_threshold_is_strict_and_pre_cluster_inclusive(native):
    objs = [(0, 0, 10, 10, 0.5, 0), (100, 0, 10, 10, 0.2, 0), (200, 0, 10, 10, 0.19999, 0)]
    r = _run(native, objs, 1, 2, [{"post-cluster-threshold": 0.5}])
    assert r["source_index"] == []                               # 0.5 is not > 0.5
    r = _run(native, objs, 1, 2, [{"post-cluster-threshold": 0.1}])
    assert r["source_index"] == [0, 1]                           # 0.2 >= pre 0.2 kept, 0.19999 dropped


def test_iou_equal_to_threshold_is_kept(native):
    # two 10x10 boxes overlapping by 5x10: IoU = 50/150 = 1/3
    objs = [(0, 0, 10, 10, 0.9, 0), (5, 0, 10, 10, 0.8, 0)]
    assert _run(native, objs, 1, 2, [{"nms-iou-threshold": 0.34}])["source_index"] == [0, 1]
    assert _run(native, objs, 1, 2, [{"nms-iou-threshold": 0.33}])["source_index"] == [0]


def test_mode_none_is_topk_only(native):
    objs = [(0, 0, 10, 10, 0.3, 0), (0, 0, 10, 10, 0.9, 0), (0, 0, 10, 10, 0.5, 0)]
    assert _run(native, objs, 1, 4)["source_index"] == [0, 1, 2]                 # no sort, no NMS without topk
    assert _run(native, objs, 1, 4, [{"topk": 2}])["source_index"] == [1, 2]
    assert _run(native, objs, 1, 4, [{"topk": 0}])["source_index"] == []


def test_mode_zero_rewritten_with_warning(native):
    objs = [(i * 100.0, 0, 10, 10, 0.5 + i * 0.01, 0) for i in range(30)] + [(0, 0, 10, 10.0, 0.4, 0)]
    r = _run(native, objs, 1, 0, [{"topk": 100, "nms-iou-threshold": 0.1}])
    assert r["effective_mode"] == 2
    assert any("topk=20" in w for w in r["warnings"])
    assert r["source_index"] == oracle_cluster(objs, 1, 0, [{"topk": 100}])
    assert len(r["source_index"]) == 20


@pytest.mark.parametrize("mode", [1, 3])
def test_dbscan_modes_are_a_clear_error(native, mode):
    r = _run(native, [(0, 0, 1, 1, 0.9, 0)], 1, mode)
    assert "DBSCAN" in r["error"] and r["objects"].shape == (0, 6)


def test_invalid_mode_error(native):
    assert "not a valid" in _run(native, [], 1, 7)["error"]


def test_instance_mask_requires_mode_4(native):
    r = _run(native, [(0, 0, 1, 1, 0.9, 0)], 1, 2, instance_mask=True)
    assert "cluster-mode=4" in r["error"]
    r = _run(native, [(0, 0, 1, 1, 0.9, 0), (0, 0, 1, 1, 0.1, 0)], 1, 4, instance_mask=True)
    assert r["error"] == "" and r["source_index"] == [0]


def test_num_classes_unset_drops_everything(native):
    r = _run(native, [(0, 0, 10, 10, 0.9, 0)], 0, 2)
    assert r["objects"].shape == (0, 6)
    assert any("num-detected-classes" in w for w in r["warnings"])


def test_class_out_of_range_dropped(native):
    r = _run(native, [(0, 0, 10, 10, 0.9, 3), (0, 0, 10, 10, 0.9, 0)], 2, 2)
    assert r["source_index"] == [1]


def test_nan_confidence_never_kept(native):
    r = _run(native, [(0, 0, 10, 10, float("nan"), 0), (50, 0, 10, 10, 0.9, 0)], 1, 4)
    assert r["source_index"] == [1]


@pytest.mark.parametrize("mode", [0, 2, 4])
def test_random_against_oracle(native, mode):
    rng = np.random.default_rng(100 + mode)
    for _ in range(150):
        n = int(rng.integers(0, 40))
        nc = int(rng.integers(1, 4))
        xy = rng.uniform(0, 200, (n, 2))
        wh = rng.uniform(5, 60, (n, 2))
        conf = np.round(rng.uniform(0, 1, n), 2)   # rounded: many ties, exercises the stable order
        cls = rng.integers(0, nc + 1, n)           # some out of range
        objs = [tuple(r) for r in np.column_stack([xy, wh, conf, cls])]
        per_class = [{"pre-cluster-threshold": float(rng.uniform(0, 0.5)),
                      "post-cluster-threshold": float(rng.uniform(0, 0.6)),
                      "nms-iou-threshold": float(rng.uniform(0.1, 0.7)),
                      "topk": int(rng.integers(-1, 6))} for _ in range(nc)]
        r = _run(native, objs, nc, mode, per_class)
        assert r["source_index"] == oracle_cluster(objs, nc, mode, per_class)
        np.testing.assert_allclose(r["objects"], np.asarray(objs).reshape(-1, 6)[r["source_index"]], rtol=1e-6)


# ---------------------------------------------------------------------------------------------------------------
# AddressSanitizer + UndefinedBehaviorSanitizer fuzz of core/cluster + core/nvinfer_geometry
# (tests/native_emulate/emulate_fuzz.cpp): hostile values, every cluster mode, two threads at once.

@pytest.mark.slow
def test_cluster_and_geometry_fuzz_under_asan_ubsan(tmp_path):
    import hashlib
    import os
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    cxx = shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        pytest.fail("no C++ compiler (scripts/test.sh installs g++)")
    core = root / "csrc" / "core"
    sources = [core / "cluster.cpp", core / "nvinfer_geometry.cpp", core / "nms.cpp",
               root / "tests" / "native_emulate" / "emulate_fuzz.cpp"]
    headers = [core / "cluster.hpp", core / "nvinfer_geometry.hpp", core / "nms.hpp", core / "types.hpp"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources + headers)).hexdigest()[:16]
    cache = Path(os.environ.get("FACEMASK_TEST_CACHE", root / "tests" / ".cache")) / "emulate_fuzz"
    exe = cache / f"emulate_fuzz-{digest}"
    if not exe.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = tmp_path / "emulate_fuzz"
        cmd = [cxx, "-std=c++17", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
               "-fno-omit-frame-pointer", "-Wall", "-Wextra", "-Werror", f"-I{root / 'csrc'}",
               *map(str, sources), "-o", str(tmp), "-lpthread"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-4000:]
        shutil.copy2(tmp, exe)
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env["ASAN_OPTIONS"] = "detect_leaks=1:halt_on_error=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    r = subprocess.run([str(exe), os.environ.get("FACEMASK_FUZZ_SECONDS", "3"), os.environ.get("FACEMASK_FUZZ_SEED", "1")],
                       capture_output=True, text=True, env=env, timeout=300)
    out = r.stdout + r.stderr
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "VIOLATION"):
        assert marker not in out, out[-6000:]
    assert r.returncode == 0, out[-6000:]
    calls, scal, clus, kept = (int(v) for v in out.split("emulate_fuzz: ")[1].split()[0:8:2])
    assert calls > 1000 and scal > 300 and clus > 100 and kept > 100, out  # both paths really ran
