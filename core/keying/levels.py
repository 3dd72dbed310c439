"""Auto clip white: the level a wide, flat area of the matte keys to, found on the cell grid.

Clothing close to the screen hue (yellow-green on green, lilac on blue) or lit by strong bounce keys
to a level below 1 all over: the colour-difference key cannot tell a solid colour near the screen
from a mix of the subject and the screen, one pixel at a time. Area can: such wardrobe is *wide and
flat* at its level, while what is really semi-transparent is not --

* hair and flyaways have gaps down to the screen between strands: the matte's *local minimum*
  (over a cell and its neighbours, 12x12 px) falls to ~0 there, however dense or fine the strands are;
* motion blur and defocus are *ramps*: the local minimum changes from cell to cell;
* a printed pattern (stripes, checks) on near-screen cloth is neither: its local minimum is the
  level of its most screen-like colour, flat across the garment.

So a cell is a *plateau* when the local minimum is at least ``auto_clip_white``, below 0.9 (above,
the auto core's hard key holds it), and flat over 3x3 cells (std <= 0.07); plateaus whose 3x3
neighbourhood is all plateau are the interior (a ramp is never two cells of plateau wide). The
interior's deficit (1 - level) is spread 6 cells beyond it by a maximum -- back out to the
garment's edge, which the local minimum, the flatness and the interior tests moved in by about 3
cells, and over the shading of a sleeve, which takes its darkest level -- and smoothed (sigma 1.5
cells); the matte is divided by 1 - deficit. A garment at 0.6 becomes 1 with edges in proportion
(within a few percent in its last pixels); nothing further than ~4 cells from it changes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import masks
from .bands import bands
from .cells import CELL, grid_size, pool

_FLAT_STD = 0.07
_SOLID = 0.9
_REACH_CELLS = 6
_SMOOTH_CELLS = 1.5


def alpha_cells(alpha: torch.Tensor, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per cell (N,1,h,w): the matte's minimum over the cell and its 8 neighbours (12x12 px), and its
    mean; read ``rows`` rows at a time."""
    n, _, h, w = alpha.shape
    low, mean = (alpha.new_empty((n, 1, *grid_size(h, w))) for _ in range(2))
    for band in bands(h, rows):
        part = alpha[..., band.rows, :]
        at = band.start // CELL
        cell_min = -F.max_pool2d(-part, CELL, ceil_mode=True)
        low[..., at:at + cell_min.shape[-2], :] = cell_min
        mean[..., at:at + cell_min.shape[-2], :] = pool(part)
    return -F.max_pool2d(-low, 3, 1, 1), mean


def level_grid(low: torch.Tensor, auto_clip_white: float) -> torch.Tensor:
    """(N,1,h,w) local clip white in [auto_clip_white, 1] from the cell grid of local minima ``low``."""
    if auto_clip_white >= 1.0:
        return torch.ones_like(low)
    mean = F.avg_pool2d(low, 3, 1, 1, count_include_pad=False)
    std = (F.avg_pool2d(low * low, 3, 1, 1, count_include_pad=False) - mean * mean).clamp_min(0.0).sqrt()
    plateau = ((low >= auto_clip_white) & (low < _SOLID) & (std <= _FLAT_STD)).to(low.dtype)
    interior = masks.grow_shrink(plateau, -1) > 0.5
    deficit = torch.where(interior, 1.0 - low, torch.zeros_like(low))
    deficit = masks.grow_shrink(deficit, _REACH_CELLS)
    deficit = masks.blur(deficit, _SMOOTH_CELLS)
    return (1.0 - deficit).clamp(auto_clip_white, 1.0)
