"""Render speed of `changer render`: frames per minute for a studio shot, 1 and 2 workers, per stage.

Makes the demo shot (default 24 frames at 1920x1080) once, then renders it through the batch host
(`plan_render` + `render`, exactly what `changer render` runs) with each worker count, output "comp"
over the background, and prints frames per minute plus where the time went (read / key / network /
write / other, in ms per frame, summed inside the workers). Uses the shipped weights when present,
else a seeded random model of the same architecture (same cost, meaningless pixels).

    python benchmarks/render.py                   # 24 x 1920x1080, workers 1 and 2
    python benchmarks/render.py --frames 4 --size 960x540 --workers 1
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from changer.core.errors import WeightsError
from changer.core.model import build_model
from changer.core.model.weights_io import save_weights
from changer.plugin.hosts import batch
from changer.plugin.hosts.batch import REPORTED_STAGES
from changer.plugin.hosts.options import RenderOptions
from changer.plugin.models import resolve_weights
from changer.training.studio.shot import DemoShot, make_demo_shot, size_text


def _weights(folder: Path, given: str) -> tuple[Path, str]:
    try:
        return resolve_weights(given), "shipped/given"
    except WeightsError:
        torch.manual_seed(0)
        path = save_weights(build_model("small"), folder / "random-small.safetensors", training_data="benchmark")
        return path, "random 'small' (shipped weights absent)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--workers", default="1,2", help="comma list of worker counts (default 1,2)")
    parser.add_argument("--weights", default="")
    parser.add_argument("--out", type=Path, help="folder for the shot and renders (default: a temp folder)")
    parser.add_argument("--reuse-shot", action="store_true", help="reuse the shot already in --out")
    parser.add_argument("--set", dest="sets", action="append", default=[], help="extra params, name=value")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    size = size_text(args.size)
    folder = args.out or Path(tempfile.mkdtemp(prefix="changer-bench-"))
    weights, kind = _weights(folder, args.weights)
    start = time.perf_counter()
    if args.reuse_shot and (folder / "shot" / f"target.{args.frames:04d}.exr").is_file():
        stems = ("target", "source", "target_matte", "source_matte")
        shot = DemoShot(*(str(folder / "shot" / f"{stem}.####.exr") for stem in stems),
                        str(folder / "shot" / "background.exr"), (1, args.frames))
        print(f"shot: reusing {folder / 'shot'}")
    else:
        shot = make_demo_shot(folder / "shot", args.frames, size)
        print(f"shot: {args.frames} frames {size[0]}x{size[1]} made in {time.perf_counter() - start:.1f} s ({folder})")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU threads, "
          f"torch {torch.__version__}, CUDA {'yes' if torch.cuda.is_available() else 'no'}; weights: {kind}")
    rows = []
    for workers in (int(w) for w in args.workers.split(",")):
        options = RenderOptions(
            frames=f"1-{args.frames}", target=shot.target, source=shot.source, target_matte=shot.target_matte,
            source_matte=shot.source_matte,
            background=shot.background, out=str(folder / f"render-w{workers}" / "comp.####.exr"),
            sets=(f"weights={weights}", *args.sets), workers=workers, overwrite=True,
        )
        summary = batch.render(batch.plan_render(options), progress=False)
        per_frame = {name: 1000.0 * summary.stages.get(name, 0.0) / len(summary.rendered) for name in REPORTED_STAGES}
        rows.append((workers, summary.seconds, summary.frames_per_minute, per_frame))
    header = "| workers | wall s | frames/min | " + " | ".join(f"{n} ms/frame" for n in REPORTED_STAGES) + " |"
    print(header)
    print("|" + "---|" * (3 + len(REPORTED_STAGES)))
    for workers, seconds, fpm, per_frame in rows:
        cells = " | ".join(f"{per_frame[n]:.0f}" for n in REPORTED_STAGES)
        print(f"| {workers} | {seconds:.1f} | {fpm:.2f} | {cells} |")
    print("stage times are summed inside each worker (with 2 workers they overlap in wall time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
