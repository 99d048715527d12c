"""CUDA redaction kernels (csrc/cuda) through the bindings.

The GPU twin must give the CPU core's output (csrc/core/redact.hpp) within +-1 per channel on the same inputs; the
CPU core itself is checked against the independent numpy oracle in tests/oracles/redact.py, and a subset here is
also checked against that oracle directly. GPU tests need a CUDA device plus CuPy or PyTorch (for device arrays);
without them they skip with the reason. The CPU-only tests check the build and the error paths.
"""

from __future__ import annotations

import numpy as np
import pytest

from oracles import redact as orc

MODES = ["blur", "pixelate", "fill"]
SHAPES = ["box", "ellipse", "oval"]


def _device_lib():
    """(name, module) of an importable device-array library with a usable GPU, else (None, reason)."""
    try:
        import cupy as cp

        if cp.cuda.runtime.getDeviceCount() > 0:
            return "cupy", cp
    except Exception as e:  # noqa: BLE001 - any import/driver failure means "no CuPy GPU"
        why = f"cupy: {e}"
    else:
        why = "cupy: no device"
    try:
        import torch

        if torch.cuda.is_available():
            return "torch", torch
        why += "; torch: no CUDA device"
    except Exception as e:  # noqa: BLE001
        why += f"; torch: {e}"
    return None, why


@pytest.fixture(scope="module")
def gpu(native):
    if not native.cuda_built():
        pytest.skip("native module built without the CUDA toolkit")
    ok, why = native.cuda_available()
    if not ok:
        pytest.skip(f"no CUDA device: {why}")
    name, lib = _device_lib()
    if name is None:
        pytest.skip(f"no device-array library (CuPy or PyTorch with CUDA): {lib}")
    return name, lib


class Dev:
    """Upload / download helpers over CuPy or PyTorch."""

    def __init__(self, gpu):
        self.name, self.lib = gpu

    def put(self, a: np.ndarray):
        if self.name == "cupy":
            return self.lib.asarray(a)
        return self.lib.from_numpy(np.ascontiguousarray(a)).cuda()

    def get(self, d) -> np.ndarray:
        if self.name == "cupy":
            return self.lib.asnumpy(d)
        return d.cpu().numpy()


