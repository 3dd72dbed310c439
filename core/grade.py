"""Grade match: move the new head's skin to the double's skin, in CIELAB, with robust statistics.

The actor's head arrives lit by another studio: pasted as it is, its face is 9–25 L* off the double's
neck. The match measures each skin with robust statistics (the median and 1.4826·MAD of CIELAB,
so hair, lips, eyes and a stray highlight barely move them) and maps the head's colours so that its
skin takes the double's: ``lab' = (lab − median_src) · k + median_dst`` with the per-channel contrast
``k = MAD_dst / MAD_src`` clamped to [:data:`MIN_CONTRAST`, :data:`MAX_CONTRAST`]. Plain Reinhard
(mean/std, unclamped) breaks on real heads: a flat painted face went to black ink, a shaded photo
washed out. ``strength`` blends the graded colours back toward the originals.

The match is for skin: each pixel takes it in proportion to its affinity to the source skin, 1 up to
:data:`AFFINITY_CORE` then ``exp(−½·((d − AFFINITY_CORE) / AFFINITY_FALLOFF)²)``, with ``d`` its CIELAB
distance from the source median in units of the source spread (at least :data:`MIN_SPREAD`). Applied to
every pixel alike, the skin's shift turned dark hair ginger and a black hat brown on real heads (a
CIELAB offset lifts the blacks).

Skin pixels are chosen by a chroma box in YCbCr (BT.601 full range on the sRGB-encoded values:
Cb in [77, 127], Cr in [133, 173] on the 8-bit scale, a classic skin rule that holds across skin
tones because it ignores luma), inside the given region, away from black and white and from near-neutral
colours (a white shirt, grey hair). When the region
has too few such pixels (painted or stylised skin), all its pixels are used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from . import masks
from .checks import check_shape
from .color.lab import lab_to_srgb, srgb_to_lab
from .errors import ParamError

log = logging.getLogger(__name__)

MIN_CONTRAST, MAX_CONTRAST = 0.5, 2.0
#: Fewest pixels a skin statistic is taken from; below it the region's pixels are all used.
MIN_SKIN_PIXELS = 32
#: Least share of a face region that must pass the skin test for the test to pick the pixels; below it the face
#: is not skin-coloured (a painted face, the network's grey face on a real head) and its few warm pixels (the
#: lips) would stand for it, so all its pixels are used.
MIN_SKIN_SHARE = 0.25
#: The skin chroma box, YCbCr on the 8-bit scale (BT.601 full range).
CB_RANGE, CR_RANGE = (77.0, 127.0), (133.0, 173.0)
#: Encoded luma outside this range is shadow or highlight, not skin colour.
LUMA_RANGE = (0.06, 0.97)
#: Fewest 8-bit CbCr units from neutral: a white shirt or grey hair that is only slightly warm is not skin.
MIN_CHROMA = 8.0
#: Pixels within this many source spreads of the source skin's median (its shading, all of it) take the whole
#: match; beyond, it falls off over :data:`AFFINITY_FALLOFF` spreads (dark hair, 5 spreads off: a quarter).
AFFINITY_CORE = 2.5
AFFINITY_FALLOFF = 1.5
#: Smallest spread (CIELAB units) the affinity divides by: a flat painted skin must not exclude its own shading.
MIN_SPREAD = 4.0
MAD_TO_STD = 1.4826


@dataclass(frozen=True)
class SkinStats:
    """Robust CIELAB statistics of one skin: per-channel median and spread (1.4826·MAD), float64 (3,)."""

    median: torch.Tensor
    spread: torch.Tensor | None  #: None: a colour given by hand, matched by its median alone
    pixels: int


def skin_pixels(image: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """(N,1,H,W) bool: pixels of ``image`` (N,3,H,W, sRGB-encoded) inside ``region`` (> 0.5) whose
    colour passes the skin chroma box."""
    dims = check_shape(image, "N 3 H W", "image")
    check_shape(region, "N 1 H W", "region", dims)
    r, g, b = (image[:, i : i + 1] * 255.0 for i in range(3))
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128.0 + (b - luma) * 0.564
    cr = 128.0 + (r - luma) * 0.713
    inside = (region > 0.5) & (luma >= 255.0 * LUMA_RANGE[0]) & (luma <= 255.0 * LUMA_RANGE[1])
    box = (cb >= CB_RANGE[0]) & (cb <= CB_RANGE[1]) & (cr >= CR_RANGE[0]) & (cr <= CR_RANGE[1])
    return inside & box & (torch.hypot(cb - 128.0, cr - 128.0) >= MIN_CHROMA)


def skin_stats(image: torch.Tensor, region: torch.Tensor, skin_only: bool = False) -> SkinStats | None:
    """The skin statistics of ``image`` (1,3,H,W) inside ``region`` (1,1,H,W); None when the region
    holds fewer than :data:`MIN_SKIN_PIXELS` pixels at all (skin-coloured ones with ``skin_only``).
    Without ``skin_only``, a region of which under :data:`MIN_SKIN_SHARE` is skin-coloured is measured whole."""
    chosen = skin_pixels(image, region)[0, 0]
    skin = int(chosen.sum())
    if skin_only and skin < MIN_SKIN_PIXELS:
        return None
    if not skin_only and skin < max(MIN_SKIN_PIXELS, MIN_SKIN_SHARE * float((region > 0.5).sum())):
        chosen = region[0, 0] > 0.5
        if int(chosen.sum()) < MIN_SKIN_PIXELS:
            return None
        log.info("grade match: too few skin-coloured pixels; the whole region's statistics are used")
    lab = srgb_to_lab(image[0][:, chosen], dim=0)
    median = lab.median(dim=1).values
    spread = (lab - median[:, None]).abs().median(dim=1).values * MAD_TO_STD
    return SkinStats(median, spread, int(chosen.sum()))


def colour_stats(rgb: torch.Tensor) -> SkinStats:
    """Statistics of a skin colour given by hand (3,), sRGB-encoded: its CIELAB, no spread."""
    if rgb.shape != (3,):
        raise ParamError(f"grade colour: expected 3 values, got shape {tuple(rgb.shape)}")
    return SkinStats(srgb_to_lab(rgb[None], dim=-1)[0], None, 0)


def contrast(source: SkinStats, target: SkinStats) -> torch.Tensor:
    """Per-channel contrast ``k`` (3,), clamped; 1 where either spread is unknown or zero."""
    if source.spread is None or target.spread is None:
        return torch.ones(3, dtype=torch.float64, device=source.median.device)
    k = target.spread / source.spread.clamp_min(1e-6)
    return torch.where(source.spread > 1e-6, k, torch.ones_like(k)).clamp(MIN_CONTRAST, MAX_CONTRAST)


def skin_affinity(lab: torch.Tensor, source: SkinStats) -> torch.Tensor:
    """(N,1,H,W) in (0, 1]: how much each CIELAB pixel of ``lab`` (N,3,H,W) is like the source skin; 1 for every
    pixel when the source is a colour given by hand (no spread)."""
    if source.spread is None:
        return torch.ones_like(lab[:, :1])
    scale = source.spread.clamp_min(MIN_SPREAD)[None, :, None, None]
    d = (((lab - source.median[None, :, None, None]) / scale) ** 2).sum(dim=1, keepdim=True).sqrt()
    return torch.exp(-0.5 * ((d - AFFINITY_CORE).clamp_min(0.0) / AFFINITY_FALLOFF) ** 2)


def grade_match(image: torch.Tensor, weight: torch.Tensor, source: SkinStats, target: SkinStats,
                strength: float = 1.0) -> torch.Tensor:
    """``image`` (N,3,H,W, sRGB-encoded) with its skin ``source`` mapped onto ``target`` where ``weight``
    (N,1,H,W in [0,1]) is set, in proportion to each pixel's :func:`skin_affinity`, blended by ``strength`` in
    [0, 1]; same dtype, values in [0, 1].

    >>> grey = torch.full((1, 3, 4, 4), 0.5)
    >>> stats = colour_stats(torch.tensor([0.5, 0.5, 0.5]))
    >>> bool(torch.allclose(grade_match(grey, torch.ones(1, 1, 4, 4), stats, stats), grey, atol=1e-6))
    True
    """
    if not 0.0 <= strength <= 1.0:
        raise ParamError(f"grade_strength: expected a value in [0, 1], got {strength}")
    check_shape(weight, "N 1 H W", "weight", check_shape(image, "N 3 H W", "image"))
    out = image.clamp(0.0, 1.0)
    box = masks.bounding_box((weight > 0).any(dim=0, keepdim=True).to(image.dtype))
    if box is None:
        return out
    rows, cols = slice(box.y0, box.y1), slice(box.x0, box.x1)  # only the weighted part goes through CIELAB
    lab = srgb_to_lab(image[..., rows, cols])
    k = contrast(source, target)[None, :, None, None]
    graded = (lab - source.median[None, :, None, None]) * k + target.median[None, :, None, None]
    share = strength * weight[..., rows, cols].to(torch.float64) * skin_affinity(lab, source)
    out = out.clone()
    out[..., rows, cols] = lab_to_srgb(lab + share * (graded - lab)).to(image.dtype)
    return out
