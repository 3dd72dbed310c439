"""A tiny shot for the review panel's tests: a different studio pair on every frame (so scrubbing is
visible), optionally one frame with an empty target matte (a bad input), and seeded random weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from changer.core.color import from_network
from changer.core.io import write_image
from changer.plugin.hosts.options import RenderOptions
from changer.training.studio import make_pair
from node_shot import TEST_RESOLUTION, save_tiny_weights

if TYPE_CHECKING:  # the session's tests run without Qt
    from changer.ui.window import ReviewWindow

SIZE = (96, 64)  # width, height
TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class UiShot:
    folder: Path
    frames: tuple[int, ...]
    weights: Path

    def pattern(self, stem: str) -> str:
        return str(self.folder / f"{stem}.####.exr")

    def options(self, *sets: str, config: str | None = None, mattes: bool = True) -> RenderOptions:
        """``changer render``/``review`` options for this shot (tiny weights, network at 64 px); ``mattes``
        False: plates alone."""
        return RenderOptions(
            target=self.pattern("target"), source=self.pattern("source"),
            target_matte=self.pattern("tmatte") if mattes else None,
            source_matte=self.pattern("smatte") if mattes else None,
            out=str(self.folder / "out" / "comp.####.exr"), config=config,
            sets=(f"weights={self.weights}", f"network_resolution={TEST_RESOLUTION}", *sets))

    def argv(self) -> list[str]:
        return ["--target", self.pattern("target"), "--source", self.pattern("source"),
                "--target-matte", self.pattern("tmatte"), "--source-matte", self.pattern("smatte"),
                "--set", f"weights={self.weights}", "--set", f"network_resolution={TEST_RESOLUTION}"]


def write_ui_shot(folder: Path, frames: int = 3, empty_matte_frame: int | None = None,
                  size: tuple[int, int] = SIZE) -> UiShot:
    """Frames 1..``frames``, frame ``f`` made from studio pair seed ``10 + f``, ``size`` (width, height)."""
    folder.mkdir(parents=True, exist_ok=True)
    for frame in range(1, frames + 1):
        source, target = make_pair(10 + frame, size)
        plates = from_network(torch.stack([target.plate, source.plate]))
        matte = target.mask("head", soft=True)
        if frame == empty_matte_frame:
            matte = torch.zeros_like(matte)
        write_image(folder / f"target.{frame:04d}.exr", plates[0])
        write_image(folder / f"source.{frame:04d}.exr", plates[1])
        write_image(folder / f"tmatte.{frame:04d}.exr", matte)
        write_image(folder / f"smatte.{frame:04d}.exr", source.mask("head", soft=True))
    return UiShot(folder, tuple(range(1, frames + 1)), save_tiny_weights(folder))


def shown(qtbot, window: ReviewWindow, action=None) -> int:
    """Do ``action`` and wait until the window shows the image of the newest request; its generation."""
    def newest() -> bool:
        return (window.reply is not None and not window._schedule.isActive()
                and window.reply.generation == window.worker.generation)

    if action is not None:
        action()
    qtbot.waitUntil(newest, timeout=TIMEOUT_MS)
    return window.reply.generation
