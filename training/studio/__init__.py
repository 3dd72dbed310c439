"""The procedural green-screen studio: people on chroma screens with exact ground truth.

Real plates never come with exact alpha or part masks, and nothing here can download footage, so the
keyer, the network, the training loop, the evaluation and the demo use plates whose truth is known:
coverage, spill-free foreground, spill, the screen, sensor noise, part masks and a label map.

Space and equation. Everything is generated in the network space (display-referred sRGB-encoded
[0, 1], float32) and ``plate = alpha * (fg + spill) + (1 - alpha) * screen + noise`` holds exactly
there (``noise`` is what was added, clipping included). :mod:`.export` converts to the working space
(ACEScg) through ``changer.core.color`` for EXR.

Model. A person is a stack of layers from implicit shapes (superellipse skull with a jaw taper,
capsule neck, torso with trapezius slope and rounded deltoids) with antialiased coverage from
signed distances and an optical edge softness; faces get socket shadows, almond eyes with iris,
pupil, catchlight and lashes, brows, nose shading and nostrils, lips, ears, optional beard shadow,
skin pores at high resolution; hair is a region per style (bald, short, long, curly, bun, ponytail)
frayed by a directional strand texture and thin flyaway strands splatted with a physical width,
so its alpha is fractional. Lighting is wrapped Lambert from fake normals. The screen has a
gradient, a hotspot falloff, vignetting and fabric unevenness; spill is screen light weighted
towards silhouettes and hair; shadows are the offset, blurred matte; motion blur averages the
premultiplied layers along the motion.

Masks. ``Sample.parts`` is the visible coverage of each label in :data:`LABELS` (they sum to 1 with
background); ``Sample.labels`` is their argmax. Binary masks (:data:`MASKS`): ``head`` = face + ears
+ hair (the paper's head mask), ``face`` excludes the ears, ``neck`` includes the chest skin a
neckline shows, ``body`` is the clothed torso. ``Sample.amodal`` is body + neck ignoring what the head
and hair hide (the Foreground-Prediction target M). Precedence, front to back: flyaways, front hair,
ears (short styles), face, ears (long and curly styles), body, neck, back hair.

Determinism: every entry point takes one seed; sub-seeds come from ``numpy.random.SeedSequence``.
Kernels are numpy float32 on patches around each part (no per-pixel Python), one thread per
generator; parallelism comes from DataLoader workers. ``benchmarks/studio.py`` prints the speed.
"""

from changer.training.studio.dataset import StudioDataset, sample_tensors
from changer.training.studio.generate import (
    iter_shot,
    make_pair,
    make_shot,
    random_sample,
    sample_seed,
    self_reconstruction,
    shot_poses,
)
from changer.training.studio.hard import HARD_CASES, hard_sample, hard_set
from changer.training.studio.params import (
    CLOTH_PATTERNS,
    HAIR_STYLES,
    NECKLINES,
    SCREENS,
    Identity,
    Pose,
    Studio,
    sample_identity,
    sample_pose,
    sample_studio,
)
from changer.training.studio.renderer import MAX_SIZE, MIN_SIZE, render
from changer.training.studio.rig import LABELS
from changer.training.studio.sample import MASKS, Sample

__all__ = [
    "CLOTH_PATTERNS",
    "HAIR_STYLES",
    "HARD_CASES",
    "LABELS",
    "MASKS",
    "MAX_SIZE",
    "MIN_SIZE",
    "NECKLINES",
    "SCREENS",
    "Identity",
    "Pose",
    "Sample",
    "Studio",
    "StudioDataset",
    "iter_shot",
    "make_pair",
    "hard_sample",
    "hard_set",
    "make_shot",
    "random_sample",
    "render",
    "sample_identity",
    "sample_pose",
    "sample_seed",
    "sample_studio",
    "sample_tensors",
    "self_reconstruction",
    "shot_poses",
]
