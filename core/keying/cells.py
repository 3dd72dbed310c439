"""The keyer's coarse grid: the frame averaged over cells of :data:`CELL` pixels, and read back.

What varies slowly (the screen behind the subject, the level wardrobe keys to, the colour an edge
should take) is worked out on this grid, 1/16 of the pixels, once per frame; the per-pixel stages
read it back bilinearly. Pooling a band whose rows start on a cell boundary gives exactly the
frame's cells, so a banded key sees the same grid as a key in one piece.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import masks
from .bands import bands, compute_dtype

#: Cell size in pixels. :data:`.bands.ROW_ALIGN` is a multiple of it.
CELL = 4


def grid_size(height: int, width: int) -> tuple[int, int]:
    """(rows, columns) of cells covering a frame (a partial last cell counts)."""
    return -(-height // CELL), -(-width // CELL)


def pool(image: torch.Tensor) -> torch.Tensor:
    """Cell means of an (N,C,H,W) image; a partial cell at the bottom or right averages what it holds."""
    return F.avg_pool2d(image, CELL, ceil_mode=True)


def pool_banded(image: torch.Tensor, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(cell means (N,C,h,w), texture (N,1,h,w)) of ``image`` read ``rows`` rows at a time, in the
    keying precision. The texture is the within-cell standard deviation (root of the mean of the
    channels' variances): what hair in front of a screen adds and light, shadow and dirt do not."""
    n, c, h, w = image.shape
    dtype = compute_dtype(image.dtype)
    mean = image.new_empty((n, c, *grid_size(h, w)), dtype=dtype)
    texture = image.new_empty((n, 1, *grid_size(h, w)), dtype=dtype)
    for band in bands(h, rows):
        at = band.start // CELL
        part = image[..., band.rows, :].to(dtype)
        m = pool(part)
        var = (pool(part * part) - m * m).mean(1, keepdim=True)
        mean[..., at:at + m.shape[-2], :] = m
        texture[..., at:at + m.shape[-2], :] = var.clamp_min_(0.0).sqrt_()
    return mean, texture


def read_rows(grid: torch.Tensor, size: tuple[int, int], rows: torch.Tensor,
              cols: torch.Tensor | None = None) -> torch.Tensor:
    """Rows ``rows`` (and columns ``cols``) of ``grid`` resized bilinearly to ``size``; the same for
    every band (:func:`changer.core.masks.upsample_rows`)."""
    return masks.upsample_rows(grid, size, rows, cols)
