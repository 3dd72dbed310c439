"""A 4-frame tiny shot, its reference render and frame comparison, for the farm tests."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import torch

from changer.core.io import read_image
from changer.plugin.commands.main import main
from changer.plugin.hosts.batch import PARAMS_ATTRIBUTE
from node_shot import Shot, write_shot

OUT = "comp.####.exr"
FRAMES = range(1, 5)


def shot_and_reference(folder: Path, *extra: str) -> tuple[Shot, Path]:
    """A 4-frame 64x64 shot and the folder of its plain ``changer render`` with ``extra`` flags (the frames a
    farm must match)."""
    shot = write_shot(folder / "shot", frames=len(FRAMES))
    reference = folder / "reference"
    assert main(shot.argv(reference / OUT, *extra)) == 0
    return shot, reference


def farm_argv(shot: Shot, out: Path, engine: str, chunk: int, job_dir: Path, *extra: str) -> list[str]:
    """``changer farm`` argv: the shot's ``changer render`` flags (less ``--no-progress``) and the job's."""
    render = [a for a in shot.argv(out)[1:] if a != "--no-progress"]
    return ["farm", "--engine", engine, "--chunk", str(chunk), "--job-dir", str(job_dir), *render, *extra]


def engine_tool(name: str) -> str:
    """The engine's console script next to this Python (the farm extra installs it), else skip."""
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"`{name}` is not installed next to {sys.executable} (the farm extra: pip install -e \".[farm]\")")
    return found


def assert_same_frames(folder: Path, reference: Path) -> None:
    """Every frame of ``reference`` is in ``folder`` with the same pixels, channels and params hash."""
    for frame in FRAMES:
        name = f"comp.{frame:04d}.exr"
        (pixels, meta), (want, want_meta) = read_image(folder / name), read_image(reference / name)
        assert torch.equal(pixels, want), f"frame {frame} differs from the plain changer render"
        assert meta.channel_names == want_meta.channel_names
        assert meta.attributes[PARAMS_ATTRIBUTE] == want_meta.attributes[PARAMS_ATTRIBUTE]
    hidden = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    assert not hidden, f"temp or lock files left behind: {hidden}"
