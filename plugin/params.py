"""THE parameter list of the CHANGER node: the only place that names, types and bounds a parameter.

The OpenFX-shaped description (:mod:`.descriptor`), the batch CLI (``--set key=value``), shot files
(``--config shot.toml``), the review panel and the host adapters all read :data:`PARAMS`. The
keyer's parameters are taken from :func:`changer.core.keying.param_specs` and wrapped, never
re-typed, so a knob added to the keyer appears everywhere.

Every param says which render ``stage`` a change invalidates (that stage and every later one); the
stages are the cache boundaries of :meth:`changer.plugin.effect.HeadBlendEffect.render`:

* ``prepare``: the network's inputs change (mattes, crop, network resolution, the screen settings the
  network's ``I_T^green`` is keyed with, device, colour), so everything runs again;
* ``infer``: only the network's output changes (τ, the weights): the prepared inputs are reused;
* ``comp``: only the composite changes (the artist's keyer settings for the final matte of the plate
  and the key of ``Y``, output, seam), so a cached network output is re-composited.

``spatial`` params are in pixels at full scale: a host rendering at an OpenFX render scale multiplies
them by it (:meth:`ParamValues.frame_settings`). Validation never clamps: an out-of-range value is a
:class:`ParamError` naming the param, the value and the range; an unknown name lists the closest
valid ones. ``changer params --markdown`` prints the params table.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from changer.core.color import ColorConfig, get_config
from changer.core.errors import ParamError, shown
from changer.core.headmatte import MATTE_COMBINE_MODES, HeadMatteSettings
from changer.core.keying import KeyerParams, param_specs
from changer.core.pipeline import FrameSettings, GradeSettings, MatteSettings

PARAM_TYPES = ("float", "int", "bool", "choice", "string", "path", "rgb")
STAGES = ("prepare", "infer", "comp")
PAGES = ("Head Blend", "Mattes", "Keyer", "Output", "Setup")
#: Keyer params that the network's input ``I_T^green`` is keyed with (the keyer's specs say which);
#: they are prepare-stage params.
NETWORK_KEYER_PARAMS = tuple(spec.name for spec in param_specs() if spec.network)
#: Keyer params measured in pixels (scaled by the render scale), as the keyer's specs say.
SPATIAL_KEYER_PARAMS = tuple(spec.name for spec in param_specs() if spec.spatial)
OUTPUTS = ("comp", "green", "mattes", "aovs")
ALIGNMENTS = ("auto", "none", "similarity")
METHODS = ("changer", "classical")
NECK_FILLS = ("skin", "network")
EMPTY_MATTE_POLICIES = ("error", "passthrough")
DEVICES = ("auto", "cpu", "cuda")
#: Network crops are resized to a square of this many pixels; it must be a multiple of this.
NETWORK_RESOLUTION_MULTIPLE = 16


@dataclass(frozen=True)
class Param:
    """One node parameter: what every host needs to show, parse, validate and scale it.

    ``minimum``/``maximum`` are the hard range (None: unbounded), ``display_min``/``display_max``
    the slider range. ``type`` "rgb" with a None default means "automatic" (the value may be unset).
    """

    name: str
    type: str
    default: Any
    label: str
    hint: str
    page: str
    stage: str
    minimum: float | None = None
    maximum: float | None = None
    display_min: float | None = None
    display_max: float | None = None
    choices: tuple[str, ...] = ()
    group: str = ""
    spatial: bool = False

    def validate(self, value: Any) -> Any:
        """``value`` checked (and normalised: ints to floats, lists to tuples); ParamError if invalid."""
        kind = self.type
        if kind in ("float", "int"):
            return self._number(value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise ParamError(f"{self.name}={shown(value)}: expected true or false")
            return value
        if kind == "choice":
            if value not in self.choices:
                raise ParamError(f"{self.name}={shown(value)}: expected one of {', '.join(self.choices)}")
            return value
        if kind in ("string", "path"):
            if not isinstance(value, str):
                raise ParamError(f"{self.name}={shown(value)}: expected a string")
            return value
        return self._rgb(value)

    def parse(self, text: str) -> Any:
        """A value from command-line text (``--set name=text``), validated."""
        text = text.strip()
        if self.type == "float":
            value: Any = _to_number(self.name, text, float)
        elif self.type == "int":
            value = _to_number(self.name, text, int)
        elif self.type == "bool":
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ParamError(f"{self.name}={shown(text)}: expected true or false")
            value = lowered in ("true", "1", "yes", "on")
        elif self.type == "rgb":
            value = None if text.lower() in ("", "auto", "none") else [
                _to_number(self.name, part, float) for part in text.split(",")]
        else:
            value = text
        return self.validate(value)

    def _number(self, value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ParamError(f"{self.name}={shown(value)}: expected a finite number in {self.range_text()}")
        if self.type == "int":
            if value != int(value):
                raise ParamError(f"{self.name}={shown(value)}: expected a whole number in {self.range_text()}")
            value = int(value)
        else:
            value = float(value)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ParamError(f"{self.name}={value}: out of range; expected a value in {self.range_text()}")
        return value

    def _rgb(self, value: Any) -> tuple[float, float, float] | None:
        if value is None:
            if self.default is None:
                return None
            raise ParamError(f"{self.name}: expected three numbers R,G,B")
        try:
            ok = len(value) == 3 and all(
                not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) for v in value)
        except TypeError:
            ok = False
        if not ok:
            raise ParamError(f"{self.name}={shown(value)}: expected three finite numbers R,G,B"
                             + (" or 'auto'" if self.default is None else ""))
        low = -math.inf if self.minimum is None else self.minimum
        high = math.inf if self.maximum is None else self.maximum
        if not all(low <= v <= high for v in value):
            raise ParamError(f"{self.name}={tuple(value)}: out of range; expected each value in {self.range_text()}")
        return (float(value[0]), float(value[1]), float(value[2]))

    def range_text(self) -> str:
        low = "-inf" if self.minimum is None else f"{self.minimum:g}"
        high = "inf" if self.maximum is None else f"{self.maximum:g}"
        return f"[{low}, {high}]"


def _to_number(name: str, text: str, kind: type) -> Any:
    try:
        return kind(text) if kind is float else int(text, 10)
    except ValueError:
        raise ParamError(f"{name}={shown(text)}: expected a {'number' if kind is float else 'whole number'}") from None


def _keyer_params() -> list[Param]:
    """The keyer's specs as node params (Keyer page)."""
    params = []
    for spec in param_specs():
        kind = spec.kind if spec.kind in PARAM_TYPES else "float"
        network = spec.network
        params.append(Param(
            name=spec.name, type=kind, default=spec.default, label=spec.label,
            hint=spec.hint + (" Also used to key the network's input." if network else ""),
            page="Keyer", stage="prepare" if network else "comp", minimum=spec.minimum, maximum=spec.maximum,
            display_min=spec.minimum, display_max=spec.maximum, choices=tuple(spec.choices),
            group="Screen" if network else "Matte", spatial=spec.spatial,
        ))
    return params


