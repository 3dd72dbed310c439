"""From studio samples to one training batch: the network's inputs and every loss target.

Item ``i`` of a split is a pure function of (split seed, i): the studio frame, its colour jitter, its
H² masks and its reference jitter all come from generators seeded by ``sample_seed(seed, i)``. The
loop therefore never has to save a data-loader state for exact resume (the position is the step),
and DDP ranks simply take disjoint indices.

Chroma-key setting: ``I_T^green = α·fg + (1 − α)·G`` from the studio's exact, spill-free truth with
the canonical green ``G``; the ground truth ``Y`` is that same image. The source head (of which the
network sees only the grey) never carries the answer's lightness: it is either another render with
another skin and light (:mod:`changer.training.skin_pairs`, share ``cross_skin``) or the truth with
its own, independent colour jitter. Only ``I_T^head`` says what colour the head must take.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from changer.core.compose import NetInputs, build_inputs, canonical_green
from changer.training.augment import colour_jitter, reference_theta, warp_batch
from changer.training.h2 import HAIR_PROBABILITY, HeadWarp, h2_augment
from changer.training.skin_pairs import self_pair, skin_pair
from changer.training.studio import render, sample_identity, sample_seed
from changer.training.studio.sample import Sample

#: Seed of the held-out evaluation split. Training refuses this seed; items derive their studio
#: seeds through ``SeedSequence([seed, index])``, so the two splits share no stream.
EVAL_SEED = 2_147_483_647
#: The (2,3) affine of "no reference jitter".
IDENTITY = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class AugmentConfig:
    """What the data pipeline does to each sample (all on by default, as the paper trains)."""

    h2: bool = True
    hair_probability: float = HAIR_PROBABILITY
    colour_jitter: float = 1.0
    reference_jitter: bool = True
    source_jitter: float = 1.0  #: strength of the source head's own colour jitter (self-reconstruction items)
    cross_skin: float = 0.5  #: share of cross-skin pairs
    small_faces: float = 0.3  #: share of items with the head shrunk to the scales the pipeline crops


class Item(NamedTuple):
    """One sample, unbatched: (C,H,W) tensors."""

    target: torch.Tensor  # I_T^green (= ground truth Y)
    alpha: torch.Tensor  # target coverage
    source: torch.Tensor  # I_S on green (only its grey head reaches X)
    reference: torch.Tensor  # I_T^head before reference jitter: the double's head, black elsewhere
    source_head: torch.Tensor  # M_S^head (soft)
    union_partner: torch.Tensor  # M_h2 (or M_S without H²)
    mask_gt: torch.Tensor  # M_gt: body + neck, amodal
    head_theta: torch.Tensor  # (2,3) reference jitter of I_T^head


class Batch(NamedTuple):
    """A batch: the network's inputs and the loss targets, (N,C,H,W)."""

    inputs: NetInputs
    target: torch.Tensor  # I_T (on green): ground truth of Y
    target_hc: torch.Tensor  # I_T^hc: the target without completion (hole left green), for ToRGB
    source_head: torch.Tensor  # M_S^head
    mask_gt: torch.Tensor  # M_gt

    def to(self, device: torch.device) -> Batch:
        return Batch(NetInputs(*(t.to(device) for t in self.inputs)), *(t.to(device) for t in self[1:]))


def on_green(fg: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``α·fg + (1 − α)·G`` for (C,H,W) or (N,C,H,W) tensors."""
    green = canonical_green(fg if fg.dim() == 4 else fg[None])
    return alpha * fg + (1.0 - alpha) * (green if fg.dim() == 4 else green[0])


def long_hair_mask(sample: Sample, rng: np.random.Generator) -> torch.Tensor:
    """The hair mask of another, long-haired identity rendered at this sample's pose and studio."""
    other = sample_identity(rng, "green", hair_style="long")
    size = (sample.plate.shape[-1], sample.plate.shape[-2])
    return render(other, sample.pose, sample.studio, size, noise_seed=0).mask("hair", soft=True)


def make_item(seed: int, index: int, size: int, augment: AugmentConfig = AugmentConfig()) -> Item:
    """Item ``index`` of the split ``seed`` (deterministic)."""
    item_seed = sample_seed(seed, index)
    gen = torch.Generator().manual_seed(item_seed)
    rng = np.random.default_rng([item_seed, 1])
    choice = np.random.default_rng([item_seed, 2])
    cross, small = choice.random() < augment.cross_skin, choice.random() < augment.small_faces
    pair = (skin_pair if cross else self_pair)(item_seed, size, small)
    truth = pair.truth
    jitter_seed = int(torch.randint(0, 2**62, (), generator=gen))
    target, double = (on_green(_jittered(s.fg, jitter_seed, augment.colour_jitter), s.alpha)
                      for s in (truth, pair.double))
    source_seed = int(torch.randint(0, 2**62, (), generator=gen)) if augment.source_jitter > 0 else jitter_seed
    source_strength = augment.source_jitter if augment.source_jitter > 0 else augment.colour_jitter
    source = on_green(_jittered(pair.source.fg, source_seed, source_strength), pair.source.alpha)
    source_head = pair.source.mask("head", soft=True)
    reference = double * pair.double.mask("head", soft=True)
    if augment.h2:
        hair = long_hair_mask(truth, rng) if rng.random() < augment.hair_probability else None
        partner = h2_augment(source_head, hair, gen, HeadWarp())
    else:
        partner = source_head
    theta = reference_theta(gen) if augment.reference_jitter else IDENTITY
    return Item(target, truth.alpha, source, reference, source_head, partner, truth.amodal.float(), theta)


def _jittered(fg: torch.Tensor, seed: int, strength: float) -> torch.Tensor:
    """``fg`` under the colour jitter drawn from ``seed`` (one seed, one camera: same jitter twice)."""
    if strength <= 0:
        return fg
    return colour_jitter(fg, torch.Generator().manual_seed(seed), strength)


def collate(items: list[Item]) -> Batch:
    """Stack items and build X, I_T^head, I_T^body with :func:`changer.core.compose.build_inputs`."""
    target, alpha, source, reference, source_head, partner, mask_gt, theta = (
        torch.stack(t) for t in zip(*items, strict=True))
    inputs = build_inputs(target, source, source_head, partner, alpha, target_head=source_head)
    inputs = inputs._replace(head=reference)
    if not torch.equal(theta, IDENTITY.expand_as(theta)):
        inputs = inputs._replace(head=warp_batch(inputs.head, theta))
    green = canonical_green(target)
    outside = inputs.inpaint * green + (1.0 - inputs.inpaint) * target
    target_hc = source_head * target + (1.0 - source_head) * outside
    return Batch(inputs, target, target_hc, source_head, mask_gt)


def make_batch(seed: int, start: int, count: int, size: int, augment: AugmentConfig = AugmentConfig()) -> Batch:
    """Items ``start .. start+count-1`` of split ``seed`` as one batch."""
    return collate([make_item(seed, start + i, size, augment) for i in range(count)])
