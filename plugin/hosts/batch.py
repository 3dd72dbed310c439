"""The batch host behind ``changer render`` and ``changer key``: EXR sequences in, EXR sequences out, nothing lost.

A render is planned completely before frame 1 is touched (:func:`plan_render`): params, colour
config, output folder, output-equals-input, every clip's frames, sizes and channels, and the weights
are checked, so a bad input fails with one clear message and never damages earlier output. Frames
whose output is already complete (readable, with the expected channels, rendered with the same
params) are skipped, so a killed render resumes where it stopped; ``overwrite`` renders them again.
Frames are written atomically (temp name + rename), so a kill never leaves a partial frame.

Nothing on disk is replaced unless this render wrote it: a frame that exists but was not written
with this render's params hash (other params, other weights card, another size or channel set,
another program, an unreadable header) stops the render before frame 1 unless ``overwrite``. The
hash covers everything that changes a pixel (params, the weights card and tensors, the output
pixel type and compression, the matte channels, the CHANGER version); the network runs on one CPU
thread, so frames are bit-identical whatever the worker count. Every requested frame is locked
(:mod:`changer.core.io.locks`) before rendering, so two renders never write the same frame while
farm chunks with disjoint ranges run side by side.

Work runs in this process (``workers=1``) or in ``workers`` spawned processes that each load the
model once and render whole frames; the first user error stops the render. Workers die with the
render (SIGTERM to the render, or its death, ends them) and remove their own temp files.

``changer key`` (:mod:`.plate_key`) plans its own job and shares everything after the plan: a
:class:`BatchPlan` says how one frame is made and what its file holds, and :func:`render` does the
rest (output checks, the resume rule, locks, atomic writes, workers, progress and the summary).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import multiprocessing
import os
import signal
import sys
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import torch
from tqdm import tqdm

import changer.core.errors as errors
from changer.core.device import one_cpu_thread, pick_device
from changer.core.errors import ChangerError, ParamError, SequenceError
from changer.core.io import (
    EXR_COMPRESSIONS,
    EXR_PIXEL_TYPES,
    ImageMeta,
    SequencePattern,
    Window,
    check_name_fits,
    format_frames,
    parse_frames,
    read_image,
    read_meta,
    remove_stale_temp_files,
    write_image,
)
from changer.core.io.locks import FrameLocks
from changer.core.io.output_file import make_output_folder, same_file
from changer.core.pipeline import FrameResult, alignment_mode
from changer.core.weights import read_card

from ..effect import HeadBlendEffect
from ..models import MODELS
from ..params import ParamValues, parse_assignments, resolve_params
from ..shotfile import read_shot
from ..terminate import EXIT_TERMINATED, exit_on_sigterm
from .clips import ClipFiles, SequenceClipSource, resolve_clips
from .options import REQUIRED_CLIPS, OutputOptions, RenderOptions

if TYPE_CHECKING:
    from .auto_mattes import MattePlan

log = logging.getLogger(__name__)

#: EXR header attributes that tie an output frame to what rendered it (resume checks the first).
PARAMS_ATTRIBUTE = "changer:params_sha256"
WEIGHTS_ATTRIBUTE = "changer:weights"
#: The network crop "x0 y0 x1 y1" (data-window pixels, end exclusive); absent on pass-through frames.
CROP_ATTRIBUTE = "changer:crop_box"
BASE_CHANNELS = ("R", "G", "B", "A")
LAYERS = ("matte", "M", "ip")
AOV_LAYERS = {"X": 3, "Y": 3, "ToRGB": 3, "alpha": 1, "union": 1, "edit": 1}
#: Stage timings reported by the summary, in order; pipeline sections are folded into these.
REPORTED_STAGES = ("read", "key", "network", "write", "other")


@dataclass(frozen=True)
class BatchPlan(ABC):
    """A checked batch job: what to read, what to write, which frames still need writing.

    A subclass says how one frame is made and what its file holds; :func:`render` does the rest.
    """

    options: OutputOptions
    params: ParamValues
    clips: dict[str, ClipFiles]
    frames: tuple[int, ...]
    todo: tuple[int, ...]
    out: SequencePattern
    digest: str  #: :func:`output_digest`, stamped on every frame

    #: What the progress bar and messages call the job, and the stages its summary reports.
    label: ClassVar[str] = "render"
    stages: ClassVar[tuple[str, ...]] = REPORTED_STAGES

    @property
    def skipped(self) -> tuple[int, ...]:
        return tuple(f for f in self.frames if f not in set(self.todo))

    @property
    def window(self) -> Window:
        """The frame every output file covers: the Target's display window."""
        return self.clips["target"].meta.display_window

    @abstractmethod
    def channels(self) -> list[str]:
        """Channel names every output frame has."""

    @abstractmethod
    def effect(self) -> HeadBlendEffect:
        """The node instance that makes this job's frames (one per process)."""

    @abstractmethod
    def make(self, effect: HeadBlendEffect, source: SequenceClipSource, frame: int) -> FrameResult:
        """The pixels of ``frame``."""

    def clip_source(self, stills: dict[str, tuple[torch.Tensor, ImageMeta]]) -> SequenceClipSource:
        """The clips one frame is made from (``stills``: a process's stills, read once)."""
        return SequenceClipSource(self.clips, stills, color=self.params.color_config())

    def before_frames(self, progress: bool | None) -> list[str]:
        """Make what every frame reads besides the clips (nothing by default), before the frames' locks; what
        was made, for the summary."""
        return []

    def attributes(self) -> dict[str, str]:
        """EXR header attributes stamped on every output frame."""
        return {PARAMS_ATTRIBUTE: self.digest}