def _matte_params(prefix: str, who: str, grow: float, grow_why: str) -> list[Param]:
    group = f"{who} head matte"
    return [
        Param(f"{prefix}_matte_threshold", "float", 0.0, f"{who} Threshold",
              f"Above 0, the {who.lower()} head matte becomes 1 where it is at or above this and 0 elsewhere (the "
              "paper's binary masks). 0 keeps the matte soft as given, as the shipped weights were trained.", "Mattes",
              "prepare", 0.0, 1.0, 0.0, 1.0,
              group=group),
        Param(f"{prefix}_matte_grow", "float", grow, f"{who} Grow/Shrink",
              f"Grow (positive) or shrink (negative) the {who.lower()} head matte, in pixels. {grow_why}", "Mattes",
              "prepare", -500.0, 500.0, -50.0, 50.0, group=group, spatial=True),
        Param(f"{prefix}_matte_feather", "float", 0.0, f"{who} Feather",
              f"Blur the {who.lower()} head matte after grow/shrink (Gaussian sigma, pixels).", "Mattes",
              "prepare", 0.0, 500.0, 0.0, 50.0, group=group, spatial=True),
    ]


def _auto_matte_params() -> list[Param]:
    """The automatic head matte's controls (``changer mattes``; :mod:`changer.core.headmatte`)."""
    group = "Automatic head matte"
    return [
        Param("auto_matte_neck_offset", "float", 0.0, "Neck Line Offset",
              "Move the automatic head matte's neck line, which runs just under the jaw of the fitted face, down "
              "(positive: keeps a beard or the chin over a collar) or up (negative), in pixels.", "Mattes",
              "prepare", -500.0, 500.0, -50.0, 50.0, group=group, spatial=True),
        Param("auto_matte_hair", "bool", True, "Hair Below Jaw",
              "Grow long hair back below the neck line, from a colour model of the hair above it. Off: "
              "everything below the neck line is cut (short hair, or hair the colour of the clothing).", "Mattes",
              "prepare", group=group),
        Param("auto_matte_hair_reach", "float", 3.0, "Hair Reach",
              "How far below the neck line hair is grown back, in face heights (top of the forehead to the "
              "chin).", "Mattes", "prepare", 0.0, 10.0, 0.0, 4.0, group=group),
        Param("auto_matte_head_margin", "float", 1.0, "Head Region Margin",
              "The head region around the fitted face, in face heights to the sides and above: hair, hats and ears "
              "inside it are kept, anything beyond it (hands, props, a second person) is not.", "Mattes",
              "prepare", 0.0, 5.0, 0.0, 3.0, group=group),
    ]


