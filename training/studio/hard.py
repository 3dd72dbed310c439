"""Hard cases for keyers: studio samples pushed to what breaks chroma keys, in two disjoint splits.

Every case keeps a person with hair and flyaway strands (hair is where keyers fail) and pushes one
thing further than :func:`.params.sample_studio` ever draws it: many fine strands, dark strands on
an uneven screen, long motion blur, wardrobe near the screen hue (yellow-green on green, lilac on
blue), grey wardrobe under strong bounce, saturated and clipped screens, dirty screens, and codec
damage (4:2:0 chroma and 8x8 blocks).

Two splits draw the same cases from *different seeds and different parameter ranges*: ``tune`` is
what a keyer may be developed against, ``held_out`` is only ever measured (its ranges sit around and
beyond the tune ranges, its hair styles and screen assignment differ). A keyer fitted to ``tune``
shows it as a gap between the two.
"""

from __future__ import annotations

import colorsys
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from changer.core.errors import ParamError
from changer.training.studio.params import Identity, Studio, _hsv, sample_identity, sample_pose, sample_studio
from changer.training.studio.renderer import check_size, render
from changer.training.studio.sample import Sample

SPLITS = ("tune", "held_out")


@dataclass(frozen=True)
class Ranges:
    """What a split draws for the pushed parameters (each a (low, high) range)."""

    styles: tuple[str, ...]
    flyaways: tuple[int, int]
    blur: tuple[float, float]            # motion blur length, frame heights
    yellow_green: tuple[float, float]    # wardrobe hue on green screens (degrees)
    lilac: tuple[float, float]           # wardrobe hue on blue screens (degrees)
    saturation: tuple[float, float]      # of the saturated screens
    dirt: tuple[float, float]
    quality: tuple[float, float]         # codec quality
    blue_parity: int                     # seeds of this parity are shot on blue


_RANGES = {
    "tune": Ranges(styles=("long", "short"), flyaways=(60, 140), blur=(0.012, 0.03), yellow_green=(68.0, 92.0),
                   lilac=(262.0, 285.0), saturation=(0.93, 1.0), dirt=(0.4, 0.8), quality=(55.0, 80.0),
                   blue_parity=1),
    "held_out": Ranges(styles=("long", "curly", "ponytail", "short"), flyaways=(40, 200), blur=(0.008, 0.04),
                       yellow_green=(58.0, 97.0), lilac=(250.0, 295.0), saturation=(0.88, 1.0), dirt=(0.3, 1.0),
                       quality=(45.0, 90.0), blue_parity=0),
}


def _fine_strands(rng: np.random.Generator, r: Ranges, idn: Identity, studio: Studio) -> tuple[Identity, Studio]:
    return idn, studio


def _dark_strands(rng: np.random.Generator, r: Ranges, idn: Identity, studio: Studio) -> tuple[Identity, Studio]:
    hair = tuple(float(c) for c in np.array((0.06, 0.045, 0.035)) * rng.uniform(0.7, 1.5))
    value = rng.uniform(0.35, 0.6)
    screen = tuple(float(c) for c in np.array(studio.screen) * (value / max(studio.screen)))
    return (dataclasses.replace(idn, hair=hair),
            dataclasses.replace(studio, screen=screen, falloff=float(rng.uniform(0.3, 0.5)),
                                vignette=float(rng.uniform(0.2, 0.4))))


def _motion_blur(rng: np.random.Generator, r: Ranges, idn: Identity, studio: Studio) -> tuple[Identity, Studio]:
    return idn, dataclasses.replace(studio, motion_blur=(float(rng.uniform(*r.blur)), float(rng.uniform(0, np.pi))))


def _near_screen(rng: np.random.Generator, r: Ranges, idn: Identity, studio: Studio) -> tuple[Identity, Studio]:
    if studio.screen_kind == "green":
        cloth = _hsv(rng.uniform(*r.yellow_green), rng.uniform(0.45, 0.8), rng.uniform(0.5, 0.85))
    else:
        cloth = _hsv(rng.uniform(*r.lilac), rng.uniform(0.25, 0.5), rng.uniform(0.65, 0.9))
    stripes = rng.random() < 0.4
    cloth2 = _hsv(rng.uniform(45.0, 60.0), rng.uniform(0.6, 0.9), rng.uniform(0.75, 0.95)) if stripes else cloth
    return (dataclasses.replace(idn, cloth=cloth, cloth2=cloth2, cloth_pattern="stripes" if stripes else "solid"),
            dataclasses.replace(studio, spill=float(rng.uniform(0.15, 0.35))))


def _grey_wardrobe(rng: np.random.Generator, r: Ranges, idn: Identity, studio: Studio) -> tuple[Identity, Studio]:
    cloth = _hsv(rng.uniform(0, 360), rng.uniform(0.0, 0.06), rng.uniform(0.3, 0.9))
    return (dataclasses.replace(idn, cloth=cloth, cloth2=cloth, cloth_pattern="solid"),
            dataclasses.replace(studio, spill=float(rng.uniform(0.3, 0.45))))


