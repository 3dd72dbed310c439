"""The keyer's parameters: the one place that names them and holds their defaults, ranges and hints.

The plugin builds its parameter list from :func:`param_specs`; the batch CLI, the review panel and
shot-settings TOML use the same names. Out-of-range values raise :class:`ParamError` (naming the
parameter, the value and the range); nothing is clamped silently.

Each spec says itself whether it is in pixels (``spatial``: in pixels of the image that is keyed; a
host rendering at a proxy scale multiplies it by its render scale before calling the keyer) and
whether it also keys the network's input (``network``: every other knob stays at its default there,
because the network was trained on plates keyed that way). The plugin reads both from here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ParamError, shown

#: The flat green the network is trained on and outputs on: ``I_T^green`` is the plate laid over it,
#: and the network's output ``Y`` is keyed against it. It is the digital green of the paper's own
#: result videos, (0, 235, 13) in 8-bit sRGB.
CANONICAL_GREEN: tuple[float, float, float] = (0.0, 235.0 / 255.0, 13.0 / 255.0)

ScreenType = Literal["green", "blue"]
DespillMode = Literal["screen", "limit", "luminance"]
BalanceMode = Literal["auto", "fixed"]
RGB = tuple[float, float, float]


@dataclass(frozen=True)
class ParamSpec:
    """What a host needs to show one parameter: default, hard range (None: unbounded), label, hint."""

    name: str
    kind: str  # "float", "bool", "choice", "rgb" (an "rgb" whose default is None means "automatic")
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    label: str = ""
    hint: str = ""
    spatial: bool = False  #: in pixels: scaled by a host's render scale
    network: bool = False  #: also keys the network's input (a prepare-stage param for the plugin)


def _spec(kind: str, default: Any, label: str, hint: str, minimum: float | None = None,
          maximum: float | None = None, choices: tuple[str, ...] = (), *, spatial: bool = False,
          network: bool = False) -> Any:
    meta = {"spec": dict(kind=kind, minimum=minimum, maximum=maximum, choices=choices, label=label, hint=hint,
                         spatial=spatial, network=network)}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class KeyerParams:
    """Every artist-facing knob of the colour-difference keyer (see :mod:`changer.core.keying.keyer`)."""

    screen_type: ScreenType = _spec(
        "choice", "green", "Screen", "Colour of the backing: green or blue.", choices=("green", "blue"),
        network=True)
    screen_color: RGB | None = _spec(
        "rgb", None, "Screen Colour",
        "The backing colour in the plate's values. Unset: picked automatically from the plate (the "
        "largest area of one screen-coloured chromaticity, robust to the subject).", 0.0, None, network=True)
    auto_clean_plate: bool = _spec(
        "bool", True, "Auto Clean Plate",
        "Estimate the screen behind every pixel from the plate (uneven light, wrinkles, shadows, "
        "noise) when no clean plate is given. Off: one flat screen colour (faster, for evenly lit "
        "digital backgrounds).", network=True)
    screen_gain: float = _spec(
        "float", 1.0, "Screen Gain",
        "How strongly the screen colour is removed: higher makes the background more transparent "
        "(and thin detail thinner).", 0.5, 2.0)
    balance_mode: BalanceMode = _spec(
        "choice", "auto", "Balance Mode",
        "auto: per pixel, compare the key channel with whichever other channel keeps the most "
        "foreground (holds yellows, teals and purples near the screen hue); fixed: use Screen Balance.",
        choices=("auto", "fixed"))
    screen_balance: float = _spec(
        "float", 0.5, "Screen Balance",
        "Mix of the two other channels the key channel is compared with (fixed balance mode, and "
        "always for despill): 1 uses only red, 0 only the third channel (blue for green screens, "
        "green for blue screens).", 0.0, 1.0)
    clip_black: float = _spec(
        "float", 0.0, "Clip Black",
        "Alpha at or below this becomes 0: cleans noise and unevenness out of the background.", 0.0, 1.0)
    clip_white: float = _spec(
        "float", 1.0, "Clip White",
        "Alpha at or above this becomes 1: fills holes in the subject. Must be above Clip Black.", 0.0, 1.0)
    auto_clip_white: float = _spec(
        "float", 0.25, "Auto Clip White",
        "Areas of the matte that are wide and flat (no strand texture, no blur ramp) and key to at least this "
        "level everywhere are taken as solid subject of a colour near the screen's (yellow-green, lilac, "
        "bounce-lit wardrobe): the matte there is divided by the level it reached, a local clip white that keeps "
        "soft edges in proportion. 1 turns it off.", 0.05, 1.0)
    core_depth: float = _spec(
        "float", 2.0, "Auto Core Size",
        "The auto core: where the matte, denoised, is at least Auto Core Level over a whole square of this "
        "radius, it is made solid (noise dips in solid areas). Anything narrower than twice it (strands, fingers' "
        "edges, motion blur) is left to the key; it never fills gaps. 0 turns it off.", 0.0, 200.0, spatial=True)
    core_level: float = _spec(
        "float", 0.8, "Auto Core Level",
        "The hard key the auto core is built from: alpha at or above this, after Auto Clip White.", 0.01, 1.0)
    matte_grow: float = _spec(
        "float", 0.0, "Grow/Shrink",
        "Grow (positive) or shrink (negative) the matte, in pixels.", -100.0, 100.0, spatial=True)
    edge_softness: float = _spec(
        "float", 0.0, "Edge Softness",
        "Blur the matte (Gaussian sigma, in pixels) after grow/shrink.", 0.0, 100.0, spatial=True)
    despill: float = _spec(
        "float", 1.0, "Despill",
        "Strength of spill removal on the foreground: 0 leaves it as keyed, 1 removes all screen colour above the "
        "despill limit (except what Despill Protect keeps).", 0.0, 1.0)
    despill_mode: DespillMode = _spec(
        "choice", "screen", "Despill Mode",
        "screen: subtract the local screen colour, as much as brings the pixel to the despill limit (the "
        "Screen Balance mix of the other two channels): bounce light is screen light, so this restores the "
        "colour under it; limit: pull the key channel down to the limit; luminance: the same, then add the "
        "removed light back as grey so brightness is kept.", choices=("screen", "limit", "luminance"))
    despill_protect: float = _spec(
        "float", 0.2, "Despill Protect",
        "On the solid subject, a colour that would need more than this share of the local screen colour "
        "removed to reach the limit is the subject's own (yellow-green, lilac wardrobe), not spill, and is "
        "kept; from half of it the removal fades out. Soft edges are always despilled. 0 protects nothing.",
        0.0, 1.0)
    despill_bias: RGB | None = _spec(
        "rgb", None, "Despill Bias",
        "A colour that despill must leave unchanged (pick the talent's skin). Unset: neutral grey.",
        0.0, None)

    def __post_init__(self) -> None:
        for spec in param_specs():
            _check(spec, getattr(self, spec.name))
        if not self.clip_black < self.clip_white:
            raise ParamError(f"clip_black={self.clip_black} must be below clip_white={self.clip_white}")
        if self.despill_bias is not None and _bias_other(self.despill_bias, self.screen_type, self.screen_balance) <= 0:
            raise ParamError(f"despill_bias={self.despill_bias}: its non-key channels are all 0; pick a colour with some "
                             "red or " + ("blue" if self.screen_type == "green" else "green"))

    def replace(self, **changes: Any) -> KeyerParams:
        """A copy with some values changed (validated like the constructor)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values keyed by param name (the keys of shot-settings TOML)."""
        return dataclasses.asdict(self)


def param_specs() -> list[ParamSpec]:
    """The keyer's parameters in display order, for hosts that build UIs or settings from them."""
    return [ParamSpec(name=f.name, default=f.default, **f.metadata["spec"]) for f in dataclasses.fields(KeyerParams)]