@dataclass(frozen=True)
class RenderPlan(BatchPlan):
    """A checked ``changer render``."""

    options: RenderOptions
    weights: Path
    auto: dict[str, MattePlan] = field(default_factory=dict)  #: head -> its automatic matte pre-pass

    def channels(self) -> list[str]:
        return expected_channels(self.params)

    def clip_source(self, stills: dict[str, tuple[torch.Tensor, ImageMeta]]) -> SequenceClipSource:
        return SequenceClipSource(self.clips, stills, {head: plan.as_clip() for head, plan in self.auto.items()},
                                  self.params.color_config())

    def before_frames(self, progress: bool | None) -> list[str]:
        """The automatic head mattes' pre-pass (tracked through the shot, so it runs before any frame)."""
        return [plan.write_for_render(progress) for plan in self.auto.values()]

    def effect(self) -> HeadBlendEffect:
        effect = HeadBlendEffect("general", self.params.replace(weights=str(self.weights)))
        effect.begin_sequence_render()
        return effect

    def make(self, effect: HeadBlendEffect, source: SequenceClipSource, frame: int) -> FrameResult:
        return effect.render(source, frame)

    def attributes(self) -> dict[str, str]:
        return {**super().attributes(), WEIGHTS_ATTRIBUTE: self.weights.name}


@dataclass
class RenderSummary:
    """What a render did and how long each stage took (seconds summed over frames)."""

    rendered: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    out: str = ""
    reported: tuple[str, ...] = REPORTED_STAGES  #: the stages :meth:`text` names
    made: list[str] = field(default_factory=list)  #: what the job made before its frames (one summary each)

    def add(self, timings: dict[str, float]) -> None:
        for name, value in timings.items():
            self.stages[name] = self.stages.get(name, 0.0) + value

    @property
    def frames_per_minute(self) -> float:
        return 60.0 * len(self.rendered) / self.seconds if self.seconds > 0 else 0.0

    def text(self) -> str:
        parts = [f"rendered {len(self.rendered)} frame(s)"
                 + (f" ({format_frames(self.rendered)})" if self.rendered else ""),
                 f"skipped {len(self.skipped)} complete"]
        line = ", ".join(parts) + f" in {self.seconds:.1f} s"
        if self.rendered:
            line += f" ({self.frames_per_minute:.1f} frames/min)"
            stages = ", ".join(f"{n} {self.stages.get(n, 0.0):.1f} s" for n in self.reported)
            line += f"; per stage, summed over frames: {stages}"
        return "".join(f"{text}\n" for text in self.made) + line + f"\noutput: {self.out}"


def resolve_render_params(options: OutputOptions, only: Collection[str] | None = None, why: str = "") -> ParamValues:
    """Defaults < ``--config`` shot file < ``--set`` < ``--ocio-config``/``--working-space``.

    With ``only``, the job reads only those params: the shot file's others are ignored (a shot file holds
    a whole shot) and a ``--set`` of another is refused, naming it and saying ``why``.
    """
    values = read_shot(options.config) if options.config else {}
    sets = parse_assignments(list(options.sets))
    if only is not None:
        values = {name: value for name, value in values.items() if name in only}
        stray = [name for name in sets if name not in only]
        if stray:
            raise ParamError(f"--set {stray[0]}: {why}")
    values.update(sets)
    if options.ocio_config is not None:
        values["ocio_config"] = options.ocio_config
    if options.working_space is not None:
        values["working_space"] = options.working_space
    return resolve_params(values)


