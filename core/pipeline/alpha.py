"""The final alpha of the edited region, built from mattes, never from a key of generated pixels.

Keying the network's output Y turned its grey or purple smudges (the double's hat or hair the network
did not quite remove, its blurry rims) into partly opaque haze that shows over any background. So the
comp's alpha inside the edit is made of what is known:

* the actor's head: the aligned source head matte ``M_S``;
* the double's body: the plate's key minus the double's head matte (``clamp(alpha_T - M_T)``), so the
  double's hair, hat and face leave clean screen where the new head does not cover them;
* the neck bridge: where the new head's jaw ends above the double's neck (the double's chin reached
  lower), the part of ``M^ip`` inside the double's head matte with the new head above it and the
  double's body just below it in the same column is filled (the network or the classical fill paints it);
* the body behind the double's hair: with the network, where its M says body inside ``M^ip``, below the
  new chin and next to the visible body (:func:`body_behind_hair`); without it, long hair over a shirt
  left the background showing through the body.

Outside the head union the edit weight fades this back into the plate's key, which is exact away from
the head (tested). The colour is Y's where something changes (the new head and M^ip), with its green
limited (:func:`despill_green`), because the canonical green behind Y's soft edges would otherwise tint
them; elsewhere in the edit (the seam where the edit weight fades out round the union, soft matte edges)
it is the plate's own keyed foreground: the network's copy of the double's body there is softer than the
plate and drifted from the neck's colour under a jaw.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .. import masks
from ..compose import canonical_green

#: Mattes count as covering a pixel above this value when the bridge is found.
SOLID = 0.5
#: The double's head matte counts for the bridge where it is solid and in its soft rim, a head width over this
#: wide, above :data:`KEY_NOISE`: the rim under a soft chin joins the bridge to the body, while the key's noise in
#: the open screen (an automatic matte is the plate's key; video-compression blocks leave a few hundredths there,
#: measured up to 0.08 on the real frames) stays out.
RIM_SHARE = 24.0
KEY_NOISE = 0.1


def column_reach(mask: torch.Tensor, pixels: int, below: bool) -> torch.Tensor:
    """(1,1,h,w) bool: a pixel of ``mask`` lies in the same column at most ``pixels`` rows below (or above), the
    pixel itself included.

    >>> column_reach(torch.tensor([[[[0.0], [0.0], [0.0], [1.0], [0.0]]]]), 2, below=True).flatten().tolist()
    [False, True, True, True, False]
    """
    if not below:
        return column_reach(mask.flip(-2), pixels, below=True).flip(-2)
    counts = F.pad(torch.cumsum(mask.to(torch.int32), dim=-2), (0, 0, 1, pixels), mode="replicate")
    counts[..., 0, :] = 0  # counts[r] = mask pixels in rows < r; the window r..r+pixels holds any when they differ
    height = mask.shape[-2]
    return counts[..., pixels + 1 : pixels + 1 + height, :] > counts[..., :height, :]


def neck_bridge(source_head: torch.Tensor, target_head: torch.Tensor, body: torch.Tensor,
                inpaint: torch.Tensor) -> torch.Tensor:
    """(1,1,h,w) 0/1: the part of ``inpaint`` between the new head's jaw and the double's body (module docstring).

    The reach (how far below the body may be) is half the double's head matte's height: the gap under a
    jaw is short, while the air beside the neck, under a cheek, reaches down to the shoulders. An opening along
    rows (shrink, then grow, by a twelfth of the head's width left and right) drops the thin wedges under the
    jaw's corners beside the neck: the neck under the chin is wider than that, the air beside it is not. Along
    rows only, so that a flat bridge (a shorter jaw just above the double's neck) is not eroded away. The opening
    also cuts the narrow tip of a crescent-shaped bridge (under a round double's chin): a pixel the opening dropped
    comes back when its column runs without a gap from the kept bridge above it down to the double's body, both
    within the opening's radius (a tip is short; the air under hair beside the neck is not). The double's
    head counts where solid and in its soft rim only (:data:`RIM_SHARE`, :data:`KEY_NOISE`): the key's noise in
    the screen beside the neck made horizontal bars of alpha there.
    """
    box = masks.bounding_box((target_head > SOLID).float())
    if box is None:
        return torch.zeros_like(inpaint)
    # Only the columns the rim can reach, and the opening's two radii beyond, are worked on: every step
    # is along columns but the rim's grow and the opening, so the result is the whole frame's, bit for bit
    # (a crop wider than the heads took 80 ms a frame at 720p).
    width = inpaint.shape[-1]
    margin = math.ceil(box.width / RIM_SHARE) + 2 * _opening_radius(box) + 2
    x0, x1 = max(box.x0 - margin, 0), min(box.x1 + margin, width)
    if (x0, x1) != (0, width):
        out = torch.zeros_like(inpaint)
        cols = slice(x0, x1)
        out[..., cols] = _bridge(source_head[..., cols], target_head[..., cols], body[..., cols], inpaint[..., cols],
                                 box)
        return out
    return _bridge(source_head, target_head, body, inpaint, box)


def _opening_radius(box: masks.Box) -> int:
    """The row opening's radius: a twelfth of the double's head width."""
    return max(round(box.width / 12.0), 1)


def _bridge(source_head: torch.Tensor, target_head: torch.Tensor, body: torch.Tensor, inpaint: torch.Tensor,
            box: masks.Box) -> torch.Tensor:
    """:func:`neck_bridge` on columns that hold the whole rim of the double's head, whose solid part spans
    ``box`` (only its size is read: the same in the columns as in the frame)."""
    reach = max(box.height // 2, 1)
    head_above = torch.cummax((source_head > SOLID).float(), dim=-2).values > 0
    body_below = column_reach(body > SOLID, reach, below=True) | (body > SOLID)
    rim = masks.grow_shrink((target_head > SOLID).float(), box.width / RIM_SHARE) > 0
    double_head = (target_head > KEY_NOISE) & rim
    candidate = (inpaint > 0) & double_head & head_above
    radius = _opening_radius(box)
    opened = _row_opening((candidate & body_below).float(), radius) > 0
    solid_body = body > SOLID
    near = column_reach(opened, radius, below=False) & column_reach(solid_body, radius, below=True)
    joined = _in_run_with(candidate | solid_body, solid_body, below=True) & _in_run_with(candidate, opened, below=False)
    tip = candidate & near & joined
    return (opened | tip).float()


def _in_run_with(mask: torch.Tensor, seed: torch.Tensor, below: bool) -> torch.Tensor:
    """(1,1,h,w) bool: pixels of ``mask`` whose vertical run of ``mask`` (in their column) holds a ``seed`` pixel at
    or below them (``below``), or at or above them."""
    if below:
        return _in_run_with(mask.flip(-2), seed.flip(-2), below=False).flip(-2)
    starts = mask & ~F.pad(mask, (0, 0, 1, 0))[..., :-1, :]
    runs = torch.cumsum(starts.to(torch.int32), dim=-2) * mask
    seen = torch.cummax(torch.where(seed & mask, runs, 0), dim=-2).values
    return mask & (seen == runs)


def _row_opening(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Opening along rows only (shrink, then grow, ``radius`` pixels left and right): runs narrower than
    ``2·radius + 1`` go, however tall; a short bridge under a wide jaw stays, however flat."""
    shrunk = -masks.sliding_max(-mask, radius, 3)
    return torch.minimum(masks.sliding_max(shrunk, radius, 3), mask)


def edit_alpha(source_head: torch.Tensor, target_head: torch.Tensor, plate_alpha: torch.Tensor,
               inpaint: torch.Tensor, predicted: torch.Tensor | None = None,
               y: torch.Tensor | None = None) -> torch.Tensor:
    """(1,1,h,w) alpha of the edited crop: new head, double's body without its head, the neck bridge and, given
    the network's M (``predicted``), the body it completes behind the double's hair (:func:`body_behind_hair`),
    less the share of it where the network's Y (``y``, network space) paints the screen (:func:`screen_share`)."""
    body = masks.difference(plate_alpha.clamp(0.0, 1.0), target_head)
    bridge = neck_bridge(source_head, target_head, body, inpaint)
    alpha = torch.maximum(torch.maximum(source_head, body), bridge)
    if predicted is None:
        return alpha
    behind = body_behind_hair(source_head, body, inpaint, predicted).to(alpha.dtype)
    if y is not None:
        behind = behind * (1.0 - screen_share(y))
    return torch.maximum(alpha, behind)


def screen_share(rgb: torch.Tensor) -> torch.Tensor:
    """(N,1,h,w) in [0,1]: how much of the canonical green the network paints at each pixel of ``rgb`` (N,3,h,w,
    network space), its green's excess over max(red, blue) in units of the canonical green's own.

    τ steers where the network ends the body it completes (a high τ keeps it to the patches that are mostly
    body, and Y shows the screen beyond): M does not follow τ, so the body behind the hair takes its alpha from
    M less this share, and a raised τ opens the screen there instead of painting grey bands on the shoulders.
    Only ever lowers an alpha that M set, so it cannot bring back haze.

    >>> float(screen_share(canonical_green(torch.zeros(1, 3, 1, 1))))
    1.0
    >>> float(screen_share(torch.tensor([0.8, 0.6, 0.5]).view(1, 3, 1, 1)))
    0.0
    """
    green = canonical_green(rgb)
    full = green[:, 1:2] - torch.maximum(green[:, 0:1], green[:, 2:3])
    excess = rgb[:, 1:2] - torch.maximum(rgb[:, 0:1], rgb[:, 2:3])
    return (excess / full).clamp(0.0, 1.0)


def body_behind_hair(source_head: torch.Tensor, body: torch.Tensor, inpaint: torch.Tensor,
                     predicted: torch.Tensor) -> torch.Tensor:
    """(1,1,h,w) bool: where the network's M says body inside M^ip, below the new head's chin, within a sixth of
    the head's width of the double's visible body: the shirt the double's long hair hid. Elsewhere M is not
    trusted (on real frames it bleeds into the screen beside the head and under a hat: 12-15 % haze)."""
    box = masks.bounding_box((source_head > SOLID).float())
    if box is None:
        return torch.zeros_like(inpaint, dtype=torch.bool)
    below_chin = (torch.arange(inpaint.shape[-2], device=inpaint.device) >= box.y1).view(1, 1, -1, 1)
    inside = (predicted > SOLID) & (inpaint > SOLID) & below_chin
    where = masks.bounding_box(inside.float())
    if where is None:
        return inside
    # the body is grown only round where it can count (a square window: the same bits as growing it all)
    grow = box.width / 6.0
    height, width = inpaint.shape[-2:]
    reach = math.ceil(grow)
    rows = slice(max(where.y0 - reach, 0), min(where.y1 + reach, height))
    cols = slice(max(where.x0 - reach, 0), min(where.x1 + reach, width))
    near_body = torch.zeros_like(inside)
    near_body[..., rows, cols] = masks.grow_shrink((body[..., rows, cols] > SOLID).float(), grow) > 0
    return inside & near_body


def despill_green(rgb: torch.Tensor) -> torch.Tensor:
    """(N,3,h,w) with green limited to max(red, blue): the canonical green mixed into soft edges goes."""
    limit = torch.maximum(rgb[:, 0:1], rgb[:, 2:3])
    return torch.cat([rgb[:, 0:1], torch.minimum(rgb[:, 1:2], limit), rgb[:, 2:3]], dim=1)