def key_channels(screen_type: ScreenType) -> tuple[int, int, int]:
    """(key, a, b) channel indices: the screen's channel, red, and the remaining one."""
    return (1, 0, 2) if screen_type == "green" else (2, 0, 1)


def _bias_other(bias: RGB, screen_type: ScreenType, balance: float) -> float:
    _, a, b = key_channels(screen_type)
    return balance * bias[a] + (1.0 - balance) * bias[b]


def despill_bias_factor(params: KeyerParams) -> float:
    """Scale of the despill limit that leaves ``despill_bias`` unchanged (1 for a neutral bias)."""
    if params.despill_bias is None:
        return 1.0
    k, _, _ = key_channels(params.screen_type)
    return params.despill_bias[k] / _bias_other(params.despill_bias, params.screen_type, params.screen_balance)


def _check(spec: ParamSpec, value: Any) -> None:
    name = spec.name
    if spec.kind == "choice":
        if value not in spec.choices:
            raise ParamError(f"{name}={shown(value)}: expected one of {', '.join(spec.choices)}")
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            raise ParamError(f"{name}={shown(value)}: expected true or false")
    elif spec.kind == "rgb":
        if value is None:
            return
        try:
            ok = len(value) == 3 and all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in value)
        except TypeError:
            ok = False
        if not ok:
            raise ParamError(f"{name}={shown(value)}: expected three finite values >= 0 (R, G, B) or unset for automatic")
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ParamError(f"{name}={shown(value)}: expected a finite number in [{spec.minimum}, {spec.maximum}]")
        if not spec.minimum <= value <= spec.maximum:
            raise ParamError(f"{name}={value}: out of range; expected a value in [{spec.minimum}, {spec.maximum}]")