def shot_frames(options: RenderOptions) -> list[int]:
    """``--frames``, else the Target's first to last frame on disk (so a gap is a missing frame)."""
    return plate_frames(options, options.target)


def plate_frames(options: OutputOptions, plate: str) -> list[int]:
    """``--frames``, else the ``plate`` pattern's first to last frame on disk."""
    if options.frames is not None:
        return parse_frames(options.frames)
    target = SequencePattern.parse(plate, allow_still=True)
    found = [] if target.is_still else target.frames_on_disk()
    if not found:
        raise SequenceError(f"clip Target: no frames of {plate!r} on disk; pass --frames")
    return list(range(found[0], found[-1] + 1))


def check_options(options: OutputOptions, clips: tuple[str, ...]) -> None:
    """What any batch job refuses before it reads a file: a missing clip or ``--out``, a frame-range typo,
    no workers, an unknown EXR pixel type or compression."""
    missing = [f"--{name.replace('_', '-')}" for name in clips if getattr(options, name) is None]
    if missing or not options.out:
        raise ParamError(f"missing required option(s): {', '.join(missing + ([] if options.out else ['--out']))}")
    if options.frames is not None:
        parse_frames(options.frames)
    if options.workers < 1:
        raise ParamError(f"--workers {options.workers}: expected at least 1")
    if options.compression not in EXR_COMPRESSIONS:
        raise ParamError(f"--compression {options.compression!r}: expected one of {', '.join(EXR_COMPRESSIONS)}")
    if options.pixel_type not in EXR_PIXEL_TYPES:
        raise ParamError(f"--pixel-type {options.pixel_type!r}: expected one of {', '.join(EXR_PIXEL_TYPES)}")


def check_out(text: str, frames: list[int], clips: dict[str, ClipFiles], allow_still: bool = False) -> SequencePattern:
    """The ``--out`` pattern: EXR, names that fit, no frame an input file; its folder made and probed."""
    out = SequencePattern.parse(text, allow_still=allow_still)
    if out.path(frames[0]).suffix.lower() != ".exr":
        raise ParamError(f"--out {text!r}: expected an .exr sequence pattern such as out/comp.####.exr")
    what = f"--out {text!r}"
    check_name_fits(out.path(max(frames)), what)
    for frame in frames:
        path = out.path(frame)
        for clip in clips.values():
            if same_file(clip.pattern.path(frame), path):
                raise ParamError(f"{what}: frame {frame} would overwrite clip {clip.name}'s input {path.resolve()}")
    make_output_folder(out.path(frames[0]), what)
    return out


def expected_channels(params: ParamValues) -> list[str]:
    """Channel names every output frame of a render with ``params`` has."""
    layers = dict.fromkeys(LAYERS, 1) | (AOV_LAYERS if params["output"] == "aovs" else {})
    suffix = {1: ("A",), 3: ("R", "G", "B")}
    return [*BASE_CHANNELS, *(f"{name}.{s}" for name, n in layers.items() for s in suffix[n])]


def _frame_state(path: Path, frame: int, channels: list[str], window: Window, digest: str) -> str | None:
    """None when ``path`` is a finished frame of this render; "todo" when it must be (re)rendered;
    otherwise why it is someone else's frame, which only ``--overwrite`` may replace."""
    if not path.is_file():
        return "todo"
    try:
        meta = read_meta(path, frame=frame)
    except ChangerError:
        return "header unreadable"
    if meta.attributes.get(PARAMS_ATTRIBUTE) != digest:
        return "rendered with other params or by another program"
    if not set(channels) <= set(meta.channel_names) or meta.display_window != window:
        return "written by this render but with other channels or another size"
    try:
        read_image(path, frame=frame)
    except ChangerError as exc:  # this render's own frame, damaged since: safe to write again
        log.warning("frame %d: %s is damaged (%s); rendering it again", frame, path, exc)
        return "todo"
    return None


