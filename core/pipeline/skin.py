"""The grade match in the pipeline: which skin is measured where, and what is graded.

The double's skin is measured once per frame, in ``prepare``, on the plate: the top of its neck under
the head matte (below the chin's shadow) where it shows (the new face sits next to it), else its face, or the artist's
colour. The source is graded to it before the network (so the grey head carries the double's
lightness) and the network's result after it (:mod:`.place`). When the frame has face landmarks
(automatic mattes), faces are measured inside the face ovals only: a head matte also holds hair, a hat
or a beard, whose spread would set the contrast. :mod:`changer.core.grade` holds the maths.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from .. import masks
from ..align import Similarity
from ..color import to_network
from ..grade import MIN_SKIN_PIXELS, MIN_SKIN_SHARE, SkinStats, colour_stats, grade_match, skin_pixels, skin_stats
from ..masks import Box
from .frame import FrameInputs
from .settings import FrameSettings

#: The network-stage key counts a pixel as solid double (for measuring its skin) above this.
SOLID_KEY = 0.95
#: The double's neck is sampled from this far below its head matte to :data:`NECK_DEPTH` below it, as shares of
#: the head matte's height: the rows right under the jaw are in the chin's shadow (on the real frames that strip was
#: ΔE76 3-7 off the lit neck, darker and yellower), and the new face is seen against the lit neck.
NECK_GAP = 0.06
NECK_DEPTH = 0.24
#: The strip is measured on alternate bands of rows this tall (a share of the head matte's height): half of a neck
#: is thousands of pixels, ample for a median, and the other half is left to check the match on skin the grade did
#: not measure (tests/real_shot.py), at every depth of the strip alike.
NECK_BAND = 0.02
#: The share of a face oval's height taken off its rim before its skin is measured.
OVAL_RIM = 0.08


def double_skin(plate: torch.Tensor, alpha: torch.Tensor, target_head: torch.Tensor, target_face: torch.Tensor,
                settings: FrameSettings) -> SkinStats | None:
    """The skin the new head is graded to (all in the crop): the artist's colour; else the
    double's neck right under the head matte (:func:`neck_strip`), which is what the new face sits next
    to; else the double's face (head matte ∩ face oval, where the key is solid). None when the grade is
    off or there is nothing to measure."""
    if settings.grade.strength == 0.0:
        return None
    if settings.grade.colour is not None:
        rgb = to_network(plate.new_tensor(settings.grade.colour).view(1, 3, 1, 1), settings.color)
        return colour_stats(rgb.clamp(0.0, 1.0).view(3))
    neck = skin_stats(plate, neck_strip(target_head, alpha).to(plate.dtype), skin_only=True)
    if neck is not None:  # a neck's spread says nothing of a face's: its median alone is matched
        return replace(neck, spread=None)
    return skin_stats(plate, ((target_head * target_face > 0.5) & (alpha > SOLID_KEY)).to(plate.dtype))


def neck_strip(target_head: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """(1,1,h,w) bool: the double's solid body inside :func:`neck_bands`: the lit top of the neck (or the collar,
    which the skin test drops)."""
    return neck_bands(target_head) & (alpha > SOLID_KEY)


def neck_bands(target_head: torch.Tensor) -> torch.Tensor:
    """(1,1,h,w) bool: from :data:`NECK_GAP` to :data:`NECK_DEPTH` of the head matte's height below the head matte,
    column by column, the even bands of :data:`NECK_BAND` (counted from the top of the strip); the odd bands are the
    neck the grade leaves unmeasured."""
    head = target_head > 0.5
    box = masks.bounding_box(head.to(target_head.dtype))
    if box is None:
        return torch.zeros_like(head)
    rows = torch.arange(head.shape[-2], device=head.device).view(1, 1, -1, 1).expand_as(head)
    above = torch.where(head, rows, torch.full_like(rows, -1)).cummax(dim=-2).values  # the last head row so far
    depth = rows - above
    gap, deep, band = (max(round(share * box.height), 1) for share in (NECK_GAP, NECK_DEPTH, NECK_BAND))
    return (above >= 0) & (depth > gap) & (depth <= deep) & ((depth - gap - 1) // band % 2 == 0)


def graded(image: torch.Tensor, skin_region: torch.Tensor, weight: torch.Tensor, target: SkinStats | None,
           strength: float) -> torch.Tensor:
    """``image`` with the skin inside ``skin_region`` matched to ``target`` where ``weight`` is set
    (unchanged when there is no target or no skin to measure).

    The match is refined once: the skin test picks other pixels of the graded face than of the original (a
    shaded face spans tens of L*, so its median moves with the pixels picked), so the graded face is measured
    again and its median shifted the rest of the way (contrast 1); not at a partial ``strength``, which means to
    stop short of the target."""
    if target is None:
        return image
    source = skin_stats(image, skin_region)
    if source is None:
        return image
    matched = grade_match(image, weight, source, target, strength)
    again = skin_stats(matched, skin_region) if strength == 1.0 else None
    if again is None:
        return matched
    return grade_match(matched, weight, again, replace(target, spread=None), 1.0)


def skin_of_source(source: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """``region`` (1,1,h,w) narrowed to the pixels where ``source`` (1,3,h,w, the aligned source, sRGB-encoded)
    passes the skin test, when enough do (else ``region`` itself).

    The network's result is measured there after it ran: on real faces it comes out nearly grey, so no pixel of
    it passes the skin test and a face oval was measured whole, beard, brows and eyes included. Under a dark
    beard that median sat low, the lift it asked for pushed the lit skin past white, and the face came out
    ΔE76 5.5 off the neck on a real frame. The source still shows which of its pixels are skin.
    """
    inside = float((region > 0.5).sum())
    chosen = skin_pixels(source, region)
    if float(chosen.sum()) < max(MIN_SKIN_PIXELS, MIN_SKIN_SHARE * inside):
        return region
    return chosen.to(region.dtype)


def face_regions(frame: FrameInputs, fit: Similarity, box: Box) -> tuple[torch.Tensor, torch.Tensor]:
    """(target, source) face ovals in the crop ``box``, shrunk by :data:`OVAL_RIM` of their height (the rim
    is hairline, brow ends and jaw shadow, not skin tone), (1,1,h,w) 0/1; all ones when the frame has no
    landmarks (the head mattes alone then say where skin is)."""
    size = (box.height, box.width)
    ones = frame.target.new_ones(1, 1, *size)
    if frame.target_points is None or frame.source_points is None:
        return ones, ones

    def oval(points: torch.Tensor) -> torch.Tensor:
        filled = masks.polygon(points.to(torch.float64) - points.new_tensor([box.x0, box.y0]), size).to(ones)
        rows = float(points[:, 1].max() - points[:, 1].min())
        return masks.grow_shrink(filled, -OVAL_RIM * rows)

    return oval(frame.target_points), oval(fit.apply(frame.source_points.to(torch.float64)))
