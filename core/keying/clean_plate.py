"""The estimated clean plate: the empty screen behind every pixel, for uneven, dirty or shadowed screens.

Worked out on the cell grid (:mod:`.cells`), like building a clean plate with Nuke's IBKColour:

1. cells whose colour points within 12 degrees of the picked screen colour, with a screen excess
   within a wide range of its own (falloff, vignette, shadows, dirt), are *candidates*, unless they
   are *textured*: light, shadows, wrinkles and dirt are smooth across a 4 px cell, strands in
   front of the screen are not, so a cell whose within-cell deviation is three times the open
   screen's (its noise) is hair over the screen, however dark or wide the fringe;
2. their brightness along the screen colour is *closed* (a local maximum, then a local minimum, over
   3 cells): a dark structure narrower than ~6 cells that the texture test missed -- strands
   blurred smooth by motion or defocus -- is lifted to the screen around it, while a shadow, a
   gradient or a wrinkle, wider than that, is kept exactly. So strands are not read as shadow on the screen;
   their chromaticity is smoothed over the candidates and multiplied back. A band against the
   subject is as wide as its own cells (the subject is not screen, so it does not widen the band):
   a dark, smooth edge of the subject itself -- dark hair in motion blur, a dense dark fringe, whose
   mix with the screen has the screen's chromaticity -- is lifted where it is deeper than a shadow
   cast there (from 5 % to 40 % below the screen around it, blended), and a shallower band is kept
   as shadow: a shadow next to the subject is partial (the fill light reaches the screen round the
   subject), while the subject's edge darkens on down to the subject's own colour;
3. the subject (cells the estimate keys above 0.08, grown by a cell) is taken out, and the screen
   behind it is filled from around it (push-pull) -- from as close as possible, since a shadow
   the subject casts next to itself must be in the estimate;
4. per pixel (:meth:`ScreenGrid.rows`), a pixel within 4 noise sigmas of the estimate in every
   channel is screen itself: open screen keys to exactly 0 through noise, grain and codec blocks.

The noise sigma is measured once per frame on a strided sample. Everything but step 4 runs on the
grid, once per frame; step 4 is per pixel, band by band (and inside the fused kernels).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import masks
from .bands import band_height, bands, compute_dtype
from .cells import CELL, pool_banded, read_rows
from .params import KeyerParams, ScreenType
from .pixel import screen_matte, smoothstep
from .screen import screen_excess

log = logging.getLogger(__name__)

_MAX_ANGLE_DEG = 12.0
_EXCESS_RANGE = (0.15, 3.0)
_CLOSE_CELLS = 3
# A dark band against the subject is lifted from this depth below the screen around it (a shadow's)
# to this one (deeper than a shadow there: the subject's own semi-transparent edge).
_SHADOW_DEPTH = (0.05, 0.4)
# A cell is textured (strands in front of the screen) above this many times the open screen's
# within-cell deviation, plus this floor (8-bit quantisation, smooth gradients across a cell).
_TEXTURE_FACTOR = 3.0
_TEXTURE_FLOOR = 0.004
_SUBJECT_ALPHA = 0.08
_SUBJECT_GROW = 1
_PASSES = 1
# The noise sigma is measured on a strided sample of about this many pixels.
_SIGMA_SAMPLES = 1 << 16
#: A pixel within this many noise sigmas of the estimate (every channel) is screen itself.
NOISE_SIGMAS = 4.0


@dataclass
class ScreenGrid:
    """The estimated screen: a cell grid (N,3,h,w) read back bilinearly, and the noise sigma (N,3,1,1)."""

    grid: torch.Tensor
    sigma: torch.Tensor
    size: tuple[int, int]

    def rows(self, plate_rows: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """The screen behind rows ``index`` of the frame, given those rows of the plate (N,3,r,W)."""
        smooth = read_rows(self.grid, self.size, index)
        itself = ((plate_rows - smooth).abs() <= NOISE_SIGMAS * self.sigma).all(1, keepdim=True)
        return torch.where(itself, plate_rows, smooth)


def _closing(x: torch.Tensor, valid: torch.Tensor, r: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Morphological closing of ``x`` over the ``valid`` cells, at least ``x``, two ways: the erosion
    over the valid cells alone (a dark band is as wide as its own cells), and over every cell the
    dilation reached (a band against invalid cells -- the subject -- counts them in its width)."""
    big = torch.finfo(x.dtype).max
    up = masks.grow_shrink(torch.where(valid, x, -big), r)
    out = []
    for over in (valid, up > -big):
        down = -masks.grow_shrink(torch.where(over, -up, -big), r)
        out.append(torch.where(valid & (down < big), torch.maximum(down, x), x))
    return out[0], out[1]


def _lift(along: torch.Tensor, own: torch.Tensor, counted: torch.Tensor) -> torch.Tensor:
    """The brightness the screen is lifted to: the closing ``own`` (bands by their own width) where a
    band against the subject is deeper than a shadow there, ``counted`` (the subject counted in,
    which keeps such bands) where it is as shallow as one, blended between (see the module docstring)."""
    lo, hi = _SHADOW_DEPTH
    depth = 1.0 - along / own.clamp_min(1e-6)
    return torch.lerp(counted, own, smoothstep((depth - lo) / (hi - lo)))


