"""The batch host's clips: sequence files checked up front, then read frame by frame for the effect.

:func:`resolve_clips` reads headers only and refuses, before anything renders, missing frames,
resolution changes, clips whose frame sizes disagree and files without the channels a clip needs.
:class:`SequenceClipSource` is the effect's :class:`~changer.plugin.effect.ClipSource` over those
files: every clip is placed in the Target's data window (zeros outside its own) so all pixels line
up; image clips in a float format (EXR) are taken as they are (they are in the working space), image
clips in an integer format (8/16-bit PNG, TIFF, JPEG: display-referred by convention) are read as
sRGB-encoded Rec.709 and converted into the working space by OCIO (:func:`to_working`), mattes are
untouched. At an
OpenFX render scale below 1 (the review panel's proxy) every clip is area-averaged down to
``round(size * scale)`` pixels (:func:`downscale`). A render that makes its head mattes hands their
sequences over as the ``auto`` clips, read as the effect's automatic mattes.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from changer.core.color import ColorConfig, from_network
from changer.core.errors import ChangerError, ImageReadError, SequenceError
from changer.core.headmatte.landmarks import LANDMARKS_ATTRIBUTE, FaceLandmarks
from changer.core.io import ImageMeta, SequencePattern, Window, check_sequence, read_image
from changer.core.masks import Box
from changer.core.pipeline.frame import SOURCE_ROLES

from ..descriptor import context_descriptor

log = logging.getLogger(__name__)

RGB = ("R", "G", "B")
MATTE_ROLES = ("target_matte", "source_matte")
#: Storage types of display-referred files: their values are sRGB-encoded, not scene-linear.
DISPLAY_REFERRED_TYPES = ("uint8", "int8", "uint16", "int16")


def to_working(pixels: torch.Tensor, meta: ImageMeta, role: str, color: ColorConfig | None, what: str) -> torch.Tensor:
    """An image clip's pixels in the working space: an integer-format file (display-referred) is converted from
    sRGB-encoded Rec.709 (the network space); float files and mattes are returned as they are."""
    if color is None or role in MATTE_ROLES or meta.pixel_type not in DISPLAY_REFERRED_TYPES:
        return pixels
    log.info("%s is %s (display-referred): read as sRGB-encoded Rec.709 and converted to %s", what,
             meta.pixel_type, color.working)
    return from_network(pixels, color)


@dataclass(frozen=True)
class ClipFiles:
    """One input clip on disk: its OpenFX name, pattern, the channels read and its first frame's header."""

    role: str
    name: str
    pattern: SequencePattern
    channels: tuple[str, ...]
    meta: ImageMeta


def _channels(role: str, name: str, meta: ImageMeta, path: str, requested: str) -> tuple[str, ...]:
    have = list(meta.channel_names)
    if role in MATTE_ROLES:
        if requested != "auto":
            if requested not in have:
                raise ImageReadError(f"clip {name} ({path}): no channel {requested!r}; it has {have}")
            return (requested,)
        if len(have) == 1:
            return (have[0],)
        if "A" in have:
            return ("A",)
        raise ImageReadError(
            f"clip {name} ({path}): {len(have)} channels {have} and no A; pick the matte with "
            f"--{role.replace('_', '-')}-channel NAME"
        )
    if not all(c in have for c in RGB):
        raise ImageReadError(f"clip {name} ({path}): has {len(have)} channel(s) {have}, expected R, G and B")
    if role == "background" and "A" in have:
        return (*RGB, "A")
    return RGB


def resolve_clips(patterns: dict[str, str | None], frames: list[int],
                  matte_channels: dict[str, str]) -> dict[str, ClipFiles]:
    """Check every connected clip for ``frames`` (headers only); role -> :class:`ClipFiles`."""
    names = context_descriptor("general").names
    clips: dict[str, ClipFiles] = {}
    for role, text in patterns.items():
        if text is None:
            continue
        name = names[role]
        try:
            pattern = SequencePattern.parse(text, allow_still=True)
            meta = check_sequence(pattern, frames)
        except ChangerError as exc:
            raise type(exc)(f"clip {name}: {exc}") from None
        path = str(pattern.path(frames[0]))
        channels = _channels(role, name, meta, path, matte_channels.get(role, "auto"))
        clips[role] = ClipFiles(role, name, pattern, channels, meta)
    for clip in clips.values():
        owner = clips["source"] if clip.role in SOURCE_ROLES and "source" in clips else clips["target"]
        window, frame = clip.meta.display_window, owner.meta.display_window
        if window != frame:
            raise SequenceError(
                f"clip sizes disagree: {clip.name} is {window.width}x{window.height} (display window {window}), "
                f"{owner.name} is {frame.width}x{frame.height} ({frame}); every clip must have the {owner.name}'s "
                "frame (the Source and its head matte may have a size of their own: the alignment places them)"
            )
    return clips


