"""The network's result brought back to the plate, before any keying (comp stage, part one).

:func:`place` upsamples Y to the crop with the source's detail (:mod:`.detail`), grades what the
network made (the head union) so that the new face's skin matches the double's (:mod:`changer.core.grade`;
the source was graded before the network too, but the network's colour is its own), makes the edit
weight of the seam, and pastes the predicted M and M^ip into frame-sized layers. It reads the
network's output, the prepared job and ``seam_feather`` only, so a host keeps it while the artist
moves keyer knobs; :func:`.stages.composite` makes it when not given one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..model import ChangerOutput
from .classical import skin_bridge
from .crop import edit_weight, paste, resize
from .detail import transfer_detail
from .frame import FrameInputs, NetworkJob
from .settings import FrameSettings
from .skin import graded, skin_of_source
from .timing import StageTimer


@dataclass
class Placement:
    """Y and the mattes at plate resolution; crop tensors cover ``job.box``."""

    y: torch.Tensor  #: (1,3,h,w) Y at crop resolution with the source's detail, network space
    weight: torch.Tensor  #: (1,1,h,w) edit weight of the network's result
    predicted: torch.Tensor  #: (1,1,H,W) the predicted M in the frame
    inpaint: torch.Tensor  #: (1,1,H,W) M^ip in the frame
    timings: dict[str, float] = field(default_factory=dict)


def place(frame: FrameInputs, job: NetworkJob, output: ChangerOutput, settings: FrameSettings) -> Placement:
    """:class:`Placement` of ``output`` for ``frame`` (see the module docstring)."""
    timer = StageTimer(frame.device)
    box, (height, width) = job.box, frame.size
    with timer.section("transfer"):
        y = transfer_detail(output.y, job.source_crop, job.source_head)
    with timer.section("grade"):
        skin = job.source_head if job.source_skin is None else resize(job.source_skin, tuple(y.shape[-2:]))
        skin = skin_of_source(job.source_crop, skin)
        filled = skin_bridge(job, settings)
        weight = job.union if filled is None else job.union * (1.0 - resize(filled, tuple(y.shape[-2:])))
        y = graded(y, skin, weight, job.target_skin, settings.grade.strength)
    with timer.section("paste"):
        weight = edit_weight(job.union, settings.seam_feather, box, (height, width))
        canvas = job.union.new_zeros(1, 1, height, width)
        predicted = paste(canvas, resize(output.mask, (box.height, box.width)).clamp(0, 1), box)
        inpaint = paste(canvas, job.inpaint, box)
    return Placement(y, weight, predicted, inpaint, timer.seconds)
