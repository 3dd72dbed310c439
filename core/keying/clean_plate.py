"""The estimated clean plate: the empty screen behind every pixel, for uneven or wrinkled screens.

Computed in horizontal bands (:mod:`.bands`): the fine steps read a band and a halo of rows, the two
push-pull pyramids are pulled band by band into their 8 px cells and solved once per frame at that
resolution, and the noise level is measured on a strided sample of rows. Working memory follows the
band height; the result is the same for every band height.
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F

from .. import masks
from .bands import PushPull, band_height, bands, compute_dtype
from .params import ScreenType
from .screen import SAMPLES, screen_excess

log = logging.getLogger(__name__)

# Screen and subject are told apart on the plate blurred by this sigma (px).
_DENOISE_SIGMA = 2.0
# A pixel may be screen when its colour points within this angle of the
# picked screen colour and its screen excess is within this factor range of the screen's.
_MAX_ANGLE_DEG = 10.0
_EXCESS_RANGE = (0.2, 2.5)
# Pixels whose colour-difference alpha against the first estimate exceeds this are the subject; the
# subject grown by this fraction of the image height is "near", where the plate is never trusted.
_SUBJECT_ALPHA = 0.1
_NEAR_FRACTION = 0.01
# Far from the subject, a pixel within this many noise sigmas of the smooth estimate is screen
# itself: the plate's own value is used there, so open screen keys to exactly 0 despite noise.
_NOISE_SIGMAS = 4.0
# Smooth estimates are read back at 1/2**_DETAIL_LEVEL of the plate's resolution.
_DETAIL_LEVEL = 3


def estimate_clean_plate(plate: torch.Tensor, screen: torch.Tensor, screen_type: ScreenType = "green",
                         band_rows: int | None = None) -> torch.Tensor:
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

    ``band_rows`` sets the band height (None: :func:`.bands.band_height`'s default). The result is in
    the keying precision (float32 for half-precision plates).
    """
    n, _, h, w = plate.shape
    dtype = compute_dtype(plate.dtype)
    rows = band_height(h, w, band_rows)
    screen = screen.to(dtype)
    unit_s = F.normalize(screen.flatten(2).mean(-1), dim=1).view(-1, 3, 1, 1)
    screen_ex = screen_excess(screen, screen_type).clamp_min(1e-6)

    # 1. Candidates (kept in `trusted`, which step 2 narrows) and the first estimate.
    trusted = torch.empty((n, 1, h, w), dtype=torch.bool, device=plate.device)
    excess = plate.new_empty((n, 1, h, w), dtype=dtype)
    first = PushPull(excess, 3, (h, w), _DETAIL_LEVEL)
    for band in bands(h, rows, masks.blur_radius(_DENOISE_SIGMA)):
        calm = masks.blur(plate[..., band.window, :].to(dtype), _DENOISE_SIGMA)[..., band.inner, :]
        excess[..., band.rows, :] = screen_excess(calm, screen_type)
        trusted[..., band.rows, :] = _candidate(calm, excess[..., band.rows, :], unit_s, screen_ex)
        first.pull(band, plate[..., band.rows, :].to(dtype), trusted[..., band.rows, :].to(dtype))
    first.fill(screen)

    # 2. Drop the subject and its surroundings; the smooth estimate from what is left.
    near_px = max(1, round(_NEAR_FRACTION * h))
    smooth = PushPull(excess, 3, (h, w), _DETAIL_LEVEL)
    for band in bands(h, rows, near_px + 2):
        behind = screen_excess(first.rows(band.window_index(plate.device)), screen_type).clamp_min(1e-6)
        subject = (1.0 - excess[..., band.window, :] / behind > _SUBJECT_ALPHA).to(dtype)
        opened = masks.grow_shrink(masks.grow_shrink(subject, -1), near_px + 1)  # noise specks go
        near = opened[..., band.inner, :] > 0
        trusted[..., band.rows, :] &= ~near
        smooth.pull(band, plate[..., band.rows, :].to(dtype), trusted[..., band.rows, :].to(dtype))
    del excess
    smooth.fill(first.coarse)

    # 3. The plate itself where it is screen within the noise, else the smooth estimate.
    sigma = _robust_sigma(plate, smooth, trusted, dtype)
    out = plate.new_empty((n, 3, h, w), dtype=dtype)
    for band in bands(h, rows):
        p = plate[..., band.rows, :].to(dtype)
        est = smooth.rows(band.index(plate.device))
        itself = trusted[..., band.rows, :] & ((p - est).abs_() <= _NOISE_SIGMAS * sigma).all(1, keepdim=True)
        out[..., band.rows, :] = torch.where(itself, p, est)
        trusted[..., band.rows, :] = itself
    log.debug("clean plate: %.1f%% used as is, bands of %d rows", 100 * int(trusted.count_nonzero()) / trusted.numel(),
              rows)
    return out


def _candidate(calm: torch.Tensor, excess: torch.Tensor, unit_s: torch.Tensor, screen_ex: torch.Tensor) -> torch.Tensor:
    """Pixels of the blurred plate that may be screen: its direction and screen excess (per pixel)."""
    c0, c1, c2 = calm[:, 0:1], calm[:, 1:2], calm[:, 2:3]
    dot = c0 * unit_s[:, 0:1] + c1 * unit_s[:, 1:2] + c2 * unit_s[:, 2:3]
    cos2 = math.cos(math.radians(_MAX_ANGLE_DEG)) ** 2
    within_angle = (dot > 0) & (dot * dot >= cos2 * (c0 * c0 + c1 * c1 + c2 * c2))  # cos(angle) >= cos(max)
    ratio = excess / screen_ex
    lo, hi = _EXCESS_RANGE
    return within_angle & (ratio >= lo) & (ratio <= hi)


def _robust_sigma(plate: torch.Tensor, smooth: PushPull, mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(N,3,1,1) noise sigma per image and channel: the median absolute residual of the plate from the
    smooth estimate over ``mask``, on a strided sample of about :data:`.screen.SAMPLES` pixels."""
    n, _, h, w = plate.shape
    step = max(1, int(math.ceil(math.sqrt(h * w / SAMPLES))))
    est = smooth.rows(torch.arange(0, h, step, device=plate.device), torch.arange(0, w, step, device=plate.device))
    r = (plate[..., ::step, ::step].to(dtype) - est).abs_().flatten(2)
    m = mask[..., ::step, ::step].flatten(1)
    out = []
    for i in range(n):
        picked = r[i][:, m[i]]
        out.append(picked.median(dim=1).values * 1.4826 if picked.shape[1] > 0 else r.new_zeros(3))
    return torch.stack(out).view(n, 3, 1, 1)
