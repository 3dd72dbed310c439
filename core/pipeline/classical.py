"""``method = classical``: the new head without the network, in the network's place.

For shots where the synthetic-trained network is not good enough (real footage today), the same job
that ``prepare`` made for the network is finished by plain image operations at network resolution:

* the double's keyed body (``I_T^green`` minus the double's head matte) stays;
* the neck bridge (where the new jaw ends above the double's neck) is filled from the body's skin
  around it with a push-pull fill, so the neck under a shorter jaw continues the double's neck colour
  (not the shadow under the double's jaw or a beard's last hairs: skin far darker than the body's is skipped);
  the rest of the region the new head does not cover (``M^ip``) is screen;
* the aligned source, already grade-matched to the double's skin in ``prepare``, is pasted with its
  head matte.

It returns a :class:`~changer.core.model.ChangerOutput` (Y, the body + neck-bridge matte as M, the
graded head on green as ToRGB, no attention), so the comp stage, its alpha (:mod:`.alpha`), the detail
transfer and every output and layer are the same as for the network.
"""

from __future__ import annotations

import torch

from .. import masks
from ..color.lab import srgb_to_lab
from ..compose import canonical_green
from ..grade import MAD_TO_STD, MIN_SKIN_PIXELS, MIN_SPREAD, skin_pixels
from ..model import ChangerOutput
from .alpha import SOLID, neck_bridge
from .crop import resize
from .frame import NetworkJob
from .settings import FrameSettings

#: Push-pull depth of the fill: colours are averaged over cells 2**FILL_LEVEL network pixels across.
FILL_LEVEL = 3
#: Skin darker than the body skin's median L* by more than this many robust spreads is not filled from: the
#: shadow under the double's jaw and the last of its beard (L* 30-64 against the lit neck's 75 on a real frame;
#: filled from them, the bridge under a new jaw was a dark strip, band ΔE76 8.0 from the neck).
DARK_SPREADS = 2.0


def classical_y(background: torch.Tensor, body: torch.Tensor, inpaint: torch.Tensor, head: torch.Tensor,
                head_matte: torch.Tensor, target_head: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``head`` (N,3,H,W) pasted with ``head_matte`` over ``background``. In the ``inpaint`` region the neck
    bridge (:func:`~.alpha.neck_bridge`, per image) is filled push-pull from the skin-coloured pixels where
    ``body`` (N,1,H,W) is solid (all of the solid body when it shows no skin), so the uncovered neck continues
    the double's neck, not its collar; the rest of the region is screen. The evaluation's classical row calls
    it on the network's inputs. Returns Y and the bridge."""
    green = canonical_green(background).expand(background.shape[0], -1, -1, -1)
    solid = body > SOLID
    skin = _without_dark_outliers(background, skin_pixels(background, solid.to(background.dtype)))
    has_skin = skin.flatten(1).sum(1) >= MIN_SKIN_PIXELS
    weight = torch.where(has_skin.view(-1, 1, 1, 1), skin, solid).to(background.dtype)
    fill = masks.push_pull(background, weight, green, FILL_LEVEL)
    bridge = torch.cat([neck_bridge(head_matte[i : i + 1], target_head[i : i + 1], body[i : i + 1],
                                    inpaint[i : i + 1]) for i in range(background.shape[0])])
    base = inpaint * (bridge * fill + (1.0 - bridge) * green) + (1.0 - inpaint) * background
    return head_matte * head + (1.0 - head_matte) * base, bridge


def _without_dark_outliers(image: torch.Tensor, skin: torch.Tensor) -> torch.Tensor:
    """``skin`` (N,1,H,W bool) less the pixels of ``image`` darker than its skin's median L* by more than
    :data:`DARK_SPREADS` robust spreads (at least :data:`~changer.core.grade.MIN_SPREAD` each, so that a flat
    skin keeps its own shading), per image."""
    lightness = srgb_to_lab(image)[:, :1]
    kept = []
    for i in range(image.shape[0]):
        values = lightness[i][skin[i]]
        if values.numel() < MIN_SKIN_PIXELS:
            kept.append(skin[i])
            continue
        median = values.median()
        spread = ((values - median).abs().median() * MAD_TO_STD).clamp_min(MIN_SPREAD)
        kept.append(skin[i] & (lightness[i] >= median - DARK_SPREADS * spread))
    return torch.stack(kept)


def _network_mattes(job: NetworkJob) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The source head, the double's head and the double's body (its key without its head), at network
    resolution."""
    size = (job.resolution, job.resolution)
    source_head = resize(job.source_head, size).clamp(0.0, 1.0)
    target_head = resize(job.target_head, size).clamp(0.0, 1.0)
    return source_head, target_head, masks.difference(job.target_alpha.clamp(0.0, 1.0), target_head)


def _classical(job: NetworkJob) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Y, the neck bridge, the double's body and the source head matte of the classical result, at network
    resolution."""
    source_head, target_head, body = _network_mattes(job)
    y, bridge = classical_y(job.target_green, body, job.inputs.inpaint, job.source_net, source_head, target_head)
    return y, bridge, body, source_head


def skin_bridge(job: NetworkJob, settings: FrameSettings) -> torch.Tensor | None:
    """(1,1,R,R) at network resolution: where Y's neck bridge is the fill from the double's own neck skin
    (the classical method, or the network with ``neck_fill=skin``), outside the new head; None where the
    network fills it. The grade after the network leaves it alone: it is already the double's skin, and
    the offset that brings a darker network face to the neck lifted it 10 ΔE76 past the neck on a real frame."""
    if settings.method != "classical" and settings.neck_fill != "skin":
        return None
    return _bridge_outside_head(job)


def _bridge_outside_head(job: NetworkJob) -> torch.Tensor:
    """(1,1,R,R): the neck bridge outside the new head, where :func:`skin_neck` puts the classical fill."""
    source_head, target_head, body = _network_mattes(job)
    return _outside(neck_bridge(source_head, target_head, body, job.inputs.inpaint), source_head)


def _outside(bridge: torch.Tensor, source_head: torch.Tensor) -> torch.Tensor:
    return bridge * (1.0 - source_head)


def skin_neck(output: ChangerOutput, job: NetworkJob) -> ChangerOutput:
    """The network's ``output`` with its neck bridge (outside the new head) replaced by the classical fill from
    the double's neck skin (``neck_fill=skin``): on real footage the network, trained on procedural people,
    painted stripes there where the double's beard was (band ΔE76 14-27 from the neck; filled so, 2-6)."""
    y, bridge, _, source_head = _classical(job)
    take = _outside(bridge, source_head)
    return output._replace(y=take * y + (1.0 - take) * output.y)


def network_neck(output: ChangerOutput, job: NetworkJob, settings: FrameSettings) -> ChangerOutput:
    """The network's ``output`` with its neck bridge as ``settings.neck_fill`` asks (:func:`skin_neck`)."""
    return skin_neck(output, job) if settings.neck_fill == "skin" else output


def classical_output(job: NetworkJob) -> ChangerOutput:
    """The classical result for a prepared ``job`` (see the module docstring); no model, no gradients."""
    y, bridge, body, source_head = _classical(job)
    mask = torch.maximum(body, bridge)
    to_rgb = source_head * job.source_net + (1.0 - source_head) * canonical_green(y)
    return ChangerOutput(y.clamp(0.0, 1.0), mask, to_rgb.clamp(0.0, 1.0), None)
