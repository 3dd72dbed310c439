"""Write studio samples to disk: scene-linear EXR with truth layers, PNG previews, JSON metadata.

EXR (per frame, ``<stem>.<frame>.exr``): ``R,G,B`` is the plate in the working space (ACEScg by
default) converted from the network space through the colour module; colour layers ``fg``
(unpremultiplied, spill-free), ``screen`` and ``spill`` (the linear-light spill,
``lin(fg + spill) - lin(fg)``) get the same transform; mattes get none: ``alpha.A``, one soft
coverage ``<mask>.A`` per mask of :data:`MASKS` plus ``amodal.A``, and ``labels.A`` (the label map's
integer ids, exact in half float). The compositing equation is exact in network space, where the
generator and the network work; the EXR layers are per-image conversions of that truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from changer.core.color import from_network
from changer.core.io import atomic_path, write_image
from changer.training.studio.preview import label_image
from changer.training.studio.sample import MASKS, Sample


def exr_layers(sample: Sample, config: str | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(plate, layers) in the working space, ready for :func:`changer.core.io.write_image`."""
    stacked = torch.stack([sample.plate, sample.fg, sample.fg + sample.spill, sample.screen])
    plate, fg, fg_spill, screen = from_network(stacked, config)
    layers = {"fg": fg, "spill": fg_spill - fg, "screen": screen, "alpha": sample.alpha}
    layers |= {name: sample.mask(name, soft=True) for name in MASKS if name != "background"}
    layers["amodal"] = sample.amodal
    layers["labels"] = sample.labels.float()
    return plate, layers


def write_exr(sample: Sample, path: Path, config: str | None = None, frame: int | None = None) -> Path:
    """One frame as a scene-linear EXR with its truth layers (atomic, like every write here)."""
    plate, layers = exr_layers(sample, config)
    return write_image(path, plate, layers=layers, frame=frame)


def write_preview(sample: Sample, path: Path, frame: int | None = None) -> Path:
    """PNG of the plate beside its colour-coded label map (both display-referred already)."""
    return write_image(path, torch.cat([sample.plate, label_image(sample)], dim=-1), frame=frame)


def write_metadata(path: Path, data: dict) -> Path:
    """JSON written atomically, like every other output."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    return path
