"""The keyer's neighbourhood stages: auto core, grow/shrink and softness, band by band.

They run on the clipped matte between the two per-pixel stages (in torch for both backends). Each
band reads its rows plus the rows the stages reach (:mod:`.bands`); the auto core's local level is a
push-pull pyramid, pulled band by band and filled once per frame. The result is the same for every
band height.
"""

from __future__ import annotations

import torch

from .. import masks
from .bands import Band, PushPull, band_height, bands, grow_reach
from .params import KeyerParams

# The auto core decides what is subject on the matte blurred by this sigma (px).
_CORE_DENOISE_SIGMA = 1.0
# Its local level is read back from 1/2**_CORE_LEVEL_DETAIL of the matte's resolution.
_CORE_LEVEL_DETAIL = 3


def neighbourhood(alpha: torch.Tensor, params: KeyerParams, band_rows: int | None = None) -> torch.Tensor:
    """Auto core, grow/shrink, then softness of the clipped matte (N,1,H,W); ``alpha`` itself when all
    three are off. ``band_rows``: see :func:`.bands.band_height`."""
    core, grow, soft = params.core_depth > 0, params.matte_grow != 0, params.edge_softness > 0
    if not (core or grow or soft):
        return alpha
    h, w = alpha.shape[-2:]
    rows = band_height(h, w, band_rows)
    inner, level = _core_inside(alpha, params, rows) if core else (None, None)
    reach = ((grow_reach(params.core_depth * 2.0 / 3.0) if core else 0) + grow_reach(params.matte_grow)
             + (masks.blur_radius(params.edge_softness) if soft else 0))
    out = torch.empty_like(alpha)
    for band in bands(h, rows, reach):
        a = alpha[..., band.window, :]
        if core:
            a = _with_core(a, inner[..., band.window, :], level, band, params)
        if grow:
            a = masks.grow_shrink(a, params.matte_grow)
        if soft:
            a = masks.feather(a, params.edge_softness)
        out[..., band.rows, :] = a[..., band.inner, :]
    return out


def _core_inside(alpha: torch.Tensor, params: KeyerParams, rows: int) -> tuple[torch.Tensor, PushPull]:
    """The subject shrunk by ``core_depth`` (N,1,H,W), and the level the key reached inside it.

    The subject is where the matte blurred by 1 px against noise is at least ``core_level``.
    """
    h, w = alpha.shape[-2:]
    inner = torch.empty_like(alpha)
    level = PushPull(alpha, 1, (h, w), _CORE_LEVEL_DETAIL)
    reach = masks.blur_radius(_CORE_DENOISE_SIGMA) + grow_reach(params.core_depth)
    for band in bands(h, rows, reach):
        calm = masks.blur(alpha[..., band.window, :], _CORE_DENOISE_SIGMA)  # one noisy pixel must not cut a hole
        shrunk = masks.grow_shrink((calm >= params.core_level).to(alpha.dtype), -params.core_depth)
        inner[..., band.rows, :] = shrunk[..., band.inner, :]
        level.pull(band, alpha[..., band.rows, :], inner[..., band.rows, :])
    level.fill(alpha.new_ones(1, 1, 1, 1))
    return inner, level


def _with_core(alpha: torch.Tensor, inner: torch.Tensor, level: PushPull, band: Band,
               params: KeyerParams) -> torch.Tensor:
    """The auto core on one band's window: solid where the subject is deeper than ``core_depth``.

    The inner subject is grown back by two thirds of the depth, leaving a band of a third at the
    edge to the key; the key is divided by the alpha level it reached inside the core nearby (a
    local clip white, 1 for ordinary subjects), so wardrobe that keys to 0.6 all over gets edges in
    proportion instead of a dark rim. Thin detail narrower than twice the depth is left to the key.
    """
    core = masks.grow_shrink(inner, params.core_depth * 2.0 / 3.0)
    local = level.rows(band.window_index(alpha.device)).clamp_(params.core_level, 1.0)
    return torch.maximum(alpha.div(local).clamp_(0.0, 1.0), core)