def frames_to_render(out: SequencePattern, frames: list[int] | tuple[int, ...], channels: list[str], digest: str,
                     window: Window, overwrite: bool) -> list[int]:
    """The frames of ``frames`` still to render; refuses (before any frame renders) when one on disk is not
    this render's and ``overwrite`` is off. ``channels``: those every finished frame has."""
    if overwrite:
        return list(frames)
    todo: list[int] = []
    foreign: dict[str, list[int]] = {}
    for frame in frames:
        state = _frame_state(out.path(frame), frame, channels, window, digest)
        if state == "todo":
            todo.append(frame)
        elif state is not None:
            foreign.setdefault(state, []).append(frame)
    if foreign:
        reasons = "; ".join(f"frames {format_frames(f)}: {why}" for why, f in foreign.items())
        first = out.path(min(f for group in foreign.values() for f in group))
        raise ParamError(
            f"--out {out.text!r}: frames exist that this render did not write ({reasons}; first {first}); "
            "pass --overwrite to replace them, or choose another --out"
        )
    return todo


def output_digest(options: OutputOptions, **facts: object) -> str:
    """SHA-256 of everything that changes a pixel of the output: ``facts`` (params, weights...), the EXR
    pixel type and compression, and the CHANGER version (see the module docstring)."""
    facts |= {"exr": [options.pixel_type, options.compression], "changer": metadata.version("changer")}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def render_digest(params: ParamValues, card: dict[str, object], options: RenderOptions,
                  auto: dict[str, str] | None = None) -> str:
    """:func:`output_digest` of a render: its params, the weights card, the matte channels and, for each head
    whose matte is made automatically, its matte sequence's digest (face models' version, params)."""
    return output_digest(
        options, params=params.digest(),
        weights={k: card[k] for k in ("architecture", "architecture_version", "config", "tensors_sha256")},
        mattes=[options.target_matte_channel, options.source_matte_channel], **({"auto": auto} if auto else {}),
    )


def plan_render(options: RenderOptions) -> RenderPlan:
    """Check everything a render needs before any frame is written (see the module docstring)."""
    from .auto_mattes import (  # noqa: PLC0415  (it builds on this module)
        auto_digests,
        auto_heads,
        auto_models,
        plan_auto_mattes,
    )

    check_options(options, REQUIRED_CLIPS)
    params = resolve_render_params(options)
    params.color_config()
    heads = auto_heads(options, params)
    models = auto_models(heads) if heads else ""  # the auto extra, refused before anything is written
    frames = shot_frames(options)
    patterns = {role: getattr(options, role) for role in
                ("target", "source", "target_matte", "source_matte", "background", "clean_screen")}
    channels = {"target_matte": options.target_matte_channel, "source_matte": options.source_matte_channel}
    clips = resolve_clips(patterns, frames, channels)
    source, target = (clips[role].meta.display_window for role in ("source", "target"))
    alignment_mode(params["alignment"], (source.height, source.width), (target.height, target.width),
                   (clips["source"].name, clips["target"].name))
    out = check_out(options.out, frames, clips)
    loaded = MODELS.get(params["weights"], params["device"])  # refuses missing, truncated or foreign weights now
    digest = render_digest(params, read_card(loaded.path), options, auto_digests(options, params, heads, models))
    todo = frames_to_render(out, frames, expected_channels(params), digest, clips["target"].meta.display_window,
                            options.overwrite)
    auto = plan_auto_mattes(options, params, frames, out, heads, models) if heads and todo else {}
    return RenderPlan(options, params, clips, tuple(frames), tuple(todo), out, digest, loaded.path, auto)


def _stage_timings(pipeline: dict[str, float], read: float, write: float, total: float) -> dict[str, float]:
    stages = {"read": read, "key": pipeline.get("key", 0.0), "network": pipeline.get("network", 0.0), "write": write}
    stages["other"] = max(total - sum(stages.values()), 0.0)
    return stages


class FrameRenderer:
    """Renders and writes single frames of a plan; one per process, holding the effect (and its model)."""

    def __init__(self, plan: BatchPlan) -> None:
        self.plan = plan
        self.effect = plan.effect()
        self.device = pick_device(plan.params["device"])
        self.stills: dict[str, tuple[torch.Tensor, ImageMeta]] = {}

    def __call__(self, frame: int) -> dict[str, float]:
        """Render ``frame``, write it atomically, return its stage timings; errors name the frame."""
        start = time.perf_counter()
        source = self.plan.clip_source(self.stills)
        try:
            with one_cpu_thread(self.device):
                result = self.plan.make(self.effect, source, frame)
        except ChangerError as exc:
            raise type(exc)(f"frame {frame}: {exc}") from None
        meta = replace(source.target_meta, channel_names=list(BASE_CHANNELS))
        meta.attributes = {**meta.attributes, **self.plan.attributes()}
        if result.box is not None:
            meta.attributes[CROP_ATTRIBUTE] = " ".join(str(v) for v in result.box)
        written = time.perf_counter()
        write_image(self.plan.out.path(frame), result.rgba, meta, layers=result.layers,
                    pixel_type=self.plan.options.pixel_type, compression=self.plan.options.compression, frame=frame)
        end = time.perf_counter()
        return _stage_timings(result.timings, source.read_seconds, end - written, end - start)


