"""The review panel's engine, without Qt: a shot's clips, and frames rendered stage by stage with caches.

A :class:`ReviewSession` is built from the same :class:`~changer.plugin.hosts.options.RenderOptions` as
``changer render`` (clips, frames, ``--config``, ``--set``) and checks them with the batch host's own
readers, so the panel and the batch render agree on every input and param. :meth:`ReviewSession.render`
runs the pipeline's three stages separately (``prepare`` -> ``infer`` -> ``composite``) and caches each
by the params its stage reads (see :mod:`.cache`): moving a keyer slider re-composites the cached
network output, τ re-runs only the model. Frames can be rendered at a proxy scale (an OpenFX render
scale: the plates are downscaled and spatial params scaled with them) for faster interaction.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from changer.core.errors import ChangerError, SequenceError
from changer.core.masks import Box
from changer.core.model import ChangerOutput
from changer.core.pipeline import FrameInputs, FrameResult, NetworkJob, composite, infer, prepare
from changer.core.pipeline.crop import resize
from changer.plugin.effect import HeadBlendEffect
from changer.plugin.hosts.batch import resolve_render_params, shot_frames
from changer.plugin.hosts.clips import ClipFiles, SequenceClipSource, resolve_clips
from changer.plugin.hosts.options import RenderOptions
from changer.plugin.models import MODELS, LoadedModel
from changer.plugin.params import ParamValues

from .cache import LruCache, network_key, prepare_key, result_key

log = logging.getLogger(__name__)

#: Proxy scales offered by the panel (1 = full resolution).
PROXY_SCALES = (1.0, 0.5, 0.25)
DEFAULT_CACHE_MB = 2048
CLIP_ROLES = ("target", "source", "target_matte", "source_matte", "background", "clean_screen")


class RenderCancelled(Exception):
    """A newer request superseded this render; it stopped between stages."""


@dataclass(frozen=True)
class RenderRequest:
    """One frame to render with one set of params.

    ``query`` is where FPAT's attention is asked for, as (u, v) in [0, 1] across the network crop, so
    that it stays on the same spot of the head when the crop or the network resolution changes.
    """

    frame: int
    params: ParamValues
    scale: float = 1.0
    query: tuple[float, float] = (0.5, 0.5)


@dataclass
class RenderedFrame:
    """Everything the viewer can show for one request: inputs, network job and output, and the result.

    Tensors are on the CPU at the request's (proxy) scale.
    """

    request: RenderRequest
    inputs: FrameInputs
    job: NetworkJob | None
    output: ChangerOutput | None
    result: FrameResult
    device: str
    query_patch: int | None = None
    query_box: Box | None = None  #: the query patch in proxy-scale pixels
    timings: dict[str, float] = field(default_factory=dict)  #: seconds per stage of this call (0 if cached)
    network_ran: bool = False
    from_cache: bool = False

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())


def _cpu(value):
    """``value`` with every tensor moved to the CPU (dataclasses, named tuples, dicts)."""
    if isinstance(value, torch.Tensor):
        return value.to("cpu")
    if value is None or isinstance(value, (int, float, str, Box)):
        return value
    if isinstance(value, dict):
        return {k: _cpu(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_cpu(v) for v in value))
    if dataclasses.is_dataclass(value):
        return dataclasses.replace(value, **{f.name: _cpu(getattr(value, f.name)) for f in dataclasses.fields(value)
                                             if f.init})
    return value


def _downscale(frame: FrameInputs, scale: float) -> FrameInputs:
    if scale == 1.0:
        return frame
    height, width = frame.size
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    small = (lambda t: None if t is None else resize(t[None], size)[0])
    mattes = (lambda t: small(t).clamp(0.0, 1.0))
    return FrameInputs(small(frame.target), small(frame.source), mattes(frame.target_matte),
                       mattes(frame.source_matte), small(frame.background), small(frame.clean_screen))


class ReviewSession:
    """A shot under review: its clips and frames, the current params, and the render caches."""

    def __init__(self, options: RenderOptions, cache_mb: int = DEFAULT_CACHE_MB) -> None:
        missing = [f"--{role.replace('_', '-')}" for role in CLIP_ROLES[:4] if getattr(options, role) is None]
        if missing:
            raise SequenceError(f"missing required option(s): {', '.join(missing)}")
        self.options = options
        self.params = resolve_render_params(options)
        self.params.color_config()
        self.frames = shot_frames(options)
        patterns = {role: getattr(options, role) for role in CLIP_ROLES}
        channels = {"target_matte": options.target_matte_channel, "source_matte": options.source_matte_channel}
        self.clips: dict[str, ClipFiles] = resolve_clips(patterns, self.frames, channels)
        window = self.clips["target"].meta.display_window
        self.frame_size = (window.width, window.height)
        budget = cache_mb * 2**20
        self.inputs: LruCache[FrameInputs] = LruCache("inputs", budget // 4)
        self.jobs: LruCache[NetworkJob | None] = LruCache("jobs", budget // 8)
        self.outputs: LruCache[ChangerOutput] = LruCache("outputs", budget // 8)
        self.results: LruCache[RenderedFrame] = LruCache("frames", budget // 2)
        self.network_runs = 0
        self.composites = 0

    @property
    def config_path(self) -> Path | None:
        return Path(self.options.config) if self.options.config else None

    def model(self, params: ParamValues) -> LoadedModel:
        """The shared model for the params' weights and device (loaded once per process)."""
        return MODELS.get(params["weights"], params["device"])

    # -- inputs ------------------------------------------------------------------------------------
    def load_inputs(self, frame: int, scale: float = 1.0) -> FrameInputs:
        """The clips' pixels of ``frame`` (working space, mattes untouched) at ``scale``, cached."""
        key = (frame, scale)
        cached = self.inputs.get(key)
        if cached is not None:
            return cached
        if frame not in self.frames:
            raise SequenceError(f"frame {frame}: not in the shot's frames {self.frames[0]}-{self.frames[-1]}")
        full = self.inputs.get((frame, 1.0)) if scale != 1.0 else None
        if full is None:
            full = self._read(frame)
            self.inputs.put((frame, 1.0), full)
        pixels = _downscale(full, scale)
        self.inputs.put(key, pixels)
        return pixels

    def _read(self, frame: int) -> FrameInputs:
        return HeadBlendEffect().frame_inputs(SequenceClipSource(self.clips), frame)

    # -- rendering ---------------------------------------------------------------------------------
    def query_patch(self, loaded: LoadedModel, request: RenderRequest) -> int:
        """Row-major index of the FPAT patch under ``request.query`` on the network's patch grid."""
        resolution = request.params["network_resolution"]
        rows, cols = loaded.model.patch_grid(resolution, resolution)
        u, v = request.query
        return min(int(v * rows), rows - 1) * cols + min(int(u * cols), cols - 1)

    def _results_key(self, request: RenderRequest, patch: int) -> tuple:
        return request.frame, request.scale, result_key(request.params), patch

    def cached_frames(self, request: RenderRequest) -> set[int]:
        """Frames whose render with ``request``'s params, scale and query is cached."""
        keys = self.results.keys()
        probe = {(request.scale, result_key(request.params))}
        return {key[0] for key in keys if (key[1], key[2]) in probe}

    def render(self, request: RenderRequest, cancelled: Callable[[], bool] = lambda: False) -> RenderedFrame:
        """Render one frame, reusing every cached stage; :class:`RenderCancelled` when ``cancelled()``.

        ChangerErrors name the frame (and the clip or param, from the stage that raised them).
        """
        try:
            return self._render(request, cancelled)
        except ChangerError as exc:
            raise type(exc)(f"frame {request.frame}: {exc}") from None

    def _render(self, request: RenderRequest, cancelled: Callable[[], bool]) -> RenderedFrame:
        def check() -> None:
            if cancelled():
                raise RenderCancelled

        params, frame, scale = request.params, request.frame, request.scale
        loaded = self.model(params)
        patch = self.query_patch(loaded, request)
        key = self._results_key(request, patch)
        done = self.results.get(key)
        if done is not None:
            return dataclasses.replace(done, timings={}, network_ran=False, from_cache=True)
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str, ran: bool = True) -> None:
            """Book the time since the last lap to ``name`` (a stage answered from a cache books nothing)."""
            nonlocal clock
            now = time.perf_counter()
            if ran:
                timings[name] = timings.get(name, 0.0) + now - clock
            clock = now

        settings = params.frame_settings(scale, query_patch=patch)
        read = (frame, scale) not in self.inputs
        pixels = self.load_inputs(frame, scale).to(loaded.device)
        lap("load", read)
        check()
        job_key = (frame, scale, prepare_key(params))
        prepared = job_key not in self.jobs
        if prepared:
            job = prepare(pixels, settings)
            self.jobs.put(job_key, job)
        else:
            job = self.jobs.get(job_key)
        lap("prepare", prepared)
        check()
        output, ran = None, False
        if job is not None:
            out_key = (frame, scale, network_key(params), patch)
            output = self.outputs.get(out_key)
            if output is None:
                with loaded.lock:
                    output = infer(loaded.model, job, params["tau"], patch)
                self.network_runs += 1
                ran = True
                self.outputs.put(out_key, output)
            lap("network", ran)
            check()
        result = composite(pixels, job, output, settings)
        self.composites += 1
        lap("composite")
        rendered = RenderedFrame(request, _cpu(pixels), _cpu(job), _cpu(output), _cpu(result), str(loaded.device),
                                 patch if job is not None else None, self._patch_box(loaded, job, patch),
                                 timings, ran)
        self.results.put(key, rendered)
        log.info("frame %d at scale %g: %s", frame, scale,
                 ", ".join(f"{name} {1e3 * s:.0f} ms" for name, s in timings.items()))
        return rendered

    @staticmethod
    def _patch_box(loaded: LoadedModel, job: NetworkJob | None, patch: int) -> Box | None:
        """The query patch's rectangle in (proxy-scale) frame pixels."""
        if job is None:
            return None
        rows, cols = loaded.model.patch_grid(job.resolution, job.resolution)
        box = job.box
        row, col = divmod(patch, cols)
        sx, sy = box.width / cols, box.height / rows
        return Box(box.x0 + round(col * sx), box.y0 + round(row * sy),
                   box.x0 + round((col + 1) * sx), box.y0 + round((row + 1) * sy))
