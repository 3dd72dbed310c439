"""The matte stage between the two per-pixel passes: auto clip white, clip, auto core, grow/shrink, softness.

Band by band, each band reading its rows plus the rows the stages reach (:mod:`.bands`); the result
is the same for every band height. In order:

1. ``alpha_0 / level`` (:mod:`.levels`, read back from the cell grid), then clip black/white (per
   pixel: the fused kernels do this step themselves);
2. the auto core -- a *hard key* eroded by the structure size, never a fill: where the matte blurred
   by 1 px (against noise) is at least ``core_level`` over the whole square of radius ``core_depth``
   around a pixel, that pixel is solid. The core lies inside the hard key by
   construction, so it can only lift pixels that are already nearly opaque, and anything narrower
   than twice ``core_depth`` (a strand, a blurred finger) has no core at all;
3. grow/shrink and edge softness.
"""

from __future__ import annotations

import torch

from .. import masks
from .bands import band_height, bands, grow_reach
from .cells import read_rows
from .params import KeyerParams

# The core's hard key is taken on the matte blurred by this sigma (px), against noise.
_CORE_DENOISE_SIGMA = 1.0
_CORE_DENOISE = masks.blur_radius(_CORE_DENOISE_SIGMA)


def matte_reach(params: KeyerParams) -> int:
    """Rows the matte stage (steps 2 and 3) reads beyond a band, on each side."""
    core = _CORE_DENOISE + grow_reach(params.core_depth) if params.core_depth > 0 else 0
    soft = masks.blur_radius(params.edge_softness) if params.edge_softness > 0 else 0
    return core + grow_reach(params.matte_grow) + soft


def divide_level(alpha0: torch.Tensor, level: torch.Tensor | None, params: KeyerParams,
                 band_rows: int | None = None) -> torch.Tensor:
    """Step 1, per pixel: ``clip((alpha_0 / level - clip_black) / (clip_white - clip_black))``, level
    read back from its cell grid (None: no auto clip white). A new tensor."""
    h, w = alpha0.shape[-2:]
    span = params.clip_white - params.clip_black
    out = torch.empty_like(alpha0)
    for band in bands(h, band_height(h, w, band_rows)):
        a = alpha0[..., band.rows, :]
        if level is not None:
            a = a / read_rows(level, (h, w), band.index(a.device))
        out[..., band.rows, :] = ((a - params.clip_black) / span).clamp_(0.0, 1.0)
    return out


def matte(alpha1: torch.Tensor, params: KeyerParams, band_rows: int | None = None) -> torch.Tensor:
    """Steps 2 and 3 on the clipped matte (N,1,H,W): auto core, grow/shrink, softness; ``alpha1``
    itself when all three are off."""
    if not (params.core_depth > 0 or params.matte_grow != 0 or params.edge_softness > 0):
        return alpha1
    h, w = alpha1.shape[-2:]
    out = torch.empty_like(alpha1)
    for band in bands(h, band_height(h, w, band_rows), matte_reach(params)):
        a = alpha1[..., band.window, :]
        if params.core_depth > 0:
            calm = masks.blur(a, _CORE_DENOISE_SIGMA)
            hard = (calm >= params.core_level).to(a.dtype)
            a = torch.maximum(a, masks.grow_shrink(hard, -params.core_depth))
        if params.matte_grow != 0:
            a = masks.grow_shrink(a, params.matte_grow)
        if params.edge_softness > 0:
            a = masks.feather(a, params.edge_softness)
        out[..., band.rows, :] = a[..., band.inner, :]
    return out