# -- worker processes ------------------------------------------------------------------------------
_WORKER: FrameRenderer | None = None
_WORKER_ERROR: tuple[str, str] | None = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Ask Linux to send this worker SIGTERM when the render that spawned it dies, however it dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the render died before prctl took effect
        os._exit(EXIT_TERMINATED)


def _init_worker(plan: BatchPlan, parent: int) -> None:
    """Load the model once per worker; a failure is reported with the first frame (a raising
    initializer would make the pool respawn workers forever)."""
    global _WORKER, _WORKER_ERROR
    exit_on_sigterm()
    _die_with_parent(parent)
    logging.basicConfig(level=logging.WARNING)
    try:
        _WORKER = FrameRenderer(plan)
    except ChangerError as exc:
        _WORKER_ERROR = (type(exc).__name__, str(exc))
    except Exception:
        _WORKER_ERROR = ("", traceback.format_exc())


def _work(frame: int) -> tuple[int, dict[str, float] | None, tuple[str, str] | None]:
    """Render one frame in a worker: (frame, timings, None) or (frame, None, (error class, message))."""
    if _WORKER is None:
        return frame, None, _WORKER_ERROR or ("", "the render worker did not start")
    try:
        return frame, _WORKER(frame), None
    except ChangerError as exc:
        return frame, None, (type(exc).__name__, str(exc))
    except Exception:  # a bug: carry the traceback to the main process
        return frame, None, ("", traceback.format_exc())


def _raise(error: tuple[str, str]) -> None:
    name, message = error
    cls = getattr(errors, name, None) if name else None
    if isinstance(cls, type) and issubclass(cls, ChangerError):
        raise cls(message)
    raise RuntimeError(f"a render worker failed:\n{message}")


def _render_parallel(plan: BatchPlan, todo: list[int], workers: int) -> Iterator[tuple[int, dict[str, float]]]:
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(workers, initializer=_init_worker, initargs=(plan, os.getpid()))
    pids = frozenset(p.pid for p in multiprocessing.active_children() if p.pid is not None)
    try:
        for frame, timings, error in pool.imap_unordered(_work, todo):
            if error is not None:
                _raise(error)
            yield frame, timings
        pool.close()
    finally:
        pool.terminate()
        pool.join()
        remove_stale_temp_files(plan.out.folder, plan.out.prefix, min_age_s=0.0, pids=pids)


def _render_serial(plan: BatchPlan, todo: list[int]) -> Iterator[tuple[int, dict[str, float]]]:
    renderer = FrameRenderer(plan)
    for frame in todo:
        yield frame, renderer(frame)


def render(plan: BatchPlan, progress: bool | None = None) -> RenderSummary:
    """Lock the plan's frames, render those still needed, with a progress bar (ETA) when ``progress`` allows."""
    remove_stale_temp_files(plan.out.folder, plan.out.prefix)
    made = plan.before_frames(progress)
    with FrameLocks((plan.out.path(f) for f in plan.frames), plan.out.folder / f".{plan.out.prefix}lock-breaker"):
        # Under the locks, look again: another render may have finished some frames since the plan was made.
        todo = frames_to_render(plan.out, plan.todo, plan.channels(), plan.digest, plan.window, plan.options.overwrite)
        summary = RenderSummary(skipped=[f for f in plan.frames if f not in set(todo)], out=plan.out.text,
                                reported=plan.stages, made=made)
        workers = min(plan.options.workers, max(len(todo), 1))
        start = time.perf_counter()
        frames = _render_serial(plan, todo) if workers == 1 else _render_parallel(plan, todo, workers)
        bar = tqdm(total=len(todo), unit="frame", desc=plan.label, disable=None if progress is None else not progress)
        try:
            for frame, timings in frames:
                summary.rendered.append(frame)
                summary.add(timings)
                bar.update(1)
        finally:
            frames.close()
            bar.close()
            summary.seconds = time.perf_counter() - start
            summary.rendered.sort()
    return summary
