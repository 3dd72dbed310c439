"""The OpenFX plug-in against `changer render`: one 1080p frame each way, side by side, and the ratio.

Makes the demo shot (default 3 frames at 1920x1080) and the bundle, then alternates, frame by frame:

* `changer render`: the batch host's frame (`FrameRenderer`: read the EXRs, render, write the EXR),
  the model loaded once, `--pixel-type float`;
* the plug-in: the render action in the headless OpenFX host (clips handed over as float RGBA
  images the host already holds, copied into shared memory, rendered by the sidecar, the window
  written back), the sidecar warm.

Prints each frame's seconds, the medians and the ratio plug-in / render; the bar is <= 1.10.

    python benchmarks/ofx.py                      # 3 x 1920x1080, 2 rounds
    python benchmarks/ofx.py --frames 2 --size 960x540 --rounds 1
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from changer.core.errors import WeightsError
from changer.core.io import read_image
from changer.core.model import build_model
from changer.core.model.weights_io import save_weights
from changer.plugin.hosts import batch
from changer.plugin.hosts.options import RenderOptions
from changer.plugin.models import resolve_weights
from changer.plugin.ofx.build import build_bundle
from changer.plugin.ofx.headless_host import STAT_OK, HeadlessHost, HostImage, Instance
from changer.training.studio.shot import DemoShot, make_demo_shot

CLIPS = {"Target": ("target", 4), "Source": ("source", 4), "TargetHeadMatte": ("target_matte", 1),
         "SourceHeadMatte": ("source_matte", 1)}


def _weights(folder: Path) -> tuple[Path, str]:
    try:
        return resolve_weights(""), "shipped"
    except WeightsError:
        torch.manual_seed(0)
        path = save_weights(build_model("small"), folder / "random-small.safetensors", training_data="benchmark")
        return path, "random 'small' (shipped weights absent)"


def host_image(pattern: str, frame: int, channels: int) -> HostImage:
    """A clip frame as the host holds it: RGBA (alpha 1) or Alpha, float, rows going up."""
    pixels = read_image(pattern.replace("####", f"{frame:04d}"))[0]
    if channels == 4:
        pixels = torch.cat([pixels[:3], torch.ones_like(pixels[:1])])
    else:
        pixels = pixels[-1:]
    array = np.ascontiguousarray(pixels.permute(1, 2, 0).numpy(), dtype=np.float32)
    return HostImage(array, (0, 0, array.shape[1], array.shape[0]))


def plugin_instance(host: HeadlessHost, shot: DemoShot, frames: list[int], weights: Path) -> Instance:
    instance = host.create_instance("general")
    instance.set_param("weights", str(weights))
    for name, (stem, channels) in CLIPS.items():
        images = {f: host_image(getattr(shot, stem), f, channels) for f in frames}  # held before timing
        height, width = images[frames[0]].pixels.shape[:2]
        instance.connect(name, lambda t, s, images=images: images[int(t)], (0, 0, width, height))
    return instance


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--rounds", type=int, default=2, help="times each frame is rendered each way")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    width, height = (int(v) for v in args.size.split("x"))
    os.environ.setdefault("CHANGER_OFX_PYTHON", sys.executable)
    with tempfile.TemporaryDirectory(prefix="changer-bench-ofx-") as tmp:
        folder = Path(tmp)
        shot = make_demo_shot(folder / "shot", args.frames, (width, height))
        weights, which = _weights(folder)
        frames = list(range(shot.frames[0], shot.frames[1] + 1))
        options = RenderOptions(target=shot.target, source=shot.source, target_matte=shot.target_matte,
                                source_matte=shot.source_matte, out=str(folder / "render" / "comp.####.exr"),
                                sets=(f"weights={weights}",), pixel_type="float", overwrite=True)
        renderer = batch.FrameRenderer(batch.plan_render(options))
        bundle = build_bundle(folder / "ofx")
        host = HeadlessHost(bundle.path)
        assert host.load() == STAT_OK
        instance = plugin_instance(host, shot, frames, weights)
        assert host.begin_sequence(instance, frames[0], frames[-1]) == STAT_OK, instance.message
        output = HostImage(np.zeros((height, width, 4), np.float32), (0, 0, width, height))
        renderer(frames[0])  # warm both: first-call costs are not a frame's
        assert host.render(instance, frames[0], (0, 0, width, height), output) == STAT_OK, instance.message
        render_s, plugin_s = [], []
        print(f"{width}x{height}, weights: {which}, torch threads {torch.get_num_threads()}, "
              f"{platform.processor() or platform.machine()}, load {os.getloadavg()[0]:.1f}")
        print("| frame | round | changer render (s) | plug-in (s) |")
        print("|---|---|---|---|")
        for round_ in range(args.rounds):
            for frame in frames:
                start = time.perf_counter()
                renderer(frame)
                render_s.append(time.perf_counter() - start)
                start = time.perf_counter()
                status = host.render(instance, frame, (0, 0, width, height), output)
                plugin_s.append(time.perf_counter() - start)
                assert status == STAT_OK, instance.message
                print(f"| {frame} | {round_ + 1} | {render_s[-1]:.3f} | {plugin_s[-1]:.3f} |")
        host.end_sequence(instance, frames[0], frames[-1])
        host.unload()
    render_median, plugin_median = statistics.median(render_s), statistics.median(plugin_s)
    print(f"median: changer render {render_median:.3f} s, plug-in {plugin_median:.3f} s, "
          f"ratio plug-in / render {plugin_median / render_median:.3f} (bar: <= 1.10)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
