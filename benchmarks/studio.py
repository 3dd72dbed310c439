"""Speed of the procedural studio: milliseconds to render one sample, per frame size.

    python benchmarks/studio.py [--repeat 15] [--no-4k]

Each run renders a different random sample (seed = run index) so the figure is a median over
people, hair styles and studios, not one lucky frame. Prints wall-clock and CPU (process) time and
judges the budget on each: the generator runs on one thread, so on an idle machine the two agree,
while on a shared one the wall figure also counts time the process waited for a core. The load
average at the start is printed because it moves the wall figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from changer.training.studio import random_sample

CASES = [  # (width, height, runs relative to --repeat, budget in ms or None)
    (256, 256, 4, 20.0),
    (512, 512, 2, None),
    (1920, 1080, 1, 500.0),
]


def bench(size: tuple[int, int], runs: int, warmup: int = 2) -> tuple[float, float]:
    """(median wall ms, median CPU ms) of ``random_sample`` at ``size`` over ``runs`` seeds."""
    for seed in range(warmup):
        random_sample(1000 + seed, size)
    wall, cpu = [], []
    for seed in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        random_sample(seed, size)
        cpu.append((time.process_time() - c0) * 1e3)
        wall.append((time.perf_counter() - w0) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15, help="runs at 1920x1080 (smaller sizes run more)")
    ap.add_argument("--no-4k", action="store_true", help="skip the single 3840x2160 run")
    args = ap.parse_args(argv)
    cases = list(CASES) + ([] if args.no_4k else [(3840, 2160, 0, None)])
    print(f"studio benchmark: torch {torch.__version__}, {os.cpu_count()} CPUs, generator on 1 thread, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'size':>10} {'runs':>5} {'wall ms':>9} {'cpu ms':>9} {'budget':>8}  {'met (wall/cpu)'}")
    for width, height, factor, budget in cases:
        runs = max(1, factor * args.repeat)
        wall, cpu = bench((width, height), runs, warmup=1 if factor == 0 else 2)
        verdict = "-" if budget is None else "/".join("yes" if t <= budget else "NO" for t in (wall, cpu))
        print(f"{width}x{height:<5} {runs:>5} {wall:>9.1f} {cpu:>9.1f} {budget or '-':>8}  {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
