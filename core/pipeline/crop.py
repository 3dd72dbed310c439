"""The network crop: a square box around the head union, and moving images in and out of it.

The crop is resized to the network's square resolution whatever the plate size, so the network's
cost does not grow with the plate; only the crop's resampling and the detail transfer do. The box is
always square (the network was trained on square frames): when it is larger than the frame it extends
past the frame's edges, and the images are extended there (edge pixels repeated for plates, which
continues the screen above and the body below a frame edge); only its part inside the frame is ever
pasted back.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .. import masks
from ..masks import Box


def crop_box(union: torch.Tensor, padding: float) -> Box | None:
    """Square box around ``union`` (1,1,H,W): its larger side plus ``padding`` x it on each side.

    Centred on the union, then moved inside the frame along each axis where it fits; where it does
    not fit it stays centred and extends past both edges. None when the union is empty.
    """
    tight = masks.bounding_box(union)
    if tight is None:
        return None
    height, width = union.shape[-2:]
    longest = max(tight.width, tight.height)
    side = longest + 2 * int(round(padding * longest))

    def place(lo: int, hi: int, limit: int) -> int:
        start = (lo + hi - side) // 2
        return min(max(start, 0), limit - side) if side <= limit else start

    x0, y0 = place(tight.x0, tight.x1, width), place(tight.y0, tight.y1, height)
    return Box(x0, y0, x0 + side, y0 + side)


def inside(box: Box, frame_size: tuple[int, int]) -> tuple[Box, tuple[slice, slice]]:
    """The part of ``box`` inside the frame, and the (rows, cols) slices of a box-sized patch covering it."""
    height, width = frame_size
    part = Box(max(box.x0, 0), max(box.y0, 0), min(box.x1, width), min(box.y1, height))
    rows = slice(part.y0 - box.y0, part.y1 - box.y0)
    cols = slice(part.x0 - box.x0, part.x1 - box.x0)
    return part, (rows, cols)


def crop_padded(image: torch.Tensor, box: Box, mode: str = "replicate") -> torch.Tensor:
    """(N,C,h,w) contents of ``box``; outside the frame edge pixels repeat (``replicate``) or 0 (``zeros``)."""
    height, width = image.shape[-2:]
    part, _ = inside(box, (height, width))
    region = masks.crop(image, part)
    pads = (part.x0 - box.x0, box.x1 - part.x1, part.y0 - box.y0, box.y1 - part.y1)
    if not any(pads):
        return region.clone()
    return F.pad(region, pads, mode="constant" if mode == "zeros" else mode)


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of (N,C,h,w) to ``size`` (height, width), antialiased when shrinking."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)


def paste(canvas: torch.Tensor, patch: torch.Tensor, box: Box) -> torch.Tensor:
    """A copy of ``canvas`` (N,C,H,W) with the in-frame part of ``patch`` (N,C,h,w, covering ``box``)."""
    out = canvas.clone()
    part, (rows, cols) = inside(box, tuple(canvas.shape[-2:]))
    masks.crop(out, part).copy_(patch[..., rows, cols])
    return out


def blend_into(canvas: torch.Tensor, patch: torch.Tensor, weight: torch.Tensor, box: Box) -> torch.Tensor:
    """``canvas`` with ``lerp(canvas, patch, weight)`` inside ``box`` where ``weight > 0``.

    Where the weight is exactly 0 (and everywhere outside the box) the canvas values are kept bit for
    bit, HDR and all: the lerp is not even evaluated there.
    """
    out = canvas.clone()
    part, (rows, cols) = inside(box, tuple(canvas.shape[-2:]))
    region = masks.crop(out, part)
    weight = weight[..., rows, cols].to(canvas.dtype)
    patch = patch[..., rows, cols].to(canvas.dtype)
    region.copy_(torch.where(weight > 0, torch.lerp(region, patch, weight), region))
    return out


def edit_weight(union: torch.Tensor, seam: float, box: Box, frame_size: tuple[int, int]) -> torch.Tensor:
    """Weight (1,1,h,w) of the network's result inside the crop: the union grown by 2·seam, blurred by
    seam (so it reaches 1 at the union and exactly 0 at 5·seam outside it), times a smooth ramp at the
    crop edges inside the frame. Grow and blur run on a window around the union only."""
    region = (union > 0).to(union.dtype)
    tight = masks.bounding_box(region)
    if seam > 0 and tight is not None:
        height, width = region.shape[-2:]
        reach = int(math.ceil(5.0 * seam)) + 2
        roi = Box(max(tight.x0 - reach, 0), max(tight.y0 - reach, 0),
                  min(tight.x1 + reach, width), min(tight.y1 + reach, height))
        grown = masks.feather(masks.grow_shrink(masks.crop(region, roi), 2.0 * seam), seam)
        region = torch.zeros_like(region)
        masks.crop(region, roi).copy_(grown)
    return region * masks.seam_weight(box, frame_size, 2.0 * seam, region)
