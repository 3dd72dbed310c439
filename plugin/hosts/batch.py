"""The batch host behind ``changer render``: EXR sequences in, EXR sequences out, nothing lost.

A render is planned completely before frame 1 is touched (:func:`plan_render`): params, colour
config, output folder, output-equals-input, every clip's frames, sizes and channels, and the weights
are checked, so a bad input fails with one clear message and never damages earlier output. Frames
whose output is already complete (readable, with the expected channels, rendered with the same
params) are skipped, so a killed render resumes where it stopped; ``overwrite`` renders them again.
Frames are written atomically (temp name + rename), so a kill never leaves a partial frame.

Work runs in this process (``workers=1``) or in ``workers`` spawned processes that each load the
model once and render whole frames; the first user error stops the render.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from tqdm import tqdm

import changer.core.errors as errors
from changer.core.errors import ChangerError, ImageWriteError, ParamError, SequenceError
from changer.core.io import (
    EXR_COMPRESSIONS,
    EXR_PIXEL_TYPES,
    ImageMeta,
    SequencePattern,
    Window,
    format_frames,
    parse_frames,
    read_image,
    read_meta,
    write_image,
)
from changer.core.weights import read_card

from ..effect import HeadBlendEffect
from ..models import MODELS
from ..params import ParamValues, parse_assignments, resolve_params
from ..shotfile import read_shot
from .clips import ClipFiles, SequenceClipSource, resolve_clips
from .options import REQUIRED_CLIPS, RenderOptions

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
class RenderPlan:
    """A checked render: what to read, what to write, which frames still need rendering."""

    options: RenderOptions
    params: ParamValues
    clips: dict[str, ClipFiles]
    frames: tuple[int, ...]
    todo: tuple[int, ...]
    out: SequencePattern
    weights: Path
    digest: str  #: params (less device and weights path) + the weights' tensor hash, stamped on every frame

    @property
    def skipped(self) -> tuple[int, ...]:
        return tuple(f for f in self.frames if f not in set(self.todo))


@dataclass
class RenderSummary:
    """What a render did and how long each stage took (seconds summed over frames)."""

    rendered: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    out: str = ""

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
            stages = ", ".join(f"{n} {self.stages.get(n, 0.0):.1f} s" for n in REPORTED_STAGES)
            line += f"; per stage, summed over frames: {stages}"
        return line + f"\noutput: {self.out}"


def resolve_render_params(options: RenderOptions) -> ParamValues:
    """Defaults < ``--config`` shot file < ``--set`` < ``--ocio-config``/``--working-space``."""
    values = read_shot(options.config) if options.config else {}
    values.update(parse_assignments(list(options.sets)))
    if options.ocio_config is not None:
        values["ocio_config"] = options.ocio_config
    if options.working_space is not None:
        values["working_space"] = options.working_space
    return resolve_params(values)


def shot_frames(options: RenderOptions) -> list[int]:
    """``--frames``, else the Target's first to last frame on disk (so a gap is a missing frame)."""
    if options.frames is not None:
        return parse_frames(options.frames)
    target = SequencePattern.parse(options.target, allow_still=True)
    found = [] if target.is_still else target.frames_on_disk()
    if not found:
        raise SequenceError(f"clip Target: no frames of {options.target!r} on disk; pass --frames")
    return list(range(found[0], found[-1] + 1))


def _check_out(options: RenderOptions, frames: list[int], clips: dict[str, ClipFiles]) -> SequencePattern:
    out = SequencePattern.parse(options.out)
    if out.suffix.lower() != ".exr":
        raise ParamError(f"--out {options.out!r}: expected an .exr sequence pattern such as out/comp.####.exr")
    for frame in frames:
        path = out.path(frame).resolve()
        for clip in clips.values():
            if clip.pattern.path(frame).resolve() == path:
                raise ParamError(f"--out {options.out!r}: frame {frame} would overwrite clip {clip.name}'s input {path}")
    folder = out.folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".changer-write-test-"):
            pass
    except OSError as exc:
        raise ImageWriteError(f"--out {options.out!r}: cannot write into folder {folder} ({exc.strerror or exc})") from None
    return out


def expected_channels(params: ParamValues) -> list[str]:
    """Channel names every output frame of a render with ``params`` has."""
    layers = dict.fromkeys(LAYERS, 1) | (AOV_LAYERS if params["output"] == "aovs" else {})
    suffix = {1: ("A",), 3: ("R", "G", "B")}
    return [*BASE_CHANNELS, *(f"{name}.{s}" for name, n in layers.items() for s in suffix[n])]


def _complete(path: Path, frame: int, channels: list[str], window: Window, digest: str) -> bool | None:
    """True: a finished frame of this render; False: absent or unreadable; None: rendered with other params."""
    if not path.is_file():
        return False
    try:
        meta = read_meta(path, frame=frame)
        if not set(channels) <= set(meta.channel_names) or meta.display_window != window:
            log.warning("frame %d: %s lacks channels or has another size; rendering it again", frame, path)
            return False
        if meta.attributes.get(PARAMS_ATTRIBUTE) != digest:
            return None
        read_image(path, frame=frame)
    except ChangerError as exc:
        log.warning("frame %d: %s is unreadable (%s); rendering it again", frame, path, exc)
        return False
    return True


def _todo(plan_out: SequencePattern, frames: list[int], params: ParamValues, digest: str, window: Window,
          overwrite: bool) -> list[int]:
    if overwrite:
        return list(frames)
    channels = expected_channels(params)
    todo, foreign = [], []
    for frame in frames:
        state = _complete(plan_out.path(frame), frame, channels, window, digest)
        if state is None:
            foreign.append(frame)
        elif not state:
            todo.append(frame)
    if foreign:
        raise ParamError(
            f"--out {plan_out.text!r}: frames {format_frames(foreign)} exist and were rendered with other params "
            "(or by another program); pass --overwrite to replace them, or choose another --out"
        )
    return todo