def _saturated_screen(rng: np.random.Generator, r: Ranges, idn: Identity, studio: Studio) -> tuple[Identity, Studio]:
    hue = rng.uniform(115, 135) if studio.screen_kind == "green" else rng.uniform(212, 232)
    screen = _hsv(hue, rng.uniform(*r.saturation), rng.uniform(0.8, 1.0))
    return idn, dataclasses.replace(studio, screen=screen, falloff=float(rng.uniform(0.2, 0.45)))


def _dirty_screen(rng: np.random.Generator, r: Ranges, idn: Identity, studio: Studio) -> tuple[Identity, Studio]:
    return idn, dataclasses.replace(studio, dirt=float(rng.uniform(*r.dirt)), wrinkles=float(rng.uniform(0.05, 0.1)),
                                    shadow=float(rng.uniform(0.2, 0.45)))


def _compressed(rng: np.random.Generator, r: Ranges, idn: Identity, studio: Studio) -> tuple[Identity, Studio]:
    return idn, dataclasses.replace(studio, codec_quality=float(rng.uniform(*r.quality)))


def _hue_distance(a: tuple[float, float, float], b: tuple[float, float, float]) -> tuple[float, float]:
    """(hue distance in degrees, saturation of ``a``)."""
    (ha, sa, _), (hb, _, _) = colorsys.rgb_to_hsv(*a), colorsys.rgb_to_hsv(*b)
    d = abs(ha - hb) * 360.0
    return min(d, 360.0 - d), sa


def _off_screen_wardrobe(rng: np.random.Generator, idn: Identity, studio: Studio) -> Identity:
    """Wardrobe in the screen's own hue is unkeyable without roto: redraw it far from the screen hue
    (the near-screen case then sets its own colours on purpose)."""
    def fix(cloth: tuple[float, float, float]) -> tuple[float, float, float]:
        dist, sat = _hue_distance(cloth, studio.screen)
        if dist >= 40.0 or sat < 0.2:
            return cloth
        h, s, v = colorsys.rgb_to_hsv(*cloth)
        screen_hue = colorsys.rgb_to_hsv(*studio.screen)[0] * 360.0
        return _hsv(float(screen_hue + rng.choice([-1.0, 1.0]) * rng.uniform(90.0, 180.0)), s, v)
    return dataclasses.replace(idn, cloth=fix(idn.cloth), cloth2=fix(idn.cloth2))


Recipe = Callable[[np.random.Generator, Ranges, Identity, Studio], tuple[Identity, Studio]]
#: Case name -> how it pushes a drawn identity and studio.
HARD_CASES: dict[str, Recipe] = {
    "fine strands": _fine_strands,
    "dark strands, uneven screen": _dark_strands,
    "motion blur": _motion_blur,
    "wardrobe near the screen hue": _near_screen,
    "grey wardrobe, strong bounce": _grey_wardrobe,
    "saturated screen": _saturated_screen,
    "dirty screen": _dirty_screen,
    "compressed": _compressed,
}


def hard_sample(case: str, seed: int, size: int | tuple[int, int] = 512, split: str = "tune") -> Sample:
    """One sample of a hard ``case`` from ``split``; the same (case, seed, split) gives the same pixels."""
    if case not in HARD_CASES:
        raise ParamError(f"hard case {case!r}: expected one of {', '.join(HARD_CASES)}")
    if split not in SPLITS:
        raise ParamError(f"split {split!r}: expected one of {', '.join(SPLITS)}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParamError(f"seed: expected a non-negative integer, got {seed!r}")
    size = check_size(size)
    r = _RANGES[split]
    streams = np.random.SeedSequence([int(seed), list(HARD_CASES).index(case), SPLITS.index(split), 0x4A8D]).spawn(5)
    r_id, r_pose, r_studio, r_case, r_noise = (np.random.default_rng(s) for s in streams)
    kind = "blue" if seed % 2 == r.blue_parity else "green"
    identity = sample_identity(r_id, kind, hair_style=str(r_case.choice(r.styles)))
    identity = dataclasses.replace(identity, flyaways=int(r_case.integers(*r.flyaways)))
    studio = sample_studio(r_studio, kind)
    identity = _off_screen_wardrobe(r_case, identity, studio)
    identity, studio = HARD_CASES[case](r_case, r, identity, studio)
    sample = render(identity, sample_pose(r_pose), studio, size, noise_seed=int(r_noise.integers(0, 2**63 - 1)))
    sample.extra.update(case=case, split=split, seed=int(seed))
    return sample


def hard_set(split: str = "tune", per_case: int = 2) -> list[tuple[str, int]]:
    """(case, seed) for ``per_case`` samples of every case: seeds 0.. (every case gets both screens
    once ``per_case`` >= 2)."""
    if split not in SPLITS:
        raise ParamError(f"split {split!r}: expected one of {', '.join(SPLITS)}")
    return [(case, seed) for case in HARD_CASES for seed in range(per_case)]