def _matte_combine_param() -> Param:
    """How a connected head-matte clip and the automatic head matte make the matte a render uses."""
    return Param("matte_combine", "choice", "replace", "Matte Combine",
                 "What a connected head-matte clip does with the automatic head matte, for each head (Target, "
                 "Source): replace: the clip is the matte and no automatic matte is made (roto wins); add: the "
                 "larger of the two (the clip adds what the automatic matte missed); subtract: the automatic "
                 "matte less the clip (the clip cuts out what it should not hold). An unconnected head-matte clip "
                 "is always made automatically.", "Mattes", "prepare", choices=MATTE_COMBINE_MODES,
                 group="Automatic head matte")


PARAMS: tuple[Param, ...] = (
    Param("tau", "float", 0.5, "τ (FPAT threshold)",
          "Fraction of a patch's pixels that the predicted foreground M must call body for the patch to join "
          "the body group of FPAT's attention. Lower: more patches count as body.", "Head Blend", "infer",
          0.0, 1.0, 0.0, 1.0),
    Param("method", "choice", "changer", "Method",
          "changer: the CHANGER network makes the new head's colour and the neck and body it uncovers. "
          "classical: no network; the aligned, grade-matched source head is pasted with its feathered matte over "
          "the double's body; where the new jaw ends above the double's neck, the neck is continued from its skin. "
          "Same outputs and layers; "
          "use it where the synthetic-trained network is not good enough (real footage today).", "Head Blend",
          "infer", choices=METHODS),
    Param("neck_fill", "choice", "skin", "Neck Fill",
          "With method=changer, the neck bridge (where the new jaw ends above the double's neck). skin: continued "
          "from the double's neck skin around it, as the classical method fills it. network: what the network "
          "painted (on real footage it painted stripes where the double's beard was). The rest of the region the "
          "double's head uncovers is the network's either way.", "Head Blend", "infer", choices=NECK_FILLS),
    Param("alignment", "choice", "auto", "Alignment",
          "none: the source plate is used where it is (it must have the target's size). similarity: scale, "
          "rotate and move the source head so that its matte's centroid, area and orientation match the target "
          "head matte's (mattes that include very different hair make this fit the hair, not the face). auto: "
          "similarity when the source plate's size differs from the target's, else none.", "Head Blend",
          "prepare", choices=ALIGNMENTS),
    Param("grade_strength", "float", 1.0, "Grade Match",
          "How far the new head's skin is moved to the double's (CIELAB median of the skin at the top of the "
          "double's neck, else median and spread of its face; contrast clamped to 0.5-2x): applied to the source "
          "before the network (the grey head's lightness) and to the result after it. 0: the source's own "
          "colours.", "Head Blend", "prepare",
          0.0, 1.0, 0.0, 1.0),
    Param("grade_colour", "rgb", None, "Grade Skin Colour",
          "The double's skin colour to match to (working space, e.g. picked off the neck). auto: measured on "
          "the double's neck under the target head matte, else in it.", "Head Blend", "prepare", 0.0, 1000.0, 0.0, 1.0),
    Param("neck_margin", "float", 0.0, "Neck Margin",
          "Also remove this many pixels around the head union from the body reference I_T^body (the network "
          "was trained with 0).", "Head Blend", "prepare", 0.0, 1000.0, 0.0, 100.0, spatial=True),
    Param("crop_padding", "float", 0.6, "Crop Padding",
          "Space added on each side of the head union's box before it is cut out for the network, as a "
          "fraction of the box's larger side. The network was trained on whole studio frames where the head is "
          "about a third to a half of the frame height: 0.5-0.8 matches that.", "Head Blend", "prepare",
          0.0, 4.0, 0.0, 2.0),
    Param("network_resolution", "int", 256, "Network Resolution",
          f"The crop is resized to a square of this many pixels for the network (a multiple of "
          f"{NETWORK_RESOLUTION_MULTIPLE}); the shipped weights are trained at 256. The network's cost depends "
          "on this, not on the plate size.", "Head Blend", "prepare", 64, 1024, 128, 512),
    *_matte_params("target", "Target", 2.0,
                   "The default 2 covers the soft edge of the double's hair, which would otherwise stay in X "
                   "as a faint outline."),
    *_matte_params("source", "Source", 0.0,
                   "Growing it brings the source plate's screen into the grey head."),
    Param("on_empty_matte", "choice", "error", "On Empty Matte",
          "What an empty head matte (nothing above its threshold) does: error stops the render naming the "
          "clip and frame; passthrough outputs the target plate unchanged for that frame.", "Mattes",
          "prepare", choices=EMPTY_MATTE_POLICIES),
    *_auto_matte_params(),
    _matte_combine_param(),
    *_keyer_params(),
    Param("output", "choice", "comp", "Output",
          "comp: the keyed result (new head, plate elsewhere) premultiplied, over Background when connected. "
          "green: the edited plate on its own screen, bit-identical to the plate outside the edit. mattes: "
          "RGB = final matte, predicted M, inpaint region M^ip. aovs: comp plus X, Y, ToRGB, plate alpha, "
          "union and edit-weight layers.", "Output", "comp", choices=OUTPUTS),
    Param("seam_feather", "float", 8.0, "Seam Feather",
          "Softness of the seam where the network's result meets the plate (Gaussian sigma, pixels). The edit "
          "region is the head union grown by twice this, blurred by it, so it ends 5x this outside the union.",
          "Output", "comp", 0.0, 500.0, 0.0, 50.0, spatial=True),
    Param("device", "choice", "auto", "Device",
          "auto: CUDA when available, else CPU. One model is loaded per device.", "Setup", "prepare",
          choices=DEVICES),
    Param("weights", "path", "", "Weights",
          "A .safetensors weights file (with its .json card beside it). Empty: the first found in "
          "$CHANGER_WEIGHTS, then the shipped weights.", "Setup", "infer"),
    Param("ocio_config", "string", "", "OCIO Config",
          "OCIO config path or ocio:// URI. Empty: $OCIO, else the built-in "
          "ocio://cg-config-v2.2.0_aces-v1.3_ocio-v2.4.", "Setup", "prepare"),
    Param("working_space", "string", "ACEScg", "Working Space",
          "Colourspace of the plates and of the output (scene-linear). Mattes get no colour transform.",
          "Setup", "prepare"),
)

_BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS}
#: Every keyer param, in the keyer's order.
KEYER_PARAMS = tuple(spec.name for spec in param_specs())
#: The automatic head matte's own params (``changer mattes`` reads these, the keyer's and the colour setup).
AUTO_MATTE_PARAMS = tuple(p.name for p in _auto_matte_params())


def get_param(name: str) -> Param:
    """The param called ``name``; ParamError listing the closest names when there is none."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise unknown_param_error(name) from None


def unknown_param_error(name: str) -> ParamError:
    close = difflib.get_close_matches(str(name), list(_BY_NAME), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; valid names: {', '.join(_BY_NAME)}"
    return ParamError(f"unknown param {shown(name)}{hint}")


def defaults() -> dict[str, Any]:
    return {p.name: p.default for p in PARAMS}


class ParamValues(Mapping[str, Any]):
    """A complete, validated set of values (one per param), immutable. Build with :func:`resolve_params`.

    Validated once, here at the edge: the engine settings built from it (:meth:`frame_settings`) reuse
    the keyer settings checked at construction and are kept per render scale.
    """

    def __init__(self, values: Mapping[str, Any], keyer: KeyerParams) -> None:
        self._values = dict(values)
        self._keyer = keyer
        self._settings: dict[tuple[float, int | None], FrameSettings] = {}
        self._digests: dict[str, str] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            raise unknown_param_error(name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        changed = {k: v for k, v in self._values.items() if v != _BY_NAME[k].default}
        return f"ParamValues({changed})"

    def replace(self, **changes: Any) -> ParamValues:
        """A copy with some values changed; only those are validated (and the cross-param rules)."""
        merged = dict(self._values)
        for name, value in changes.items():
            merged[name] = get_param(name).validate(value)
        return _checked(merged)

    def changed(self, other: Mapping[str, Any]) -> set[str]:
        """Names whose values differ between ``self`` and ``other``."""
        return {name for name in self._values if self._values[name] != other[name]}

    def invalidated_stage(self, other: Mapping[str, Any]) -> str | None:
        """The earliest stage a switch from ``other`` to ``self`` invalidates (None: nothing changed)."""
        stages = {_BY_NAME[name].stage for name in self.changed(other)}
        return next((stage for stage in STAGES if stage in stages), None)

    def stage_digest(self, stage: str) -> str:
        """Digest of the values a stage's product depends on: its own params and every earlier stage's."""
        digest = self._digests.get(stage)
        if digest is None:
            upto = STAGES[:STAGES.index(stage) + 1]
            digest = self._digests[stage] = self.digest_of(p.name for p in PARAMS if p.stage in upto)
        return digest

    def digest_of(self, names: Iterable[str]) -> str:
        """Digest of the values of ``names`` (a cache key: equal values, equal digest)."""
        text = json.dumps({name: self[name] for name in names}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def keyer_params(self, render_scale: float = 1.0) -> KeyerParams:
        """The artist's keyer settings (comp stage), spatial ones scaled by ``render_scale``."""
        if render_scale == 1.0:
            return self._keyer
        return self._keyer.replace(**{name: self._values[name] * render_scale for name in SPATIAL_KEYER_PARAMS})

    def scaled(self, name: str, render_scale: float = 1.0) -> Any:
        """A value with the render scale applied if the param is spatial."""
        value = self[name]
        return value * render_scale if _BY_NAME[name].spatial else value

    def frame_settings(self, render_scale: float = 1.0, query_patch: int | None = None) -> FrameSettings:
        """The engine's settings for one render at ``render_scale`` (spatial params scaled); ``query_patch``
        asks the network for one FPAT patch's attention (the review panel)."""
        key = (render_scale, query_patch)
        settings = self._settings.get(key)
        if settings is None:
            settings = self._settings[key] = self._frame_settings(render_scale, query_patch)
        return settings

    def _frame_settings(self, render_scale: float, query_patch: int | None) -> FrameSettings:
        def matte(prefix: str) -> MatteSettings:
            return MatteSettings(self[f"{prefix}_matte_threshold"], self.scaled(f"{prefix}_matte_grow", render_scale),
                                 self.scaled(f"{prefix}_matte_feather", render_scale))

        return FrameSettings(
            keyer=self.keyer_params(render_scale), tau=self["tau"], target_matte=matte("target"),
            source_matte=matte("source"), neck_margin=self.scaled("neck_margin", render_scale),
            crop_padding=self["crop_padding"], network_resolution=self["network_resolution"],
            alignment=self["alignment"], method=self["method"], neck_fill=self["neck_fill"],
            grade=GradeSettings(self["grade_strength"], self["grade_colour"]),
            output=self["output"], seam_feather=self.scaled("seam_feather", render_scale),
            on_empty_matte=self["on_empty_matte"], color=self.color_config(), query_patch=query_patch,
        )

    def head_matte_settings(self, render_scale: float = 1.0, shape_as: str | None = None) -> HeadMatteSettings:
        """The automatic head matte's settings at ``render_scale``, keyed with the artist's keyer; with ``shape_as``
        (``target`` or ``source``) the matte is thresholded, grown and feathered as that role's hand-made one is."""
        shape = None if shape_as is None else MatteSettings(
            self[f"{shape_as}_matte_threshold"], self.scaled(f"{shape_as}_matte_grow", render_scale),
            self.scaled(f"{shape_as}_matte_feather", render_scale))
        return HeadMatteSettings(
            neck_offset=self.scaled("auto_matte_neck_offset", render_scale), hair_below_jaw=self["auto_matte_hair"],
            hair_reach=self["auto_matte_hair_reach"], head_margin=self["auto_matte_head_margin"],
            keyer=self.keyer_params(render_scale), shape=shape)

    def color_config(self) -> ColorConfig:
        """The OCIO config with the working space validated (ColorError lists close names)."""
        return get_config(self["ocio_config"] or None, working=self["working_space"])

    def digest(self) -> str:
        """SHA-256 of the values that change pixels (not the device, not the weights' path: hosts add the
        weights' own hash), written into output frames so that a resume never mixes settings."""
        pixel_values = {k: v for k, v in self._values.items() if k not in ("device", "weights")}
        return hashlib.sha256(json.dumps(pixel_values, sort_keys=True).encode()).hexdigest()

    def to_dict(self, only_changed: bool = False) -> dict[str, Any]:
        """Plain values (rgb as lists); with ``only_changed`` only those that differ from the default."""
        out = {}
        for name, value in self._values.items():
            if only_changed and value == _BY_NAME[name].default:
                continue
            out[name] = list(value) if isinstance(value, tuple) else value
        return out


