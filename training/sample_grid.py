"""PNG contact sheets of training samples: one row per sample, columns X | Y | GT | M."""

from __future__ import annotations

from pathlib import Path

import torch

from changer.core.io import write_image


def grid(x: torch.Tensor, y: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(3, N·H, 4·W) image of (N,·,H,W) batches."""
    rows = [torch.cat([x[i], y[i], target[i], mask[i].expand(3, -1, -1)], dim=2) for i in range(x.shape[0])]
    return torch.cat(rows, dim=1).clamp(0, 1)


def write_grid(path: Path, x: torch.Tensor, y: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_image(path, grid(x, y, target, mask).float().cpu())