# ---------------------------------------------------------------------------------------------------------------------
# Layout conversion between the CPU binding's per-plane arrays and the CUDA binding's batch array.
def planes_to_frame(planes, fmt, w, h, pad=0):
    """One frame as the CUDA binding lays it out (optionally with `pad` extra bytes per row)."""
    if fmt in ("NV12", "NV21"):
        y, uv = planes
        out = np.zeros((h * 3 // 2, w + pad), np.uint8)
        out[:h, :w] = y
        out[h:, :w] = uv.reshape(h // 2, w)
        return out
    if fmt in ("I420", "YV12"):
        y, a, b = planes
        flat = np.concatenate([y.ravel(), a.ravel(), b.ravel()])
        return flat.reshape(h * 3 // 2, w)
    p = planes[0]
    if p.ndim == 2:  # GRAY8
        out = np.zeros((h, w + pad), np.uint8)
        out[:, :w] = p
        return out
    out = np.zeros((h, w + pad, p.shape[2]), np.uint8)
    out[:, :w] = p
    return out


def frame_to_planes(frame, fmt, w, h):
    if fmt in ("NV12", "NV21"):
        return [frame[:h, :w], frame[h:, :w].reshape(h // 2, w // 2, 2)]
    if fmt in ("I420", "YV12"):
        flat = frame.ravel()
        y = flat[: w * h].reshape(h, w)
        a = flat[w * h: w * h + (w // 2) * (h // 2)].reshape(h // 2, w // 2)
        b = flat[w * h + (w // 2) * (h // 2):].reshape(h // 2, w // 2)
        return [y, a, b]
    return [frame[:, :w]]


def regions_of(boxes, landmarks=None, masks=None, frame=0):
    out = []
    for i, b in enumerate(boxes):
        r = {"frame": frame, "box": tuple(float(v) for v in b)}
        if landmarks is not None:
            r["landmarks"] = [tuple(map(float, p)) for p in landmarks[i]]
        if masks is not None and masks[i] is not None:
            r["mask"] = masks[i]
        out.append(r)
    return out


BOXES = np.array([[10.3, 8.7, 41.6, 47.2], [52.2, 20.4, 79.9, 39.8], [-9.4, 30.1, 14.8, 70.6]], np.float32)
LMS = np.array([
    [[19.0, 22.0], [32.0, 24.5], [26.0, 30.0], [20.5, 37.0], [30.5, 38.5]],
    [[59.0, 26.0], [72.0, 26.0], [65.5, 30.0], [60.5, 34.0], [71.0, 34.0]],
    [[-3.0, 43.0], [8.0, 43.5], [2.5, 49.0], [-2.0, 56.0], [7.0, 56.0]],
], np.float32)


def assert_close(got_planes, want_planes, what, exact_frac=0.995):
    for p, (g, e) in enumerate(zip(got_planes, want_planes)):
        d = np.abs(g.astype(int) - e.astype(int))
        assert d.max() <= 1, f"{what} plane {p}: max diff {d.max()} at {np.argwhere(d > 1)[:5].tolist()}"
        assert (d == 0).mean() >= exact_frac, f"{what} plane {p}: {(d != 0).sum()} values off by 1"


def run_both(native, dev, fmt, w, h, boxes, rng, landmarks=None, masks=None, pad=0, **kw):
    planes = orc.random_planes(fmt, w, h, rng)
    cpu = [p.copy() for p in planes]
    native.redact(cpu, fmt, w, h, boxes, landmarks=landmarks, masks=masks, **kw)
    frame = planes_to_frame(planes, fmt, w, h, pad)
    d = dev.put(frame[None])  # batch of one
    if pad:
        d = d[:, :, :w] if frame.ndim == 2 else d[:, :, :w, :]
    st = native.cuda_redact(d, fmt, regions_of(boxes, landmarks, masks), **kw)
    out = dev.get(d)[0]
    return planes, cpu, frame_to_planes(out, fmt, w, h), st


# ---------------------------------------------------------------------------------------------------------------------
# CPU-only: build facts and error paths (run everywhere, GPU or not).
def test_cuda_build_facts(native):
    info = native.build_info()
    assert native.cuda_built() == bool(info["cuda"])
    ok, why = native.cuda_available()
    assert isinstance(ok, bool) and isinstance(why, str)
    if not ok:
        assert why, "cuda_available() must say why it is False"


def test_cuda_redact_rejects_host_arrays(native):
    frame = np.zeros((1, 8, 8, 4), np.uint8)
    if not native.cuda_built():
        with pytest.raises(RuntimeError, match="without the CUDA toolkit"):
            native.cuda_redact(frame, "RGBA", [])
        return
    with pytest.raises(TypeError, match="__cuda_array_interface__"):
        native.cuda_redact(frame, "RGBA", [{"frame": 0, "box": (0, 0, 4, 4)}])
    with pytest.raises(ValueError, match="unknown pixel format"):
        native.cuda_redact(frame, "YUY2", [])


class _FakeDeviceArray:
    """A __cuda_array_interface__ object; used only where no GPU exists (the pointer is never dereferenced)."""

    def __init__(self, shape, readonly=False, typestr="|u1"):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr, "data": (0x1000, readonly),
                                         "strides": None, "version": 3}


def test_cuda_redact_argument_errors(native):
    if not native.cuda_built():
        pytest.skip("native module built without the CUDA toolkit")
    with pytest.raises(ValueError, match="read-only"):
        native.cuda_redact(_FakeDeviceArray((1, 8, 8, 4), readonly=True), "RGBA", [])
    with pytest.raises(TypeError, match="uint8"):
        native.cuda_redact(_FakeDeviceArray((1, 8, 8, 4), typestr="<f4"), "RGBA", [])
    with pytest.raises(ValueError, match="last dim of 4"):
        native.cuda_redact(_FakeDeviceArray((1, 8, 8, 3)), "RGBA", [])
    with pytest.raises(ValueError, match="4:2:0"):
        native.cuda_redact(_FakeDeviceArray((1, 13, 8)), "NV12", [])


def test_cuda_redact_without_device_fails_cleanly(native):
    if not native.cuda_built():
        pytest.skip("native module built without the CUDA toolkit")
    ok, why = native.cuda_available()
    if ok:
        pytest.skip("a CUDA device is present (this test covers GPU-less hosts)")
    with pytest.raises(RuntimeError, match="CUDA"):
        native.cuda_redact(_FakeDeviceArray((1, 16, 16, 4)), "RGBA", [{"frame": 0, "box": (2, 2, 10, 10)}])


def test_empty_launch_timer(native):
    """The benchmark's "one launch" term: fails cleanly without a device, a positive time with one."""
    if not native.cuda_built():
        with pytest.raises(RuntimeError, match="without the CUDA toolkit"):
            native.cuda_empty_launch_us()
        return
    ok, _ = native.cuda_available()
    if not ok:
        with pytest.raises(RuntimeError, match="empty launch"):
            native.cuda_empty_launch_us(iters=3)
        return
    for coop in (False, True):
        us = native.cuda_empty_launch_us(iters=20, cooperative=coop)
        assert 0.0 < us < 1000.0, (coop, us)


# ---------------------------------------------------------------------------------------------------------------------
# GPU: same look as the CPU core.
@pytest.mark.gpu
@pytest.mark.parametrize("fmt", ["RGBA", "BGRx", "ARGB", "RGB", "NV12", "NV21", "I420", "YV12", "GRAY8"])
@pytest.mark.parametrize("mode", MODES)
def test_formats_and_modes_match_cpu_core(native, gpu, fmt, mode):
    dev = Dev(gpu)
    rng = np.random.default_rng(abs(hash((fmt, mode))) % 2**32)
    planes, cpu, got, st = run_both(native, dev, fmt, 96, 72, BOXES, rng, landmarks=LMS, mode=mode, shape="oval")
    assert st["regions"] == 3 and st["regions_drawn"] == 3
    assert_close(got, cpu, f"{fmt} {mode}")
    assert any((g != o).any() for g, o in zip(got, planes)), "nothing changed"


@pytest.mark.gpu
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("feather", [0.0, 0.25])
def test_shapes_match_cpu_core_and_oracle(native, gpu, shape, mode, feather):
    dev = Dev(gpu)
    rng = np.random.default_rng(11)
    for fmt in ("RGBA", "NV12"):
        kw = dict(mode=mode, shape=shape, feather=feather, margin=1.1, strength=1.5)
        planes, cpu, got, _ = run_both(native, dev, fmt, 96, 72, BOXES, rng, landmarks=LMS, **kw)
        assert_close(got, cpu, f"{fmt} {shape} {mode} vs core")
        want = orc.redact(planes, fmt, 96, 72, BOXES, landmarks=LMS, **kw)
        assert_close(got, want, f"{fmt} {shape} {mode} vs numpy oracle")


@pytest.mark.gpu
def test_instance_masks_and_per_region_threshold(native, gpu):
    dev = Dev(gpu)
    rng = np.random.default_rng(5)
    masks = [rng.random((7, 9)).astype(np.float32), None, rng.random((28, 28)).astype(np.float32)]
    for mode in MODES:
        _, cpu, got, _ = run_both(native, dev, "RGBA", 90, 80, BOXES, rng, masks=masks, mode=mode, mask_threshold=0.4)
        assert_close(got, cpu, f"mask {mode}")
    # A per-region threshold (DeepStream's mask_params.threshold) overrides the global one.
    w, h = 64, 48
    frame = rng.integers(0, 256, (1, h, w, 4), dtype=np.uint8)
    m = np.full((4, 4), 0.6, np.float32)
    d = dev.put(frame)
    native.cuda_redact(d, "RGBA", [{"frame": 0, "box": (8, 8, 40, 40), "mask": m, "mask_threshold": 0.7}],
                       mode="fill", margin=1.0, mask_threshold=0.1)
    assert (dev.get(d) == frame).all(), "0.6 <= 0.7: nothing may be drawn"
    native.cuda_redact(d, "RGBA", [{"frame": 0, "box": (8, 8, 40, 40), "mask": m, "mask_threshold": 0.5}],
                       mode="fill", margin=1.0, mask_threshold=0.9)
    out = dev.get(d)
    assert (out[0, 8:40, 8:40, :3] == 0).all() and (out[0, 8:40, 8:40, 3] == frame[0, 8:40, 8:40, 3]).all()


@pytest.mark.gpu
@pytest.mark.parametrize("multi_launch", [False, True])
def test_batch_overlapping_regions_keep_core_order(native, gpu, multi_launch):
    """Several frames per launch, regions in different frames, and overlapping regions (the core processes them
    in order, a later one blurring the output of an earlier one): GPU batch == CPU frame by frame."""
    dev = Dev(gpu)
    rng = np.random.default_rng(9)
    w, h, n = 160, 120, 4
    frames = [orc.random_planes("RGBA", w, h, rng)[0] for _ in range(n)]
    per_frame = {
        0: np.array([[10, 10, 60, 70], [40, 30, 100, 90], [45, 35, 80, 80]], np.float32),  # chain of overlaps
        1: np.array([[0, 0, 50, 50]], np.float32),
        3: np.array([[100, 60, 170, 130], [5, 5, 30, 30]], np.float32),  # one partly outside
    }
    regions = []
    expect = [f.copy() for f in frames]
    for i, boxes in per_frame.items():
        regions += regions_of(boxes, frame=i)
        native.redact([expect[i]], "RGBA", w, h, boxes, mode="blur", shape="ellipse", strength=2.0)
    d = dev.put(np.stack(frames))
    st = native.cuda_redact(d, "RGBA", regions, mode="blur", shape="ellipse", strength=2.0,
                            multi_launch=multi_launch)
    assert st["waves"] == 3
    if st["flat"]:  # the flat blur path (FACEMASK_CUDA_FLAT=1): three plain launches per dependency wave
        assert not st["cooperative"] and st["launches"] == 3 * 3, st
    else:
        assert st["launches"] == (1 if st["cooperative"] else st["launches"])
        if not multi_launch:
            assert st["cooperative"] and st["launches"] == 1, "one launch per batch expected on this device"
    got = dev.get(d)
    for i in range(n):
        assert_close([got[i]], [expect[i]], f"frame {i}")
    assert (got[2] == frames[2]).all(), "a frame without regions must be untouched"


@pytest.mark.gpu
@pytest.mark.parametrize("fmt", ["RGBA", "NV12", "GRAY8"])
def test_padded_pitch_and_untouched_outside(native, gpu, fmt):
    dev = Dev(gpu)
    rng = np.random.default_rng(3)
    w, h, pad = 100, 64, 28
    planes, cpu, got, _ = run_both(native, dev, fmt, w, h, BOXES, rng, landmarks=LMS, pad=pad, mode="blur")
    assert_close(got, cpu, f"{fmt} padded")
    # Bytes outside the region rects and the padding itself are never written.
    boxes = np.array([[70, 40, 95, 60]], np.float32)
    frame = planes_to_frame(orc.random_planes(fmt, w, h, rng), fmt, w, h, pad)
    frame[..., w:] = 77 if frame.ndim == 2 else frame[..., w:]
    d = dev.put(frame[None])
    view = d[:, :, :w] if frame.ndim == 2 else d[:, :, :w, :]
    native.cuda_redact(view, fmt, regions_of(boxes), mode="fill", shape="box", margin=1.0, feather=0.0)
    out = dev.get(d)[0]
    if frame.ndim == 2:
        assert (out[:, w:] == frame[:, w:]).all(), "row padding was written"
    assert (out[:30] == frame[:30]).all(), "rows above the region changed"


@pytest.mark.gpu
def test_alpha_byte_untouched_and_large_radius(native, gpu):
    dev = Dev(gpu)
    rng = np.random.default_rng(4)
    w, h = 640, 360
    boxes = np.array([[100, 50, 400, 340], [420, 10, 630, 200]], np.float32)
    planes, cpu, got, _ = run_both(native, dev, "RGBA", w, h, boxes, rng, mode="blur", strength=6.0, shape="box")
    assert_close(got, cpu, "strength 6")
    assert (got[0][..., 3] == planes[0][..., 3]).all(), "alpha byte written"


@pytest.mark.gpu
def test_caller_stream(native, gpu):
    name, lib = gpu
    dev = Dev(gpu)
    rng = np.random.default_rng(8)
    planes = orc.random_planes("NV12", 128, 96, rng)
    cpu = [p.copy() for p in planes]
    native.redact(cpu, "NV12", 128, 96, BOXES, landmarks=LMS)
    d = dev.put(planes_to_frame(planes, "NV12", 128, 96)[None])
    if name == "cupy":
        s = lib.cuda.Stream(non_blocking=True)
        handle = s.ptr
    else:
        s = lib.cuda.Stream()
        handle = s.cuda_stream
    native.cuda_redact(d, "NV12", regions_of(BOXES, LMS), stream=handle, synchronize=False)
    s.synchronize()
    assert_close(frame_to_planes(dev.get(d)[0], "NV12", 128, 96), cpu, "caller stream")


@pytest.mark.gpu
def test_degenerate_regions_and_bad_frame_index(native, gpu):
    dev = Dev(gpu)
    frame = np.random.default_rng(2).integers(0, 256, (2, 32, 32, 4), dtype=np.uint8)
    d = dev.put(frame)
    st = native.cuda_redact(d, "RGBA", [{"frame": 0, "box": (5, 5, 5, 9)}, {"frame": 1, "box": (50, 50, 60, 60)},
                                        {"frame": 1, "box": (float("nan"), 0, 4, 4)}])
    assert st["regions"] == 3 and st["regions_drawn"] == 0
    assert (dev.get(d) == frame).all()
    with pytest.raises(RuntimeError, match="frame index 2 out of range"):
        native.cuda_redact(d, "RGBA", [{"frame": 2, "box": (1, 1, 9, 9)}])
    with pytest.raises(RuntimeError, match="strength"):
        native.cuda_redact(d, "RGBA", [{"frame": 0, "box": (1, 1, 9, 9)}], strength=-1.0)


@pytest.mark.gpu
@pytest.mark.parametrize("mode", MODES)
def test_random_ovals_byte_identical(native, gpu, mode):
    """The kernel pre-classifies ellipse pixels (sure inside / sure outside / feather ramp evaluated exactly) from a
    bound on the core's signed distance: random rotated ovals of 3-160 px with feathers from hard edge to wider than
    the face, thin ellipses and subsampled chroma must stay byte-identical to the CPU core (not just within +-1)."""
    dev = Dev(gpu)
    rng = np.random.default_rng(2027)
    w, h = 320, 240
    for it in range(6):
        n = 8
        s = rng.uniform(3, 160, n)
        asp = rng.uniform(0.3, 1.2, n)  # box width / height; thin ellipses included
        cx, cy = rng.uniform(-20, w + 20, n), rng.uniform(-20, h + 20, n)
        boxes = np.stack([cx - s * asp / 2, cy - s / 2, cx + s * asp / 2, cy + s / 2], 1).astype(np.float32)
        # Tilted landmark sets (eyes / nose / mouth corners rotated by up to +-40 degrees) -> rotated ovals.
        lms = []
        for i in range(n):
            t = rng.uniform(-0.7, 0.7)
            c, sn = np.cos(t), np.sin(t)
            pts = np.array([[-0.2, -0.1], [0.2, -0.1], [0.0, 0.05], [-0.15, 0.25], [0.15, 0.25]]) * s[i]
            rot = pts @ np.array([[c, sn], [-sn, c]])
            lms.append(rot + [cx[i], cy[i]])
        lms = np.array(lms, np.float32)
        feather = [0.0, 0.02, 0.1, 0.5, 2.5, 0.1][it]
        for fmt in ("RGBA", "NV12"):
            kw = dict(mode=mode, shape="oval" if it % 2 == 0 else "ellipse", feather=feather,
                      margin=float(rng.uniform(0.8, 1.6)), strength=float(rng.uniform(0.5, 2.0)))
            _, cpu, got, _ = run_both(native, dev, fmt, w, h, boxes, rng, landmarks=lms, **kw)
            for p, (g, e) in enumerate(zip(got, cpu)):
                diff = np.argwhere(g != e)
                assert diff.size == 0, f"{fmt} {kw} plane {p}: {len(diff)} bytes differ, first {diff[:5].tolist()}"


def _blur_factor(s):
    """Spec (csrc/core/redact.hpp, Blur): the largest power of two <= s / 4, clamped to [1, 64]."""
    f = 1
    while f < 64 and 2 * f <= s / 4:
        f *= 2
    return f


BIG_FACES = np.array([[20, 20, 80, 95], [150, 30, 400, 330], [430, 100, 620, 300]], np.float32)


@pytest.mark.gpu
@pytest.mark.parametrize("fmt", ["RGBA", "BGRx", "ARGB", "RGB", "NV12", "I420", "GRAY8"])
@pytest.mark.parametrize("strength", [1.0, 3.0, 9.0])
def test_decimated_blur_byte_identical(native, native_plan_factors, gpu, fmt, strength):
    """Faces of 75-300 px: decimation factors 2 .. 64 on luma (and 1 .. 32 on 4:2:0 chroma), overlapping rects in one
    frame (a second wave), all byte-identical to the CPU core."""
    dev = Dev(gpu)
    rng = np.random.default_rng(int(strength * 10) + len(fmt))
    w, h = 640, 360
    boxes = np.concatenate([BIG_FACES, [[60, 40, 190, 200]]]).astype(np.float32)  # overlaps faces 0 and 1
    kw = dict(mode="blur", shape="ellipse", strength=strength)
    factors = native_plan_factors(boxes, w, h, strength)
    assert max(factors) >= (8 if strength == 1.0 else 32) and min(factors) >= 2, factors
    _, cpu, got, st = run_both(native, dev, fmt, w, h, boxes, rng, **kw)
    assert st["waves"] == 2
    for p, (g, e) in enumerate(zip(got, cpu)):
        diff = np.argwhere(g != e)
        assert diff.size == 0, f"{fmt} plane {p}: {len(diff)} bytes differ, first {diff[:5].tolist()}"


@pytest.fixture
def native_plan_factors(native):
    def factors(boxes, w, h, strength):
        out = []
        for b in boxes:
            p = native.plan_region(list(map(float, b)), width=w, height=h, mode="blur", shape="ellipse",
                                   strength=strength)
            out.append(_blur_factor(p["sigma"]))
        return out
    return factors


@pytest.mark.gpu
@pytest.mark.parametrize("fmt", ["RGBA", "RGB", "NV12", "GRAY8"])
def test_large_grid_and_factor_one_byte_identical(native, gpu, fmt):
    """sigma < 8 (factor 1: the plain full-resolution cascade) on rects too large for the kernel's shared memory
    (row-band / column-band passes through the scratch), next to small factor-1 rects that fit: byte-identical."""
    dev = Dev(gpu)
    rng = np.random.default_rng(77)
    w, h = 480, 400
    boxes = np.array([[180, 120, 290, 230], [10, 10, 40, 40], [420, 330, 470, 390]], np.float32)
    kw = dict(mode="blur", shape="box", strength=0.3, margin=3.0, feather=0.05)
    p = native.plan_region(list(map(float, boxes[0])), width=w, height=h, mode="blur", shape="box", strength=0.3,
                           margin=3.0, feather=0.05)
    x0, y0, x1, y1 = p["rect"]
    assert _blur_factor(p["sigma"]) == 1 and (x1 - x0) * (y1 - y0) > 100_000, p
    _, cpu, got, st = run_both(native, dev, fmt, w, h, boxes, rng, pad=12 if fmt != "RGB" else 0, **kw)
    assert st["waves"] == 2  # box 0's 3x rect overlaps box 2's
    for q, (g, e) in enumerate(zip(got, cpu)):
        diff = np.argwhere(g != e)
        assert diff.size == 0, f"{fmt} plane {q}: {len(diff)} bytes differ, first {diff[:5].tolist()}"


@pytest.mark.gpu
def test_decimated_blur_matches_oracle(native, gpu):
    """A subset against the independent numpy oracle directly (factors 2 .. 8, RGBA and NV12)."""
    dev = Dev(gpu)
    rng = np.random.default_rng(31)
    w, h = 640, 360
    for fmt in ("RGBA", "NV12"):
        kw = dict(mode="blur", shape="oval", strength=1.0)
        planes, cpu, got, _ = run_both(native, dev, fmt, w, h, BIG_FACES, rng, **kw)
        want = orc.redact(planes, fmt, w, h, BIG_FACES, **kw)
        assert_close(got, want, f"{fmt} vs numpy oracle")


@pytest.mark.gpu
@pytest.mark.parametrize("fmt", ["RGBA", "NV12"])
def test_unfused_vertical_passes_byte_identical(native, gpu, fmt, monkeypatch):
    """Small grids normally get their vertical passes from the block that finishes the last row band (no grid
    barrier); FACEMASK_CUDA_NOFUSE=1 runs them as a phase of their own, also in one launch per phase."""
    monkeypatch.setenv("FACEMASK_CUDA_FLAT", "0")  # the work-item kernel (not the flat or cluster blur path)
    monkeypatch.setenv("FACEMASK_CUDA_CLUSTER", "0")
    dev = Dev(gpu)
    monkeypatch.setenv("FACEMASK_CUDA_NOFUSE", "1")
    rng = np.random.default_rng(41)
    w, h = 640, 360
    planes = orc.random_planes(fmt, w, h, rng)
    cpu = [p.copy() for p in planes]
    native.redact(cpu, fmt, w, h, BIG_FACES, mode="blur", shape="oval")
    for multi in (False, True):
        d = dev.put(planes_to_frame(planes, fmt, w, h)[None])
        native.cuda_redact(d, fmt, regions_of(BIG_FACES), mode="blur", shape="oval", multi_launch=multi)
        got = frame_to_planes(dev.get(d)[0], fmt, w, h)
        for p, (g, e) in enumerate(zip(got, cpu)):
            assert (g == e).all(), f"{fmt} multi_launch={multi} plane {p}: {(g != e).sum()} bytes differ"


@pytest.mark.gpu
@pytest.mark.parametrize("fmt", ["RGBA", "NV12", "RGB"])
def test_split_launches_byte_identical(native, gpu, fmt, monkeypatch):
    """FACEMASK_CUDA_SPLIT=1: one plain launch per phase with kernels compiled per item kind (every mode; blur with
    fused and unfused vertical passes; two waves)."""
    dev = Dev(gpu)
    monkeypatch.setenv("FACEMASK_CUDA_SPLIT", "1")
    rng = np.random.default_rng(43)
    w, h = 640, 360
    boxes = np.concatenate([BIG_FACES, [[60, 40, 190, 200]]]).astype(np.float32)
    for mode in MODES:
        for nofuse in ("0", "1"):
            monkeypatch.setenv("FACEMASK_CUDA_NOFUSE", nofuse)
            planes = orc.random_planes(fmt, w, h, rng)
            cpu = [p.copy() for p in planes]
            native.redact(cpu, fmt, w, h, boxes, mode=mode, shape="ellipse")
            d = dev.put(planes_to_frame(planes, fmt, w, h)[None])
            st = native.cuda_redact(d, fmt, regions_of(boxes), mode=mode, shape="ellipse")
            assert not st["cooperative"] and st["launches"] >= 2, st
            got = frame_to_planes(dev.get(d)[0], fmt, w, h)
            for p, (g, e) in enumerate(zip(got, cpu)):
                assert (g == e).all(), f"{fmt} {mode} nofuse={nofuse} plane {p}: {(g != e).sum()} bytes differ"


@pytest.mark.gpu
@pytest.mark.parametrize("fmt,pad", [("NV12", 0), ("NV12", 3), ("NV21", 0), ("RGBA", 0), ("BGRx", 8)])
def test_dataflow_and_barrier_orders_byte_identical(native, gpu, fmt, pad, monkeypatch):
    """Default (dataflow): a wave's decimation, column and upsampling items share one queue and upsampling items wait
    per plane for its grid; FACEMASK_CUDA_BARRIER=1 separates the stages by grid barriers. Many planes of very
    different sizes (more items than blocks wait), fused and unfused vertical passes, one launch or one per phase,
    an odd NV12 pitch (chroma pairs byte by byte instead of 16-bit words): all byte-identical to the CPU core."""
    monkeypatch.setenv("FACEMASK_CUDA_FLAT", "0")  # the work-item kernel (not the flat or cluster blur path)
    monkeypatch.setenv("FACEMASK_CUDA_CLUSTER", "0")
    dev = Dev(gpu)
    rng = np.random.default_rng(53 + pad)
    w, h = 640, 360
    small = np.array([[x, y, x + s, y + s * 1.2] for x, y, s in
                      [(470, 20, 14), (500, 60, 22), (560, 10, 30), (480, 250, 40), (20, 250, 55), (560, 300, 9)]],
                     np.float32)
    boxes = np.concatenate([BIG_FACES, small]).astype(np.float32)
    for mode in ("blur", "pixelate"):
        planes = orc.random_planes(fmt, w, h, rng)
        cpu = [p.copy() for p in planes]
        native.redact(cpu, fmt, w, h, boxes, mode=mode, shape="oval")
        frame = planes_to_frame(planes, fmt, w, h, pad)
        for barrier, nofuse, multi in [("0", "0", False), ("1", "0", False), ("0", "1", False), ("0", "0", True),
                                       ("1", "1", True)]:
            monkeypatch.setenv("FACEMASK_CUDA_BARRIER", barrier)
            monkeypatch.setenv("FACEMASK_CUDA_NOFUSE", nofuse)
            d = dev.put(frame[None])
            view = (d[:, :, :w] if frame.ndim == 2 else d[:, :, :w, :]) if pad else d
            native.cuda_redact(view, fmt, regions_of(boxes), mode=mode, shape="oval", multi_launch=multi)
            got = frame_to_planes(dev.get(d)[0], fmt, w, h)
            for p, (g, e) in enumerate(zip(got, cpu)):
                assert (g == e).all(), (f"{fmt} pad={pad} {mode} barrier={barrier} nofuse={nofuse} multi={multi} "
                                        f"plane {p}: {(g != e).sum()} bytes differ")


@pytest.mark.gpu
@pytest.mark.parametrize("fmt,pad", [("RGBA", 0), ("ARGB", 0), ("xBGR", 0), ("BGRx", 3), ("RGB", 0), ("NV12", 0),
                                     ("NV12", 3), ("I420", 0), ("GRAY8", 1)])
def test_access_paths_and_item_sizing_byte_identical(native, gpu, fmt, pad, monkeypatch):
    """The decimation's whole-pixel / column-pair loads (plain loop when a round has no edge row or column, edge loop
    otherwise; odd NV12 / GRAY8 pitches take the byte loops), the upsampling's whole-word access of 4-byte pixels
    (non-channel byte first or last) and its byte path (FACEMASK_CUDA_NOWORD4=1), and row bands sized with or
    without the grid cell cost (FACEMASK_CUDA_CELLCOST): all byte-identical to the CPU core (which never touches the
    4th byte), with faces clipped at every frame edge, odd rect widths and decimation factors 1-16; row padding is
    never written."""
    monkeypatch.setenv("FACEMASK_CUDA_FLAT", "0")  # the work-item kernel (not the flat or cluster blur path)
    monkeypatch.setenv("FACEMASK_CUDA_CLUSTER", "0")
    dev = Dev(gpu)
    rng = np.random.default_rng(71 + pad)
    w, h = 638, 358
    boxes = np.array([[-30, -25, 70, 80], [560, 290, 660, 400], [590, -10, 650, 60], [-15, 300, 45, 370],
                      [120, 40, 380, 330], [400, 60, 470, 150], [431, 200, 463, 243], [300, 5, 317, 26]],
                     np.float32)
    planes = orc.random_planes(fmt, w, h, rng)
    for strength in (1.0, 2.5):
        cpu = [p.copy() for p in planes]
        native.redact(cpu, fmt, w, h, boxes, mode="blur", shape="oval", strength=strength)
        frame = planes_to_frame(planes, fmt, w, h, pad)
        for cell_cost, noword in (("12", "0"), ("0", "0"), ("48", "1")):
            monkeypatch.setenv("FACEMASK_CUDA_CELLCOST", cell_cost)
            monkeypatch.setenv("FACEMASK_CUDA_NOWORD4", noword)
            d = dev.put(frame[None])
            view = (d[:, :, :w] if frame.ndim == 2 else d[:, :, :w, :]) if pad else d
            native.cuda_redact(view, fmt, regions_of(boxes), mode="blur", shape="oval", strength=strength)
            got_frame = dev.get(d)[0]
            got = frame_to_planes(got_frame, fmt, w, h)
            for p, (g, e) in enumerate(zip(got, cpu)):
                assert (g == e).all(), (f"{fmt} pad={pad} strength={strength} cellcost={cell_cost} noword4={noword} "
                                        f"plane {p}: {(g != e).sum()} bytes differ")
            if pad:  # the row padding (outside the image) is never written
                tail = got_frame[..., w:, :] if frame.ndim == 3 else got_frame[:, w:]
                want = frame[..., w:, :] if frame.ndim == 3 else frame[:, w:]
                assert (tail == want).all(), f"{fmt} pad={pad}: padding bytes changed"


@pytest.mark.gpu
@pytest.mark.parametrize("fmt,pad", [("NV12", 0), ("NV12", 3), ("I420", 0), ("RGBA", 0), ("BGRx", 8)])
def test_item_budgets_byte_identical(native, gpu, fmt, pad, monkeypatch):
    """Work-item sizing changes only how the planes are cut into items, never the bytes: the default sizing, the
    min-max split (FACEMASK_CUDA_GREEDY=1) with its default budgets, with very few row bands and many upsampling items
    and the reverse (DECITEMS / UPITEMS 0.25 and 4): all byte-identical to the CPU core, with faces clipped at the
    frame edges and decimation factors 1-8; row padding is never written."""
    monkeypatch.setenv("FACEMASK_CUDA_FLAT", "0")  # the work-item kernel (not the flat or cluster blur path)
    monkeypatch.setenv("FACEMASK_CUDA_CLUSTER", "0")
    dev = Dev(gpu)
    rng = np.random.default_rng(97 + pad)
    w, h = 638, 358
    boxes = np.array([[-30, -25, 70, 80], [560, 290, 660, 400], [120, 40, 380, 330], [400, 60, 470, 150],
                      [431, 200, 463, 243], [300, 5, 317, 26], [480, 170, 620, 280]], np.float32)
    planes = orc.random_planes(fmt, w, h, rng)
    cpu = [p.copy() for p in planes]
    native.redact(cpu, fmt, w, h, boxes, mode="blur", shape="oval")
    frame = planes_to_frame(planes, fmt, w, h, pad)
    knobs = ("FACEMASK_CUDA_GREEDY", "FACEMASK_CUDA_DECITEMS", "FACEMASK_CUDA_UPITEMS")
    items = {}
    for env in ({}, {"FACEMASK_CUDA_GREEDY": "1"},
                {"FACEMASK_CUDA_GREEDY": "1", "FACEMASK_CUDA_DECITEMS": "0.25", "FACEMASK_CUDA_UPITEMS": "4"},
                {"FACEMASK_CUDA_GREEDY": "1", "FACEMASK_CUDA_DECITEMS": "4", "FACEMASK_CUDA_UPITEMS": "0.25"}):
        for k in knobs:
            monkeypatch.delenv(k, raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        d = dev.put(frame[None])
        view = (d[:, :, :w] if frame.ndim == 2 else d[:, :, :w, :]) if pad else d
        st = native.cuda_redact(view, fmt, regions_of(boxes), mode="blur", shape="oval")
        got_frame = dev.get(d)[0]
        got = frame_to_planes(got_frame, fmt, w, h)
        for p, (g, e) in enumerate(zip(got, cpu)):
            assert (g == e).all(), f"{fmt} pad={pad} {env} plane {p}: {(g != e).sum()} bytes differ"
        if pad:
            tail = got_frame[..., w:, :] if frame.ndim == 3 else got_frame[:, w:]
            want = frame[..., w:, :] if frame.ndim == 3 else frame[:, w:]
            assert (tail == want).all(), f"{fmt} pad={pad} {env}: padding bytes changed"
        items[tuple(sorted(env.items()))] = st["work_items"]
    # the knobs act: a budget of 4 upsampling items per resident block cuts these few planes into items of one to a
    # few pixel rows (a host-side model of the sizings counts 2.2-2.5x the default's items on a 132-SM GPU; the
    # budgets scale with the GPU's resident blocks, so only the difference is asserted)
    many_up = (("FACEMASK_CUDA_DECITEMS", "0.25"), ("FACEMASK_CUDA_GREEDY", "1"), ("FACEMASK_CUDA_UPITEMS", "4"))
    assert items[many_up] != items[()], items


@pytest.mark.gpu
@pytest.mark.parametrize("fmt", ["NV12", "I420", "RGBA", "BGRx", "RGB"])
def test_kernel_variants_and_first_fetch_byte_identical(native, gpu, fmt, monkeypatch):
    """The default launch picks the kernel compiled for the batch's plane kinds (1-/2-channel planes or 3-channel
    ones) and hands every block its first item without the atomic counter; FACEMASK_CUDA_FAMILY=0 launches the
    kernel with every plane kind compiled in, FACEMASK_CUDA_STATICFIRST=0 fetches every item through the counter,
    FACEMASK_CUDA_OCC=4 another kernel variant (more items than blocks, three dependency waves): all byte-identical
    to the CPU core for every mode."""
    monkeypatch.setenv("FACEMASK_CUDA_FLAT", "0")  # the work-item kernel (not the flat or cluster blur path)
    monkeypatch.setenv("FACEMASK_CUDA_CLUSTER", "0")
    dev = Dev(gpu)
    rng = np.random.default_rng(97)
    w, h = 640, 360
    small = np.array([[x, y, x + s, y + s * 1.2] for x, y, s in
                      [(470, 20, 14), (500, 60, 22), (560, 10, 30), (480, 250, 40), (20, 250, 55), (560, 300, 9),
                       (30, 40, 60)]], np.float32)  # the last one overlaps BIG_FACES[0]'s rect
    boxes = np.concatenate([BIG_FACES, small]).astype(np.float32)
    planes = orc.random_planes(fmt, w, h, rng)
    frame = planes_to_frame(planes, fmt, w, h)
    for mode in MODES:
        cpu = [p.copy() for p in planes]
        native.redact(cpu, fmt, w, h, boxes, mode=mode, shape="oval")
        for env in ({}, {"FACEMASK_CUDA_FAMILY": "0"}, {"FACEMASK_CUDA_STATICFIRST": "0"}, {"FACEMASK_CUDA_OCC": "4"},
                    {"FACEMASK_CUDA_FAMILY": "0", "FACEMASK_CUDA_STATICFIRST": "0"}):
            for k in ("FACEMASK_CUDA_FAMILY", "FACEMASK_CUDA_STATICFIRST", "FACEMASK_CUDA_OCC"):
                monkeypatch.delenv(k, raising=False)
            for k, v in env.items():
                monkeypatch.setenv(k, v)
            d = dev.put(frame[None])
            st = native.cuda_redact(d, fmt, regions_of(boxes), mode=mode, shape="oval")
            got = frame_to_planes(dev.get(d)[0], fmt, w, h)
            for p, (g, e) in enumerate(zip(got, cpu)):
                assert (g == e).all(), f"{fmt} {mode} {env} plane {p}: {(g != e).sum()} bytes differ"
            assert st["waves"] == 3, st  # (rects overlapping in a chain: three waves in every mode)


@pytest.mark.gpu
@pytest.mark.parametrize("fmt,pad", [("NV12", 0), ("NV12", 1), ("NV21", 2), ("I420", 0), ("YV12", 0), ("GRAY8", 0),
                                     ("GRAY8", 3), ("RGBA", 0), ("ARGB", 0), ("BGRx", 4), ("xBGR", 0), ("RGB", 0),
                                     ("BGR", 0)])
def test_flat_path_byte_identical(native, gpu, fmt, pad, monkeypatch):
    """Blur's flat path (FACEMASK_CUDA_FLAT=1, with and without programmatic dependent launch, box launch blocks of
    256 and 1024 threads: one thread per grid cell, one block per plane's box passes, one warp per rect row in the
    upsampling; three plain launches per dependency wave) and the work-item kernel (FACEMASK_CUDA_FLAT=0) both give
    the CPU core's bytes: faces at odd offsets and clipped at the frame edges, decimation factors 1-32, oval / box /
    instance-mask shapes, overlapping faces (four waves), padded and odd pitches (the upsampling's byte path); row
    padding is never written. A grid too large for the box launch's shared memory sends the batch to the item kernel."""
    dev = Dev(gpu)
    rng = np.random.default_rng(131 + pad)
    w, h = 638, 358
    boxes = np.array([[-30.5, -25, 70.3, 80], [561.7, 290.2, 660, 400], [121.3, 41.9, 380.6, 330.1],
                      [401, 60.5, 470.2, 150], [431.1, 200, 463, 243.7], [300.4, 5, 317, 26.2], [3.3, 250, 15, 262],
                      [350, 200, 455, 330]], np.float32)  # the last one overlaps faces 2 and 4
    masks = [None] * len(boxes)
    masks[3] = rng.random((11, 13)).astype(np.float32)
    planes = orc.random_planes(fmt, w, h, rng)
    frame = planes_to_frame(planes, fmt, w, h, pad)
    for strength, shape in ((1.0, "oval"), (0.5, "box"), (4.0, "oval"), (0.3, "box")):
        # strength 0.3: the largest face's grid is 184 x 179 cells at factor 2; with 4-byte cells (packed formats)
        # its two box-pass buffers need 2 x 132 KB of shared memory, over the opt-in limit (227 KB on H100), so that
        # batch takes the work-item kernel; the 1- and 2-byte-cell planes of the YUV formats fit
        big_grid = strength == 0.3 and frame.ndim == 3
        cpu = [p.copy() for p in planes]
        native.redact(cpu, fmt, w, h, boxes, masks=masks, mode="blur", shape=shape, strength=strength)
        for flat, pdl, boxt in (("1", "0", "256"), ("1", "1", "256"), ("1", "0", "1024"), ("0", "0", "256")):
            monkeypatch.setenv("FACEMASK_CUDA_FLAT", flat)
            monkeypatch.setenv("FACEMASK_CUDA_PDL", pdl)
            monkeypatch.setenv("FACEMASK_CUDA_BOXT", boxt)
            d = dev.put(frame[None])
            view = (d[:, :, :w] if frame.ndim == 2 else d[:, :, :w, :]) if pad else d
            st = native.cuda_redact(view, fmt, regions_of(boxes, masks=masks), mode="blur", shape=shape,
                                    strength=strength)
            assert st["flat"] == (flat == "1" and not big_grid), st
            assert st["waves"] == 4, st  # the plan rects (blur margin included) overlap in a chain of four waves
            got_frame = dev.get(d)[0]
            got = frame_to_planes(got_frame, fmt, w, h)
            for p, (g, e) in enumerate(zip(got, cpu)):
                assert (g == e).all(), (f"{fmt} pad={pad} strength={strength} {shape} flat={flat} pdl={pdl} "
                                        f"boxt={boxt} plane {p}: {(g != e).sum()} bytes differ at "
                                        f"{np.argwhere(g != e)[:4].tolist()}")
            if pad:
                tail = got_frame[..., w:, :] if frame.ndim == 3 else got_frame[:, w:]
                want = frame[..., w:, :] if frame.ndim == 3 else frame[:, w:]
                assert (tail == want).all(), f"{fmt} pad={pad} flat={flat}: padding bytes changed"


def _cc_major(gpu) -> int:
    name, lib = gpu
    if name == "cupy":
        return int(lib.cuda.Device().compute_capability) // 10
    return int(lib.cuda.get_device_capability()[0])


@pytest.mark.gpu
@pytest.mark.parametrize("fmt,pad", [("NV12", 0), ("NV12", 1), ("NV21", 2), ("I420", 0), ("YV12", 0), ("GRAY8", 0),
                                     ("GRAY8", 3), ("RGBA", 0), ("ARGB", 0), ("BGRx", 4), ("xBGR", 0), ("RGB", 0),
                                     ("BGR", 0)])
def test_cluster_path_byte_identical(native, gpu, fmt, pad, monkeypatch):
    """Blur's cluster path (FACEMASK_CUDA_CLUSTER=1, sm_90+: one launch of thread block clusters; a plane cut into
    parts that share their horizontal-pass rows through distributed shared memory) gives the CPU core's bytes on a
    batch of two frames of one dependency wave: faces clipped at the frame edges, tiny and large, decimation factors
    1-32, oval / box / instance-mask shapes, padded and odd pitches; row padding is never written. Cluster sizes 1-16,
    parts per plane from 1 to 16 (FACEMASK_CUDA_CPARTS), the three kernel variants. Overlapping faces (two waves)
    take the item kernel. Below sm_90 the path is never taken."""
    dev = Dev(gpu)
    has_clusters = _cc_major(gpu) >= 9
    rng = np.random.default_rng(171 + pad)
    w, h = 638, 358
    boxes = np.array([[-30.5, -25, 70.3, 80], [561.7, 290.2, 660, 400], [200.3, 40.9, 330.6, 200.1],
                      [420, 30.5, 470.2, 100], [300.4, 270, 317, 291.2], [3.3, 250, 15, 262], [450, 175, 520, 250],
                      [130, 280, 190, 350]], np.float32)  # plan rects do not overlap: one wave
    boxes1 = boxes[[2, 6, 0]] + np.float32(3.7)
    masks = [None] * len(boxes)
    masks[3] = rng.random((11, 13)).astype(np.float32)
    planes = [orc.random_planes(fmt, w, h, rng) for _ in range(2)]
    frames = np.stack([planes_to_frame(p, fmt, w, h, pad) for p in planes])
    configs = [{}, {"FACEMASK_CUDA_CSIZE": "16", "FACEMASK_CUDA_CPARTS": "60"},
               {"FACEMASK_CUDA_CSIZE": "1"}, {"FACEMASK_CUDA_CSIZE": "3", "FACEMASK_CUDA_CVAR": "1"},
               {"FACEMASK_CUDA_CVAR": "2", "FACEMASK_CUDA_CPARTS": "0.5"}]
    for strength, shape in ((1.0, "oval"), (0.5, "box"), (4.0, "oval"), (0.3, "box")):
        cpu = [[p.copy() for p in pl] for pl in planes]
        native.redact(cpu[0], fmt, w, h, boxes, masks=masks, mode="blur", shape=shape, strength=strength)
        native.redact(cpu[1], fmt, w, h, boxes1, mode="blur", shape=shape, strength=strength)
        regions = regions_of(boxes, masks=masks) + regions_of(boxes1, frame=1)
        for cfg in configs:
            monkeypatch.setenv("FACEMASK_CUDA_CLUSTER", "1")
            for k in ("FACEMASK_CUDA_CSIZE", "FACEMASK_CUDA_CPARTS", "FACEMASK_CUDA_CVAR"):
                monkeypatch.delenv(k, raising=False)
            for k, v in cfg.items():
                monkeypatch.setenv(k, v)
            d = dev.put(frames)
            view = (d[:, :, :w] if frames.ndim == 3 else d[:, :, :w, :]) if pad else d
            st = native.cuda_redact(view, fmt, regions, mode="blur", shape=shape, strength=strength)
            assert st["waves"] == 1, st
            # strength 0.3 on packed formats (4-byte cells): the largest face's grid in few parts may not fit
            # shared memory (three buffers of up to 184 x 179 x 4 bytes); the batch then takes the item kernel
            if not (strength == 0.3 and frames.ndim == 4):
                assert st["cluster"] == has_clusters, (cfg, st)
            if st["cluster"]:
                assert st["launches"] == 1 and not st["cooperative"] and not st["flat"], st
            got_frames = dev.get(d)
            for f in range(2):
                got = frame_to_planes(got_frames[f], fmt, w, h)
                for p, (g, e) in enumerate(zip(got, cpu[f])):
                    assert (g == e).all(), (f"{fmt} pad={pad} strength={strength} {shape} {cfg} frame {f} plane {p}: "
                                            f"{(g != e).sum()} bytes differ at {np.argwhere(g != e)[:4].tolist()}")
            if pad:
                tail = got_frames[..., w:, :] if frames.ndim == 4 else got_frames[:, :, w:]
                want = frames[..., w:, :] if frames.ndim == 4 else frames[:, :, w:]
                assert (tail == want).all(), f"{fmt} pad={pad} {cfg}: padding bytes changed"
    # Two waves (overlapping faces): the item kernel, one cooperative launch.
    monkeypatch.setenv("FACEMASK_CUDA_CLUSTER", "1")
    over = np.array([[100, 100, 200, 200], [150, 150, 260, 250]], np.float32)
    cpu = [p.copy() for p in planes[0]]
    native.redact(cpu, fmt, w, h, over, mode="blur", shape="oval")
    d = dev.put(frames[:1])
    view = (d[:, :, :w] if frames.ndim == 3 else d[:, :, :w, :]) if pad else d
    st = native.cuda_redact(view, fmt, regions_of(over), mode="blur", shape="oval")
    assert st["waves"] == 2 and not st["cluster"], st
    for p, (g, e) in enumerate(zip(frame_to_planes(dev.get(d)[0], fmt, w, h), cpu)):
        assert (g == e).all(), f"{fmt} two waves plane {p}: {(g != e).sum()} bytes differ"