def screen_grid(cells: torch.Tensor, texture: torch.Tensor, plate: torch.Tensor, screen: torch.Tensor,
                screen_type: ScreenType) -> ScreenGrid:
    """Estimate the screen on the cell grid ``cells`` (N,3,h,w) of ``plate`` (N,3,H,W), with its
    texture (N,1,h,w), from the picked or given colour ``screen`` (N,3,1,1); see the module docstring."""
    dtype = cells.dtype
    screen = screen.to(dtype)
    unit = F.normalize(screen.flatten(1), dim=1).view(-1, 3, 1, 1)
    along = (cells * unit).sum(1, keepdim=True)  # brightness along the screen colour
    cos_max = math.cos(math.radians(_MAX_ANGLE_DEG))
    ratio = screen_excess(cells, screen_type) / screen_excess(screen, screen_type).clamp_min(1e-6)
    lo, hi = _EXCESS_RANGE
    # |cells| as a sum of squares: torch's norm over the channels of an NCHW grid is a strided reduction,
    # 8 ms at 1080p's 270x480 cells against 0.1 (a third of the screen estimate)
    length = (cells * cells).sum(1, keepdim=True).sqrt()
    cand = (along > 0) & (along >= cos_max * length) & (ratio >= lo) & (ratio <= hi)
    cand &= ~_textured(texture, cand)
    closed = _lift(along, *_closing(along, cand, _CLOSE_CELLS))
    chroma = cells / along.clamp_min(1e-6)
    chroma = masks.push_pull(chroma, cand.to(dtype), screen / (screen * unit).sum(1, keepdim=True), level=1)
    lifted = chroma * closed
    trusted = cand
    grid = masks.push_pull(lifted, trusted.to(dtype), screen, level=0)
    params = KeyerParams(screen_type=screen_type)
    for _ in range(_PASSES):
        subject = (screen_matte(cells, grid, params) > _SUBJECT_ALPHA).to(dtype)
        subject = masks.grow_shrink(masks.grow_shrink(subject, -1), _SUBJECT_GROW)  # specks go, the edge is covered
        trusted = cand & (subject < 0.5)
        grid = masks.push_pull(lifted, trusted.to(dtype), screen, level=0)
    sigma = _noise_sigma(plate, grid, trusted)
    log.debug("screen grid %s: %.1f%% of cells trusted, sigma %s", tuple(grid.shape),
              100 * float(trusted.float().mean()), sigma.flatten(1).tolist())
    return ScreenGrid(grid, sigma, tuple(plate.shape[-2:]))


def _textured(texture: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
    """Cells of the screen's colour with more texture than the open screen's (strands in front of
    it); the screen's own texture is the median over the candidates (noise, grain)."""
    out = []
    for t, c in zip(texture, cand, strict=True):
        picked = t[c]
        level = picked.median() if picked.numel() else t.new_tensor(0.0)
        out.append(t > _TEXTURE_FACTOR * level + _TEXTURE_FLOOR)
    textured = torch.stack(out).to(texture.dtype)
    return textured > 0.5


def _noise_sigma(plate: torch.Tensor, grid: torch.Tensor, trusted: torch.Tensor) -> torch.Tensor:
    """(N,3,1,1) per-channel noise sigma: 1.4826 x the median absolute residual of the plate from
    the estimate over trusted cells, on a strided sample of about :data:`_SIGMA_SAMPLES` pixels."""
    n, _, h, w = plate.shape
    step = max(1, int(math.ceil(math.sqrt(h * w / _SIGMA_SAMPLES))))
    ys = torch.arange(0, h, step, device=plate.device)
    xs = torch.arange(0, w, step, device=plate.device)
    est = read_rows(grid, (h, w), ys, xs)
    r = (plate[..., ::step, ::step].to(grid.dtype) - est).abs_().flatten(2)
    m = trusted[:, 0][:, ys // CELL][..., xs // CELL].flatten(1)
    out = []
    for i in range(n):
        picked = r[i][:, m[i]]
        out.append(picked.median(dim=1).values * 1.4826 if picked.shape[1] > 0 else r.new_zeros(3))
    return torch.stack(out).view(n, 3, 1, 1)


def estimate_clean_plate(plate: torch.Tensor, screen: torch.Tensor, screen_type: ScreenType = "green",
                         band_rows: int | None = None) -> torch.Tensor:
    """(N,3,H,W) estimate of the empty screen behind every pixel of ``plate``, from the picked or
    given colour ``screen`` (N,3,1,1); in the keying precision (float32 for half-precision plates).

    Keying against it is keying with ``auto_clean_plate`` (the keyer computes the same rows itself).
    """
    n, _, h, w = plate.shape
    rows = band_height(h, w, band_rows)
    dtype = compute_dtype(plate.dtype)
    est = screen_grid(*pool_banded(plate, rows), plate, screen, screen_type)
    out = plate.new_empty((n, 3, h, w), dtype=dtype)
    for band in bands(h, rows):
        out[..., band.rows, :] = est.rows(plate[..., band.rows, :].to(dtype), band.index(plate.device))
    return out
