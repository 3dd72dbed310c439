"""The batch job behind ``changer key``: a plate keyed on its own by the node's keyer, nothing lost.

The key is the one a render's comp stage makes of the Target
(:meth:`~changer.plugin.effect.HeadBlendEffect.key_target`), read through the same clip checks and
working space and set by the same param list, so a key checked with ``changer key`` is the key a
render uses. The job reads only the params a key reads (:data:`KEY_PARAMS`): a shot file's others are
ignored (the review panel saves a whole shot), a ``--set`` of one is refused. Its hash covers those
params, the EXR settings and the CHANGER version. Everything after the plan is the batch host's
(:func:`.batch.render`): the resume rule, locks, atomic writes, workers, progress and the summary.
A still plate (no frame token) keys to one file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from changer.core.errors import ParamError
from changer.core.io import SequencePattern, parse_frames
from changer.core.pipeline import KEY_LAYERS, FrameResult

from ..effect import PLATE_KEY_PARAMS, HeadBlendEffect
from ..params import KEYER_PARAMS
from .batch import (
    BASE_CHANNELS,
    BatchPlan,
    check_options,
    check_out,
    frames_to_render,
    output_digest,
    plate_frames,
    resolve_render_params,
)
from .clips import SequenceClipSource, resolve_clips
from .options import KeyOptions

#: The params a key reads: the keyer's, and the device and colour setup.
KEY_PARAMS = PLATE_KEY_PARAMS
#: Channels of every key frame: RGBA, then one channel per layer of :data:`~changer.core.pipeline.KEY_LAYERS`.
KEY_CHANNELS = (*BASE_CHANNELS, *(f"{name}.A" for name in KEY_LAYERS))
KEY_STAGES = ("read", "key", "write", "other")
_NOT_A_KEY_PARAM = ("changer key reads only the keyer's params (page Keyer of `changer params`) and "
                    + ", ".join(name for name in KEY_PARAMS if name not in KEYER_PARAMS))


@dataclass(frozen=True)
class KeyPlan(BatchPlan):
    """A checked ``changer key``."""

    options: KeyOptions

    label: ClassVar[str] = "key"
    stages: ClassVar[tuple[str, ...]] = KEY_STAGES

    def channels(self) -> list[str]:
        return list(KEY_CHANNELS)

    def effect(self) -> HeadBlendEffect:
        return HeadBlendEffect("general", self.params)

    def make(self, effect: HeadBlendEffect, source: SequenceClipSource, frame: int) -> FrameResult:
        return effect.key_target(source, frame)


def key_frames(options: KeyOptions, still: bool) -> list[int]:
    """The plate's frames (:func:`.batch.plate_frames`); a still keys to one frame, ``--frames`` or 1."""
    if not still:
        return plate_frames(options, options.plate)
    frames = parse_frames(options.frames) if options.frames is not None else [1]
    if len(frames) != 1:
        raise ParamError(f"--frames {options.frames!r}: the plate {options.plate!r} is a still, which keys to "
                         "one frame; name one frame or leave --frames out")
    return frames


def plan_key(options: KeyOptions) -> KeyPlan:
    """Check everything a key needs before any frame is written (see the module docstring)."""
    check_options(options, ("plate",))
    params = resolve_render_params(options, KEY_PARAMS, _NOT_A_KEY_PARAM)
    params.color_config()
    still = SequencePattern.parse(options.plate, allow_still=True).is_still
    frames = key_frames(options, still)
    clips = resolve_clips({"target": options.plate, "clean_screen": options.clean_screen}, frames, {})
    out = check_out(options.out, frames, clips, allow_still=still)
    digest = output_digest(options, job="key", params=params.digest_of(n for n in KEY_PARAMS if n != "device"))
    window = clips["target"].meta.display_window
    todo = frames_to_render(out, frames, list(KEY_CHANNELS), digest, window, options.overwrite)
    return KeyPlan(options, params, clips, tuple(frames), tuple(todo), out, digest)
