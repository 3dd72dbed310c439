"""Cross-skin pairs: the actor's head must take the double's skin, and only the reference says which.

In the paper's self-reconstruction the grey source head is the ground truth's own head, so its
lightness already is the answer and the Head Colorizer can ignore ``I_T^head``. Here the procedural
studio renders one identity twice, which makes the ideal exact:

* ``truth``: the identity with the double's skin, in the double's studio (the ideal Y);
* ``source``: the same identity and pose with its own skin, under another key light (the actor's
  plate; only its grey head reaches the network);
* ``double``: another identity with the double's skin in the double's studio, whose head is
  ``I_T^head``: the colour reference a real shot has, with a different face and hair.

``small_face`` shrinks the head to the scales the render pipeline actually crops (a double with long
hair makes the network's crop large and the face small).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from changer.training.studio import render, sample_identity, sample_pose
from changer.training.studio.generate import scene
from changer.training.studio.params import Identity, Pose, Studio, relit, with_skin
from changer.training.studio.sample import Sample

#: The double's skin tone differs from the actor's by at least this much (tones run 0 .. 1).
MIN_TONE_GAP = 0.2
#: A small face multiplies the pose's head scale by a factor in this range.
SMALL_FACE_SCALE = (0.4, 0.75)


class SkinPair(NamedTuple):
    """Three renders of one training or evaluation item (see the module docstring)."""

    source: Sample
    truth: Sample
    double: Sample


def _scene(seed: int, small_face: bool) -> tuple[np.random.Generator, Identity, Pose, Studio, int]:
    """Item ``seed``'s scene (that of ``random_sample(seed)``, the head shrunk if asked) and its own rng."""
    rng = np.random.default_rng([seed, 3])
    identity, pose, studio, noise_seed = scene(seed)
    if small_face:
        pose = dataclasses.replace(pose, scale=pose.scale * float(rng.uniform(*SMALL_FACE_SCALE)))
    return rng, identity, pose, studio, noise_seed


def self_pair(seed: int, size: int, small_face: bool = False) -> SkinPair:
    """The paper's self-reconstruction: source, truth and reference are one frame."""
    _, identity, pose, studio, noise_seed = _scene(seed, small_face)
    sample = render(identity, pose, studio, size, noise_seed=noise_seed)
    return SkinPair(sample, sample, sample)


def skin_pair(seed: int, size: int, small_face: bool = False) -> SkinPair:
    """A cross-skin pair: the truth has the double's skin and studio light, the source its own."""
    rng, identity, pose, studio, noise_seed = _scene(seed, small_face)
    double_tone = other_tone(identity.skin_tone, rng)
    truth_identity = with_skin(identity, double_tone, rng)
    double_identity = dataclasses.replace(
        sample_identity(rng, studio.screen_kind), skin_tone=double_tone, skin=truth_identity.skin,
        lips=truth_identity.lips)
    truth = render(truth_identity, pose, studio, size, noise_seed=noise_seed)
    source = render(identity, pose, relit(studio, rng), size, noise_seed=noise_seed)
    double_pose = dataclasses.replace(sample_pose(rng), scale=pose.scale)
    double = render(double_identity, double_pose, studio, size, noise_seed=noise_seed + 1)
    return SkinPair(source, truth, double)


def other_tone(tone: float, rng: np.random.Generator) -> float:
    """A skin tone at least :data:`MIN_TONE_GAP` from ``tone``, uniform over what is left of [0, 1]."""
    below, above = max(0.0, tone - MIN_TONE_GAP), max(0.0, 1.0 - tone - MIN_TONE_GAP)
    pick = float(rng.uniform(0.0, below + above))
    return pick if pick < below else tone + MIN_TONE_GAP + (pick - below)
