"""Where the screen colour comes from: picked from the plate, given, or a per-pixel clean plate.

The keyer needs the colour of the backing behind every pixel. On an evenly lit screen one colour per
image is enough and is found automatically; on uneven or wrinkled screens a clean plate (shot, or
estimated here) gives it per pixel.
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F

from .. import masks
from ..errors import ParamError
from .params import ScreenType, key_channels

log = logging.getLogger(__name__)

# Screen picking looks at about this many pixels per image (a strided subsample of the plate).
_PICK_SAMPLES = 1 << 18
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
    step = max(1, int(math.ceil(math.sqrt(h * w / _PICK_SAMPLES))))
    sample = plate[:, :, ::step, ::step].flatten(2)  # (N,3,S)
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
        hist = torch.bincount(cell[0] * bins + cell[1], minlength=bins * bins).view(1, 1, bins, bins).to(plate.dtype)
        hist = F.avg_pool2d(hist, 3, stride=1, padding=1)  # a cluster split across bins still wins
        peak = int(torch.argmax(hist.flatten()))
        centre = torch.tensor([peak // bins, peak % bins], dtype=plate.dtype, device=plate.device) * _PICK_BIN
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


# Clean-plate estimation. Screen and subject are told apart on the plate blurred by this sigma (px).
_CLEAN_DENOISE_SIGMA = 2.0
# A pixel may be screen when its colour points within this angle of the
# picked screen colour and its screen excess is within this factor range of the screen's.
_CLEAN_MAX_ANGLE_DEG = 10.0
_CLEAN_EXCESS_RANGE = (0.2, 2.5)
# Pixels whose colour-difference alpha against the first estimate exceeds this are the subject; the
# subject grown by this fraction of the image height is "near", where the plate is never trusted.
_CLEAN_SUBJECT_ALPHA = 0.1
_CLEAN_NEAR_FRACTION = 0.01
# Far from the subject, a pixel within this many noise sigmas of the smooth estimate is screen
# itself: the plate's own value is used there, so open screen keys to exactly 0 despite noise.
_CLEAN_NOISE_SIGMAS = 4.0
# Smooth estimates are read back at 1/2**_CLEAN_DETAIL_LEVEL of the plate's resolution.
_CLEAN_DETAIL_LEVEL = 3


def estimate_clean_plate(plate: torch.Tensor, screen: torch.Tensor, screen_type: ScreenType = "green") -> torch.Tensor:
    """(N,3,H,W) estimate of the empty screen behind every pixel, for uneven or wrinkled screens.

    Like building a clean plate with Nuke's IBKColour, in three steps (the tests in 1 and 2 look at
    the plate blurred by 2 px, so that noise does not decide them):

    1. pixels whose colour points the way ``screen`` does (brightness anywhere in a wide range:
       falloff, vignette and shadows included) go into a push-pull pyramid, read back smooth;
    2. the subject (colour-difference alpha against that estimate above 0.1, without specks) is
       grown by 1 % of the image height; nothing in that band is trusted, so hair and edges cannot
       darken the estimate, and the screen behind the subject is interpolated from around it;
    3. outside the band, pixels within 4 noise sigmas of the smooth estimate keep their own value
       (so the open screen keys to exactly 0, noise and wrinkles included); the rest use the smooth
       estimate.
    """
    calm = masks.blur(plate, _CLEAN_DENOISE_SIGMA)  # the tests below must not flicker with noise
    unit_s = F.normalize(screen.flatten(2).mean(-1), dim=1).view(-1, 3, 1, 1)
    c0, c1, c2 = calm[:, 0:1], calm[:, 1:2], calm[:, 2:3]
    dot = c0 * unit_s[:, 0:1] + c1 * unit_s[:, 1:2] + c2 * unit_s[:, 2:3]
    cos2 = math.cos(math.radians(_CLEAN_MAX_ANGLE_DEG)) ** 2
    within_angle = (dot > 0) & (dot * dot >= cos2 * (c0 * c0 + c1 * c1 + c2 * c2))  # cos(angle) >= cos(max)
    excess = screen_excess(calm, screen_type)
    ratio = excess / screen_excess(screen, screen_type).clamp_min(1e-6)
    lo, hi = _CLEAN_EXCESS_RANGE
    candidate = within_angle & (ratio >= lo) & (ratio <= hi)
    first = masks.push_pull(plate, candidate.to(plate.dtype), screen, _CLEAN_DETAIL_LEVEL)

    alpha = 1.0 - excess / screen_excess(first, screen_type).clamp_min(1e-6)
    subject = (alpha > _CLEAN_SUBJECT_ALPHA).to(plate.dtype)
    near_px = max(1, round(_CLEAN_NEAR_FRACTION * plate.shape[-2]))
    near = masks.grow_shrink(masks.grow_shrink(subject, -1), near_px + 1) > 0  # opened: noise specks go
    trusted = candidate & ~near
    smooth = masks.push_pull(plate, trusted.to(plate.dtype), first, _CLEAN_DETAIL_LEVEL)

    residual = (plate - smooth).abs()
    sigma = _robust_sigma(residual, trusted)
    itself = trusted & (residual <= _CLEAN_NOISE_SIGMAS * sigma).all(1, keepdim=True)
    log.debug("clean plate: %.1f%% candidates, %.1f%% used as is", 100 * float(candidate.float().mean()),
              100 * float(itself.float().mean()))
    return torch.where(itself, plate, smooth)


def _robust_sigma(residual: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(N,3,1,1) noise sigma per image and channel from the median absolute residual over ``mask``."""
    n = residual.shape[0]
    step = max(1, int(math.ceil(math.sqrt(residual.shape[-2] * residual.shape[-1] / _PICK_SAMPLES))))
    r, m = residual[..., ::step, ::step].flatten(2), mask[..., ::step, ::step].flatten(1)
    out = []
    for i in range(n):
        picked = r[i][:, m[i]]
        out.append(picked.median(dim=1).values * 1.4826 if picked.shape[1] > 0 else r.new_zeros(3))
    return torch.stack(out).view(n, 3, 1, 1)
