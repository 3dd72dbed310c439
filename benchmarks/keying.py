"""Keyer speed on a 1080p (and 4K) studio plate: the full default key and its per-pixel part, against
a NumPy implementation of the same per-pixel maths and a plain copy of the frame, in one run.

* **per-pixel part**: the three per-pixel steps of :func:`changer.core.keying.key` -- pass A
  (``alpha_0`` against the estimated screen), the auto clip white with clip, pass B (foreground,
  despill) -- given the per-frame cell grids, with the backend the keyer picks on this machine (the
  fused host kernel when a C++ compiler is there), and in eager torch. They write what every key
  needs: ``alpha_0`` (the ``detail`` output), alpha and the despilled fg;
* **+ derived**: the per-pixel part, then every derived output of the
  :class:`~changer.core.keying.KeyResult` read once (premultiplied fg, ``I_T^green``, the per-pixel
  screen), as a consumer that reads them all pays. A render's full-frame key reads none of them
  (it premultiplies in the working space, and keys against the cached clean plate, which
  ``screen`` returns as it is); its prepare stage reads ``green`` of its own key at the network's
  resolution, not the frame's;
* **NumPy**: :func:`numpy_passes`, the per-pixel part written plainly in NumPy (the tests check
  that it and :func:`numpy_derived` agree with torch), single-threaded as NumPy is;
* **copy**: ``torch`` copy of the plate into an existing tensor, the machine's practical memory
  bandwidth for this size; **clone**: the same into a fresh tensor (page faults included, as for the
  keyer's fresh outputs);
* **full key**: ``key(plate)`` with the default params (screen pick and estimate, levels, prior,
  matte stage, both passes), its derived outputs not read (as in a render).

Each row is measured in interleaved rounds (one call of each per round, median of the rounds), so
load from other processes falls on all columns alike; the load average is printed with the table.

    python benchmarks/keying.py [--repeat 5] [--sizes 1080p 2160p] [--threads 1 2] [--busy 4] [--passes]

``--busy N`` runs N processes that only spin while it measures: the machine under load, as a shared
render node is (the README's figures under load). ``--passes`` adds a table of the host kernel's three
launches one by one, their outputs allocated once (no page faults), against the copy: where the
per-pixel part's time goes.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from changer.core.keying import KeyerParams, host_kernel, key
from changer.core.keying.bands import band_height
from changer.core.keying.cells import grid_size, pool_banded
from changer.core.keying.clean_plate import NOISE_SIGMAS
from changer.core.keying.fg_prior import prior_grid
from changer.core.keying.kernel_source import COMPUTE_ALPHA, DIVIDE_LEVEL, SCREEN_FLAT, WRITE_OUTPUTS, kernel_args
from changer.core.keying.keyer import TorchPasses, _passes, _pick_backend, screen_source
from changer.core.keying.levels import alpha_cells, level_grid
from changer.core.keying.params import CANONICAL_GREEN, despill_bias_factor, key_channels
from changer.core.keying.pixel import (
    DARK_BOUND_SHARE,
    FG_PRIOR,
    LUMA,
    MIN_HEADROOM,
    MIN_SCREEN_DIFF,
    SOLID_FROM,
    SOLID_TO,
)
from changer.training.studio import hard_sample

SIZES = {"1080p": (1080, 1920), "2160p": (2160, 3840)}


def _taps(n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear taps (i0, i1, w1) of n output samples from m cells (half-pixel centres)."""
    src = np.maximum((np.arange(n, dtype=np.float64) + 0.5) * (m / n) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), m - 1)
    i1 = np.minimum(i0 + 1, m - 1)
    return i0, i1, np.minimum(src - i0, 1.0).astype(np.float32)


