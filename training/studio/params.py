"""The parameters of a studio sample: who (Identity), where (Pose) and how it was shot (Studio).

All are plain frozen dataclasses of floats, strings and tuples so that they can be logged as JSON next
to the EXR plates and a sample can be re-rendered from its metadata alone. The samplers draw them
from a ``numpy.random.Generator`` so that one seed reproduces the whole sample.

Head-local units: 1 = the head's half-height. Body units are the same (the body scales with the
head). Image units: normalised by the frame height (see ``raster``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

RGB = tuple[float, float, float]

HAIR_STYLES = ("bald", "short", "long", "curly", "bun", "ponytail")
CLOTH_PATTERNS = ("solid", "stripes", "checks", "noise")
NECKLINES = ("crew", "vneck", "collar")
SCREENS = ("green", "blue")

# Skin reflectance anchors in sRGB-encoded [0, 1], from very light to very dark (tone 0 -> 1).
_SKIN_ANCHORS = np.array([
    [0.97, 0.85, 0.77],
    [0.93, 0.76, 0.64],
    [0.86, 0.66, 0.51],
    [0.75, 0.54, 0.39],
    [0.61, 0.41, 0.28],
    [0.46, 0.30, 0.20],
    [0.32, 0.20, 0.13],
    [0.21, 0.13, 0.09],
], dtype=np.float32)

_HAIR_COLOURS = {
    "black": (0.045, 0.038, 0.035),
    "dark_brown": (0.13, 0.085, 0.06),
    "brown": (0.30, 0.19, 0.11),
    "auburn": (0.42, 0.18, 0.08),
    "blond": (0.78, 0.62, 0.40),
    "platinum": (0.88, 0.84, 0.76),
    "grey": (0.62, 0.61, 0.60),
    "red": (0.62, 0.26, 0.11),
}
_HAIR_WEIGHTS = {"black": 0.28, "dark_brown": 0.24, "brown": 0.17, "auburn": 0.06, "blond": 0.12,
                 "platinum": 0.04, "grey": 0.05, "red": 0.04}

_IRIS = [(0.20, 0.11, 0.05), (0.32, 0.19, 0.08), (0.12, 0.07, 0.04), (0.28, 0.42, 0.55), (0.30, 0.38, 0.22),
         (0.38, 0.30, 0.15)]


@dataclass(frozen=True)
class Identity:
    """Everything that stays the same for one person across a shot."""

    skin_tone: float                 # 0 (very light) .. 1 (very dark)
    skin: RGB
    head_size: float                 # half-height of the head in frame heights (before pose scale)
    head_aspect: float               # half-width / half-height: <0.76 long, >0.86 wide
    head_square: float               # superellipse exponent of the skull: 2 round .. 2.8 square
    jaw_taper: float                 # how much narrower the chin is than the cheeks
    neck_length: float               # head units from the chin to the shoulder line
    neck_width: float                # neck half-width, head units
    shoulder_width: float            # shoulder half-width, head units
    shoulder_drop: float             # how far the shoulder points sit below the neck base
    shoulder_square: float           # superellipse exponent of the shoulder line
    hair_style: str
    hair: RGB
    hair_volume: float               # thickness of the hair over the skull, head units
    hair_length: float               # long hair / ponytail: length below the chin, head units
    hair_fringe: float               # 0 no fringe .. 1 fringe down to the brows
    hair_part: float                 # parting offset, head units
    hair_recession: float            # how far the hairline recedes at the temples
    hair_curl: float                 # 0 straight .. 1 tight curls
    flyaways: int                    # number of stray strands
    eye_spacing: float
    eye_size: float
    eye_height: float
    iris: RGB
    brow_thickness: float
    brow_arch: float
    nose_length: float
    nose_width: float
    mouth_width: float
    lip_fullness: float
    lips: RGB
    ear_size: float
    beard: float                     # 0 none .. 1 full stubble shadow
    cloth_pattern: str
    cloth: RGB
    cloth2: RGB
    cloth_scale: float               # pattern period, body units
    cloth_angle: float               # pattern rotation, radians
    neckline: str
    detail_seed: int                 # seeds strands, curls and textures that must stay fixed in a shot

    @property
    def head_shape(self) -> str:
        """Coarse head-shape class used by the variety checks and pair selection."""
        if self.head_aspect < 0.76:
            return "long"
        if self.head_aspect > 0.86:
            return "wide"
        return "round"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"head_shape": self.head_shape}


@dataclass(frozen=True)
class Pose:
    """Where the person is in one frame (image units, radians)."""

    x: float = 0.0                   # head centre, horizontal offset from the frame centre
    y: float = 0.36                  # head centre, from the top
    scale: float = 1.0               # multiplies the identity's head size
    roll: float = 0.0                # head tilt about the neck base
    nod: float = 0.0                 # -1 (up) .. 1 (down): face features slide along the skull
    yaw: float = 0.0                 # -1 .. 1: face features slide sideways, ears turn
    body_x: float = 0.0              # body offset relative to the head
    body_roll: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Studio:
    """The screen, the light and the camera for one shot."""

    screen_kind: str
    screen: RGB                      # screen colour at the brightest point, sRGB-encoded
    gradient: tuple[float, float]    # linear illumination slope across u and v
    hotspot: tuple[float, float]     # brightest point of the key light on the screen (u, v)
    falloff: float                   # radial falloff from the hotspot
    vignette: float                  # lens vignette strength
    wrinkles: float                  # amplitude of low-frequency fabric unevenness
    light: tuple[float, float, float]  # key light direction (x right, y down, z towards camera)
    light_intensity: float
    ambient: float
    spill: float                     # strength of screen light bouncing onto the subject
    shadow: float                    # 0 no shadow .. darkening of the screen behind the subject
    shadow_offset: tuple[float, float]
    shadow_blur: float               # image units
    noise: float                     # read-noise sigma
    shot_noise: float                # signal-dependent noise gain
    edge_softness: float             # optical softness of edges in pixels at 1080 lines (>= 1)
    motion_blur: tuple[float, float]  # (length in image units, angle) of the subject's motion blur
    texture_seed: int = 0            # seeds the screen's fabric unevenness (fixed for a shot)
    dirt: float = 0.0                # stains, scuffs and seams on the screen: 0 none .. 1 heavy
    codec_quality: float = 0.0       # JPEG-style quality of 4:2:0 block compression; 0: uncompressed

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _pick(rng: np.random.Generator, options: dict[str, float]) -> str:
    names = list(options)
    p = np.array([options[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _rgb(values: np.ndarray) -> RGB:
    v = np.clip(values, 0.0, 1.0)
    return float(v[0]), float(v[1]), float(v[2])


def _hsv(h: float, s: float, v: float) -> RGB:
    """HSV (hue in degrees) to an RGB tuple."""
    c = v * s
    hp = (h % 360.0) / 60.0
    x = c * (1 - abs(hp % 2 - 1))
    r, g, b = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(hp) % 6]
    m = v - c
    return r + m, g + m, b + m


def skin_colour(tone: float, rng: np.random.Generator) -> RGB:
    """Interpolate the skin anchors at ``tone`` and jitter the undertone (redder / more yellow)."""
    pos = tone * (len(_SKIN_ANCHORS) - 1)
    i = min(int(pos), len(_SKIN_ANCHORS) - 2)
    base = _SKIN_ANCHORS[i] * (1 - (pos - i)) + _SKIN_ANCHORS[i + 1] * (pos - i)
    undertone = rng.normal(0.0, 0.025)
    return _rgb(base * np.array([1.0 + undertone, 1.0, 1.0 - 2.0 * undertone]) * rng.uniform(0.96, 1.04))


def lips_colour(tone: float, rng: np.random.Generator) -> RGB:
    """Lips: the skin of this tone, redder and darker."""
    return _rgb(np.array(skin_colour(tone, rng)) * np.array([0.86, 0.6, 0.62]) * rng.uniform(0.85, 1.05))


def with_skin(identity: Identity, tone: float, rng: np.random.Generator) -> Identity:
    """The same person (shape, hair, features, wardrobe) with another skin tone: cross-skin pairs."""
    return dataclasses.replace(identity, skin_tone=tone, skin=skin_colour(tone, rng), lips=lips_colour(tone, rng))


def cloth_colour(rng: np.random.Generator, screen_kind: str) -> RGB:
    """Clothing colour; about one in six is a deliberately hard case close to the screen hue."""
    if rng.random() < 0.16:
        hue = rng.uniform(70.0, 100.0) if rng.random() < 0.5 else rng.uniform(160.0, 185.0)
        if screen_kind == "blue":
            hue = rng.uniform(185.0, 205.0) if rng.random() < 0.5 else rng.uniform(240.0, 260.0)
        return _hsv(hue, rng.uniform(0.45, 0.8), rng.uniform(0.35, 0.75))
    if rng.random() < 0.35:
        v = rng.choice([rng.uniform(0.04, 0.15), rng.uniform(0.75, 0.95), rng.uniform(0.3, 0.55)])
        return _hsv(rng.uniform(0, 360), rng.uniform(0.0, 0.12), float(v))
    return _hsv(rng.uniform(0, 360), rng.uniform(0.25, 0.85), rng.uniform(0.15, 0.85))


def sample_identity(rng: np.random.Generator, screen_kind: str = "green",
                    hair_style: str | None = None) -> Identity:
    """Draw one person. ``hair_style`` forces a style (pairs use it to make the two heads differ)."""
    tone = float(rng.uniform(0.0, 1.0))
    style = hair_style or str(rng.choice(HAIR_STYLES, p=[0.10, 0.26, 0.22, 0.16, 0.12, 0.14]))
    hair_name = _pick(rng, _HAIR_WEIGHTS)
    if style == "bald" and rng.random() < 0.5:
        hair_name = "grey" if rng.random() < 0.5 else hair_name
    hair = np.array(_HAIR_COLOURS[hair_name]) * rng.uniform(0.85, 1.15)
    aspect = float(rng.uniform(0.68, 0.94))
    volume = {"bald": 0.0, "short": rng.uniform(0.04, 0.12), "long": rng.uniform(0.05, 0.14),
              "curly": rng.uniform(0.22, 0.5), "bun": rng.uniform(0.03, 0.07),
              "ponytail": rng.uniform(0.03, 0.07)}[style]
    pattern = str(rng.choice(CLOTH_PATTERNS, p=[0.4, 0.22, 0.18, 0.2]))
    cloth = cloth_colour(rng, screen_kind)
    if pattern == "solid":
        cloth2 = cloth
    else:
        cloth2 = _rgb(np.array(cloth_colour(rng, screen_kind)) if rng.random() < 0.6
                      else np.array(cloth) * rng.uniform(0.3, 0.7))
    male_like = rng.random() < 0.5
    return Identity(
        skin_tone=tone,
        skin=skin_colour(tone, rng),
        head_size=float(rng.uniform(0.105, 0.165)),
        head_aspect=aspect,
        head_square=float(rng.uniform(2.0, 2.7)),
        jaw_taper=float(rng.uniform(0.12, 0.34)),
        neck_length=float(rng.uniform(0.3, 0.65)),
        neck_width=float(aspect * rng.uniform(0.5, 0.62) * (1.06 if male_like else 0.95)),
        shoulder_width=float(rng.uniform(1.55, 2.25) * (1.05 if male_like else 0.95)),
        shoulder_drop=float(rng.uniform(0.25, 0.55)),
        shoulder_square=float(rng.uniform(2.4, 4.0)),
        hair_style=style,
        hair=_rgb(hair),
        hair_volume=float(volume),
        hair_length=float(rng.uniform(1.6, 3.6)),
        hair_fringe=float(rng.uniform(0.0, 1.0) if rng.random() < 0.4 else 0.0),
        hair_part=float(rng.uniform(-0.35, 0.35)),
        hair_recession=float(rng.uniform(0.0, 0.35) if male_like else rng.uniform(0.0, 0.1)),
        hair_curl=float(rng.uniform(0.55, 1.0) if style == "curly" else rng.uniform(0.0, 0.3)),
        flyaways=int(0 if style == "bald" else rng.integers(12, 60)),
        eye_spacing=float(rng.uniform(0.3, 0.37)),
        eye_size=float(rng.uniform(0.85, 1.15)),
        eye_height=float(rng.uniform(-0.06, 0.06)),
        iris=_IRIS[int(rng.integers(len(_IRIS)))] if tone < 0.4 else _IRIS[int(rng.choice([0, 1, 2]))],
        brow_thickness=float(rng.uniform(0.035, 0.065) * (1.2 if male_like else 0.9)),
        brow_arch=float(rng.uniform(0.02, 0.09)),
        nose_length=float(rng.uniform(0.85, 1.15)),
        nose_width=float(rng.uniform(0.85, 1.25)),
        mouth_width=float(rng.uniform(0.85, 1.15)),
        lip_fullness=float(rng.uniform(0.7, 1.3) * (0.9 if male_like else 1.1)),
        lips=lips_colour(tone, rng),
        ear_size=float(rng.uniform(0.85, 1.15)),
        beard=float(rng.uniform(0.2, 0.8) if male_like and rng.random() < 0.3 else 0.0),
        cloth_pattern=pattern,
        cloth=cloth,
        cloth2=cloth2,
        cloth_scale=float(rng.uniform(0.12, 0.4)),
        cloth_angle=float(rng.choice([0.0, math.pi / 2, rng.uniform(-0.5, 0.5)])),
        neckline=str(rng.choice(NECKLINES, p=[0.45, 0.3, 0.25])),
        detail_seed=int(rng.integers(0, 2**31 - 1)),
    )


def sample_pose(rng: np.random.Generator) -> Pose:
    """A still frame's framing: head-and-shoulders, off-centre a little, tilted a little."""
    return Pose(
        x=float(rng.uniform(-0.08, 0.08)),
        y=float(rng.uniform(0.3, 0.4)),
        scale=float(rng.uniform(0.85, 1.2)),
        roll=float(rng.normal(0.0, 0.06)),
        nod=float(rng.uniform(-0.4, 0.4)),
        yaw=float(rng.uniform(-0.35, 0.35)),
        body_x=float(rng.normal(0.0, 0.01)),
        body_roll=float(rng.normal(0.0, 0.02)),
    )


