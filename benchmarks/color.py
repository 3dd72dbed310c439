"""Colour transform speed and agreement: OCIO CPU processor vs the torch LUT path.

    python benchmarks/color.py [--size 1920x1080] [--repeat 7] [--lut-size 65]

Prints, per direction (working -> network, network -> working) and per path, the median ms per
frame, the ratio to OCIO's CPU processor measured in the same run, and the max abs error against
it. The frame is deterministic: network-space values uniform in [0,1]^3 (so the working-space
frame is exactly the "in-range" set the tolerance is defined on); an extra row gives the error on
an HDR working frame (values up to 64, 1% up to 1e3) to show the shaper/extrapolation coverage.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from changer.core import color


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(fn, x: torch.Tensor, warmup: int, repeat: int) -> tuple[float, torch.Tensor]:
    """Median ms per call of fn(x) after warm-up."""
    out = None
    for _ in range(warmup):
        out = fn(x)
    _sync(x.device)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(x)
        _sync(x.device)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT (default 1920x1080)")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs, median reported")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--lut-size", type=int, default=color.LUT_SIZE)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))

    cc = color.get_config()
    gen = torch.Generator().manual_seed(0)
    net = torch.rand(1, 3, h, w, generator=gen)
    work = color.from_network(net, cc, method="ocio")
    hdr = torch.rand(1, 3, h, w, generator=gen) ** 3 * 64
    hdr[:, :, : max(1, h // 100)] *= 16  # 1% of rows up to ~1e3
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))

    t0 = time.perf_counter()
    color.bake(cc.source, cc.working, cc.network, args.lut_size)
    color.bake(cc.source, cc.network, cc.working, args.lut_size)
    bake_ms = (time.perf_counter() - t0) * 1e3

    print(f"config: {cc.describe()}")
    print(f"frame {w}x{h}, LUT {args.lut_size}^3, torch threads {torch.get_num_threads()}, "
          f"median of {args.repeat} after {args.warmup} warm-up; bake both LUTs {bake_ms:.0f} ms")
    head = (f"{'direction':<20} {'path':<10} {'device':<7} {'ms/frame':>9} {'vs OCIO':>8} "
            f"{'max abs err':>12}")
    print(head)
    print("-" * len(head))
    for name, fn, x in (("working -> network", color.to_network, work),
                        ("network -> working", color.from_network, net)):
        ocio_ms, ref = bench(lambda t: fn(t, cc, method="ocio"), x, args.warmup, args.repeat)
        print(f"{name:<20} {'ocio':<10} {'cpu':<7} {ocio_ms:9.1f} {1.0:7.2f}x {0.0:12.2e}")
        for dev in devices:
            xd = x.to(dev)
            ms, out = bench(lambda t: fn(t, cc, method="lut", lut_size=args.lut_size), xd,
                            args.warmup, args.repeat)
            err = (out.float().cpu() - ref).abs().max().item()
            print(f"{name:<20} {'lut':<10} {dev.type:<7} {ms:9.1f} {ms / ocio_ms:7.2f}x "
                  f"{err:12.2e}")
            if dev.type == "cuda":
                xh = xd.half()
                ms, out = bench(lambda t: fn(t, cc, method="lut", lut_size=args.lut_size), xh,
                                args.warmup, args.repeat)
                ref16 = fn(xh.float().cpu(), cc, method="ocio")
                err = (out.float().cpu() - ref16).abs().max().item()
                print(f"{name:<20} {'lut fp16':<10} {dev.type:<7} {ms:9.1f} {ms / ocio_ms:7.2f}x "
                      f"{err:12.2e}")
    ref = color.to_network(hdr, cc, method="ocio")
    out = color.to_network(hdr, cc, method="lut", lut_size=args.lut_size)
    rel = ((out - ref).abs() / ref.abs().clamp(min=1.0)).max().item()
    print(f"HDR working frame (<= ~1e3): LUT vs OCIO max error {rel:.2e} "
          f"(absolute below 1, relative above)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
