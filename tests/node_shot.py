"""Small studio shots and a seeded random model for the node's tests (no shipped weights needed)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from changer.core.color import from_network
from changer.core.io import write_image
from changer.core.model import build_model
from changer.core.model.weights_io import save_weights
from changer.training.studio import make_pair

#: Network resolution of the tests: the smallest allowed, so a frame costs ~0.1 s on a CPU.
TEST_RESOLUTION = 64


@dataclass(frozen=True)
class Shot:
    folder: Path
    frames: int
    weights: Path

    def pattern(self, stem: str) -> str:
        return str(self.folder / f"{stem}.####.exr")

    def path(self, stem: str, frame: int) -> Path:
        return self.folder / f"{stem}.{frame:04d}.exr"

    def argv(self, out: str | Path, *extra: str, mattes: bool = True) -> list[str]:
        """``changer render`` argv (without the program name) for this shot; ``mattes`` False: plates alone."""
        given = ["--target-matte", self.pattern("tmatte"), "--source-matte", self.pattern("smatte")] if mattes else []
        return ["render", "--target", self.pattern("target"), "--source", self.pattern("source"), *given,
                "--out", str(out), "--set", f"weights={self.weights}",
                "--set", f"network_resolution={TEST_RESOLUTION}", "--no-progress", *extra]

    def copy(self, folder: Path) -> Shot:
        shutil.copytree(self.folder, folder)
        return Shot(folder, self.frames, folder / self.weights.name)


def save_tiny_weights(folder: Path, seed: int = 0) -> Path:
    """A seeded, untrained 'small' model saved with the weights API."""
    torch.manual_seed(seed)
    return save_weights(build_model("small"), folder / "tiny.safetensors", training_data="random init (tests)")


def write_shot(folder: Path, frames: int = 3, size: tuple[int, int] = (64, 64), seed: int = 7) -> Shot:
    """Target/source plates (ACEScg EXR) and single-channel head mattes, one studio pair per frame."""
    folder.mkdir(parents=True, exist_ok=True)
    source, target = make_pair(seed, size)
    plates = from_network(torch.stack([target.plate, source.plate]))
    for frame in range(1, frames + 1):
        write_image(folder / f"target.{frame:04d}.exr", plates[0])
        write_image(folder / f"source.{frame:04d}.exr", plates[1])
        write_image(folder / f"tmatte.{frame:04d}.exr", target.mask("head", soft=True))
        write_image(folder / f"smatte.{frame:04d}.exr", source.mask("head", soft=True))
    return Shot(folder, frames, save_tiny_weights(folder))
