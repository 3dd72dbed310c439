"""The batch job behind ``changer mattes``: automatic head-matte sequences from a plate, nothing lost.

Planned with the batch host's own checks (:mod:`.batch`): options, params (only those a matte reads),
colour config, the face models (the ``auto`` extra, refused first, before any file is touched), the
plate's frames, sizes and channels (as clip Target), and the output (EXR, names that fit, not an input,
folder writable, no frame there that another job or other settings wrote unless ``--overwrite``). Each
frame's matte is channel ``A`` of an EXR with the plate's windows, written to a temp name and renamed
when complete, under a per-frame lock. Its header carries the hash of everything that changes its
pixels (:data:`~.batch.PARAMS_ATTRIBUTE`, the resume key), :data:`LANDMARKS_ATTRIBUTE` (the face oval
it was built from, JSON) and :data:`TRACKER_ATTRIBUTE` (the head tracker after the frame, JSON).

Unlike a render, frames are not independent: they run in order through one
:class:`~changer.core.headmatte.HeadTracker`, so there are no workers, and a complete frame is skipped
with the tracker continued from its header: a resumed job writes what an uninterrupted one would have.
The matte is keyed with the artist's keyer params; ``shaped`` applies the role's threshold, grow and
feather (render and review apply them to any matte they read, so by default they are left to them).

``changer render`` without ``--target-matte``/``--source-matte`` (or with ``matte_combine`` other than
replace) runs this job first, as a pre-pass (:func:`plan_auto_mattes`): each head's sequence goes into
``<output folder>/.changer-auto-mattes/<prefix><head>-<digest>/``, so a rerun with the same settings
resumes it and other settings write another; the render then reads it as that head's automatic matte.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from tqdm import tqdm

from changer.core.color import to_network
from changer.core.device import one_cpu_thread
from changer.core.errors import ChangerError, MissingExtraError, ParamError
from changer.core.headmatte import HeadMatteSettings, HeadTracker, head_matte, mediapipe_version
from changer.core.headmatte.landmarks import LANDMARKS_ATTRIBUTE
from changer.core.headmatte.matte import MATTE_METHOD
from changer.core.io import ImageMeta, SequencePattern, read_meta, remove_stale_temp_files, write_image
from changer.core.io.locks import FrameLocks

from ..descriptor import context_descriptor
from ..params import AUTO_MATTE_PARAMS, KEYER_PARAMS, ParamValues
from .batch import (
    PARAMS_ATTRIBUTE,
    check_options,
    check_out,
    frames_to_render,
    output_digest,
    resolve_render_params,
)
from .clips import ClipFiles, SequenceClipSource, resolve_clips
from .options import KeyOptions, RenderOptions
from .plate_key import key_frames

log = logging.getLogger(__name__)

ROLES = ("target", "source")
TRACKER_ATTRIBUTE = "changer:head_tracker"
CHANNELS = ["A"]
#: The params an automatic matte reads (besides the keyer's; the role's shaping ones only with ``shaped``).
MATTE_PARAMS = (*AUTO_MATTE_PARAMS, "ocio_config", "working_space")
#: The folder, beside a render's output, of the matte sequences the render makes when no matte clip is given.
AUTO_FOLDER = ".changer-auto-mattes"
_SHAPING = ("threshold", "grow", "feather")


@dataclass(frozen=True, kw_only=True)
class MatteOptions(KeyOptions):
    """Everything ``changer mattes`` is told, as typed data (a key of the plate, and whose head it is)."""

    role: str = "target"
    shaped: bool = False

    def read_params(self) -> tuple[str, ...]:
        """The params this job reads: a shot file's others are ignored, a ``--set`` of another is refused."""
        shaping = tuple(f"{self.role}_matte_{knob}" for knob in _SHAPING) if self.shaped else ()
        return (*MATTE_PARAMS, *KEYER_PARAMS, *shaping)


