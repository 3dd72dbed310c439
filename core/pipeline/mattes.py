"""Shaping the head mattes (threshold, grow, feather) and refusing mattes that cannot be head mattes.

The shaping runs only on a window around the matte's non-zero pixels (grown by the reach of the grow
and the feather), so a 4K plate with a small head costs what the head costs. Outside that window
every result is 0, exactly as if the whole frame had been processed.
"""

from __future__ import annotations

import math

import torch

from .. import masks
from ..errors import ImageReadError
from ..masks import Box
from .frame import FULL_FRAME_COVERAGE
from .settings import MatteSettings


def shape_matte(matte: torch.Tensor, settings: MatteSettings, clip: str) -> torch.Tensor:
    """(1,1,H,W) matte -> shaped (1,1,H,W) matte (all zero when nothing is at or above the threshold).

    Raises ImageReadError naming ``clip`` when the thresholded matte covers (nearly) the whole frame.
    """
    if settings.threshold > 0:
        matte = masks.threshold(matte, settings.threshold, clip)
    else:
        matte = matte.clamp(0.0, 1.0)
    height, width = matte.shape[-2:]
    coverage = float((matte >= 0.5).float().mean())
    if coverage >= FULL_FRAME_COVERAGE:
        raise ImageReadError(
            f"clip {clip}: the head matte covers {100 * coverage:.1f}% of the frame; expected a matte of the head "
            "only (is the clip's channel the head matte, not a solid alpha?)"
        )
    box = masks.bounding_box(matte)
    if box is None or (settings.grow == 0 and settings.feather == 0):
        return matte
    reach = int(math.ceil(max(settings.grow, 0.0) + 3.0 * settings.feather)) + 2
    roi = Box(max(box.x0 - reach, 0), max(box.y0 - reach, 0), min(box.x1 + reach, width), min(box.y1 + reach, height))
    patch = masks.crop(matte, roi)
    if settings.grow:
        patch = masks.grow_shrink(patch, settings.grow)
    if settings.feather:
        patch = masks.feather(patch, settings.feather)
    out = torch.zeros_like(matte)
    masks.crop(out, roi).copy_(patch.clamp(0.0, 1.0))
    return out


def is_empty(matte: torch.Tensor) -> bool:
    return not bool((matte > 0).any())