def upsample(grid: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N,C,h,w) cell grid resized bilinearly to (H,W)."""
    r0, r1, a1 = _taps(size[0], grid.shape[-2])
    c0, c1, b1 = _taps(size[1], grid.shape[-1])
    wide = grid[..., c0] * (1 - b1) + grid[..., c1] * b1
    return wide[..., r0, :] * (1 - a1)[:, None] + wide[..., r1, :] * a1[:, None]


def _smooth(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def numpy_passes(plate: np.ndarray, grid: np.ndarray, sigma: np.ndarray, level: np.ndarray, prior: np.ndarray,
                 params: KeyerParams) -> tuple[np.ndarray, ...]:
    """The per-pixel maths in plain NumPy: (alpha, fg, screen) for an (N,3,H,W) float32 plate, the
    screen's cell grid and noise sigma (N,3,1,1), the level grid (N,1,h,w) and the prior grid
    (N,3,h,w); the screen is the one the pixels were keyed against (computed on the way). Without
    auto core, grow/shrink or softness (not per pixel)."""
    size = plate.shape[-2:]
    k, a, b = key_channels(params.screen_type)
    smooth = upsample(grid, size)
    itself = (np.abs(plate - smooth) <= NOISE_SIGMAS * sigma).all(1, keepdims=True)
    s = np.where(itself, plate, smooth)
    pk, sk = plate[:, k:k + 1], s[:, k:k + 1]
    if params.balance_mode == "auto":
        ratio = np.minimum((pk - plate[:, a:a + 1]) / np.maximum(sk - s[:, a:a + 1], MIN_SCREEN_DIFF),
                           (pk - plate[:, b:b + 1]) / np.maximum(sk - s[:, b:b + 1], MIN_SCREEN_DIFF))
    else:
        w = params.screen_balance
        ratio = ((pk - w * plate[:, a:a + 1] - (1 - w) * plate[:, b:b + 1]) /
                 np.maximum(sk - w * s[:, a:a + 1] - (1 - w) * s[:, b:b + 1], MIN_SCREEN_DIFF))
    bright = ((plate - s) / np.maximum(1.0 - s, MIN_HEADROOM)).max(1, keepdims=True)
    dark = np.where(s >= DARK_BOUND_SHARE * sk, (s - plate) / np.maximum(s, MIN_HEADROOM), -np.inf)
    dark = dark.max(1, keepdims=True)
    alpha0 = np.clip(np.maximum(np.maximum(1.0 - params.screen_gain * ratio, bright), dark), 0.0, 1.0)
    span = params.clip_white - params.clip_black
    alpha = np.clip((alpha0 / upsample(level, size) - params.clip_black) / span, 0.0, 1.0)
    lam = FG_PRIOR * (1.0 - alpha)
    fg = (alpha * (plate - (1.0 - alpha) * s) + lam * upsample(prior, size)) / (alpha * alpha + lam)
    if params.despill > 0:
        bias, w = despill_bias_factor(params), params.screen_balance

        def limit(x: np.ndarray) -> np.ndarray:
            return bias * (w * x[:, a:a + 1] + (1 - w) * x[:, b:b + 1])

        excess = np.maximum(fg[:, k:k + 1] - limit(fg), 0.0)
        share = excess / np.maximum(sk - limit(s), MIN_SCREEN_DIFF)
        keep = np.zeros_like(share)
        if params.despill_protect > 0:
            half = 0.5 * params.despill_protect
            keep = _smooth((share - half) / half) * _smooth((alpha - SOLID_FROM) / (SOLID_TO - SOLID_FROM))
        strength = params.despill * (1.0 - keep)
        if params.despill_mode == "screen":
            fg = fg - share * strength * s
        else:
            fg = fg.copy()
            fg[:, k:k + 1] -= excess * strength
            if params.despill_mode == "luminance":
                fg += excess * strength * LUMA[k]
    f32 = np.float32
    return alpha.astype(f32, copy=False), np.maximum(fg, 0.0).astype(f32, copy=False), s.astype(f32, copy=False)


def numpy_derived(alpha: np.ndarray, fg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(premultiplied fg, ``I_T^green``) from :func:`numpy_passes`' alpha and fg."""
    green = np.asarray(CANONICAL_GREEN, dtype=fg.dtype).reshape(1, 3, 1, 1)
    return fg * alpha, green + alpha * (fg - green)


