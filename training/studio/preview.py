"""Previews for people: colour-coded label maps and contact sheets of samples."""

from __future__ import annotations

import torch

from changer.training.studio.rig import LABELS
from changer.training.studio.sample import Sample

LABEL_COLOURS = {
    "background": (0.08, 0.08, 0.08),
    "body": (0.20, 0.45, 0.95),
    "neck": (0.95, 0.75, 0.20),
    "face": (0.95, 0.45, 0.35),
    "ears": (0.75, 0.25, 0.85),
    "hair": (0.55, 0.95, 0.35),
}


def label_image(sample: Sample) -> torch.Tensor:
    """(3, H, W) colour-coded label map, shaded by alpha so the matte's softness shows."""
    palette = torch.tensor([LABEL_COLOURS[name] for name in LABELS], dtype=torch.float32)
    rgb = palette[sample.labels[0].long()].permute(2, 0, 1)
    background = palette[0][:, None, None]
    return background + (rgb - background) * sample.alpha.clamp(0.15, 1.0) ** 0.5


def tile(sample: Sample) -> torch.Tensor:
    """Plate beside its label map, (3, H, 2W)."""
    return torch.cat([sample.plate, label_image(sample)], dim=-1)


def contact_sheet(samples: list[Sample], columns: int = 4, gap: int = 4) -> torch.Tensor:
    """A grid of ``tile`` images with a dark gap between them, (3, rows*h, columns*w)."""
    tiles = [tile(s) for s in samples]
    h, w = tiles[0].shape[-2:]
    rows = -(-len(tiles) // columns)
    sheet = torch.full((3, rows * (h + gap) + gap, columns * (w + gap) + gap), 0.02)
    for i, t in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet[:, gap + r * (h + gap):gap + r * (h + gap) + h, gap + c * (w + gap):gap + c * (w + gap) + w] = t
    return sheet
