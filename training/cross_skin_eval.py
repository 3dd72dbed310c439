"""The cross-skin held-out suite: does the head take the double's skin, and does τ steer the body fill?

Self-reconstruction cannot see either: there the grey head already carries the answer's lightness.
Here item ``i`` is the cross-skin pair (:func:`changer.training.skin_pairs.skin_pair`) of studio item
``SeedSequence([EVAL_SEED, i])``, a seed training refuses: X holds the grey head of the *source* (the
actor's own skin under another light), ``I_T^head`` the head of another identity with the double's
skin, and the ground truth is the exact ideal: the source identity and pose rendered with the
double's skin in the double's studio. H² on (so there is a hole to fill), no colour or reference
jitter (:data:`EVAL_CROSS`).

Figures, per image, then averaged over the images where their region is not empty:

* ``psnr_ip`` / ``ssim_ip``: PSNR (dB) and SSIM against the ideal inside ``M^ip``.
* ``face_de76`` / ``face_de2000``: CIE ΔE76 / ΔE2000 between the *mean* CIELAB colour of Y and of the
  ideal over the face skin region (the ideal's ``face`` label, eroded by :data:`FACE_ERODE` of the
  face height so the matte edge and the hairline stay out). The studio's face label includes eyes,
  brows and lips; the ideal has them at the same pixels, so the two means compare like with like.
* ``band_de76``: ΔE76 between the mean colours of Y and of the ideal over the band under the chin:
  the ideal's opaque neck, outside the source head, that lies inside ``M^ip`` or within
  :data:`BAND_DEPTH` of the face height below the source's jaw (column by column). There the ideal
  *is* the double's neck, so this is the ΔE of the band against the double's neck.
* ``tau_body_mad``: mean |Y(τ=0.1) − Y(τ=0.9)| (over RGB) in the body fill, ``M^ip`` ∩ the ideal's
  amodal body + neck; ``tau_patch_switch``: the share of FPAT patches whose group differs between
  τ = 0.1 and τ = 0.9 (from the binarised predicted M, as the network decides it);
  ``tau_ends_max``: the largest |Y(τ=0) − Y(τ=1)| in the image (0 means τ's two ends are identical).
  Only methods that take τ have these.
* Reference swap: Y is run again with the ``I_T^head`` of the previous item in the batch (another
  double). A double's skin colour is the mean CIELAB of its face skin region in ``I_T^head``. With
  ``m = ΔE76(face, new skin) − ΔE76(face, old skin)``, ``swap_shift`` is ``m(Y) − m(Y_swapped)``
  (ΔE76 units; positive: the face moved toward the new double) and ``swap_toward`` the share of
  items where it is at least :data:`SWAP_JND` (a visible move, not rounding). Pairs whose two skins
  are closer than :data:`MIN_SWAP_GAP` are left out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import torch
import torch.nn.functional as F

from changer.core.errors import ContractError
from changer.training.batch import EVAL_SEED, AugmentConfig, Batch, Item, collate, make_item, on_green
from changer.training.colour_metrics import delta_e76, delta_e2000, srgb_to_lab
from changer.training.evaluate import Column, Method, Scores, TauProbe, add_hole_scores
from changer.training.skin_pairs import skin_pair
from changer.training.studio import sample_seed

log = logging.getLogger(__name__)

#: The cross-skin protocol: every item a cross-skin pair at the pose's own scale, H² on, no jitter.
EVAL_CROSS = AugmentConfig(h2=True, colour_jitter=0.0, reference_jitter=False, source_jitter=0.0,
                           cross_skin=1.0, small_faces=0.0)
#: The face skin region is the ideal's face label eroded by this share of the face height.
FACE_ERODE = 0.05
#: The band under the chin reaches this share of the face height below the source's jaw.
BAND_DEPTH = 0.1
#: The band is the ideal's neck where its coverage is at least this (no green in the mean colour).
OPAQUE = 0.99
#: A region with fewer pixels than this gives no figure for its image.
MIN_PIXELS = 4
#: Reference swaps between doubles whose skins are closer than this (ΔE76) are left out.
MIN_SWAP_GAP = 5.0
#: A swap counts as moving toward the new double when the face's shift is at least this (ΔE76, about
#: one just-noticeable difference), so a reference-blind network's float noise never counts.
SWAP_JND = 1.0
#: τ pairs of the response figures: the sweep the artist uses, and the range's two ends.
TAU_LOW, TAU_HIGH = 0.1, 0.9

#: Figures that only images with a non-empty region give (hole, face, band, body fill, distinct skins).
REGION_KEYS = ("psnr_ip", "face_de76", "band_de76", "tau_body_mad", "swap_shift")

CROSS_COLUMNS = (
    Column("psnr_ip", "PSNR M^ip ↑", 2), Column("ssim_ip", "SSIM M^ip ↑"),
    Column("face_de76", "face ΔE76 ↓", 2), Column("face_de2000", "face ΔE00 ↓", 2),
    Column("band_de76", "band ΔE76 ↓", 2),
    Column("tau_body_mad", "τ 0.1↔0.9 fill mean ΔY ↑"), Column("tau_patch_switch", "τ 0.1↔0.9 patches switching", 3),
    Column("tau_ends_max", "τ 0↔1 max ΔY"),
    Column("swap_toward", "swap: share toward ↑", 2), Column("swap_shift", "swap: shift ΔE76 ↑", 2),
)


class CrossMethod(NamedTuple):
    """A row of the suite: Y at the row's τ, and the τ probe for methods that take τ."""

    run: Method
    probe: TauProbe | None = None