class PerPixel:
    """The per-frame grids of one plate, ready for the per-pixel steps (any backend, or NumPy)."""

    def __init__(self, plate: torch.Tensor, params: KeyerParams) -> None:
        self.plate, self.params = plate, params
        self.rows = band_height(*plate.shape[-2:])
        cells, texture = pool_banded(plate, self.rows)
        self.source = screen_source(plate, cells, texture, params)
        alpha0 = TorchPasses.alpha(plate, self.source, params, self.rows)
        low, mean = alpha_cells(alpha0, self.rows)
        self.level = level_grid(low, params.auto_clip_white)
        self.prior = prior_grid(cells, mean, self.level)
        est = self.source.estimate
        self.np_args = tuple(t.numpy() for t in (plate, est.grid, est.sigma, self.level, self.prior))

    def run(self, passes: type) -> object:
        """Pass A, the level step, pass B with ``passes`` (no auto core: not per pixel)."""
        alpha0 = passes.alpha(self.plate, self.source, self.params, self.rows)
        alpha = passes.level(alpha0, self.level, self.params, self.rows)
        return passes.finish(self.plate, self.source, alpha, self.params, self.rows, None, None, self.prior)

    def numpy(self) -> tuple[np.ndarray, ...]:
        return numpy_passes(*self.np_args, self.params)

    def derived(self, passes: type) -> None:
        """:meth:`run`, then every derived output read (premultiplied fg, ``I_T^green``, screen)."""
        result = self.run(passes)
        _ = result.fg_premult, result.green, result.screen