def resolve_params(values: Mapping[str, Any] | None = None) -> ParamValues:
    """Defaults overlaid with ``values`` (typed values: TOML, the panel, host knobs), all validated.

    Unknown names and invalid values raise ParamError; cross-param rules (the keyer's clip black
    below clip white, the network resolution multiple) are checked too.
    """
    merged = defaults()
    for name, value in (values or {}).items():
        merged[name] = get_param(name).validate(value)
    return _checked(merged)


def _checked(values: dict[str, Any]) -> ParamValues:
    """Validated values with the cross-param rules checked; the keyer's settings are built here, once."""
    resolution = values["network_resolution"]
    if resolution % NETWORK_RESOLUTION_MULTIPLE:
        raise ParamError(f"network_resolution={resolution}: expected a multiple of {NETWORK_RESOLUTION_MULTIPLE}")
    return ParamValues(values, KeyerParams(**{name: values[name] for name in KEYER_PARAMS}))


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """``["tau=0.3", "output=green"]`` (command-line ``--set``) -> typed values."""
    values: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ParamError(f"--set {shown(item)}: expected name=value, e.g. --set tau=0.4")
        values[name.strip()] = get_param(name.strip()).parse(text)
    return values


def markdown_table() -> str:
    """The README's params table, generated from :data:`PARAMS`."""
    rows = ["| name | page | type | default | range | stage | spatial | description |",
            "|---|---|---|---|---|---|---|---|"]
    for p in PARAMS:
        if p.type == "choice":
            rng = " / ".join(p.choices)
        elif p.type in ("float", "int", "rgb") and (p.minimum is not None or p.maximum is not None):
            rng = p.range_text()
        else:
            rng = ""
        default = "auto" if p.default is None else json.dumps(p.default) if p.type in ("string", "path") else p.default
        hint = p.hint.replace("|", "\\|")
        rows.append(f"| `{p.name}` | {p.page} | {p.type} | {default} | {rng} | {p.stage} | "
                    f"{'yes' if p.spatial else ''} | **{p.label}.** {hint} |")
    return "\n".join(rows) + "\n"


def params_json() -> str:
    """The param list as JSON (what hosts without torch, e.g. the Nuke adapter, build their UI from)."""
    return json.dumps([dataclasses.asdict(p) for p in PARAMS], indent=1)