def sample_studio(rng: np.random.Generator, screen_kind: str = "green") -> Studio:
    """Screen colour and unevenness, light, spill, shadow, noise and blur of one shot."""
    # About one screen in six is deliberately dim (underlit): with dark hair, the hardest key.
    value = rng.uniform(0.22, 0.36) if rng.random() < 0.16 else rng.uniform(0.38, 0.85)
    if screen_kind == "green":
        colour = _hsv(rng.uniform(112, 140), rng.uniform(0.55, 0.85), value)
    else:
        colour = _hsv(rng.uniform(208, 228), rng.uniform(0.6, 0.9), value)
    light = _light_direction(rng)
    blur = rng.random() < 0.2
    return Studio(
        screen_kind=screen_kind,
        screen=colour,
        gradient=(float(rng.normal(0, 0.15)), float(rng.normal(0, 0.15))),
        hotspot=(float(rng.uniform(-0.5, 0.5)), float(rng.uniform(0.1, 0.7))),
        falloff=float(rng.uniform(0.05, 0.45)),
        vignette=float(rng.uniform(0.0, 0.35)),
        wrinkles=float(rng.uniform(0.0, 0.06)),
        light=light,
        light_intensity=_light_intensity(rng),
        ambient=_ambient(rng),
        spill=float(rng.uniform(0.08, 0.35)),
        shadow=float(rng.uniform(0.15, 0.5) if rng.random() < 0.4 else 0.0),
        shadow_offset=(float(-light[0] * rng.uniform(0.02, 0.08)), float(rng.uniform(0.0, 0.05))),
        shadow_blur=float(rng.uniform(0.01, 0.04)),
        noise=float(rng.uniform(0.002, 0.015)),
        shot_noise=float(rng.uniform(0.0, 0.0004)),
        edge_softness=float(rng.uniform(1.0, 2.5)),
        motion_blur=(float(rng.uniform(0.002, 0.01)) if blur else 0.0, float(rng.uniform(0, math.pi))),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
    )


def _light_direction(rng: np.random.Generator) -> tuple[float, float, float]:
    """A key light from the front half, mostly from above: a unit vector."""
    lx, ly = rng.uniform(-0.8, 0.8), rng.uniform(-0.7, 0.15)
    lz = rng.uniform(0.45, 1.0)
    n = math.sqrt(lx * lx + ly * ly + lz * lz)
    return float(lx / n), float(ly / n), float(lz / n)


def _light_intensity(rng: np.random.Generator) -> float:
    return float(rng.uniform(0.55, 0.85))


def _ambient(rng: np.random.Generator) -> float:
    return float(rng.uniform(0.35, 0.5))


def relit(studio: Studio, rng: np.random.Generator) -> Studio:
    """The same studio under another key light and ambient: where the actor was filmed."""
    return dataclasses.replace(studio, light=_light_direction(rng), light_intensity=_light_intensity(rng),
                               ambient=_ambient(rng))
