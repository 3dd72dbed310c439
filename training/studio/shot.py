"""The demo shot: an actor and a double with different heads and hair, performing the same moves.

Made with the procedural studio because nothing here can download footage (``changer demo`` and the
benchmarks use it): the double (target) on a green screen, the actor (source) filmed separately on another
screen, both following one smooth head-and-body motion, exact head mattes from the studio's truth,
and a procedural background plate. Everything is written as scene-linear EXR in the working space
(mattes untouched), exactly what a user hands to ``changer render``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from changer.core.color import ColorConfig, from_network
from changer.core.errors import ParamError
from changer.core.io import write_image
from changer.training.studio.generate import shot_poses
from changer.training.studio.params import Identity, Studio, sample_identity, sample_studio
from changer.training.studio.renderer import MAX_SIZE, MIN_SIZE, render
from changer.training.studio.sample import Sample

log = logging.getLogger(__name__)

#: The actor keeps short hair; the double gets a long style, so the union region must be inpainted.
SOURCE_STYLES = ("short", "bald", "bun")
TARGET_STYLES = ("long", "curly", "ponytail")


@dataclass(frozen=True)
class DemoShot:
    """Where the demo shot's sequences are (patterns with ``####``) and its frame range."""

    target: str
    source: str
    target_matte: str
    source_matte: str
    background: str
    frames: tuple[int, int]


def _identities(rng: np.random.Generator) -> tuple[Identity, Identity]:
    source = sample_identity(rng, "green", hair_style=str(rng.choice(SOURCE_STYLES)))
    while True:
        target = sample_identity(rng, "green", hair_style=str(rng.choice(TARGET_STYLES)))
        if target.head_shape != source.head_shape and abs(target.skin_tone - source.skin_tone) > 0.15:
            return source, target


def _studio(rng: np.random.Generator) -> Studio:
    """A well-lit green screen without motion blur (the demo shows the blend, not a torture test)."""
    while True:
        studio = sample_studio(rng, "green")
        if max(studio.screen) >= 0.5:
            return dataclasses.replace(studio, motion_blur=(0.0, 0.0))


def background_plate(width: int, height: int, seed: int) -> torch.Tensor:
    """A dusk sky with out-of-focus lights, (3,H,W) in network space (sRGB-encoded [0,1])."""
    gen = torch.Generator().manual_seed(seed)
    v = torch.linspace(0.0, 1.0, height).view(1, height, 1)
    top, bottom = torch.tensor([0.10, 0.16, 0.34]).view(3, 1, 1), torch.tensor([0.62, 0.38, 0.30]).view(3, 1, 1)
    sky = (top + (bottom - top) * v).expand(3, height, width).clone()
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32),
                            indexing="ij")
    for _ in range(40):
        cx = float(torch.rand(1, generator=gen)) * width
        cy = (0.45 + 0.55 * float(torch.rand(1, generator=gen))) * height
        radius = (0.01 + 0.03 * float(torch.rand(1, generator=gen))) * height
        colour = torch.tensor([1.0, 0.75, 0.35]) * (0.6 + 0.4 * torch.rand(3, generator=gen))
        disc = torch.sigmoid((radius - torch.hypot(xs - cx, ys - cy)) / (0.15 * radius)) * 0.35
        sky = sky + disc * colour.view(3, 1, 1)
    return sky.clamp(0.0, 1.0)


def demo_samples(seed: int, frames: int, size: tuple[int, int], first: int = 1) -> Iterator[tuple[int, Sample, Sample]]:
    """(frame number, target, source) of the demo shot ``seed``: the double and the actor, with their truth."""
    rng = np.random.default_rng(seed)
    source_id, target_id = _identities(rng)
    target_studio, source_studio = _studio(rng), _studio(rng)
    poses = shot_poses(seed, frames)
    log.info("demo: source %s/%s, target %s/%s", source_id.hair_style, source_id.head_shape,
             target_id.hair_style, target_id.head_shape)
    for index in range(frames):
        noise = int(rng.integers(0, 2**62))
        yield (first + index, render(target_id, poses[index], target_studio, size, noise_seed=noise),
               render(source_id, poses[index], source_studio, size, noise_seed=noise + 1))


def make_demo_shot(folder: Path, frames: int, size: tuple[int, int], seed: int = 7,
                   color: ColorConfig | None = None, first: int = 1) -> DemoShot:
    """Render and write the demo shot into ``folder``; returns its patterns."""
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    shot = DemoShot(*(str(folder / f"{stem}.####.exr") for stem in
                      ("target", "source", "target_matte", "source_matte")), str(folder / "background.exr"),
                    (first, first + frames - 1))
    write_image(folder / "background.exr", from_network(background_plate(width, height, seed), color))
    samples = demo_samples(seed, frames, size, first)
    for number, target, source in tqdm(samples, total=frames, unit="frame", desc="studio", disable=None):
        for pattern, image in ((shot.target, from_network(target.plate, color)),
                               (shot.source, from_network(source.plate, color)),
                               (shot.target_matte, target.mask("head", soft=True)),
                               (shot.source_matte, source.mask("head", soft=True))):
            write_image(pattern.replace("####", f"{number:04d}"), image, frame=number)
    return shot


def size_text(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720)."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ParamError(f"--size {text!r}: expected WIDTHxHEIGHT such as 1280x720")
    width, height = int(parts[0]), int(parts[1])
    if not (MIN_SIZE <= width <= MAX_SIZE and MIN_SIZE <= height <= MAX_SIZE):
        raise ParamError(f"--size {text!r}: expected width and height in [{MIN_SIZE}, {MAX_SIZE}]")
    return width, height

