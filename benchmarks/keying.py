"""Keyer speed: ms per frame and GB/s at 1920x1080 and 3840x2160, float32, against peers measured in
the same run.

* torch: ``changer.core.keying.key`` per pixel (the product's CPU path with the screen colour given,
  no clean-plate estimate, no auto core); the full default key is timed on its own line.
* NumPy: :func:`numpy_key`, a straightforward NumPy implementation of the same math (the tests check
  that it agrees with torch), single-threaded as NumPy is.
* torch.compile: the same per-pixel stages, written element by element, compiled by inductor
  (warm-up reported separately; not the product's default path, see README).
* copy: a plain torch copy of the plate, the machine's practical memory bandwidth for this size.
* CUDA (when present): the fused CuPy kernel and the torch path, in frames per second.

GB/s counts the bytes the keyer must touch: read the plate (12 B/pixel), write alpha (4), fg,
premultiplied fg and ``I_T^green`` (12 each): 52 B/pixel. Copy GB/s counts read + write.

    python benchmarks/keying.py [--repeat 5] [--sizes 1080p 2160p] [--no-compile] [--threads N] [--clock cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from changer.core.keying import CANONICAL_GREEN, KeyerParams, finish, key, screen_matte
from changer.core.keying.keyer import DARK_BOUND_SHARE, FG_EPS, LUMA, MIN_HEADROOM, MIN_SCREEN_DIFF
from changer.core.keying.params import despill_bias_factor, key_channels

SIZES = {"1080p": (1080, 1920), "2160p": (2160, 3840)}
BYTES_PER_PIXEL = 12 + 4 + 3 * 12
SCREEN = (0.12, 0.62, 0.16)


def numpy_key(plate: np.ndarray, screen: np.ndarray, params: KeyerParams) -> tuple[np.ndarray, ...]:
    """The keyer's per-pixel math in plain NumPy: (alpha, fg, premult, green) for (N,3,H,W) float32.

    ``screen`` is (N,3,1,1) or (N,3,H,W). No auto core, grow/shrink or softness (not per-pixel).
    """
    k, a, b = key_channels(params.screen_type)
    wa, wb = params.screen_balance, 1.0 - params.screen_balance
    one = np.float32(1.0)
    if params.balance_mode == "auto":
        pk, sk = plate[:, k:k + 1], screen[:, k:k + 1]
        ratio_a = (pk - plate[:, a:a + 1]) / np.maximum(sk - screen[:, a:a + 1], MIN_SCREEN_DIFF)
        ratio_b = (pk - plate[:, b:b + 1]) / np.maximum(sk - screen[:, b:b + 1], MIN_SCREEN_DIFF)
        ratio = np.minimum(ratio_a, ratio_b)
    else:
        ds = np.maximum(screen[:, k:k + 1] - wa * screen[:, a:a + 1] - wb * screen[:, b:b + 1], MIN_SCREEN_DIFF)
        ratio = (plate[:, k:k + 1] - wa * plate[:, a:a + 1] - wb * plate[:, b:b + 1]) / ds
    bright = ((plate - screen) / np.maximum(one - screen, MIN_HEADROOM)).max(axis=1, keepdims=True)
    dark_channels = screen >= DARK_BOUND_SHARE * screen[:, k:k + 1]
    dark = np.where(dark_channels, (screen - plate) / np.maximum(screen, MIN_HEADROOM), -np.inf).max(axis=1, keepdims=True)
    alpha0 = np.maximum(np.maximum(one - params.screen_gain * ratio, bright), dark)
    alpha = np.clip((alpha0 - params.clip_black) / (params.clip_white - params.clip_black), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        r = np.where(alpha > FG_EPS, one / alpha, one)
    fg = np.maximum(screen + r * (plate - screen), 0.0)
    bias = despill_bias_factor(params)
    limit = fg[:, a:a + 1] * (wa * bias) + fg[:, b:b + 1] * (wb * bias)
    spill = np.maximum(fg[:, k:k + 1] - limit, 0.0) * params.despill
    fg[:, k:k + 1] -= spill
    if params.despill_mode == "luminance":
        fg += spill * LUMA[k]
    premult = fg * alpha
    green = premult + (one - alpha) * np.asarray(CANONICAL_GREEN, dtype=plate.dtype).reshape(1, 3, 1, 1)
    return alpha.astype(plate.dtype), fg.astype(plate.dtype), premult.astype(plate.dtype), green.astype(plate.dtype)


def synthetic_plate(h: int, w: int, like: torch.Tensor | None = None) -> torch.Tensor:
    """(1,3,H,W) a soft-edged subject with noise over a slightly uneven green screen (seeded)."""
    g = torch.Generator().manual_seed(7)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    alpha = ((0.6 - (xx**2 + (yy + 0.3) ** 2).sqrt()) * 20).clamp(0, 1)
    fg = torch.stack([0.7 + 0.1 * xx, 0.5 + 0.1 * yy, 0.4 + 0 * xx])
    screen = torch.tensor(SCREEN).view(3, 1, 1) * (1.0 - 0.1 * yy)
    plate = alpha * fg + (1 - alpha) * screen + 0.01 * torch.randn(3, h, w, generator=g)
    plate = plate.clamp(0, 1)[None]
    return plate if like is None else plate.to(like.device, like.dtype)


def timed(fn: Callable[[], object], repeat: int, sync: Callable[[], None] = lambda: None) -> float:
    """Median wall ms of ``repeat`` calls after one warm-up call."""
    fn()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def timed_together(fns: dict[str, Callable[[], object]], repeat: int, clock: Callable[[], float]) -> dict[str, float]:
    """Median ms of each function, measured in interleaved rounds (one call of each per round) so
    that load from other processes falls on all of them alike."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = clock()
            fn()
            times[name].append((clock() - t0) * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def _per_pixel_elementwise(plate: torch.Tensor, screen: torch.Tensor, params: KeyerParams) -> tuple[torch.Tensor, ...]:
    """Both stages written element by element (the screen broadcast to every pixel, so stage 1 takes
    its term-by-term path): the form inductor can fuse into one loop, unlike the 1x1 convolution."""
    screen = screen.expand_as(plate)
    return finish(plate, screen, screen_matte(plate, screen, params), params)


#: The per-pixel key (what NumPy reimplements): one given screen colour, no clean-plate estimate,
#: no auto core. ``key()`` with these params is one pass of each stage (or one CUDA kernel).
PER_PIXEL = KeyerParams(screen_color=SCREEN, auto_clean_plate=False, core_depth=0.0)


def cpu_table(sizes: list[str], repeat: int, compile_too: bool, clock: Callable[[], float]) -> list[dict]:
    params = PER_PIXEL
    rows = []
    compiled = torch.compile(_per_pixel_elementwise, dynamic=False) if compile_too else None
    for name in sizes:
        h, w = SIZES[name]
        plate = synthetic_plate(h, w)
        screen = torch.tensor(SCREEN).view(1, 3, 1, 1)
        plate_np, screen_np = plate.numpy(), screen.numpy()
        copy_dst = torch.empty_like(plate)
        fns = {
            "torch": lambda: key(plate, params),
            "numpy": lambda: numpy_key(plate_np, screen_np, params),
            "copy": lambda: copy_dst.copy_(plate),
        }
        row = {"size": name, "mb": plate.numel() // 3 * BYTES_PER_PIXEL / 1e6,
               "copy_mb": 2 * plate.numel() * plate.element_size() / 1e6}
        if compiled is not None:
            t0 = time.perf_counter()
            compiled(plate, screen, params)
            row["compile_warmup_s"] = time.perf_counter() - t0
            fns["compiled"] = lambda: compiled(plate, screen, params)
        row.update({f"{k}_ms": v for k, v in timed_together(fns, repeat, clock).items()})
        row["default_ms"] = timed_together({"default": lambda: key(plate)}, max(1, repeat // 2), clock)["default"]
        rows.append(row)
    return rows


def cuda_table(repeat: int) -> list[dict]:
    from changer.core.device import cupy_status

    usable, reason = cupy_status()
    params = PER_PIXEL
    rows = []
    device = torch.device("cuda")
    for dtype in (torch.float32, torch.float16):
        plate = synthetic_plate(*SIZES["2160p"]).to(device, dtype)
        backends = ["torch"] + (["cupy"] if usable else [])
        for backend in backends:
            ms = timed(lambda: key(plate, params, backend=backend), repeat, torch.cuda.synchronize)
            rows.append({"dtype": str(dtype).replace("torch.", ""), "backend": backend, "ms": ms, "fps": 1e3 / ms})
    if not usable:
        print(f"(CuPy kernel not measured: {reason})")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile column")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own choice)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: process CPU time, for a machine shared with other jobs (use with --threads 1)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(f"torch {torch.__version__}, numpy {np.__version__}, {torch.get_num_threads()} torch threads, "
          f"float32, CPU ({torch.backends.cpu.get_cpu_capability()}), {args.clock} clock")
    rows = cpu_table(args.sizes, args.repeat, not args.no_compile, clock)
    head = "| size | torch ms | NumPy ms | NumPy/torch | torch GB/s | copy GB/s | copy/torch |"
    sep = "|---|---:|---:|---:|---:|---:|---:|"
    if not args.no_compile:
        head += " compiled ms | compiled GB/s | copy/compiled | compile warm-up s |"
        sep += "---:|---:|---:|---:|"
    print(head)
    print(sep)
    for r in rows:
        bw, copy_bw = r["mb"] / r["torch_ms"], r["copy_mb"] / r["copy_ms"]
        line = (f"| {r['size']} | {r['torch_ms']:.1f} | {r['numpy_ms']:.1f} | {r['numpy_ms'] / r['torch_ms']:.2f}x | "
                f"{bw:.2f} | {copy_bw:.2f} | {copy_bw / bw:.2f}x |")
        if "compiled_ms" in r:
            cbw = r["mb"] / r["compiled_ms"]
            line += f" {r['compiled_ms']:.1f} | {cbw:.2f} | {copy_bw / cbw:.2f}x | {r['compile_warmup_s']:.1f} |"
        print(line)
    print("\nFull default key (picked screen, auto clean plate, auto core), torch: " +
          ", ".join(f"{r['size']} {r['default_ms']:.0f} ms" for r in rows))
    if torch.cuda.is_available():
        print(f"\nCUDA, 3840x2160 ({torch.cuda.get_device_name()}):")
        print("| dtype | backend | ms | fps |\n|---|---|---:|---:|")
        for r in cuda_table(args.repeat):
            print(f"| {r['dtype']} | {r['backend']} | {r['ms']:.2f} | {r['fps']:.0f} |")
    else:
        print("\nCUDA: no device on this machine; the fused kernel's figures need one.")


if __name__ == "__main__":
    main()
