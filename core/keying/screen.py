"""The screen colour of a plate, picked automatically, and the check that a given one is usable.

One colour per image: the chromaticity most of the screen-coloured area shares. Uneven light changes
a screen's brightness, not its chromaticity, so the peak of a chromaticity histogram is the screen
whatever the falloff, and the subject (even a large one, even in a colour close to the screen's)
does not pull it. Chromaticity is measured as the two other channels over the key channel, which
stays defined for the values real pipelines hand over: negative channels of saturated screens
converted out of a wide gamut (ACEScg to Rec.709), values above 1, clipped display-referred screens.
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F

from ..errors import ParamError
from .bands import compute_dtype
from .cells import pool
from .params import ScreenType, key_channels

log = logging.getLogger(__name__)

#: The screen colour is picked from at most about this many cells per image (a strided subsample).
SAMPLES = 1 << 16
# Candidates: screen excess above this fraction of the image's 98th percentile excess.
_PICK_MIN_EXCESS = 0.2
# Chromaticity (other channel / key channel) histogram: range and bin width.
_RATIO_RANGE = (-1.0, 1.5)
_PICK_BIN = 0.02


def screen_excess(image: torch.Tensor, screen_type: ScreenType) -> torch.Tensor:
    """(N,1,H,W) ``key - max(other two)``: positive only where the screen colour dominates."""
    k, a, b = key_channels(screen_type)
    return image[:, k:k + 1] - torch.maximum(image[:, a:a + 1], image[:, b:b + 1])


def estimate_screen_color(plate: torch.Tensor, screen_type: ScreenType = "green") -> torch.Tensor:
    """(N,3,1,1) backing colour of each image of an (N,3,H,W) plate, picked from its cell means.

    The keyer picks from the same cells (:func:`pick_screen_color`), so giving it this colour keys the same.
    """
    return pick_screen_color(pool(plate.to(compute_dtype(plate.dtype))), screen_type)


def pick_screen_color(cells: torch.Tensor, screen_type: ScreenType = "green") -> torch.Tensor:
    """(N,3,1,1) backing colour of each image, from its cell means (N,3,h,w).

    Candidates are the finite cells whose screen excess (``G - max(R, B)`` for green) is positive and
    above a fifth of the image's 98th percentile; their chromaticity (R/G, B/G for green) is
    histogrammed, and the colour is the per-channel median of the candidates in the fullest bin
    and its neighbours, so wrinkles, noise, shadows and a hot spot do not pull it.
    Raises ParamError when an image has no cell where the screen's channel dominates.
    """
    k, a, b = key_channels(screen_type)
    n, _, h, w = cells.shape
    step = max(1, int(math.ceil(math.sqrt(h * w / SAMPLES))))
    sample = cells[:, :, ::step, ::step].flatten(2)  # (N,3,S)
    lo, hi = _RATIO_RANGE
    bins = int(round((hi - lo) / _PICK_BIN)) + 1
    colors = []
    for i in range(n):
        x = sample[i][:, torch.isfinite(sample[i]).all(0)]
        excess = x[k] - torch.maximum(x[a], x[b])
        top = torch.quantile(excess.float(), 0.98) if excess.numel() else excess.new_tensor(0.0)
        if not top > 0:
            raise ParamError(f"screen_type={screen_type!r}: image {i} of the plate has no {screen_type}-screen pixels; "
                             "check the screen type or give screen_color")
        cand = x[:, excess >= _PICK_MIN_EXCESS * top]  # (3,K), K >= 1: the top 2 % qualify
        key = cand[k].clamp_min(1e-6)  # > max(others) >= ... so positive wherever the excess is
        cell = [((cand[o] / key).clamp(lo, hi) - lo).div(_PICK_BIN).round().long().clamp(0, bins - 1) for o in (a, b)]
        flat = cell[0] * bins + cell[1]
        hist = torch.bincount(flat, minlength=bins * bins).view(1, 1, bins, bins).to(cand.dtype)
        smooth = F.avg_pool2d(hist, 3, stride=1, padding=1)  # a cluster split across bins still wins
        peak = int(torch.argmax(torch.where(hist > 0, smooth, torch.zeros_like(smooth)).flatten()))
        near = ((cell[0] - peak // bins).abs() <= 1) & ((cell[1] - peak % bins).abs() <= 1)  # holds the peak's own
        colors.append(cand[:, near].median(dim=1).values)
    screen = torch.stack(colors).view(n, 3, 1, 1)
    log.debug("picked %s screen colour(s) %s", screen_type, screen.flatten(1).tolist())
    return screen


def check_screen_color(screen: torch.Tensor, screen_type: ScreenType, balance: float, what: str) -> None:
    """Raise a ParamError when a flat screen colour is not of ``screen_type`` (the key would divide by <= 0)."""
    k, a, b = key_channels(screen_type)
    flat = screen.flatten(2)[..., 0]
    ds = flat[:, k] - balance * flat[:, a] - (1.0 - balance) * flat[:, b]
    if not bool((ds > 0).all()):
        rgb = [round(v, 4) for v in flat[int(torch.argmin(ds))].tolist()]
        raise ParamError(f"{what}={rgb}: not a {screen_type} screen colour; its {screen_type} channel must exceed "
                         f"the screen_balance={balance} mix of the other two")