def timed_together(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median wall ms of each function, measured in interleaved rounds after one warm-up call each."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def bench_plate(size: str) -> torch.Tensor:
    """The (1,3,H,W) studio plate every table keys: fine strands on green at ``size``."""
    h, w = SIZES[size]
    return hard_sample("fine strands", 0, (w, h)).plate[None].contiguous()


def measure(size: str, threads: int, repeat: int) -> dict[str, float]:
    """One row of the table: ms of every column for one size and thread count."""
    torch.set_num_threads(threads)
    plate = bench_plate(size)
    params = KeyerParams()
    per_pixel = PerPixel(plate, params)
    kernel = _passes(_pick_backend(plate, "auto"))
    copy_dst = torch.empty_like(plate)
    fns = {"kernel": lambda: per_pixel.run(kernel), "derived": lambda: per_pixel.derived(kernel),
           "torch": lambda: per_pixel.run(TorchPasses),
           "numpy": per_pixel.numpy, "copy": lambda: copy_dst.copy_(plate), "clone": plate.clone,
           "full": lambda: key(plate, params)}
    return timed_together(fns, repeat) | {"backend": kernel.__name__}


def pass_launches(per_pixel: PerPixel) -> tuple[dict[str, list], dict[str, torch.Tensor]]:
    """The host-kernel arguments of pass A, the level step and pass B of ``per_pixel`` (one image), and the
    outputs they write (alpha_0, alpha, fg), allocated once."""
    plate, params = per_pixel.plate, per_pixel.params
    screen, mode, grid, sigma = host_kernel.screen_args(per_pixel.source, 1)
    out = {"alpha0": torch.empty_like(plate[:, :1]), "alpha": torch.empty_like(plate[:, :1]),
           "fg": torch.empty_like(plate)}
    return {
        "A": kernel_args(plate, screen, mode, grid, sigma, None, out["alpha0"], None, params, COMPUTE_ALPHA),
        "level": kernel_args(out["alpha0"], None, SCREEN_FLAT, per_pixel.level.contiguous(), None, None,
                             out["alpha"], None, params, DIVIDE_LEVEL),
        "B": kernel_args(plate, screen, mode, grid, sigma, per_pixel.prior.contiguous(), out["alpha"], out["fg"],
                         params, WRITE_OUTPUTS),
    }, out


def measure_passes(size: str, threads: int, repeat: int) -> dict[str, float]:
    """ms of each launch of :func:`pass_launches` and of the copy, in interleaved rounds."""
    torch.set_num_threads(threads)
    plate = bench_plate(size)
    launches, _ = pass_launches(PerPixel(plate, KeyerParams()))
    copy_dst = torch.empty_like(plate)
    fns: dict[str, Callable[[], object]] = {name: functools.partial(host_kernel.launch, args)
                                            for name, args in launches.items()}
    return timed_together(fns | {"copy": lambda: copy_dst.copy_(plate)}, repeat)


def report_passes(args: argparse.Namespace) -> None:
    """The ``--passes`` table."""
    if not host_kernel.status()[0]:
        print(f"--passes: no host kernel here ({host_kernel.status()[1]})")
        return
    print("| size | threads | pass A ms | level ms | pass B ms | sum ms | copy ms | sum / copy |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        for threads in args.threads:
            r = measure_passes(size, threads, args.repeat)
            total = r["A"] + r["level"] + r["B"]
            print(f"| {size} | {threads} | {r['A']:.2f} | {r['level']:.2f} | {r['B']:.2f} | {total:.2f} | "
                  f"{r['copy']:.2f} | {total / r['copy']:.1f}x |")


def spin() -> None:
    """A busy process: load for the machine while the keyer is measured."""
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", nargs="+", default=["1080p"], choices=list(SIZES))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--busy", type=int, default=0, help="processes that spin while it measures (load)")
    parser.add_argument("--passes", action="store_true", help="also time the host kernel's launches one by one")
    args = parser.parse_args()
    spinners = [multiprocessing.get_context("spawn").Process(target=spin, daemon=True) for _ in range(args.busy)]
    for process in spinners:
        process.start()
    try:
        report(args)
        if args.passes:
            report_passes(args)
    finally:
        for process in spinners:
            process.terminate()


def report(args: argparse.Namespace) -> None:
    """Print the table for the sizes and thread counts ``args`` asks for."""
    print(f"torch {torch.__version__}, numpy {np.__version__}, CPU {torch.backends.cpu.get_cpu_capability()}, "
          f"{os.cpu_count()} cores, {args.busy} busy processes; "
          f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("| size | threads | per-pixel backend | per-pixel ms | eager torch ms | NumPy ms | NumPy / per-pixel | "
          "copy ms | per-pixel / copy | clone ms | per-pixel / clone | + derived ms | + derived / copy | "
          "full default key ms |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        for threads in args.threads:
            r = measure(size, threads, args.repeat)
            print(f"| {size} | {threads} | {r['backend'].replace('Passes', '').lower()} | {r['kernel']:.1f} | "
                  f"{r['torch']:.1f} | {r['numpy']:.1f} | {r['numpy'] / r['kernel']:.1f}x | {r['copy']:.1f} | "
                  f"{r['kernel'] / r['copy']:.1f}x | {r['clone']:.1f} | {r['kernel'] / r['clone']:.1f}x | "
                  f"{r['derived']:.1f} | {r['derived'] / r['copy']:.1f}x | {r['full']:.1f} |")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"cell grid {grid_size(*SIZES[args.sizes[0]])}")
    if torch.cuda.is_available():
        plate = hard_sample("fine strands", 0, (3840, 2160)).plate[None].cuda()
        for dtype in (torch.float32, torch.float16):
            ms = timed_together({"key": lambda: (key(plate.to(dtype)), torch.cuda.synchronize())}, args.repeat)["key"]
            print(f"CUDA 2160p {str(dtype).replace('torch.', '')}: full key {ms:.2f} ms ({1e3 / ms:.0f} fps)")
    else:
        print("CUDA: no device on this machine; the fused kernel's figures need one.")


if __name__ == "__main__":
    main()
