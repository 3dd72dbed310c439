"""The CHANGER node as an OpenFX-shaped effect: the actions a compositing host calls.

A host adapter (the batch host, the review panel, a C++ OFX shim, Nuke) implements
:class:`ClipSource` to hand over clip pixels and calls the actions below, as an OpenFX host calls
``kOfxActionDescribe``, ``kOfxImageEffectActionGetRegionOfDefinition`` and so on. The effect keeps no
per-frame state: its params and the shared :class:`~changer.plugin.models.ModelCache` are all it has.

:meth:`HeadBlendEffect.render` is the one render driver: every host renders through it. It runs the
pipeline's stages, ``prepare`` -> ``infer`` -> ``comp``, and looks each product up first in the host's
:class:`~changer.plugin.render_cache.RenderCache` when it passes one (an interactive host; the batch
host passes none). A param declares the stage it invalidates (:mod:`.params`), so the cache keys follow
from the params. The comp stage keeps three products of its own, each keyed by what it reads: the
plate's screen (screen settings), its artist key (keyer knobs) and the network's result placed at plate
resolution (the network output and the seam); a keyer knob re-keys the plate against the cached
screen and re-composites.

* No tiles: the network needs the whole crop, so every region of interest is the clip's full region
  of definition and a render produces the full frame (a smaller window is cut from it).
* Render scale: ``spatial`` params (grow, feather, seam, neck margin, the keyer's pixel sizes) are in
  pixels at full scale and are multiplied by the render scale; the network resolution is not.
* Colour: image clips arrive in the working space (the host's colour management); mask clips get no
  colour transform (:meth:`get_clip_preferences` says so).
* Head mattes: an unconnected head-matte clip is made from its plate (:mod:`changer.core.headmatte`), and
  a connected one is combined with that automatic matte as ``matte_combine`` says. The node is stateless,
  so each frame's face is found on its own, without the tracker that steadies the neck line across a
  shot; a host that tracks the head (the batch host) hands over its mattes (:class:`AutoMatteSource`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from time import perf_counter
from typing import Any, Protocol, runtime_checkable

import torch

from changer.core.color import to_network
from changer.core.device import one_cpu_thread, pick_device
from changer.core.errors import ChangerError, ParamError
from changer.core.headmatte import FaceLandmarks, combine_mattes, head_matte
from changer.core.masks import Box
from changer.core.model import ChangerNet, ChangerOutput
from changer.core.pipeline import (
    FrameInputs,
    FrameResult,
    FrameSettings,
    NetworkJob,
    PlateKey,
    classical_output,
    composite,
    empty_mattes,
    infer,
    key_plate,
    key_result,
    network_neck,
    passthrough_result,
    place,
    plate_screen,
    prepare,
)

from .descriptor import ContextDescriptor, EffectDescriptor, context_descriptor
from .models import MODELS, LoadedModel, ModelCache
from .params import AUTO_MATTE_PARAMS, KEYER_PARAMS, NETWORK_KEYER_PARAMS, ParamValues, resolve_params
from .render_cache import MISSING, RenderCache

log = logging.getLogger(__name__)

#: Render stages in order; :attr:`StagedRender.stage` names the earliest that ran, or "cached".
STAGES = ("prepare", "infer", "comp")
#: Params besides the keyer's that the plate's screen and its artist key read.
_SETUP = ("device", "ocio_config", "working_space")
SCREEN_PARAMS = (*NETWORK_KEYER_PARAMS, *_SETUP)
PLATE_KEY_PARAMS = (*KEYER_PARAMS, *_SETUP)
#: The one param the network's result at plate resolution reads besides the network's stages.
_SEAM = ("seam_feather",)
#: Params an automatic head matte reads; they key every cached product of a frame that has one (the keyer's
#: comp-stage knobs move its edge, so with an automatic matte they reach back to the prepare stage).
AUTO_INPUT_PARAMS = (*AUTO_MATTE_PARAMS, "matte_combine", *PLATE_KEY_PARAMS)
#: Head role -> its matte clip's role.
HEADS = {"target": "target_matte", "source": "source_matte"}


class ClipSource(Protocol):
    """What the effect needs from a host: which clips are connected, their extents and their pixels."""

    def connected(self, clip: str) -> bool: ...

    def region_of_definition(self, clip: str, time: float) -> Box: ...

    def fetch(self, clip: str, time: float, render_scale: float) -> torch.Tensor:
        """(C,H,W) float pixels of the clip's full region of definition at ``render_scale``; image
        clips in the working space, mask clips untouched."""
        ...


@runtime_checkable
class AutoMatteSource(Protocol):
    """A host that makes automatic head mattes itself (the batch host: tracked across the shot and smoothed)."""

    def auto_matte(self, head: str, time: float,
                   render_scale: float) -> tuple[torch.Tensor, FaceLandmarks | None] | None:
        """(1,H,W) automatic matte of ``head`` ("target" or "source") at ``time`` and the face it was made from
        (None if unknown); None: the effect makes one."""
        ...

    def face(self, clip: str, render_scale: float) -> FaceLandmarks | None:
        """The face a matte file of ``clip`` carries in its header (the last frame fetched), or None."""
        ...


@dataclass(frozen=True)
class AutoMatte:
    """A head whose matte a render made (or took from the host) automatically, for the panel to show."""

    clip: str  #: the head-matte clip it stands in for (or is combined with)
    mode: str  #: "auto" (clip not connected), or the ``matte_combine`` mode it was combined with
    landmarks: FaceLandmarks | None  #: the face oval it was built from; None when unknown (a host's matte without it)


@dataclass(frozen=True)
class ClipPreferences:
    """Answer to the clip-preferences action."""

    output_premultiplication: str  #: "premultiplied" or "opaque"
    output_components: str = "RGBA"
    pixel_depth: str = "float"
    colour_managed: tuple[tuple[str, bool], ...] = ()  #: (clip name, gets a colour transform)


class RenderAborted(Exception):
    """The host asked a render to stop (OpenFX's abort); it stopped before a stage, keeping what it cached."""


@dataclass
class StagedRender:
    """One frame through the effect's stages: each stage's product and which stages ran.

    ``stage`` is the earliest stage that ran ("prepare", "infer", "comp"), or "cached" when every
    product came from the cache; ``seconds`` holds the own time of each product made by this render
    (``inputs``: reading the clips; ``place``, ``screen`` and ``plate``: parts of the comp stage).
    ``inputs`` is None only when a clip the render needs is not connected (pass-through).
    """

    inputs: FrameInputs | None
    job: NetworkJob | None
    output: ChangerOutput | None
    result: FrameResult
    stage: str
    seconds: dict[str, float]
    query_patch: int | None = None
    auto: dict[str, AutoMatte] = dataclasses.field(default_factory=dict)  #: head role -> its automatic matte

    def cpu(self) -> StagedRender:
        """Every tensor moved to the CPU (a no-op for CPU renders)."""
        return replace(self, inputs=_cpu(self.inputs), job=_cpu(self.job), output=_cpu(self.output),
                       result=_cpu(self.result))


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
    def get_region_of_definition(self, source: ClipSource, time: float) -> Box:
        """The output covers the Target's frame."""
        return source.region_of_definition(self._name("target"), time)

    def get_regions_of_interest(self, source: ClipSource, time: float, window: Box) -> dict[str, Box]:
        """Every connected input is needed whole (no tiles), whatever ``window`` is asked for."""
        return {c.name: source.region_of_definition(c.name, time)
                for c in self.clips.clips if source.connected(c.name)}

    def get_clip_preferences(self) -> ClipPreferences:
        state = "premultiplied" if self.params["output"] in ("comp", "aovs") else "opaque"
        return ClipPreferences(state, colour_managed=tuple((c.name, not c.is_mask) for c in self.clips.clips))

    # -- identity and rendering -------------------------------------------------------------------
    def frame_inputs(self, source: ClipSource, time: float, render_scale: float = 1.0) -> FrameInputs:
        """The engine's inputs for one frame: colour clips cut to RGB, mattes to their last channel (or made
        automatically, see the module docstring)."""
        return self._inputs(source, time, render_scale)[0]

    def _inputs(self, source: ClipSource, time: float,
                render_scale: float) -> tuple[FrameInputs, dict[str, AutoMatte]]:
        """:meth:`frame_inputs` and the heads whose mattes were made automatically."""
        def fetch(role: str, channels: slice | None = None) -> torch.Tensor | None:
            name = self._name(role)
            if not source.connected(name):
                return None
            pixels = source.fetch(name, time, render_scale)
            return pixels if channels is None else pixels[channels]

        plates = {"target": fetch("target", slice(0, 3)), "source": fetch("source", slice(0, 3))}
        auto: dict[str, AutoMatte] = {}
        faces: dict[str, FaceLandmarks | None] = {}

        def matte(head: str) -> torch.Tensor | None:
            pixels = fetch(HEADS[head])
            given = None if pixels is None else pixels[-1:]  # Alpha, or the A of RGBA
            mode = self.params["matte_combine"]
            if plates[head] is None or (given is not None and mode == "replace"):
                if given is not None and isinstance(source, AutoMatteSource):
                    faces[head] = source.face(self._name(HEADS[head]), render_scale)
                return given
            made, landmarks = self._auto_matte(source, head, plates[head], time, render_scale)
            auto[head] = AutoMatte(self._name(HEADS[head]), "auto" if given is None else mode, landmarks)
            faces[head] = landmarks
            return combine_mattes(given, made, mode)

        frame = FrameInputs(plates["target"], plates["source"], matte("target"), matte("source"),
                            fetch("background"), fetch("clean_screen", slice(0, 3)), names=dict(self.clips.names))
        known = [faces.get(head) for head in ("target", "source")]
        if all(face is not None for face in known):  # both faces known: the alignment pins them, not the hair
            frame.target_points, frame.source_points = (torch.from_numpy(f.oval).float() for f in known)
        return frame, auto

    def _auto_matte(self, source: ClipSource, head: str, plate: torch.Tensor, time: float,
                    render_scale: float) -> tuple[torch.Tensor, FaceLandmarks | None]:
        """The automatic matte of ``head``: the host's when it makes them, else found on this frame alone.
        Errors (no face, two faces, the ``auto`` extra missing) name the clip it stands in for."""
        name = self._name(HEADS[head])
        try:
            if isinstance(source, AutoMatteSource):
                made = source.auto_matte(head, time, render_scale)
                if made is not None:
                    return made
            network = to_network(plate.detach().float().cpu(), self.params.color_config())
            with one_cpu_thread(torch.device("cpu")):  # the same bits in every host, as `changer mattes` makes
                result = head_matte(network, self.params.head_matte_settings(render_scale))
        except ChangerError as exc:
            raise type(exc)(f"clip {name} (automatic head matte): {exc}") from None
        return result.matte.to(plate.device), result.landmarks

    def uses_auto_mattes(self, source: ClipSource) -> bool:
        """True when a frame's head mattes are (partly) made automatically: the source plate is connected and a
        head-matte clip is not, or ``matte_combine`` is not ``replace``."""
        if not source.connected(self._name("source")):
            return False
        return self.params["matte_combine"] != "replace" or not all(
            source.connected(self._name(role)) for role in HEADS.values())

    def inputs_key(self, source: ClipSource, time: float, scale: float) -> tuple:
        """What every cached product of a frame is keyed by besides its stage's params: the time, the render
        scale and, with automatic mattes, the params they read."""
        return time, scale, self.params.digest_of(AUTO_INPUT_PARAMS) if self.uses_auto_mattes(source) else ""

    def _unconnected(self, source: ClipSource) -> list[str]:
        """The clips a render cannot do without (the head mattes can be made)."""
        name = self._name("source")
        return [] if source.connected(name) else [name]

    def is_identity(self, source: ClipSource, time: float, render_scale: float = 1.0) -> Identity | None:
        """The Target passes through when the source plate is not connected, or when a head matte is empty
        and ``on_empty_matte`` is ``passthrough``."""
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

    def render(self, source: ClipSource, time: float, window: Box | None = None,
               render_scale: float | tuple[float, float] = 1.0, cache: RenderCache | None = None) -> FrameResult:
        """Render the full frame at ``render_scale`` (spatial params scaled) on the CPU and cut ``window``
        from it; stage products are looked up in, and added to, ``cache`` when given."""
        result = _cpu(self.render_stages(source, time, render_scale, cache).result)
        rod = self.get_region_of_definition(source, time)
        return result if window is None else _cut(result, window, rod, _scale(render_scale))

    def render_stages(self, source: ClipSource, time: float, render_scale: float | tuple[float, float] = 1.0,
                      cache: RenderCache | None = None, query: tuple[float, float] | None = None,
                      abort: Callable[[], bool] = lambda: False) -> StagedRender:
        """The render driver: every stage, each from ``cache`` when it holds it, on the model's device.

        ``query`` (u, v in [0, 1] across the network crop) asks FPAT's attention for the patch there.
        ``abort`` is asked before each stage that must run; True raises :class:`RenderAborted`.
        """
        scale = _scale(render_scale)
        run = _Run(cache, abort)
        if self._unconnected(source):
            plate = source.fetch(self._name("target"), time, scale)[:3]
            return StagedRender(None, None, None, passthrough_result(plate), "prepare", {})
        loaded = self._loaded or self.models.get(self.params["weights"], self.params["device"])
        params, at = self.params, self.inputs_key(source, time, scale)
        frame, auto = run.stage("inputs", (*at, str(loaded.device)), lambda: self._device_inputs(source, time, scale,
                                                                                                    loaded.device))
        patch = None if query is None else query_patch(loaded.model, params["network_resolution"], query)
        settings = params.frame_settings(scale, patch)
        job = run.stage("prepare", (*at, params.stage_digest("prepare")), lambda: prepare(frame, settings))
        if job is None:
            return run.done(frame, None, None, passthrough_result(frame.target), patch, auto)
        output = run.stage("infer", (*at, params.stage_digest("infer"), patch),
                           lambda: _infer(loaded, job, settings))

        def comp() -> FrameResult:
            placement = run.stage("place", (*at, params.stage_digest("infer"), patch, params.digest_of(_SEAM)),
                                  lambda: place(frame, job, output, settings))
            result = composite(frame, job, output, settings, self._plate_key(run, frame, settings, at), placement)
            result.timings["network"] = run.seconds.get("infer", 0.0)
            return result

        result = run.stage("comp", (*at, params.stage_digest("comp"), patch), comp)
        return run.done(frame, job, output, result, patch, auto)

    def _device_inputs(self, source: ClipSource, time: float, scale: float,
                       device: torch.device) -> tuple[FrameInputs, dict[str, AutoMatte]]:
        frame, auto = self._inputs(source, time, scale)
        return frame.to(device), auto

    def _plate_key(self, run: _Run, frame: FrameInputs, settings: FrameSettings, at: tuple) -> PlateKey:
        """The artist's key of the plate; its screen depends on the screen settings only, so a keyer
        knob re-keys against the cached screen."""
        params = self.params
        screen = run.stage("screen", (*at, params.digest_of(SCREEN_PARAMS)), lambda: plate_screen(frame, settings))
        return run.stage("plate", (*at, params.digest_of(PLATE_KEY_PARAMS)), lambda: key_plate(screen, settings))

    def key_target(self, source: ClipSource, time: float,
                   render_scale: float | tuple[float, float] = 1.0) -> FrameResult:
        """The Target keyed on its own, as a keyer node outputs it (``changer key``), on the CPU.

        The key is the comp stage's key of the plate, made by the same two steps (the Target against
        its screen or the CleanScreen clip), so its alpha is a render's plate alpha;
        :func:`~changer.core.pipeline.key_result` says what the RGBA and the layers hold.
        """
        scale = _scale(render_scale)
        settings = self.params.frame_settings(scale)
        frame = self.frame_inputs(source, time, scale).to(pick_device(self.params["device"]))
        screen = plate_screen(frame, settings)
        return _cpu(key_result(screen, key_plate(screen, settings), settings))


def query_patch(model: ChangerNet, resolution: int, query: tuple[float, float]) -> int:
    """Row-major index of the FPAT patch at ``query`` (u, v in [0, 1] across the network crop), so
    that it stays on the same spot of the head when the crop or the network resolution changes."""
    rows, cols = model.patch_grid(resolution, resolution)
    u, v = query
    return min(max(int(v * rows), 0), rows - 1) * cols + min(max(int(u * cols), 0), cols - 1)


def _infer(loaded: LoadedModel, job: NetworkJob, settings: FrameSettings) -> ChangerOutput:
    if settings.method == "classical":
        return classical_output(job)
    with loaded.lock:  # a model runs one frame at a time
        output = infer(loaded.model, job, settings)
    return network_neck(output, job, settings)


class _Run:
    """One render's walk through the stages: cache look-ups, abort checks and each product's own time."""

    #: The stage each cached product belongs to (the plate's screen and key are part of the comp stage).
    STAGE_OF = {"inputs": None, "prepare": "prepare", "infer": "infer", "place": "comp", "screen": "comp",
                "plate": "comp", "comp": "comp"}

    def __init__(self, cache: RenderCache | None, abort: Callable[[], bool]) -> None:
        self.cache = cache
        self.abort = abort
        self.seconds: dict[str, float] = {}
        self._nested = 0.0

    def stage(self, name: str, key: Hashable, make: Callable[[], Any]) -> Any:
        """The product ``name`` for ``key``: from the cache, else made (and cached)."""
        if self.cache is not None:
            value = self.cache.get(name, key)
            if value is not MISSING:
                return value
        if self.abort():
            raise RenderAborted(f"render aborted before {name}")
        outer, self._nested = self._nested, 0.0
        start = perf_counter()
        value = make()
        elapsed = perf_counter() - start
        self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - self._nested  # products made inside not twice
        self._nested = outer + elapsed
        if self.cache is not None:
            self.cache.put(name, key, value)
        return value

    def done(self, frame: FrameInputs, job: NetworkJob | None, output: ChangerOutput | None, result: FrameResult,
             patch: int | None, auto: dict[str, AutoMatte]) -> StagedRender:
        ran = {self.STAGE_OF[name] for name in self.seconds}
        stage = next((name for name in STAGES if name in ran), "cached")
        return StagedRender(frame, job, output, result, stage, dict(self.seconds), patch if job else None, auto)


def _cpu(value: Any) -> Any:
    """``value`` with every tensor moved to the CPU (dataclasses, named tuples, dicts)."""
    if isinstance(value, torch.Tensor):
        return value.to("cpu")
    if isinstance(value, dict):
        return {k: _cpu(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_cpu(v) for v in value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: _cpu(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init})
    return value


def _cut(result: FrameResult, window: Box, rod: Box, scale: float) -> FrameResult:
    """The part of a full-frame result inside ``window`` (render-scaled pixel coordinates)."""
    x0, y0 = round(rod.x0 * scale), round(rod.y0 * scale)
    height, width = result.rgba.shape[-2:]
    xs = slice(max(window.x0 - x0, 0), min(window.x1 - x0, width))
    ys = slice(max(window.y0 - y0, 0), min(window.y1 - y0, height))
    if (xs.start, ys.start, xs.stop, ys.stop) == (0, 0, width, height):
        return result
    return replace(result, rgba=result.rgba[:, ys, xs], layers={k: v[:, ys, xs] for k, v in result.layers.items()})