def plan_render(options: RenderOptions) -> RenderPlan:
    """Check everything a render needs before any frame is written (see the module docstring)."""
    missing = [f"--{name.replace('_', '-')}" for name in REQUIRED_CLIPS if getattr(options, name) is None]
    if missing or options.out is None:
        raise ParamError(f"missing required option(s): {', '.join(missing + ([] if options.out else ['--out']))}")
    if options.workers < 1:
        raise ParamError(f"--workers {options.workers}: expected at least 1")
    if options.compression not in EXR_COMPRESSIONS:
        raise ParamError(f"--compression {options.compression!r}: expected one of {', '.join(EXR_COMPRESSIONS)}")
    if options.pixel_type not in EXR_PIXEL_TYPES:
        raise ParamError(f"--pixel-type {options.pixel_type!r}: expected one of {', '.join(EXR_PIXEL_TYPES)}")
    params = resolve_render_params(options)
    params.color_config()
    frames = shot_frames(options)
    patterns = {role: getattr(options, role) for role in
                ("target", "source", "target_matte", "source_matte", "background", "clean_screen")}
    channels = {"target_matte": options.target_matte_channel, "source_matte": options.source_matte_channel}
    clips = resolve_clips(patterns, frames, channels)
    out = _check_out(options, frames, clips)
    loaded = MODELS.get(params["weights"], params["device"])  # refuses missing, truncated or foreign weights now
    digest = hashlib.sha256(f"{params.digest()} {read_card(loaded.path)['tensors_sha256']}".encode()).hexdigest()
    todo = _todo(out, frames, params, digest, clips["target"].meta.display_window, options.overwrite)
    return RenderPlan(options, params, clips, tuple(frames), tuple(todo), out, loaded.path, digest)


def _stage_timings(pipeline: dict[str, float], read: float, write: float, total: float) -> dict[str, float]:
    stages = {"read": read, "key": pipeline.get("key", 0.0), "network": pipeline.get("network", 0.0), "write": write}
    stages["other"] = max(total - sum(stages.values()), 0.0)
    return stages


class FrameRenderer:
    """Renders and writes single frames of a plan; one per process, holding the effect and its model."""

    def __init__(self, plan: RenderPlan) -> None:
        self.plan = plan
        self.effect = HeadBlendEffect("general", plan.params.replace(weights=str(plan.weights)))
        self.effect.begin_sequence_render()
        self.stills: dict[str, tuple[torch.Tensor, ImageMeta]] = {}

    def __call__(self, frame: int) -> dict[str, float]:
        """Render ``frame``, write it atomically, return its stage timings; errors name the frame."""
        start = time.perf_counter()
        source = SequenceClipSource(self.plan.clips, self.stills)
        try:
            result = self.effect.render(source, frame)
        except ChangerError as exc:
            raise type(exc)(f"frame {frame}: {exc}") from None
        meta = replace(source.target_meta, channel_names=list(BASE_CHANNELS))
        meta.attributes = {**meta.attributes, PARAMS_ATTRIBUTE: self.plan.digest,
                           WEIGHTS_ATTRIBUTE: self.plan.weights.name}
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


def _init_worker(plan: RenderPlan, threads: int) -> None:
    """Load the model once per worker; a failure is reported with the first frame (a raising
    initializer would make the pool respawn workers forever)."""
    global _WORKER, _WORKER_ERROR
    torch.set_num_threads(threads)
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


def _render_parallel(plan: RenderPlan, workers: int) -> Iterator[tuple[int, dict[str, float]]]:
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(workers, initializer=_init_worker, initargs=(plan, threads))
    try:
        for frame, timings, error in pool.imap_unordered(_work, plan.todo):
            if error is not None:
                _raise(error)
            yield frame, timings
        pool.close()
    finally:
        pool.terminate()
        pool.join()
        remove_stale_temp_files(plan.out)


def _render_serial(plan: RenderPlan) -> Iterator[tuple[int, dict[str, float]]]:
    renderer = FrameRenderer(plan)
    for frame in plan.todo:
        yield frame, renderer(frame)


def remove_stale_temp_files(out: SequencePattern) -> list[Path]:
    """Delete hidden temp files of killed writers of ``out`` (``.<name>.tmp-<pid>-...``) whose pid is gone."""
    removed = []
    if not out.folder.is_dir():
        return removed
    for path in out.folder.glob(f".{out.prefix}*.tmp-*"):
        try:
            pid = int(path.name.rsplit(".tmp-", 1)[1].split("-", 1)[0])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid() or _alive(pid):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def render(plan: RenderPlan, progress: bool | None = None) -> RenderSummary:
    """Render the frames a plan still needs, with a progress bar (ETA) when ``progress`` allows."""
    summary = RenderSummary(skipped=list(plan.skipped), out=plan.out.text)
    remove_stale_temp_files(plan.out)
    workers = min(plan.options.workers, max(len(plan.todo), 1))
    start = time.perf_counter()
    frames = _render_serial(plan) if workers == 1 else _render_parallel(plan, workers)
    bar = tqdm(total=len(plan.todo), unit="frame", desc="render", disable=None if progress is None else not progress)
    try:
        for frame, timings in frames:
            summary.rendered.append(frame)
            summary.add(timings)
            bar.update(1)
    finally:
        bar.close()
        summary.seconds = time.perf_counter() - start
        summary.rendered.sort()
    return summary