class CrossBatch(NamedTuple):
    """A batch of the suite with its measuring regions, each (N,1,H,W) bool."""

    batch: Batch
    face: torch.Tensor  # the ideal's face skin
    band: torch.Tensor  # the band under the chin
    fill: torch.Tensor  # M^ip ∩ the ideal's amodal body + neck
    double_face: torch.Tensor  # the double's face skin in I_T^head


class _Regions(NamedTuple):
    """One item's regions that need the renders (unbatched (1,H,W) bool)."""

    face: torch.Tensor
    neck: torch.Tensor  # the ideal's opaque neck outside the source head
    under_jaw: torch.Tensor  # rows just below the source's jaw, column by column
    double_face: torch.Tensor


def erode(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Binary erosion of a (1,H,W) bool mask by a (2r+1)² square."""
    if radius < 1:
        return mask
    m = mask.float()[None]
    return (-F.max_pool2d(-m, 2 * radius + 1, stride=1, padding=radius))[0] > 0.5


def height(mask: torch.Tensor) -> int:
    """Rows spanned by a (1,H,W) bool mask (0 when empty)."""
    rows = mask[0].any(1).nonzero()
    return int(rows.max() - rows.min() + 1) if rows.numel() else 0


def face_region(face: torch.Tensor) -> torch.Tensor:
    """The face skin region: the face label eroded by :data:`FACE_ERODE` of its height (≥ 1 px)."""
    return erode(face, max(1, round(FACE_ERODE * height(face))))


def below(mask: torch.Tensor, depth: int) -> torch.Tensor:
    """Pixels within ``depth`` rows under a (1,H,W) bool mask in their column, the mask itself excluded."""
    m = F.pad(mask.float()[None], (0, 0, depth, 0))
    reach = F.max_pool2d(m, (depth + 1, 1), stride=1)[0] > 0.5
    return reach & ~mask


def band_region(neck: torch.Tensor, under_jaw: torch.Tensor, inpaint: torch.Tensor) -> torch.Tensor:
    """The band under the chin: the ideal's neck inside ``M^ip`` or just below the jaw (all (…,1,H,W))."""
    return neck & ((inpaint >= 0.5) | under_jaw)


def fill_region(inpaint: torch.Tensor, mask_gt: torch.Tensor) -> torch.Tensor:
    """The body fill τ steers: ``M^ip`` ∩ the ideal's amodal body + neck."""
    return (inpaint >= 0.5) & (mask_gt >= 0.5)


def cross_item(index: int, size: int) -> tuple[Item, _Regions]:
    """Item ``index`` of the held-out cross-skin split and its regions."""
    item = make_item(EVAL_SEED, index, size, EVAL_CROSS)
    pair = skin_pair(sample_seed(EVAL_SEED, index), size, small_face=False)
    if not torch.equal(item.target, on_green(pair.truth.fg, pair.truth.alpha)):
        raise ContractError(f"cross-skin item {index}: make_item no longer renders skin_pair's ideal; "
                            "the suite's regions would not match its images")
    source_face = pair.source.mask("face") > 0.5
    neck = (pair.truth.mask("neck") > 0.5) & (pair.truth.alpha >= OPAQUE) & (item.source_head < 0.5)
    depth = max(1, round(BAND_DEPTH * height(source_face)))
    return item, _Regions(face_region(pair.truth.mask("face") > 0.5), neck, below(source_face, depth),
                          face_region(pair.double.mask("face") > 0.5))


def cross_batches(samples: int, size: int, batch_size: int = 4) -> Iterator[CrossBatch]:
    """The held-out cross-skin split in batches; none of one item when there are more (the swap needs two)."""
    starts = list(range(0, samples, batch_size))
    if len(starts) > 1 and samples - starts[-1] == 1:
        starts.pop()
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else samples
        items, regions = zip(*(cross_item(i, size) for i in range(start, end)), strict=True)
        batch = collate(list(items))
        r = _Regions(*(torch.stack(t) for t in zip(*regions, strict=True)))
        yield CrossBatch(batch, r.face, band_region(r.neck, r.under_jaw, batch.inputs.inpaint),
                         fill_region(batch.inputs.inpaint, batch.mask_gt), r.double_face)


def mean_lab(image: torch.Tensor, region: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean CIELAB (N,3) of sRGB (N,3,H,W) ``image`` over (N,1,H,W) ``region``, and which images have one."""
    w = region.to(torch.float64)
    count = w.sum((1, 2, 3))
    mean = (srgb_to_lab(image) * w).sum((2, 3)) / count.clamp_min(1.0)[:, None]
    return mean, count >= MIN_PIXELS


def region_mean(values: torch.Tensor, region: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of (N,C,H,W) ``values`` over (N,1,H,W) ``region`` and its channels, and which images have one."""
    w = region.to(values.dtype)
    count = w.sum((1, 2, 3))
    total = (values * w).sum((1, 2, 3)) / values.shape[1]
    return total / count.clamp_min(1.0), count >= MIN_PIXELS


def tau_response(probe: TauProbe, batch: Batch, fill: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The τ figures of one batch: name → (per-image values, which images count)."""
    y_low, share_low = probe(batch, TAU_LOW)
    y_high, share_high = probe(batch, TAU_HIGH)
    y_zero, _ = probe(batch, 0.0)
    y_one, _ = probe(batch, 1.0)
    every = torch.ones(y_low.shape[0], dtype=torch.bool)
    switch = ((share_low >= TAU_LOW) != (share_high >= TAU_HIGH)).float().mean(1)
    return {"tau_body_mad": region_mean((y_low - y_high).abs(), fill),
            "tau_patch_switch": (switch, every),
            "tau_ends_max": ((y_zero - y_one).abs().flatten(1).amax(1), every)}


def swap_figures(run: Method, cb: CrossBatch, face: torch.Tensor, face_ok: torch.Tensor,
                 ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Reference swap: run again with the previous item's ``I_T^head``; see the module docstring."""
    batch = cb.batch
    swapped = batch._replace(inputs=batch.inputs._replace(head=batch.inputs.head.roll(1, 0)))
    face_swapped, _ = mean_lab(run(swapped).clamp(0, 1), cb.face)
    old, old_ok = mean_lab(batch.inputs.head, cb.double_face)
    new, new_ok = old.roll(1, 0), old_ok.roll(1, 0)

    def margin(f: torch.Tensor) -> torch.Tensor:
        return delta_e76(f, new) - delta_e76(f, old)

    shift = margin(face) - margin(face_swapped)
    ok = face_ok & old_ok & new_ok & (delta_e76(old, new) >= MIN_SWAP_GAP)
    return {"swap_shift": (shift, ok), "swap_toward": ((shift >= SWAP_JND).double(), ok)}


def evaluate_cross(methods: Mapping[str, CrossMethod], samples: int, size: int,
                   batch_size: int = 4) -> dict[str, Scores]:
    """Every method on the same held-out cross-skin batches."""
    scores = {name: Scores() for name in methods}
    done = 0
    for cb in cross_batches(samples, size, batch_size):
        batch = cb.batch
        ideal_face, _ = mean_lab(batch.target, cb.face)
        ideal_band, _ = mean_lab(batch.target, cb.band)
        for name, method in methods.items():
            y = method.run(batch).clamp(0, 1)
            s = scores[name]
            add_hole_scores(s, y, batch)
            face, face_ok = mean_lab(y, cb.face)
            band, band_ok = mean_lab(y, cb.band)
            s.add("face_de76", delta_e76(face, ideal_face), face_ok)
            s.add("face_de2000", delta_e2000(face, ideal_face), face_ok)
            s.add("band_de76", delta_e76(band, ideal_band), band_ok)
            figures = swap_figures(method.run, cb, face, face_ok)
            if method.probe is not None:
                figures |= tau_response(method.probe, batch, cb.fill)
            for key, (values, keep) in figures.items():
                s.add(key, values, keep)
        done += batch.target.shape[0]
        log.info("cross-skin suite: %d of %d items done", done, samples)
    return scores


def coverage_line(scores: Scores, samples: int) -> str:
    """How many of the items each region-bound figure averages (the rest have that region empty)."""
    counts = ", ".join(f"{key} {scores.count(key)}" for key in REGION_KEYS)
    return f"items per figure (of {samples}; the rest have an empty region): {counts}"
