"""Speed and size of the CHANGER network: parameters, FLOPs, inference and training-step timings.

    python benchmarks/model.py                       # small config, the full grid (a few minutes)
    python benchmarks/model.py --configs base --sizes 256 --batches 1

Prints markdown tables. What is measured:
* FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` on a forward pass (matmuls, convolutions,
  attention; elementwise ops not counted), run on the meta device so it costs no compute.
* ms/frame: wall-clock time of one forward (no grad) divided by the batch size; median and minimum
  over repeats after two warm-up passes. The minimum is the least disturbed by other processes on
  the machine; the load average before and after the run is printed so noise is visible.
* Memory: every case runs in a fresh subprocess (Linux only: it reads ``/proc/self/status``).
  With the model and inputs built, the process resets its resident-memory high-water mark
  (``/proc/self/clear_refs``); "peak RSS" is the high-water mark (``VmHWM``) over the warm-ups and
  timed passes (Python, torch and weights included), "Δ RSS" that peak minus the resident memory
  just before the first pass: activations, workspaces and allocator caches of the pass itself.
  (``ru_maxrss`` would not do: on Linux it carries the parent's peak across fork and exec.)
* Training step: forward + L1 losses on Y, ToRGB and M + backward + Adam, batch 4 at 256×256.
* bfloat16 means ``torch.autocast("cpu", dtype=torch.bfloat16)`` with float32 weights.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import torch
from torch.utils.flop_counter import FlopCounterMode

from changer.core.model import CONFIGS, ChangerNet, count_parameters, get_config

DTYPES = {"float32": None, "bfloat16": torch.bfloat16}


def flops_per_frame(config: str, size: int) -> float:
    """Forward FLOPs of one size×size frame, counted on the meta device."""
    with torch.device("meta"):
        net = ChangerNet(get_config(config))
        x = torch.empty(1, 3, size, size)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(x, x, x, 0.5)
    return float(counter.get_total_flops())


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the peak is that of what runs next."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _autocast(dtype: str) -> contextlib.AbstractContextManager:
    low = DTYPES[dtype]
    return torch.autocast("cpu", dtype=low) if low is not None else contextlib.nullcontext()


def _time(fn: Callable[[], None], budget_s: float, max_repeat: int) -> list[float]:
    """Two warm-ups, then repeats until ``max_repeat`` or the time budget (at least 3)."""
    for _ in range(2):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_repeat and (len(times) < 3 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def run_case(case: dict) -> dict:
    """One measurement, in this process (called in a fresh subprocess by :func:`main`)."""
    torch.manual_seed(0)
    net = ChangerNet(get_config(case["config"]))
    n, size = case["batch"], case["size"]
    g = torch.Generator().manual_seed(0)
    x, head, body, target = (torch.rand(n, 3, size, size, generator=g) for _ in range(4))
    if case["kind"] == "infer":
        net.eval()

        def step() -> None:
            with torch.no_grad(), _autocast(case["dtype"]):
                net(x, head, body, 0.5)

    else:
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
        mask_target = target[:, :1]

        def step() -> None:
            with _autocast(case["dtype"]):
                out = net(x, head, body, 0.5)
                loss = (out.y - target).abs().mean() + (out.to_rgb - target).abs().mean()
                loss = loss + (out.mask - mask_target).abs().mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    before = _status_kib("VmRSS")
    _reset_peak_rss()
    times = _time(step, case["budget_s"], case["max_repeat"])
    peak = _status_kib("VmHWM")
    per = n if case["kind"] == "infer" else 1
    return {
        "median_ms": statistics.median(times) * 1000 / per,
        "min_ms": min(times) * 1000 / per,
        "repeats": len(times),
        "peak_rss_mib": peak / 1024,
        "delta_rss_mib": (peak - before) / 1024,
    }


def _subprocess(case: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--case", json.dumps(case)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cases(args: argparse.Namespace) -> Iterator[dict]:
    for config in args.configs:
        for size in args.sizes:
            for batch in args.batches:
                for dtype in args.dtypes:
                    yield {"kind": "infer", "config": config, "size": size, "batch": batch, "dtype": dtype}
        if not args.skip_train:
            for dtype in args.dtypes:
                yield {"kind": "train", "config": config, "size": 256, "batch": 4, "dtype": dtype}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+", default=["small"], choices=list(CONFIGS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[256, 512])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument("--skip-train", action="store_true", help="leave out the training-step rows")
    parser.add_argument("--budget", type=float, default=8.0, help="seconds of timed repeats per case")
    parser.add_argument("--max-repeat", type=int, default=20)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return 0

    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.2f}")
    print()
    print("| config | parameters | GFLOP/frame 256² | GFLOP/frame 512² | input multiple |")
    print("|---|---:|---:|---:|---:|")
    for name in CONFIGS:
        params = count_parameters(ChangerNet(get_config(name)))
        flops = [flops_per_frame(name, s) / 1e9 for s in (256, 512)]
        print(f"| {name} | {params / 1e6:.2f} M | {flops[0]:.1f} | {flops[1]:.1f} | {get_config(name).size_multiple} |")
    print()
    print("| config | pass | size | batch | dtype | ms/frame median | ms/frame min | repeats | peak RSS MiB "
          "| Δ RSS MiB |")
    print("|---|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for case in _cases(args):
        case.update(budget_s=args.budget, max_repeat=args.max_repeat)
        r = _subprocess(case)
        unit = "ms/frame" if case["kind"] == "infer" else "ms/step"
        label = "inference" if case["kind"] == "infer" else f"train step ({unit})"
        print(
            f"| {case['config']} | {label} | {case['size']} | {case['batch']} | {case['dtype']} | "
            f"{r['median_ms']:.0f} | {r['min_ms']:.0f} | {r['repeats']} | {r['peak_rss_mib']:.0f} "
            f"| {r['delta_rss_mib']:.0f} |",
            flush=True,
        )
    print()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
