"""The review panel's engine, without Qt: a shot's clips, rendered through the node's own effect.

A :class:`ReviewSession` is built from the same :class:`~changer.plugin.hosts.options.RenderOptions` as
``changer render`` (clips, frames, ``--config``, ``--set``) and checks them with the batch host's own
readers, so the panel and the batch render agree on every input and param. Every frame is rendered by
:meth:`~changer.plugin.effect.HeadBlendEffect.render_stages`, the driver the batch host uses, over the
batch host's :class:`~changer.plugin.hosts.clips.SequenceClipSource` (a missing head matte made by the
effect on each frame, untracked), with the session's
:class:`~changer.plugin.render_cache.RenderCache`: a keyer slider re-runs only the comp stage (against
the cached screen of the plate), τ re-runs infer and comp. The proxy is the OpenFX render scale: the
clip source area-averages the plates down and the effect scales the spatial params with them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from changer.core.errors import ChangerError, SequenceError
from changer.core.masks import Box
from changer.core.model import ChangerOutput
from changer.core.pipeline import FrameInputs, FrameResult, NetworkJob
from changer.plugin.effect import HeadBlendEffect, StagedRender, query_patch
from changer.plugin.hosts.auto_mattes import auto_heads, auto_models
from changer.plugin.hosts.batch import resolve_render_params, shot_frames
from changer.plugin.hosts.clips import ClipFiles, SequenceClipSource, resolve_clips
from changer.plugin.hosts.options import RenderOptions
from changer.plugin.models import MODELS, LoadedModel
from changer.plugin.params import ParamValues
from changer.plugin.render_cache import RenderCache

log = logging.getLogger(__name__)

#: Proxy scales offered by the panel (1 = full resolution).
PROXY_SCALES = (1.0, 0.5, 0.25)
DEFAULT_CACHE_MB = 2048
CLIP_ROLES = ("target", "source", "target_matte", "source_matte", "background", "clean_screen")


@dataclass(frozen=True)
class RenderRequest:
    """One frame to render with one set of params, at a proxy ``scale``.

    ``query`` is where FPAT's attention is asked for, as (u, v) in [0, 1] across the network crop.
    """

    frame: int
    params: ParamValues
    scale: float = 1.0
    query: tuple[float, float] = (0.5, 0.5)


@dataclass
class RenderedFrame:
    """What the viewer can show for one request: the effect's stage products on the CPU, at the
    request's (proxy) scale, and which stage re-ran for it."""

    request: RenderRequest
    staged: StagedRender
    device: str
    query_box: Box | None = None  #: the FPAT query patch in proxy-scale pixels

    @property
    def inputs(self) -> FrameInputs:
        return self.staged.inputs

    @property
    def job(self) -> NetworkJob | None:
        return self.staged.job

    @property
    def output(self) -> ChangerOutput | None:
        return self.staged.output

    @property
    def result(self) -> FrameResult:
        return self.staged.result

    @property
    def stage(self) -> str:
        """The earliest stage that re-ran ("prepare", "infer", "comp"), or "cached"."""
        return self.staged.stage

    @property
    def seconds(self) -> dict[str, float]:
        """Own seconds of each stage product made for this request."""
        return self.staged.seconds

    @property
    def query_patch(self) -> int | None:
        return self.staged.query_patch

    def matte_sources(self) -> dict[str, str]:
        """Head -> where its matte came from: ``given``, ``auto``, or how a given one was combined (``add``...)."""
        return {head: self.staged.auto[head].mode if head in self.staged.auto else "given"
                for head in ("target", "source")}


class ReviewSession:
    """A shot under review: its clips and frames, the current params, and the effect's stage cache."""

    def __init__(self, options: RenderOptions, cache_mb: int = DEFAULT_CACHE_MB) -> None:
        missing = [f"--{role.replace('_', '-')}" for role in CLIP_ROLES[:2] if getattr(options, role) is None]
        if missing:
            raise SequenceError(f"missing required option(s): {', '.join(missing)}")
        self.options = options
        self.params = resolve_render_params(options)
        self.params.color_config()
        heads = auto_heads(options, self.params)
        if heads:
            auto_models(heads)  # without the auto extra, one line naming the clips, before the window opens
        self.frames = shot_frames(options)
        patterns = {role: getattr(options, role) for role in CLIP_ROLES}
        channels = {"target_matte": options.target_matte_channel, "source_matte": options.source_matte_channel}
        self.clips: dict[str, ClipFiles] = resolve_clips(patterns, self.frames, channels)
        window = self.clips["target"].meta.display_window
        self.frame_size = (window.width, window.height)
        self.cache = RenderCache(cache_mb * 2**20)
        self.source = SequenceClipSource(self.clips, color=self.params.color_config())

    @property
    def config_path(self) -> Path | None:
        return Path(self.options.config) if self.options.config else None

    def model(self, params: ParamValues) -> LoadedModel:
        """The shared model for the params' weights and device (loaded once per process)."""
        return MODELS.get(params["weights"], params["device"])

    def reload(self) -> None:
        """Forget every cached frame; the next renders read the clips from disk again."""
        self.cache.clear()
        self.source = SequenceClipSource(self.clips, color=self.params.color_config())

    def render(self, request: RenderRequest, cancelled: Callable[[], bool] = lambda: False) -> RenderedFrame:
        """Render one frame through the effect and its cache; :class:`~changer.plugin.effect.RenderAborted`
        when ``cancelled()`` turns True before a stage. ChangerErrors name the frame."""
        if request.frame not in self.frames:
            raise SequenceError(f"frame {request.frame}: not in the shot's frames {self.frames[0]}-{self.frames[-1]}")
        effect = HeadBlendEffect("general", request.params)
        try:
            staged = effect.render_stages(self.source, request.frame, request.scale, self.cache, request.query,
                                          cancelled)
        except ChangerError as exc:
            raise type(exc)(f"frame {request.frame}: {exc}") from None
        loaded = self.model(request.params)
        log.info("frame %d at scale %g: %s (%s)", request.frame, request.scale, staged.stage,
                 ", ".join(f"{name} {1e3 * s:.0f} ms" for name, s in staged.seconds.items()))
        return RenderedFrame(request, staged.cpu(), str(loaded.device), _patch_box(loaded, staged))

    def cached_frames(self, request: RenderRequest) -> set[int]:
        """Frames whose composite with ``request``'s params, scale and query is cached."""
        params = request.params
        patch = query_patch(self.model(params).model, params["network_resolution"], request.query)
        at = HeadBlendEffect("general", params).inputs_key(self.source, 0, request.scale)
        wanted = (*at[1:], params.stage_digest("comp"), patch)
        return {key[0] for key in self.cache.keys("comp") if key[1:] == wanted}


def _patch_box(loaded: LoadedModel, staged: StagedRender) -> Box | None:
    """The query patch's rectangle in (proxy-scale) frame pixels."""
    job, patch = staged.job, staged.query_patch
    if job is None or patch is None:
        return None
    rows, cols = loaded.model.patch_grid(job.resolution, job.resolution)
    box = job.box
    row, col = divmod(patch, cols)
    sx, sy = box.width / cols, box.height / rows
    return Box(box.x0 + round(col * sx), box.y0 + round(row * sy),
               box.x0 + round((col + 1) * sx), box.y0 + round((row + 1) * sy))
