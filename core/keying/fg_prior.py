"""The foreground prior: the colour of the solid subject nearby, for pixels whose alpha is too small
to say their own colour.

Where alpha is small, the compositing equation divides the plate's difference from the screen by
it: noise, codec blocks, chroma bleed and any error in alpha or in the screen come out as a dark or
screen-coloured fringe (and despill then turns screen colour into black). The finish
(:func:`.pixel.foreground`) leans on this prior instead, in proportion: the plate's own colour on
solid cells of the grid (alpha, after auto clip white, at least 0.99), filled outwards smoothly by
push-pull -- the colour of the hair mass for its strands, of the skin for an ear's rim.
"""

from __future__ import annotations

import torch

from .. import masks

_SOLID = 0.99


def prior_grid(cells: torch.Tensor, alpha_cells: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
    """(N,3,h,w) prior from the plate's cells, the matte's cell means and the level grid."""
    solid = (alpha_cells >= _SOLID * level).to(cells.dtype)
    return masks.push_pull(cells, solid, cells.mean((2, 3), keepdim=True), level=0)
