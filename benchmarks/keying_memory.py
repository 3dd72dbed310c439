"""Keyer memory: the peak resident memory of keying one frame at 1080p, 4K and 8K, in bands (the
default) and in one piece, measured in the same run.

Each measurement runs in a fresh subprocess, so no allocator cache or earlier peak is counted: it
imports, keys a small plate once (lazy initialisation is not the key's memory), builds the plate
(256 rows at a time, so building it costs no more than the plate), resets the kernel's high-water
mark (``/proc/self/clear_refs``) and keys the plate with the default params (auto screen colour,
auto clean plate, auto core). *Peak extra* is the high-water mark (``VmHWM``) minus the resident
memory before the key; it includes the key's outputs (alpha, fg and ``alpha_0`` as ``detail``: 5
float32 channels, 1.67 plates), which the caller keeps. The derived outputs (premultiplied fg,
``I_T^green``, the per-pixel screen) are computed only when read, and are not read here.

A second table runs one whole frame (``prepare`` -> ``infer`` -> ``composite``, the small network
freshly initialised, default node params) at the ``--pipeline`` sizes: its peak beyond the frame's
inputs (target and source plates, two head mattes), of which the plate's key is one part.

    python benchmarks/keying_memory.py [--sizes 1080p 2160p 4320p] [--whole 1080p 2160p]
                                       [--pipeline 4320p] [--threads 2] [--params JSON]

``--whole`` lists the sizes also keyed in one piece (``band_rows`` = the frame height); 8K in one
piece is left out by default (several GB more). ``--params`` changes keyer params for the key
table, e.g. ``'{"auto_clean_plate": false}'``. Seconds are wall clock and CPU time (all threads) of
the key alone; on a shared machine the wall clock varies from run to run.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from changer.core.color import from_network
from changer.core.keying import KeyerParams, key
from changer.core.keying.bands import band_height
from changer.core.model import build_model
from changer.core.pipeline import FrameInputs, composite, infer, prepare
from changer.plugin.params import resolve_params

SIZES = {"1080p": (1080, 1920), "2160p": (2160, 3840), "4320p": (4320, 7680)}
SCREEN = (0.12, 0.62, 0.16)
SKIN, HAIR, SHIRT = (0.78, 0.56, 0.45), (0.22, 0.15, 0.09), (0.2, 0.24, 0.5)
MB = 1e6


def synthetic_plate(h: int, w: int, seed: int = 7, chunk: int = 256) -> torch.Tensor:
    """(1,3,H,W) float32: a head with frayed hair and shoulders over an unevenly lit green screen,
    with sensor noise (seeded); built ``chunk`` rows at a time."""
    g = torch.Generator().manual_seed(seed)
    plate = torch.empty(1, 3, h, w)
    x = torch.linspace(-w / h, w / h, w)[None]  # units of half the frame height
    px = 2.0 / h
    colour = {name: torch.tensor(c).view(3, 1, 1) for name, c in
              (("screen", SCREEN), ("skin", SKIN), ("hair", HAIR), ("shirt", SHIRT))}
    for y0 in range(0, h, chunk):
        y = torch.linspace(-1, 1, h)[y0:y0 + chunk, None]
        r = (x ** 2 + ((y + 0.2) / 1.25) ** 2).sqrt()
        head = ((0.32 - r) / (2 * px)).clamp(0, 1)
        theta = torch.atan2(y + 0.2, x)
        strands = (0.5 + 0.5 * torch.cos(theta * 900 + 40 * r)) ** 12  # thin strands, a few px apart
        reach = ((0.48 - r) / 0.16).clamp(0, 1) * (r > 0.3) * (y < -0.1)
        hair = strands * reach
        body = (((0.95 - x.abs() * 0.8) - (0.55 - y) * 0.6) / (2 * px)).clamp(0, 1) * (y > 0.35)
        alpha = torch.maximum(torch.maximum(head, hair), body)
        fg = (colour["skin"] * head + colour["hair"] * (1 - head) * hair) / (head + (1 - head) * hair).clamp_min(1e-6)
        fg = torch.where(body >= torch.maximum(head, hair), colour["shirt"], fg)
        screen = colour["screen"] * (1.0 - 0.15 * (x ** 2 + y ** 2))
        rows = alpha * fg + (1 - alpha) * screen + 0.01 * torch.randn(3, *alpha.shape, generator=g)
        plate[0, :, y0:y0 + chunk] = rows.clamp_(0, 1)
    return plate


def _status_kb(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else None


def _start() -> int:
    """Resident kB now, with the high-water mark reset so that the next peak is the work's own.

    Freed heap pages are handed back first (so the work cannot reuse memory counted here), then the
    kernel's high-water mark is reset (Linux >= 4.0). Without /proc the baseline is the peak so far:
    the plates were built in chunks, so it is about what they hold.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kb("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak() -> int:
    """Peak resident kB since :func:`_start`."""
    return _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(size: str, banded: bool, threads: int, params: KeyerParams) -> dict:
    """Key one plate of ``size`` in this process; MB and seconds."""
    torch.set_num_threads(threads)
    h, w = SIZES[size]
    key(synthetic_plate(64, 96))
    plate = synthetic_plate(h, w)
    rows = band_height(h, w) if banded else h
    base_kb = _start()
    t0, c0 = time.perf_counter(), time.process_time()
    result = key(plate, params, band_rows=rows)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak_kb = _peak()
    outputs = sum(t.numel() * t.element_size() for t in (result.alpha, result.fg, result.detail))
    return {"size": size, "rows": rows, "plate_mb": plate.numel() * 4 / MB, "outputs_mb": outputs / MB,
            "extra_mb": (peak_kb - base_kb) * 1024 / MB, "seconds": seconds, "cpu": cpu}


def measure_pipeline(size: str, threads: int) -> dict:
    """One frame through prepare, infer and composite in this process; MB and seconds."""
    def frame_of(h: int, w: int) -> FrameInputs:
        y = torch.linspace(-1, 1, h)[:, None]
        x = torch.linspace(-w / h, w / h, w)[None]
        head = ((x ** 2 + ((y + 0.2) / 1.25) ** 2).sqrt() < 0.3).float()[None]
        return FrameInputs(from_network(synthetic_plate(h, w))[0], from_network(synthetic_plate(h, w, seed=8))[0],
                           head, head.clone())

    def render(frame: FrameInputs) -> torch.Tensor:
        job = prepare(frame, settings)
        return composite(frame, job, infer(model, job, settings), settings).rgba

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_model("small").eval()
    settings = resolve_params({}).frame_settings()
    render(frame_of(108, 192))  # lazy initialisation is not the frame's memory
    h, w = SIZES[size]
    frame = frame_of(h, w)
    base_kb = _start()
    t0 = time.perf_counter()
    rgba = render(frame)
    seconds = time.perf_counter() - t0
    peak_kb = _peak()
    assert rgba.shape[-2:] == (h, w)
    inputs = sum(t.numel() for t in frame.clips().values()) * 4
    return {"size": size, "plate_mb": 3 * h * w * 4 / MB, "inputs_mb": inputs / MB,
            "extra_mb": (peak_kb - base_kb) * 1024 / MB, "seconds": seconds}


def _child(size: str, mode: str, threads: int, params: str = "{}") -> dict:
    cmd = [sys.executable, __file__, "--child", size, mode, "--threads", str(threads), "--params", params]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


HEADER = ("| size | plate MB | outputs MB | band rows | peak extra MB | extra / plate | s | CPU s "
          "| one piece: peak extra MB | extra / plate | s | CPU s | one piece / banded |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
PIPELINE_HEADER = ("| size | plate MB | inputs MB | peak extra MB | extra / plate | s |\n"
                   "|---|---|---|---|---|---|")


def rows(sizes: list[str], whole: list[str], threads: int, params: str) -> Iterator[str]:
    """Markdown rows: the banded key per size, with the one-piece key beside it for sizes in ``whole``."""
    for size in sizes:
        b = _child(size, "banded", threads, params)
        plate = b["plate_mb"]
        row = (f"| {size} | {plate:.0f} | {b['outputs_mb']:.0f} | {b['rows']} | {b['extra_mb']:.0f} "
               f"| {b['extra_mb'] / plate:.2f} | {b['seconds']:.1f} | {b['cpu']:.1f} |")
        if size in whole:
            o = _child(size, "whole", threads, params)
            row += (f" {o['extra_mb']:.0f} | {o['extra_mb'] / plate:.2f} | {o['seconds']:.1f} | {o['cpu']:.1f} "
                    f"| {o['extra_mb'] / b['extra_mb']:.2f}x |")
        else:
            row += " — | — | — | — | — |"
        yield row


def pipeline_rows(sizes: list[str], threads: int) -> Iterator[str]:
    """Markdown rows: one frame through the whole pipeline per size."""
    for size in sizes:
        r = _child(size, "pipeline", threads)
        yield (f"| {size} | {r['plate_mb']:.0f} | {r['inputs_mb']:.0f} | {r['extra_mb']:.0f} "
               f"| {r['extra_mb'] / r['plate_mb']:.2f} | {r['seconds']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--whole", nargs="*", default=["1080p", "2160p"], choices=list(SIZES))
    parser.add_argument("--pipeline", nargs="*", default=["4320p"], choices=list(SIZES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--params", default="{}", help="keyer params for the key table, as JSON")
    parser.add_argument("--child", nargs=2, metavar=("SIZE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        size, mode = args.child
        if mode == "pipeline":
            print(json.dumps(measure_pipeline(size, args.threads)))
        else:
            print(json.dumps(measure(size, mode == "banded", args.threads, KeyerParams(**json.loads(args.params)))))
        return
    print(f"torch {torch.__version__}, {args.threads} threads, keyer params {args.params}, float32 RGB plates\n")
    if args.sizes:
        print("Keying one frame:\n")
        print(HEADER)
        for row in rows(args.sizes, args.whole, args.threads, args.params):
            print(row, flush=True)
    if args.pipeline:
        print("\nOne frame through prepare, infer and composite:\n")
        print(PIPELINE_HEADER)
        for row in pipeline_rows(args.pipeline, args.threads):
            print(row, flush=True)


if __name__ == "__main__":
    main()
