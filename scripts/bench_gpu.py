#!/usr/bin/env python3
"""GPU redaction benchmark (run on a CUDA machine): facemask-ds's batched kernel vs a per-face PyTorch prototype and
NPP's Gaussian filter per ROI, plus the bandwidth bound of the ROI bytes.

Workload: batches of 8 frames of 1920x1080, NV12 and RGBA, 10 faces per frame of 60-300 px (non-overlapping,
5-point landmarks), blur, oval, default strength/margin/feather (csrc/core/redact.hpp). Times are medians of CUDA
event intervals on one stream (host work inside the interval counts). Prints a table and writes JSON (--json).

  python scripts/bench_gpu.py --json bench.json
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover
    sys.exit("bench_gpu.py needs PyTorch with CUDA")

from facemask_ds import _native as native

W, H, N, FACES = 1920, 1080, 8, 10
MARGIN, FEATHER, STRENGTH = 1.3, 0.1, 1.0


def log(msg):
    print(msg, flush=True)


# ------------------------------------------------------------------------------------------------------------------
def make_faces(rng):
    """Per frame: 10 boxes (x1, y1, x2, y2) of 60-300 px whose redaction rects do not overlap, with landmarks."""
    frames = []
    for _ in range(N):
        boxes = []
        tries = 0
        while len(boxes) < FACES:
            tries += 1
            if tries > 20000:
                raise RuntimeError("could not place faces")
            s = float(rng.uniform(60, 300))
            w, h = s * 0.8, s
            x1 = float(rng.uniform(0, W - w)), float(rng.uniform(0, H - h))
            b = (x1[0], x1[1], x1[0] + w, x1[1] + h)
            g = (MARGIN + FEATHER) * s / 2 + 4
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            ok = True
            for o in boxes:
                so = max(o[2] - o[0], o[3] - o[1])
                go = (MARGIN + FEATHER) * so / 2 + 4
                ocx, ocy = (o[0] + o[2]) / 2, (o[1] + o[3]) / 2
                if abs(cx - ocx) < g + go and abs(cy - ocy) < g + go:
                    ok = False
                    break
            if ok:
                boxes.append(b)
        frames.append(boxes)
    return frames


def landmarks(b):
    x1, y1, x2, y2 = b
    w, h = x2 - x1, y2 - y1
    rel = [(0.35, 0.40), (0.65, 0.40), (0.50, 0.55), (0.38, 0.72), (0.62, 0.72)]
    return [(x1 + u * w, y1 + v * h) for u, v in rel]


def regions_for(faces):
    return [{"frame": i, "box": b, "landmarks": landmarks(b)} for i, fb in enumerate(faces) for b in fb]


def plan_rects(faces, fmt):
    """Region rects from the core planner (for the bound and the baselines)."""
    out = []
    for i, fb in enumerate(faces):
        for b in fb:
            p = native.plan_region(list(b), landmarks=np.array(landmarks(b), np.float32), width=W, height=H,
                                   mode="blur", shape="oval", strength=STRENGTH, margin=MARGIN, feather=FEATHER)
            p = dict(p)
            p["x0"], p["y0"], p["x1"], p["y1"] = p["rect"]
            out.append((i, b, p))
    return out


def roi_bytes(plans, fmt):
    total = 0
    for _, _, p in plans:
        w, h = p["x1"] - p["x0"], p["y1"] - p["y0"]
        total += w * h * (4 if fmt == "RGBA" else 1) + (w // 2) * (h // 2) * 2 * (fmt != "RGBA")
    return total


def cpu_core_identical(host, fmt, faces):
    """Redact a fresh device copy of `host` with the kernel and every frame with the CPU core; True if all bytes
    agree."""
    d = torch.from_numpy(host).cuda()
    native.cuda_redact(d, fmt, regions_for(faces), synchronize=True)
    got = d.cpu().numpy()
    kw = dict(mode="blur", shape="oval", strength=STRENGTH, margin=MARGIN, feather=FEATHER)
    same = True
    for i, fb in enumerate(faces):
        fr = host[i].copy()
        planes = [fr[:H], fr[H:].reshape(H // 2, W // 2, 2)] if fmt == "NV12" else [fr]
        native.redact(planes, fmt, W, H, np.array(fb, np.float32),
                      landmarks=np.array([landmarks(b) for b in fb], np.float32), **kw)
        want = np.concatenate([planes[0], planes[1].reshape(H // 2, W)]) if fmt == "NV12" else planes[0]
        n = int((want != got[i]).sum())
        if n:
            log(f"{fmt} frame {i}: {n} bytes differ from the CPU core")
            same = False
    return same


# ------------------------------------------------------------------------------------------------------------------
def time_cuda(fn, iters, warmup=3):
    s = torch.cuda.current_stream()
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(s)
        fn()
        b.record(s)
        b.synchronize()
        ts.append(a.elapsed_time(b) * 1000.0)
    return statistics.median(ts), ts


def copy_bandwidth():
    n = 1 << 30
    a = torch.empty(n, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    a.random_(0, 255)
    us, _ = time_cuda(lambda: b.copy_(a), 10)
    return 2 * n / (us * 1e-6)  # bytes read + written per second


def empty_launch_us():
    x = torch.zeros(1, device="cuda")
    us, _ = time_cuda(lambda: x.add_(1), 50)
    return us


# ------------------------------------------------------------------------------------------------------------------
def torch_prototype(frames, fmt, plans):
    """What a Python prototype writes: per face, crop, torchvision gaussian_blur, oval alpha, composite, write back."""
    import torchvision.transforms.functional as TF

    def blur_plane(plane, x0, y0, x1, y1, sub, p):
        crop = plane[y0:y1, x0:x1]
        crop_f = crop.permute(2, 0, 1).float() if crop.dim() == 3 else crop[None].float()
        sigma = 0.15 * STRENGTH * p["face_size"] / sub
        k = int(2 * math.ceil(3 * sigma) + 1)
        k = min(k, 2 * (min(crop_f.shape[1], crop_f.shape[2]) - 1) - 1)
        k = max(3, k | 1)
        blurred = TF.gaussian_blur(crop_f, [k, k], [sigma, sigma])
        e = p["ellipse"]
        ys = (torch.arange(y0, y1, device="cuda", dtype=torch.float32) + 0.5) * sub
        xs = (torch.arange(x0, x1, device="cuda", dtype=torch.float32) + 0.5) * sub
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        c, s_ = math.cos(e[4]), math.sin(e[4])
        u = c * (xx - e[0]) + s_ * (yy - e[1])
        v = -s_ * (xx - e[0]) + c * (yy - e[1])
        q = torch.sqrt((u / e[2]) ** 2 + (v / e[3]) ** 2)
        alpha = ((0.5 - (q - 1) * min(e[2], e[3]) / max(p["feather_px"], 1e-6)).clamp(0, 1))[None]
        out = (crop_f * (1 - alpha) + blurred * alpha).round().clamp(0, 255).to(torch.uint8)
        plane[y0:y1, x0:x1] = out.permute(1, 2, 0) if crop.dim() == 3 else out[0]

    def run():
        for i, _, p in plans:
            x0, y0, x1, y1 = p["x0"], p["y0"], p["x1"], p["y1"]
            if fmt == "RGBA":
                blur_plane(frames[i][..., :3], x0, y0, x1, y1, 1, p)
            else:
                y = frames[i][:H]
                uv = frames[i][H:].view(H // 2, W // 2, 2)
                blur_plane(y, x0, y0, x1, y1, 1, p)
                blur_plane(uv, x0 // 2, y0 // 2, (x1 + 1) // 2, (y1 + 1) // 2, 2, p)

    return run


# ------------------------------------------------------------------------------------------------------------------
class NppiSize(ctypes.Structure):
    _fields_ = [("width", ctypes.c_int), ("height", ctypes.c_int)]


class NppiPoint(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int)]


class NppStreamContext(ctypes.Structure):
    _fields_ = [("hStream", ctypes.c_void_p), ("nCudaDeviceId", ctypes.c_int), ("nMultiProcessorCount", ctypes.c_int),
                ("nMaxThreadsPerMultiProcessor", ctypes.c_int), ("nMaxThreadsPerBlock", ctypes.c_int),
                ("nSharedMemPerBlock", ctypes.c_size_t), ("nCudaDevAttrComputeCapabilityMajor", ctypes.c_int),
                ("nCudaDevAttrComputeCapabilityMinor", ctypes.c_int), ("nStreamFlags", ctypes.c_uint),
                ("nReserved0", ctypes.c_int)]


NPP_BORDER_REPLICATE = 2


def find_npp():
    cands = []
    for d in [os.environ.get("CUDA_HOME", ""), "/usr/local/cuda"]:
        if d:
            libdir = os.path.join(d, "lib64")
            if os.path.isdir(libdir):
                cands += sorted(os.path.join(libdir, f) for f in os.listdir(libdir) if f.startswith("libnppif.so"))
    try:
        import nvidia  # pip CUDA libraries
        for base in nvidia.__path__:
            for root, _, files in os.walk(base):
                cands += [os.path.join(root, f) for f in files if f.startswith("libnppif.so")]
    except ImportError:
        pass
    for c in cands:
        try:
            core = c.replace("libnppif", "libnppc")
            if os.path.exists(core):
                ctypes.CDLL(core, mode=ctypes.RTLD_GLOBAL)
            return ctypes.CDLL(c), c
        except OSError:
            continue
    return None, "libnppif not found (searched " + ", ".join(cands or ["$CUDA_HOME/lib64", "/usr/local/cuda/lib64",
                                                                        "pip nvidia/*"]) + ")"


def npp_per_roi(lib, frames, fmt, plans):
    props = torch.cuda.get_device_properties(0)
    ctx = NppStreamContext()
    ctx.hStream = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)
    ctx.nCudaDeviceId = 0
    ctx.nMultiProcessorCount = props.multi_processor_count
    ctx.nMaxThreadsPerMultiProcessor = props.max_threads_per_multi_processor
    ctx.nMaxThreadsPerBlock = 1024
    ctx.nSharedMemPerBlock = 48 * 1024
    ctx.nCudaDevAttrComputeCapabilityMajor = props.major
    ctx.nCudaDevAttrComputeCapabilityMinor = props.minor
    fns = {}
    for ch in ("C1R", "C2R", "C4R"):
        name = f"nppiFilterGaussAdvancedBorder_8u_{ch}_Ctx"
        f = getattr(lib, name, None)
        if f is not None:
            f.restype = ctypes.c_int
            f.argtypes = [ctypes.c_void_p, ctypes.c_int, NppiSize, NppiPoint, ctypes.c_void_p, ctypes.c_int, NppiSize,
                          ctypes.c_int, ctypes.c_void_p, ctypes.c_int, NppStreamContext]
        fns[ch] = f
    kernels = {}
    scratch = torch.empty(4 * 1024 * 1024, dtype=torch.uint8, device="cuda")
    calls = []
    for i, _, p in plans:
        x0, y0, x1, y1 = p["x0"], p["y0"], p["x1"], p["y1"]
        planes = []
        if fmt == "RGBA":
            planes.append(("C4R", frames[i], 4, 1, W, H))
        else:
            planes.append(("C1R", frames[i][:H], 1, 1, W, H))
            planes.append(("C2R", frames[i][H:], 2, 2, W // 2, H // 2))
        for ch, plane, bpp, sub, pw, ph in planes:
            sigma = 0.15 * STRENGTH * p["face_size"] / sub
            taps = int(2 * math.ceil(3 * sigma) + 1)
            if taps not in kernels:
                r = taps // 2
                k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2).astype(np.float32)
                kernels[taps] = torch.from_numpy(k / k.sum()).cuda()
            rx0, ry0 = x0 // sub, y0 // sub
            rw, rh = (x1 + sub - 1) // sub - rx0, (y1 + sub - 1) // sub - ry0
            # NPP's border filters take pSrc = the ROI's first pixel and oSrcOffset = where that pixel lies in the
            # oSrcSize image (so the border can reach up / left of pSrc). Passing the image origin with the offset
            # made NPP read up to ry0 rows before the frame (before the allocation for frame 0): the intermittent
            # cudaErrorIllegalAddress of earlier runs.
            roi_ptr = plane.data_ptr() + ry0 * plane.stride(0) + rx0 * bpp
            calls.append((ch, roi_ptr, plane.stride(0), pw, ph, rx0, ry0, rw, rh, bpp, taps))
    missing = sorted({c[0] for c in calls if fns[c[0]] is None})
    note = f"{len(calls)} calls per batch"
    if missing:
        if all(fns[c[0]] is None for c in calls):
            return None, f"NPP has no nppiFilterGaussAdvancedBorder_8u_{'/'.join(missing)}_Ctx"
        calls = [c for c in calls if fns[c[0]] is not None]
        note = (f"{len(calls)} calls per batch; NPP has no nppiFilterGaussAdvancedBorder_8u_{'/'.join(missing)}_Ctx, "
                "so those planes (NV12 UV) are NOT blurred: the NPP time is a lower bound")

    def run():
        for ch, ptr, step, pw, ph, rx0, ry0, rw, rh, bpp, taps in calls:
            st = fns[ch](ctypes.c_void_p(ptr), step, NppiSize(pw, ph), NppiPoint(rx0, ry0), ctypes.c_void_p(
                scratch.data_ptr()), rw * bpp, NppiSize(rw, rh), taps, ctypes.c_void_p(kernels[taps].data_ptr()),
                NPP_BORDER_REPLICATE, ctx)
            if st != 0:
                raise RuntimeError(f"{ch} NPP status {st} (taps {taps}, roi {rw}x{rh})")

    return run, note


# ------------------------------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", help="write results here")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--torch-iters", type=int, default=10)
    ap.add_argument("--once", choices=["NV12", "RGBA"], help="one redaction of the workload (for a profiler), then exit")
    args = ap.parse_args()
    if args.once:
        faces = make_faces(np.random.default_rng(2026))
        shape = (N, H, W, 4) if args.once == "RGBA" else (N, H * 3 // 2, W)
        frames = torch.from_numpy(np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)).cuda()
        for _ in range(2):
            native.cuda_redact(frames, args.once, regions_for(faces))
        return

    props = torch.cuda.get_device_properties(0)
    res = {"device": props.name, "sms": props.multi_processor_count, "torch": torch.__version__,
           "python": platform.python_version(), "workload": f"{N}x{W}x{H}, {FACES} faces/frame 60-300 px, blur oval",
           "formats": {}}
    log(f"device: {props.name}, {props.multi_processor_count} SMs; torch {torch.__version__}")
    bw = copy_bandwidth()
    # "One launch": an empty kernel timed exactly like the redaction kernel (kernel_only_us below): CUDA events
    # recorded in C++ right before and after the launch call, so both intervals hold the host-side launch call and
    # neither holds Python. The plain launch is the headline term; the cooperative one is the kind of launch the
    # redaction makes. The Python torch-op term (events around x.add_(1) from Python) also holds Python dispatch,
    # which the kernel's interval does not: it is logged for reference only, never used for the ratio.
    launch = native.cuda_empty_launch_us(iters=200)
    launch_coop = native.cuda_empty_launch_us(iters=200, cooperative=True)
    launch_py = empty_launch_us()
    res["copy_bandwidth_GBps"] = bw / 1e9
    res["empty_launch_us"] = launch
    res["empty_cooperative_launch_us"] = launch_coop
    res["empty_launch_python_torch_op_us"] = launch_py
    log(f"device-to-device copy: {bw / 1e9:.0f} GB/s (read+write); empty launch (C++ events, like the kernel): "
        f"{launch:.1f} us plain, {launch_coop:.1f} us cooperative; torch op from Python (reference only): "
        f"{launch_py:.1f} us")
    npp_lib, npp_where = find_npp()
    res["npp"] = npp_where if npp_lib is None else f"loaded {npp_where}"
    log(f"NPP: {res['npp']}")

    rng = np.random.default_rng(2026)
    faces = make_faces(rng)
    regions = regions_for(faces)
    stream = torch.cuda.current_stream().cuda_stream
    rows = []
    npp_inputs = []
    for fmt in ("NV12", "RGBA"):
        shape = (N, H, W, 4) if fmt == "RGBA" else (N, H * 3 // 2, W)
        host = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
        frames = torch.from_numpy(host).cuda()
        plans = plan_rects(faces, fmt)
        nbytes = roi_bytes(plans, fmt)
        bound_us = 2 * nbytes / bw * 1e6
        r = {"roi_bytes": nbytes, "bound_us": bound_us}

        st = native.cuda_redact(frames, fmt, regions, stream=stream, synchronize=True)
        r["stats"] = st
        # Byte identity with the CPU core on this workload (fresh copy of the same input, frame by frame).
        r["identical_to_cpu_core"] = cpu_core_identical(host, fmt, faces)
        log(f"{fmt}: GPU output byte-identical to the CPU core on all {N} frames: {r['identical_to_cpu_core']}")
        for _ in range(10):  # warm-up: the GPU idled during the CPU-core comparison above
            native.cuda_redact(frames, fmt, regions, stream=stream)
        kt = [native.cuda_redact(frames, fmt, regions, stream=stream, timing=True) for _ in range(args.iters)]
        r["kernel_only_us"] = statistics.median(k["kernel_us"] for k in kt)
        r["host_us"] = statistics.median(k["host_us"] for k in kt)
        log(f"{fmt}: kernel only (events around the launch) {r['kernel_only_us']:.1f} us; C++ host planning + enqueue "
            f"{r['host_us']:.1f} us")
        # Kernel knobs, one at a time: each variant redacts a fresh copy of the batch (compared with the default's
        # bytes) and is timed like the default (events around the launch, 20 launches, median).
        base = frames.clone()
        a = base.clone()
        native.cuda_redact(a, fmt, regions, stream=stream)

        def variant(key, label, env, check=True):
            os.environ.update(env)
            try:
                if check:
                    c = base.clone()
                    native.cuda_redact(c, fmt, regions, stream=stream)
                kl = [native.cuda_redact(frames, fmt, regions, stream=stream, timing=True) for _ in range(20)]
            finally:
                for k in env:
                    del os.environ[k]
            r[f"kernel_only_us_{key}"] = statistics.median(k["kernel_us"] for k in kl)
            msg = f"{fmt}: {label}: kernel {r[f'kernel_only_us_{key}']:.1f} us"
            if check:
                r[f"{key}_identical"] = bool(torch.equal(a, c))
                msg += f", identical {r[f'{key}_identical']}"
            log(msg)

        variant("occ1", "uncapped variant (256 threads, 1 block/SM)", {"FACEMASK_CUDA_OCC": "1"})
        for ipb in ("2", "4"):  # work items per resident block in the decimation / upsampling phases (default 1)
            variant(f"items{ipb}", f"{ipb} items per block", {"FACEMASK_CUDA_ITEMS": ipb})
        # one plain launch per phase, kernels compiled per item kind (also with the vertical passes unfused)
        variant("split", "split launches", {"FACEMASK_CUDA_SPLIT": "1"})
        variant("split_nofuse", "split launches, unfused", {"FACEMASK_CUDA_SPLIT": "1", "FACEMASK_CUDA_NOFUSE": "1"})
        variant("nofuse", "vertical passes not fused (column-band items)", {"FACEMASK_CUDA_NOFUSE": "1"})
        variant("barrier", "grid barriers between the blur stages (no dataflow)", {"FACEMASK_CUDA_BARRIER": "1"})
        variant("noclassify", "no coverage pre-classification", {"FACEMASK_CUDA_NOCLASSIFY": "1"})
        variant("cellcost0", "row bands sized by pixels only", {"FACEMASK_CUDA_CELLCOST": "0"})
        variant("noword4", "4-byte pixels upsampled byte by byte", {"FACEMASK_CUDA_NOWORD4": "1"})
        variant("family0", "kernel with every plane kind compiled in", {"FACEMASK_CUDA_FAMILY": "0"})
        variant("staticfirst0", "first items through the counter too", {"FACEMASK_CUDA_STATICFIRST": "0"})
        for nph in range(0, 4):  # profiling: only the first n phases (0: the launch alone; output incomplete);
            # with grid barriers, since with dataflow a wave's blur is one phase
            variant(f"phases{nph}", f"with grid barriers, first {nph} phases", check=False,
                    env={"FACEMASK_CUDA_BARRIER": "1", "FACEMASK_CUDA_PHASES": str(nph)})
        for occ in ("4", "8"):  # kernel variants: 128 threads x 4 or 8 blocks/SM (default 256 threads x 2 blocks/SM)
            variant(f"occ{occ}", f"variant OCC={occ}", {"FACEMASK_CUDA_OCC": occ})
        ours, ts = time_cuda(lambda: native.cuda_redact(frames, fmt, regions, stream=stream, synchronize=False),
                             args.iters)
        r["ours_us"] = ours
        r["ours_us_spread"] = [min(ts), max(ts)]
        multi, _ = time_cuda(lambda: native.cuda_redact(frames, fmt, regions, stream=stream, synchronize=False,
                                                        multi_launch=True), args.iters)
        r["ours_multi_launch_us"] = multi
        ours2, _ = time_cuda(lambda: native.cuda_redact(frames, fmt, regions, stream=stream, synchronize=False),
                             args.iters)
        r["ours_us_repeat"] = ours2
        log(f"{fmt}: ours {ours:.1f} us (repeat {ours2:.1f}, multi-launch {multi:.1f}), bound {bound_us:.1f} us "
            f"({nbytes / 1e6:.1f} MB ROI), stats {st}")

        try:
            tp = torch_prototype(frames, fmt, plans)
            t_us, _ = time_cuda(tp, args.torch_iters, warmup=2)
            r["torch_us"] = t_us
        except Exception as e:  # noqa: BLE001
            r["torch_error"] = repr(e)
        log(f"{fmt}: torch per-face prototype {r.get('torch_us', float('nan')):.1f} us {r.get('torch_error', '')}")

        res["formats"][fmt] = r
        rows.append((fmt, r))
        npp_inputs.append((fmt, r, frames, plans))

    # NPP last (after every measurement of ours): an NPP failure that poisons the CUDA context loses nothing else.
    for fmt, r, frames, plans in npp_inputs:
        if npp_lib is not None:
            try:
                run, note = npp_per_roi(npp_lib, frames, fmt, plans)
                if run is None:
                    r["npp_error"] = note
                else:
                    n_us, _ = time_cuda(run, args.torch_iters, warmup=2)
                    r["npp_us"] = n_us
                    r["npp_note"] = note
            except Exception as e:  # noqa: BLE001
                r["npp_error"] = repr(e)
        else:
            r["npp_error"] = npp_where
        log(f"{fmt}: NPP per ROI {r.get('npp_us', float('nan')):.1f} us {r.get('npp_error', r.get('npp_note', ''))}")

    log("\n| format | kernel us | ours us/batch | torch per-face us | x | NPP per-ROI us | x | bound us | bound+launch | "
        "kernel/(bound+launch) | kernel/(bound+coop launch) |")
    log("|---|---|---|---|---|---|---|---|---|---|---|")
    for fmt, r in rows:
        t, n, ours = r.get("torch_us"), r.get("npp_us"), r["ours_us"]
        bl = r["bound_us"] + launch
        ts = "-" if t is None else "%.0f" % t
        tx = "-" if t is None else "%.0fx" % (t / ours)
        ns = "-" if n is None else "%.0f" % n
        nx = "-" if n is None else "%.1fx" % (n / ours)
        kt = r["kernel_only_us"]
        r["kernel_over_bound_plus_launch"] = kt / bl
        r["kernel_over_bound_plus_coop_launch"] = kt / (r["bound_us"] + launch_coop)
        log("| %s | %.1f | %.1f | %s | %s | %s | %s | %.1f | %.1f | %.2f | %.2f |" % (
            fmt, kt, ours, ts, tx, ns, nx, r["bound_us"], bl, kt / bl, r["kernel_over_bound_plus_coop_launch"]))
    res["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=str)


if __name__ == "__main__":
    main()
