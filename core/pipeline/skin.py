"""The grade match in the pipeline: which skin is measured where, and what is graded.

The double's skin is measured once per frame, in ``prepare``, where the double's head matte and the
network-stage key are both solid (or taken from the artist's colour); the source is graded to it before
the network (so the grey head carries the double's lightness) and the network's result after it
(:mod:`.place`). :mod:`changer.core.grade` holds the maths.
"""

from __future__ import annotations

import torch

from ..color import to_network
from ..grade import SkinStats, colour_stats, grade_match, skin_stats
from .settings import FrameSettings

#: The network-stage key counts a pixel as solid double (for measuring its skin) above this.
SOLID_KEY = 0.95


def double_skin(green: torch.Tensor, alpha: torch.Tensor, target_head: torch.Tensor,
                settings: FrameSettings) -> SkinStats | None:
    """The skin the new head is graded to: the artist's colour, else measured where the double's head
    matte and the key are solid; None when the grade is off or there is nothing to measure."""
    if settings.grade.strength == 0.0:
        return None
    if settings.grade.colour is not None:
        rgb = to_network(green.new_tensor(settings.grade.colour).view(1, 3, 1, 1), settings.color)
        return colour_stats(rgb.clamp(0.0, 1.0).view(3))
    return skin_stats(green, ((target_head > 0.5) & (alpha > SOLID_KEY)).to(green.dtype))


def graded(image: torch.Tensor, skin_region: torch.Tensor, weight: torch.Tensor, target: SkinStats | None,
           strength: float) -> torch.Tensor:
    """``image`` with the skin inside ``skin_region`` matched to ``target`` where ``weight`` is set
    (unchanged when there is no target or no skin to measure)."""
    if target is None:
        return image
    source = skin_stats(image, skin_region)
    return image if source is None else grade_match(image, weight, source, target, strength)