@dataclass(frozen=True)
class MattePlan:
    """A checked ``changer mattes``: the frames, those still to write, and how."""

    options: MatteOptions
    params: ParamValues
    settings: HeadMatteSettings
    clips: dict[str, ClipFiles]
    out: SequencePattern
    frames: tuple[int, ...]
    todo: tuple[int, ...]
    digest: str

    def as_clip(self) -> ClipFiles:
        """A render's view of this sequence as its head's matte clip (channel A, the plate's frame)."""
        name = context_descriptor("general").names[f"{self.options.role}_matte"]
        return ClipFiles(f"{self.options.role}_matte", f"{name} (automatic)", self.out, tuple(CHANNELS),
                         self.clips["target"].meta)

    def write_for_render(self, progress: bool | None) -> str:
        """Write what a render's pre-pass still needs; its summary. Errors name the clip the matte stands in for."""
        try:
            return f"{self.as_clip().name}: {write_mattes(self, progress)}"
        except ChangerError as exc:
            raise type(exc)(f"{self.as_clip().name}: {exc}") from None


def plan_mattes(options: MatteOptions) -> MattePlan:
    """Check everything before any frame is written (see the module docstring)."""
    if options.role not in ROLES:
        raise ParamError(f"--role {options.role!r}: expected one of {', '.join(ROLES)}")
    check_options(options, ("plate",))
    if options.workers != 1:
        raise ParamError(f"--workers {options.workers}: a matte sequence runs in order through one head tracker; "
                         "split a long shot with --frames instead")
    models = mediapipe_version()
    params = resolve_render_params(options, options.read_params(), "changer mattes reads only the auto_matte_* and "
                                   "keyer params (and ocio_config, working_space; the role's matte "
                                   "threshold/grow/feather with --shaped)")
    params.color_config()
    still = SequencePattern.parse(str(options.plate), allow_still=True).is_still
    return _plan(options, params, key_frames(options, still), models)


def _digest(options: MatteOptions, params: ParamValues, models: str) -> str:
    """The resume key of a matte sequence: everything that changes its pixels, the plate's resolved pattern
    included (two renders into one output folder from other plates share the mattes' folder otherwise)."""
    return output_digest(options, params=params.digest_of(options.read_params()), job="mattes",
                         role=options.role, shaped=options.shaped, mediapipe=models, method=MATTE_METHOD,
                         plate=str(Path(options.plate).resolve()))


def _plan(options: MatteOptions, params: ParamValues, frames: list[int], models: str) -> MattePlan:
    """The plan of a matte sequence with checked options and params: the plate, the output, what is left."""
    still = SequencePattern.parse(str(options.plate), allow_still=True).is_still
    clips = resolve_clips({"target": options.plate}, frames, {})
    out = check_out(str(options.out), frames, clips, allow_still=still)
    digest = _digest(options, params, models)
    window = clips["target"].meta.display_window
    todo = frames_to_render(out, frames, CHANNELS, digest, window, options.overwrite)
    settings = params.head_matte_settings(shape_as=options.role if options.shaped else None)
    return MattePlan(options, params, settings, clips, out, tuple(frames), tuple(todo), digest)


# -- the render's pre-pass -------------------------------------------------------------------------
def auto_heads(options: RenderOptions, params: ParamValues) -> dict[str, str]:
    """Head -> why a render makes its matte: no matte clip given, or ``matte_combine`` mixes the two. A matte
    channel named for a matte not given is refused (the automatic matte has one channel: a typo is likelier)."""
    heads = {}
    for head in ROLES:
        flag = f"--{head}-matte"
        if getattr(options, f"{head}_matte") is None:
            channel = getattr(options, f"{head}_matte_channel")
            if channel != "auto":
                raise ParamError(f"{flag}-channel {channel}: no {flag} given to take it from (without one the "
                                 "head matte is made from the plate)")
            heads[head] = f"no {flag} given"
        elif params["matte_combine"] != "replace":
            heads[head] = f"{flag} with matte_combine={params['matte_combine']}"
    return heads


def auto_models(heads: dict[str, str]) -> str:
    """The face models' version for a render that makes ``heads``' mattes; without the ``auto`` extra, one
    line naming the clips and the extra (before anything is written)."""
    try:
        return mediapipe_version()
    except MissingExtraError as exc:
        names = context_descriptor("general").names
        clips = "; ".join(f"clip {names[f'{head}_matte']} ({why})" for head, why in heads.items())
        raise MissingExtraError(f"{clips}: {exc}") from None