def fit_window(pixels: torch.Tensor, have: Window, want: Window) -> torch.Tensor:
    """``pixels`` covering data window ``have`` placed into window ``want`` (zeros where it has none)."""
    if have == want:
        return pixels
    out = pixels.new_zeros(pixels.shape[0], want.height, want.width)
    x0, y0 = max(have.x, want.x), max(have.y, want.y)
    x1, y1 = min(have.x + have.width, want.x + want.width), min(have.y + have.height, want.y + want.height)
    if x1 > x0 and y1 > y0:
        out[:, y0 - want.y:y1 - want.y, x0 - want.x:x1 - want.x] = \
            pixels[:, y0 - have.y:y1 - have.y, x0 - have.x:x1 - have.x]
    return out


def scaled_size(height: int, width: int, render_scale: float) -> tuple[int, int]:
    """(height, width) of a frame at ``render_scale``: rounded, at least one pixel."""
    return max(1, round(height * render_scale)), max(1, round(width * render_scale))


def downscale(pixels: torch.Tensor, render_scale: float) -> torch.Tensor:
    """(C,H,W) pixels at ``render_scale`` <= 1, each output pixel the area average of the input it
    covers (exact box averages for 1/2, 1/4...; mattes stay in [0, 1], nothing rings)."""
    if render_scale == 1.0:
        return pixels
    size = scaled_size(*pixels.shape[-2:], render_scale)
    return F.interpolate(pixels[None], size=size, mode="area")[0]


class SequenceClipSource:
    """:class:`~changer.plugin.effect.ClipSource` over :class:`ClipFiles`; times are frame numbers."""

    def __init__(self, clips: dict[str, ClipFiles], stills: dict[str, tuple[torch.Tensor, ImageMeta]] | None = None,
                 auto: dict[str, ClipFiles] | None = None, color: ColorConfig | None = None) -> None:
        self._color = color  # converts display-referred image files into the working space (None: taken as is)
        self._auto = {} if auto is None else {head: clip.name for head, clip in auto.items()}
        self._by_name = {clip.name: clip for clip in (*clips.values(), *(auto or {}).values())}
        self._by_role = clips
        self._metas: dict[str, ImageMeta] = {}  # clip name -> the header of the frame last read
        self._target = clips["target"]
        self._stills = {} if stills is None else stills  # a still (background, clean screen) is read once
        self.read_seconds = 0.0
        self.target_meta: ImageMeta | None = None

    def connected(self, clip: str) -> bool:
        return clip in self._by_name

    def region_of_definition(self, clip: str, time: float) -> Box:
        w = self._by_name[clip].meta.data_window
        return Box(w.x, w.y, w.x + w.width, w.y + w.height)

    def auto_matte(self, head: str, time_: float,
                   render_scale: float = 1.0) -> tuple[torch.Tensor, FaceLandmarks | None] | None:
        """The automatic matte of ``head`` a render's pre-pass made (``auto``: head -> its sequence) and the face it
        was built from (its header's landmarks, at ``render_scale``), else None (the effect makes one from the
        frame: :class:`~changer.plugin.effect.AutoMatteSource`)."""
        name = self._auto.get(head)
        if name is None:
            return None
        return self.fetch(name, time_, render_scale)[-1:], self.face(name, render_scale)

    def face(self, clip: str, render_scale: float = 1.0) -> FaceLandmarks | None:
        """The face in the header of the frame of ``clip`` last fetched (a matte ``changer mattes`` wrote), at
        ``render_scale``; None when it has none."""
        meta = self._metas.get(clip)
        data = None if meta is None else meta.attributes.get(LANDMARKS_ATTRIBUTE)
        return None if data is None else FaceLandmarks.from_json(json.loads(str(data)), render_scale)

    def fetch(self, clip: str, time_: float, render_scale: float = 1.0) -> torch.Tensor:
        files = self._by_name[clip]
        frame = int(time_)
        start = time.perf_counter()
        path = files.pattern.path(frame)
        try:
            if files.pattern.is_still and clip in self._stills:
                pixels, meta = self._stills[clip]
            else:
                pixels, meta = read_image(path, channels=list(files.channels), frame=frame)
                pixels = to_working(pixels, meta, files.role, self._color, f"clip {clip}: {path}")
        except ChangerError as exc:
            raise type(exc)(f"clip {clip}: {exc}") from None
        if files.pattern.is_still:
            self._stills[clip] = (pixels, meta)
        self._metas[clip] = meta
        bad = int((~torch.isfinite(pixels)).sum())
        if bad:
            raise ImageReadError(f"clip {clip}: {path} has {bad} NaN or infinite values; expected finite pixels")
        if files is self._target:
            self.target_meta = meta
            window = meta.data_window
        elif files.role in SOURCE_ROLES:
            window = self._by_role["source"].meta.display_window
        else:
            window = self.target_meta.data_window if self.target_meta else self._target.meta.data_window
        pixels = downscale(fit_window(pixels, meta.data_window, window), render_scale)
        self.read_seconds += time.perf_counter() - start
        return pixels
