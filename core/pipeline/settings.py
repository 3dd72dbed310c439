"""Typed settings of one frame render: what the stages of :mod:`changer.core.pipeline` read.

These are engine arguments, not a parameter list: names, defaults, ranges, labels and the render
scale live in :mod:`changer.plugin.params`, which builds a :class:`FrameSettings` for every render
(``ParamValues.frame_settings``). Values here are already scaled to the pixels being rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ..color import ColorConfig
from ..keying import KeyerParams, param_specs


@dataclass(frozen=True)
class MatteSettings:
    """How a head matte is shaped: binary at ``threshold`` (0: keep soft), grown, then feathered (pixels)."""

    threshold: float
    grow: float
    feather: float


@dataclass(frozen=True)
class GradeSettings:
    """The grade match (:mod:`changer.core.grade`): ``strength`` in [0, 1]; ``colour`` the double's skin
    colour in the working space, or None to measure it in the target head matte."""

    strength: float = 1.0
    colour: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class FrameSettings:
    """Everything one frame render needs besides its pixels and the model.

    ``keyer`` is the artist's keyer (comp stage: the final matte of the plate and the key of Y);
    :attr:`network_keyer` keeps only its screen settings, which is how the network's input is keyed.
    ``tau`` is the one τ the network reads (``infer``); ``query_patch`` asks it for one FPAT patch's
    attention (review panel). ``method`` is ``changer`` (the network) or ``classical`` (no network:
    :mod:`.classical`); with the network, ``neck_fill`` ``skin`` fills the neck bridge as the classical
    method does (:func:`.classical.skin_neck`), ``network`` keeps the network's.
    """

    keyer: KeyerParams
    tau: float
    target_matte: MatteSettings
    source_matte: MatteSettings
    neck_margin: float
    crop_padding: float
    network_resolution: int
    alignment: str
    method: str
    neck_fill: str
    grade: GradeSettings
    output: str
    seam_feather: float
    on_empty_matte: str
    color: ColorConfig
    query_patch: int | None = None

    @cached_property
    def network_keyer(self) -> KeyerParams:
        """The knobs of :attr:`keyer` whose specs say ``network`` (the screen settings); every other at its default."""
        return KeyerParams(**{s.name: getattr(self.keyer, s.name) for s in param_specs() if s.network})

    @property
    def premultiplied(self) -> bool:
        """Whether the RGBA output is premultiplied (comp, aovs) or opaque (green, mattes)."""
        return self.output in ("comp", "aovs")
