"""Where the screen colour comes from: picked from the plate, given, or a per-pixel clean plate.

The keyer needs the colour of the backing behind every pixel. On an evenly lit screen one colour per
image is enough and is found automatically here; on uneven or wrinkled screens a clean plate (shot,
or estimated in :mod:`.clean_plate`) gives it per pixel.
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F

from ..errors import ParamError
from .bands import compute_dtype
from .params import ScreenType, key_channels

log = logging.getLogger(__name__)

#: Screen picking and the clean plate's noise level look at about this many pixels per image (a
#: strided subsample of the plate).
SAMPLES = 1 << 18
# Candidates: screen excess above this fraction of the image's 98th percentile excess.
_PICK_MIN_EXCESS = 0.2
# Chromaticity histogram bin, and the distance from the winning bin that counts as the same colour.
_PICK_BIN = 0.02
_PICK_RADIUS = 0.03


def screen_excess(image: torch.Tensor, screen_type: ScreenType) -> torch.Tensor:
    """(N,1,H,W) ``key - max(other two)``: positive only where the screen colour dominates."""
    k, a, b = key_channels(screen_type)
    return image[:, k:k + 1] - torch.maximum(image[:, a:a + 1], image[:, b:b + 1])


def estimate_screen_color(plate: torch.Tensor, screen_type: ScreenType = "green") -> torch.Tensor:
    """(N,3,1,1) backing colour of each image, robust to the subject.

    The screen is the largest area of one chromaticity among the screen-coloured pixels (screen
    excess, ``G - max(R, B)`` for green, above a fifth of the image's 98th percentile): the peak of
    their chromaticity histogram (uneven light changes brightness, not chromaticity). Picking the
    most saturated pixels instead would pick a saturated garment on a dull screen. The colour is
    the per-channel median of the pixels near that peak, so wrinkles, noise, shadows and a hot spot
    do not pull it.
    """
    n, _, h, w = plate.shape
    step = max(1, int(math.ceil(math.sqrt(h * w / SAMPLES))))
    sample = plate[:, :, ::step, ::step].flatten(2).to(compute_dtype(plate.dtype))  # (N,3,S)
    excess = screen_excess(sample.unsqueeze(-1), screen_type).flatten(1)  # (N,S)
    bins = int(round(1.0 / _PICK_BIN)) + 1
    colors = []
    for i in range(n):
        top = torch.quantile(excess[i].float(), 0.98)
        if not top > 0:
            raise ParamError(f"screen_type={screen_type!r}: image {i} of the plate has no {screen_type}-screen pixels; "
                             "check the screen type or give screen_color")
        cand = sample[i][:, excess[i] >= _PICK_MIN_EXCESS * top]  # (3,K)
        chroma = cand[:2] / cand.sum(0, keepdim=True).clamp_min(1e-6)  # (r, g) chromaticity
        cell = (chroma / _PICK_BIN).round().long().clamp_(0, bins - 1)
        hist = torch.bincount(cell[0] * bins + cell[1], minlength=bins * bins).view(1, 1, bins, bins).to(sample.dtype)
        hist = F.avg_pool2d(hist, 3, stride=1, padding=1)  # a cluster split across bins still wins
        peak = int(torch.argmax(hist.flatten()))
        centre = torch.tensor([peak // bins, peak % bins], dtype=sample.dtype, device=plate.device) * _PICK_BIN
        near = (chroma - centre[:, None]).abs().amax(0) <= _PICK_RADIUS
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
