"""Seeded entry points: single samples, shots (smooth motion, constant identity) and pairs.

Every function takes one integer seed; the same seed gives the same pixels on any machine with the
same torch build. Sub-seeds for identity, pose, studio and per-frame noise come from
``numpy.random.SeedSequence`` so that they are independent.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import numpy as np

from changer.core.errors import ParamError
from changer.training.studio.params import (
    HAIR_STYLES,
    SCREENS,
    Identity,
    Pose,
    Studio,
    sample_identity,
    sample_pose,
    sample_studio,
)
from changer.training.studio.renderer import check_size, render
from changer.training.studio.sample import Sample

MAX_FRAMES = 100_000


def _check_screen(screen: str) -> str:
    if screen not in SCREENS:
        raise ParamError(f"screen: expected one of {', '.join(SCREENS)}, got {screen!r}")
    return screen


def _rngs(seed: int, n: int) -> list[np.random.Generator]:
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParamError(f"seed: expected a non-negative integer, got {seed!r}")
    return [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(n)]


def sample_seed(seed: int, index: int) -> int:
    """The seed of item ``index`` of a seeded collection (datasets, pair lists): independent streams."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint64)[0] >> 1)


def _noise_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**63 - 1))


def scene(seed: int, screen: str = "green") -> tuple[Identity, Pose, Studio, int]:
    """The person, pose, studio and noise seed of :func:`random_sample` ``seed``, not yet rendered."""
    r_id, r_pose, r_studio, r_noise = _rngs(seed, 4)
    kind = _check_screen(screen)
    return sample_identity(r_id, kind), sample_pose(r_pose), sample_studio(r_studio, kind), _noise_seed(r_noise)


def random_sample(seed: int, size: int | tuple[int, int] = 256, screen: str = "green") -> Sample:
    """One still frame of a random person in a random studio."""
    size = check_size(size)
    identity, pose, studio, noise_seed = scene(seed, screen)
    return render(identity, pose, studio, size, noise_seed=noise_seed)


def shot_poses(seed: int, frames: int) -> list[Pose]:
    """Smooth head and body motion: each pose parameter is a sum of two slow sinusoids."""
    (rng,) = _rngs(seed, 1)
    base = sample_pose(rng)
    t = np.arange(frames, dtype=np.float64)
    amplitude = {"x": 0.03, "y": 0.012, "scale": 0.03, "roll": 0.06, "nod": 0.35, "yaw": 0.3,
                 "body_x": 0.008, "body_roll": 0.015}
    tracks = {}
    for name, amp in amplitude.items():
        periods = rng.uniform(40.0, 160.0, 2)
        phases = rng.uniform(0.0, 2.0 * math.pi, 2)
        weights = rng.uniform(0.4, 1.0, 2)
        wave = sum(wt * np.sin(2.0 * math.pi * t / p + ph) for wt, p, ph in zip(weights, periods, phases, strict=True))
        tracks[name] = amp * wave / weights.sum()
    poses = []
    for i in range(frames):
        values = {name: getattr(base, name) + float(tracks[name][i]) for name in amplitude}
        values["nod"] = float(np.clip(values["nod"], -1.0, 1.0))
        values["yaw"] = float(np.clip(values["yaw"], -1.0, 1.0))
        poses.append(Pose(**values))
    return poses


def iter_shot(seed: int, frames: int = 8, size: int | tuple[int, int] = 256, screen: str = "green") -> Iterator[Sample]:
    """K frames of one person in one studio, rendered lazily (a 4K shot need not fit in memory).

    Smooth motion (see :func:`shot_poses`), constant identity and studio, fresh sensor noise per frame,
    motion blur (when the studio has any) following the head's velocity with a 180-degree shutter.
    """
    if not isinstance(frames, int) or not 1 <= frames <= MAX_FRAMES:
        raise ParamError(f"frames: expected an integer in [1, {MAX_FRAMES}], got {frames!r}")
    size = check_size(size)
    kind = _check_screen(screen)
    r_id, r_pose, r_studio, r_noise = _rngs(seed, 4)
    identity = sample_identity(r_id, kind)
    studio = sample_studio(r_studio, kind)
    poses = shot_poses(int(r_pose.integers(0, 2**63 - 1)), frames + 1)
    shutter = 0.5 if studio.motion_blur[0] > 0 else 0.0
    for i in range(frames):
        dx, dy = poses[i + 1].x - poses[i].x, poses[i + 1].y - poses[i].y
        blur = dataclasses.replace(studio, motion_blur=(shutter * math.hypot(dx, dy), math.atan2(dy, dx)))
        sample = render(identity, poses[i], blur, size, noise_seed=_noise_seed(r_noise))
        sample.extra["frame"] = i
        yield sample


def make_shot(seed: int, frames: int = 8, size: int | tuple[int, int] = 256, screen: str = "green") -> list[Sample]:
    """All frames of :func:`iter_shot` as a list."""
    return list(iter_shot(seed, frames, size, screen))


def _other_identity(rng: np.random.Generator, source: Identity, kind: str) -> Identity:
    """An identity whose hair style and head shape both differ from ``source``'s."""
    styles = [s for s in HAIR_STYLES if s != source.hair_style]
    while True:
        candidate = sample_identity(rng, kind, hair_style=str(rng.choice(styles)))
        if candidate.head_shape != source.head_shape and abs(candidate.head_size - source.head_size) > 0.01:
            return candidate


def make_pair(seed: int, size: int | tuple[int, int] = 256, screen: str = "green") -> tuple[Sample, Sample]:
    """(source, target): two identities with different head shapes and hair, same pose and studio."""
    size = check_size(size)
    kind = _check_screen(screen)
    r_id, r_pose, r_studio, r_noise = _rngs(seed, 4)
    source_id = sample_identity(r_id, kind)
    target_id = _other_identity(r_id, source_id, kind)
    pose, studio = sample_pose(r_pose), sample_studio(r_studio, kind)
    source = render(source_id, pose, studio, size, noise_seed=_noise_seed(r_noise))
    target = render(target_id, pose, studio, size, noise_seed=_noise_seed(r_noise))
    source.extra["role"], target.extra["role"] = "source", "target"
    return source, target


def self_reconstruction(seed: int, size: int | tuple[int, int] = 256, screen: str = "green") -> tuple[Sample, Sample]:
    """(source, target) that are the same frame, as CHANGER trains (self-supervised)."""
    sample = random_sample(seed, size, screen)
    sample.extra["role"] = "self"
    return sample, sample
