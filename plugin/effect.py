"""The CHANGER node as an OpenFX-shaped effect: the actions a compositing host calls.

A host adapter (the batch host, the review panel, a C++ OFX shim, Nuke) implements
:class:`ClipSource` to hand over clip pixels and calls the actions below, as an OpenFX host calls
``kOfxActionDescribe``, ``kOfxImageEffectActionGetRegionOfDefinition`` and so on. The effect keeps no
per-frame state: its params and the shared :class:`~changer.plugin.models.ModelCache` are all it has.

* No tiles: the network needs the whole crop, so every region of interest is the clip's full region
  of definition and a render produces the full frame (a smaller window is cut from it).
* Render scale: ``spatial`` params (grow, feather, seam, neck margin, the keyer's pixel sizes) are in
  pixels at full scale and are multiplied by the render scale; the network resolution is not.
* Colour: image clips arrive in the working space (the host's colour management); mask clips get no
  colour transform (:meth:`get_clip_preferences` says so).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import NamedTuple, Protocol

import torch

from changer.core.errors import ParamError
from changer.core.pipeline import FrameInputs, FrameResult, empty_mattes, passthrough_result, render_frame

from .descriptor import ContextDescriptor, EffectDescriptor, context_descriptor
from .models import MODELS, LoadedModel, ModelCache
from .params import ParamValues, resolve_params

log = logging.getLogger(__name__)


class Rect(NamedTuple):
    """An OpenFX rectangle in pixels: x1, y1 inclusive, x2, y2 exclusive."""

    x1: int
    y1: int
    x2: int
    y2: int

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1


class ClipSource(Protocol):
    """What the effect needs from a host: which clips are connected, their extents and their pixels."""

    def connected(self, clip: str) -> bool: ...

    def region_of_definition(self, clip: str, time: float) -> Rect: ...

    def fetch(self, clip: str, time: float, render_scale: float) -> torch.Tensor:
        """(C,H,W) float pixels of the clip's full region of definition at ``render_scale``; image
        clips in the working space, mask clips untouched."""
        ...


@dataclass(frozen=True)
class ClipPreferences:
    """Answer to the clip-preferences action."""

    output_premultiplication: str  #: "premultiplied" or "opaque"
    output_components: str = "RGBA"
    pixel_depth: str = "float"
    colour_managed: tuple[tuple[str, bool], ...] = ()  #: (clip name, gets a colour transform)


@dataclass(frozen=True)
class Identity:
    """Answer to is-identity: render nothing, show ``clip`` at ``time``."""

    clip: str
    time: float
    reason: str


def _scale(render_scale: float | tuple[float, float]) -> float:
    """One factor for spatial params (the geometric mean of a non-uniform OpenFX render scale)."""
    if isinstance(render_scale, tuple):
        sx, sy = render_scale
        value = math.sqrt(sx * sy)
    else:
        value = float(render_scale)
    if not 0 < value <= 1:
        raise ParamError(f"render scale {render_scale}: expected a value in (0, 1]")
    return value


class HeadBlendEffect:
    """One instance of the node in one context, with its param values."""

    def __init__(self, context: str = "general", params: ParamValues | None = None,
                 models: ModelCache | None = None) -> None:
        self.context = context
        self.clips: ContextDescriptor = context_descriptor(context)
        self.params = params or resolve_params()
        self.models = models or MODELS
        self._loaded: LoadedModel | None = None

    # -- description ------------------------------------------------------------------------------
    @staticmethod
    def describe() -> EffectDescriptor:
        return EffectDescriptor()

    @staticmethod
    def describe_in_context(context: str) -> ContextDescriptor:
        return context_descriptor(context)

    def set_params(self, **values: object) -> None:
        """Change param values (validated; the instance keeps its old values on error)."""
        self.params = self.params.replace(**values)

    def _name(self, role: str) -> str:
        return self.clips.names[role]

    # -- geometry ---------------------------------------------------------------------------------
    def get_region_of_definition(self, source: ClipSource, time: float) -> Rect:
        """The output covers the Target's frame."""
        return source.region_of_definition(self._name("target"), time)

    def get_regions_of_interest(self, source: ClipSource, time: float, window: Rect) -> dict[str, Rect]:
        """Every connected input is needed whole (no tiles), whatever ``window`` is asked for."""
        return {c.name: source.region_of_definition(c.name, time)
                for c in self.clips.clips if source.connected(c.name)}

    def get_clip_preferences(self) -> ClipPreferences:
        state = "premultiplied" if self.params["output"] in ("comp", "aovs") else "opaque"
        return ClipPreferences(state, colour_managed=tuple((c.name, not c.is_mask) for c in self.clips.clips))

    # -- identity and rendering -------------------------------------------------------------------
    def frame_inputs(self, source: ClipSource, time: float, render_scale: float = 1.0) -> FrameInputs:
        """The engine's inputs for one frame: colour clips cut to RGB, mattes to their last channel."""
        def fetch(role: str, channels: slice | None = None) -> torch.Tensor | None:
            name = self._name(role)
            if not source.connected(name):
                return None
            pixels = source.fetch(name, time, render_scale)
            return pixels if channels is None else pixels[channels]

        def matte(role: str) -> torch.Tensor | None:
            pixels = fetch(role)
            return None if pixels is None else pixels[-1:]  # Alpha, or the A of RGBA

        return FrameInputs(fetch("target", slice(0, 3)), fetch("source", slice(0, 3)), matte("target_matte"),
                           matte("source_matte"), fetch("background"), fetch("clean_screen", slice(0, 3)))

    def _unconnected(self, source: ClipSource) -> list[str]:
        names = (self._name(r) for r in ("source", "target_matte", "source_matte"))
        return [name for name in names if not source.connected(name)]

    def is_identity(self, source: ClipSource, time: float, render_scale: float = 1.0) -> Identity | None:
        """The Target passes through when a head matte or the source plate is not connected, or when a
        head matte is empty and ``on_empty_matte`` is ``passthrough``."""
        target = self._name("target")
        missing = self._unconnected(source)
        if missing:
            return Identity(target, time, f"not connected: {', '.join(missing)}")
        if self.params["on_empty_matte"] != "passthrough":
            return None
        frame = self.frame_inputs(source, time, _scale(render_scale))
        empty = empty_mattes(frame, self.params.frame_settings(_scale(render_scale)))
        return Identity(target, time, f"empty: {', '.join(empty)}") if empty else None

    def begin_sequence_render(self) -> None:
        """Load (or reuse) the model for this instance's weights and device."""
        self._loaded = self.models.get(self.params["weights"], self.params["device"])

    def end_sequence_render(self) -> None:
        self._loaded = None

    def render(self, source: ClipSource, time: float, window: Rect | None = None,
               render_scale: float | tuple[float, float] = 1.0) -> FrameResult:
        """Render the full frame at ``render_scale`` (spatial params scaled) and cut ``window`` from it."""
        scale = _scale(render_scale)
        if self._unconnected(source):
            result = passthrough_result(source.fetch(self._name("target"), time, scale)[:3])
        else:
            frame = self.frame_inputs(source, time, scale)
            loaded = self._loaded or self.models.get(self.params["weights"], self.params["device"])
            settings = self.params.frame_settings(scale)
            with loaded.lock:
                result = render_frame(loaded.model, frame, settings)
        rod = self.get_region_of_definition(source, time)
        return result if window is None else _cut(result, window, rod, scale)


def _cut(result: FrameResult, window: Rect, rod: Rect, scale: float) -> FrameResult:
    """The part of a full-frame result inside ``window`` (render-scaled pixel coordinates)."""
    x0, y0 = round(rod.x1 * scale), round(rod.y1 * scale)
    height, width = result.rgba.shape[-2:]
    xs = slice(max(window.x1 - x0, 0), min(window.x2 - x0, width))
    ys = slice(max(window.y1 - y0, 0), min(window.y2 - y0, height))
    if (xs.start, ys.start, xs.stop, ys.stop) == (0, 0, width, height):
        return result
    return replace(result, rgba=result.rgba[:, ys, xs], layers={k: v[:, ys, xs] for k, v in result.layers.items()})