def _auto_options(options: RenderOptions, head: str) -> MatteOptions:
    """What a render's pre-pass is told for ``head`` (its output folder aside)."""
    return MatteOptions(plate=str(getattr(options, head)), role=head)


def auto_digests(options: RenderOptions, params: ParamValues, heads: dict[str, str], models: str) -> dict[str, str]:
    """Head -> the digest of the matte sequence a render makes for it (part of the render's own digest)."""
    return {head: _digest(_auto_options(options, head), params, models) for head in heads}


def plan_auto_mattes(options: RenderOptions, params: ParamValues, frames: list[int], out: SequencePattern,
                     heads: dict[str, str], models: str) -> dict[str, MattePlan]:
    """Head -> the plan of its matte sequence, in a hidden folder beside the render's output named by the
    sequence's own digest (so other settings never meet, and a rerun resumes what an earlier one made)."""
    plans = {}
    for head, digest in auto_digests(options, params, heads, models).items():
        matte = _auto_options(options, head)
        still = SequencePattern.parse(str(matte.plate), allow_still=True).is_still
        folder = out.folder / AUTO_FOLDER / f"{out.prefix}{head}-{digest[:16]}"
        matte = replace(matte, out=str(folder / (f"{head}.exr" if still else f"{head}.####.exr")))
        plans[head] = _plan(matte, params, frames[:1] if still else frames, models)
    return plans


def _continue(tracker: HeadTracker, path: Path) -> None:
    """Continue ``tracker`` from a complete frame's header (a frame without a readable state restarts it)."""
    try:
        tracker.restore(json.loads(str(read_meta(path).attributes[TRACKER_ATTRIBUTE])))
    except (ChangerError, ValueError, TypeError, KeyError) as exc:
        log.warning("%s: no head tracker state to continue from (%s); the tracker restarts", path, exc)
        tracker.reset()


def write_mattes(plan: MattePlan, progress: bool | None = None) -> str:
    """Write the frames ``plan`` still needs, in order; the summary."""
    remove_stale_temp_files(plan.out.folder, plan.out.prefix)
    tracker = HeadTracker()
    config = plan.params.color_config()
    source = SequenceClipSource(plan.clips, color=config)
    cpu = torch.device("cpu")
    written, start = 0, time.perf_counter()
    with FrameLocks((plan.out.path(f) for f in plan.frames), plan.out.folder / f".{plan.out.prefix}lock-breaker"):
        # Under the locks, look again: another job may have finished some frames since the plan was made.
        window = plan.clips["target"].meta.display_window
        todo = set(frames_to_render(plan.out, plan.todo, CHANNELS, plan.digest, window, plan.options.overwrite))
        bar = tqdm(total=len(todo), unit="frame", desc="mattes", disable=None if progress is None else not progress)
        try:
            for frame in plan.frames:
                if frame not in todo:
                    _continue(tracker, plan.out.path(frame))
                    continue
                try:
                    plate = to_network(source.fetch("Target", frame), config)
                    with one_cpu_thread(cpu):
                        result = head_matte(plate, plan.settings, tracker=tracker, frame=frame)
                except ChangerError as exc:
                    raise type(exc)(f"frame {frame} ({plan.clips['target'].pattern.path(frame)}): {exc}") from None
                meta = source.target_meta
                attributes = {PARAMS_ATTRIBUTE: plan.digest, TRACKER_ATTRIBUTE: json.dumps(tracker.state()),
                              LANDMARKS_ATTRIBUTE: json.dumps(result.landmarks.to_json())}
                write_image(plan.out.path(frame), result.matte,
                            ImageMeta(meta.display_window, meta.data_window, CHANNELS, meta.pixel_aspect,
                                      attributes=attributes),
                            pixel_type=plan.options.pixel_type, compression=plan.options.compression, frame=frame)
                written += 1
                bar.update(1)
        finally:
            bar.close()
    skipped = len(plan.frames) - written
    return (f"wrote {written} head matte frame(s)" + (f", skipped {skipped} complete" if skipped else "")
            + f" in {time.perf_counter() - start:.1f} s\noutput: {plan.out.text}")
