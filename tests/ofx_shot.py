"""The OpenFX tests' plumbing: build the bundle once, hand a node_shot's EXRs to the headless host as images."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from changer.core.io import read_image
from changer.plugin.ofx.headless_host import HeadlessHost, HostImage, Instance
from node_shot import TEST_RESOLUTION, Shot

#: Why the OpenFX tests cannot run, or None.
NO_COMPILER = None if (shutil.which("g++") or shutil.which("c++")) else "no C++ compiler (g++/c++) on PATH"
#: general-context clip name -> the node_shot file stem and the channels the host hands over.
CLIP_FILES = {"Target": ("target", 3), "Source": ("source", 3), "TargetHeadMatte": ("tmatte", 1),
              "SourceHeadMatte": ("smatte", 1)}


def shm_leftovers() -> list[str]:
    return sorted(name for name in os.listdir("/dev/shm") if name.startswith("changer-ofx-"))


def child_pids() -> set[int]:
    """This process's live sidecar children (other tests of the session may leave other children)."""
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        text = (task / "children").read_text().split()
        pids.update(int(p) for p in text)
    return {pid for pid in pids if _alive(pid) and _is_sidecar(pid)}


def _is_sidecar(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    return b"changer.plugin.ofx.sidecar" in argv


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def frame_pixels(shot: Shot, stem: str, frame: int, channels: int) -> np.ndarray:
    """(H, W, C) float32 pixels of a shot file, top row first."""
    pixels, _ = read_image(shot.path(stem, frame))
    return np.ascontiguousarray(pixels[-channels:].permute(1, 2, 0).numpy(), dtype=np.float32)


def area_half(pixels: np.ndarray) -> np.ndarray:
    """The host's proxy: 2x2 box average (what the batch host's area downscale makes at 0.5)."""
    h, w, c = pixels.shape
    return pixels.reshape(h // 2, 2, w // 2, 2, c).mean(axis=(1, 3), dtype=np.float64).astype(np.float32)


def connect_shot(instance: Instance, shot: Shot, origin: tuple[int, int] = (0, 0), scale: float = 1.0,
                 layout: Callable[[np.ndarray, tuple[int, int, int, int]], HostImage] | None = None,
                 clips: tuple[str, ...] = tuple(CLIP_FILES)) -> None:
    """Connect ``clips`` (default the four) to the shot's frames, bounds starting at ``origin`` (render-scaled
    pixels)."""
    make = layout or (lambda pixels, bounds: HostImage(pixels, bounds))
    for name in clips:
        stem, channels = CLIP_FILES[name]
        def provide(time: float, _: tuple[float, float], stem: str = stem, channels: int = channels) -> HostImage:
            pixels = frame_pixels(shot, stem, int(time), channels)
            if scale != 1.0:
                pixels = area_half(pixels)
            h, w = pixels.shape[:2]
            return make(pixels, (origin[0], origin[1], origin[0] + w, origin[1] + h))

        probe = frame_pixels(shot, stem, 1, channels)
        h, w = probe.shape[:2]
        instance.connect(name, provide, (origin[0] / scale, origin[1] / scale, origin[0] / scale + w,
                                         origin[1] / scale + h))


def node_instance(host: HeadlessHost, shot: Shot, context: str = "general") -> Instance:
    """An instance with the shot's weights and the tests' network resolution."""
    instance = host.create_instance(context)
    instance.set_param("weights", str(shot.weights))
    instance.set_param("network_resolution", TEST_RESOLUTION)
    return instance


def output_image(height: int, width: int, origin: tuple[int, int] = (0, 0), fill: float = -7.0,
                 **layout: object) -> HostImage:
    """The host's output buffer, filled with a sentinel so writes outside the window show."""
    pixels = np.full((height, width, 4), fill, np.float32)
    return HostImage(pixels, (origin[0], origin[1], origin[0] + width, origin[1] + height), **layout)


requires_compiler = pytest.mark.skipif(NO_COMPILER is not None, reason=NO_COMPILER or "")
