"""Frame sequences on disk: file-name patterns, frame-range strings, discovery and checks.

A pattern is a path whose FILE NAME holds exactly one frame token: ``name.####.exr`` and
``name.@@@@.exr`` (one digit of zero padding per character, Nuke/OIIO convention) or
``name.%04d.exr`` (``%d`` = no padding). Frames with more digits than the padding are written in
full (frame 12345 of ``####`` is ``12345``). Negative frames are not supported. A path with no
token is a single still only when ``allow_still=True`` is passed to :meth:`SequencePattern.parse`;
its :meth:`~SequencePattern.path` is the same file for every frame.

Frame ranges are strings like ``1001-1100``, ``1001-1100x2``, ``1001,1005,1010-1012`` or ``1001``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ParamError, SequenceError, shown
from .image import read_meta
from .meta import ImageMeta

log = logging.getLogger(__name__)

PATTERN_FORMS = "name.####.exr, name.@@@@.exr or name.%04d.exr (one frame token in the file name)"
RANGE_FORMS = "1001, 1001-1100, 1001-1100x2 or a comma list like 1001,1005,1010-1012"
#: Highest frame number accepted (9 digits), and most frames one range may name: a typo such as
#: 1-2000000000 is refused at once instead of listing two billion frames.
MAX_FRAME = 999_999_999
MAX_FRAMES = 100_000

_TOKEN = re.compile(r"#+|@+|%\d*d")
_RANGE_ITEM = re.compile(r"(\d{1,9})(?:\s*-\s*(\d{1,9})(?:\s*x\s*(\d{1,9}))?)?")


@dataclass(frozen=True)
class SequencePattern:
    """A parsed sequence pattern: ``folder / (prefix + frame digits + suffix)``.

    ``padding`` is the minimum digit count, or None for a still (no frame token).
    """

    text: str
    folder: Path
    prefix: str
    padding: int | None
    suffix: str

    @classmethod
    def parse(cls, pattern: str | os.PathLike[str], *, allow_still: bool = False) -> SequencePattern:
        """Parse ``pattern``; raises SequenceError naming it when it has no or several frame tokens."""
        text = os.fspath(pattern)
        path = Path(text)
        name = path.name
        tokens = list(_TOKEN.finditer(name))
        if not tokens and allow_still:
            return cls(text, path.parent, name, None, "")
        if len(tokens) != 1:
            found = "no frame token" if not tokens else f"{len(tokens)} frame tokens"
            raise SequenceError(f"unknown sequence pattern {shown(text, 300)}: {found}; expected {PATTERN_FORMS}")
        token = tokens[0].group()
        if token.startswith("%"):
            digits = token[1:-1]
            if digits and not (digits.startswith("0") and int(digits) > 0):
                raise SequenceError(
                    f"unknown sequence pattern {shown(text, 300)}: {token} is not zero padded; expected {PATTERN_FORMS}"
                )
            padding = int(digits) if digits else 1
        else:
            padding = len(token)
        start, end = tokens[0].span()
        return cls(text, path.parent, name[:start], padding, name[end:])

    @property
    def is_still(self) -> bool:
        return self.padding is None

    def __str__(self) -> str:
        return self.text

    def path(self, frame: int) -> Path:
        """File of ``frame`` (the still's file for any frame)."""
        if self.padding is None:
            return self.folder / self.prefix
        if frame < 0:
            raise SequenceError(f"frame {frame} of {self.text!r} is negative; frames start at 0")
        return self.folder / f"{self.prefix}{frame:0{self.padding}d}{self.suffix}"

    def frames_on_disk(self) -> list[int]:
        """Sorted frames whose files exist in the folder (empty when the folder does not exist).

        Only names this pattern would write match: with ``####``, ``0999`` and ``12345`` match,
        ``01000`` does not; hidden temp files of interrupted writes never match.
        """
        if self.padding is None:
            raise SequenceError(f"{self.text!r} is a still, it has no frame numbers")
        digits = rf"\d{{{self.padding}}}|[1-9]\d{{{self.padding},}}"
        regex = re.compile(rf"{re.escape(self.prefix)}({digits}){re.escape(self.suffix)}")
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        frames = (regex.fullmatch(name) for name in names)
        return sorted(int(match.group(1)) for match in frames if match)


def _range_error(text: str, reason: str) -> SequenceError:
    return SequenceError(f"invalid frame range {shown(text)}: {reason}; expected {RANGE_FORMS}")


def parse_frames(text: str) -> list[int]:
    """Frame-range string -> sorted unique frames. Raises SequenceError naming the text.

    Frame numbers go up to :data:`MAX_FRAME` and a range names at most :data:`MAX_FRAMES` frames;
    both are checked before any list is built.

    >>> parse_frames("1001-1005x2,1010")
    [1001, 1003, 1005, 1010]
    >>> parse_frames("1-2000000000")
    Traceback (most recent call last):
    ...
    changer.core.errors.SequenceError: invalid frame range '1-2000000000': frame numbers go up to 999999999; ...
    """
    if not text.strip():
        raise _range_error(text, "empty")
    frames: set[int] = set()
    count = 0
    for item in (part.strip() for part in text.split(",")):
        match = _RANGE_ITEM.fullmatch(item)
        if match is None:
            too_long = re.search(r"\d{10,}", item)
            reason = (f"frame numbers go up to {MAX_FRAME}" if too_long else f"cannot read {shown(item)}")
            raise _range_error(text, reason)
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) is not None else start
        step = int(match.group(3)) if match.group(3) is not None else 1
        if end < start:
            raise _range_error(text, f"{item!r} ends before it starts")
        if step < 1:
            raise _range_error(text, f"step must be at least 1 in {item!r}")
        count += (end - start) // step + 1
        if count > MAX_FRAMES:
            raise _range_error(text, f"more than {MAX_FRAMES} frames in one range; render it in parts")
        frames.update(range(start, end + 1, step))
    return sorted(frames)


def format_frames(frames: Iterable[int]) -> str:
    """Compact frame-range string that :func:`parse_frames` reads back.

    >>> format_frames([1, 2, 3, 5, 7, 9])
    '1-3,5-9x2'
    """
    ordered = sorted(set(frames))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        run_end = i
        if i + 1 < len(ordered):
            step = ordered[i + 1] - ordered[i]
            run_end = i + 1
            while run_end + 1 < len(ordered) and ordered[run_end + 1] - ordered[run_end] == step:
                run_end += 1
            # A stepped pair reads better as two frames: '1,5' rather than '1-5x4'.
            if run_end - i == 1 and step != 1:
                run_end = i
        if run_end == i:
            parts.append(str(ordered[i]))
        else:
            step = ordered[i + 1] - ordered[i]
            parts.append(f"{ordered[i]}-{ordered[run_end]}" + (f"x{step}" if step != 1 else ""))
        i = run_end + 1
    return ",".join(parts)


def chunk_frames(frames: Iterable[int], size: int) -> list[list[int]]:
    """Sorted unique frames cut into farm chunks of at most ``size`` frames each, in order."""
    if size < 1:
        raise ParamError(f"chunk size must be at least 1, got {size}")
    ordered = sorted(set(frames))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def missing_frames(pattern: SequencePattern, frames: Iterable[int]) -> list[int]:
    """Requested frames whose file is not on disk, sorted."""
    wanted = sorted(set(frames))
    if pattern.is_still:
        return [] if pattern.path(0).is_file() else wanted
    on_disk = set(pattern.frames_on_disk())
    return [frame for frame in wanted if frame not in on_disk]


def check_sequence(pattern: SequencePattern, frames: Iterable[int]) -> ImageMeta:
    """Check every requested frame exists and has the same display window; return the first's meta.

    Reads headers only. Raises SequenceError naming the missing frames, or the first frame (and its
    path) whose display window differs from the first frame's.
    """
    wanted = sorted(set(frames))
    if not wanted:
        raise SequenceError(f"no frames requested for {pattern.text!r}")
    missing = missing_frames(pattern, wanted)
    if missing:
        raise SequenceError(
            f"{pattern.text!r} is missing frames {format_frames(missing)} of {format_frames(wanted)}"
        )
    first = read_meta(pattern.path(wanted[0]), frame=wanted[0])
    for frame in wanted[1:]:
        path = pattern.path(frame)
        window = read_meta(path, frame=frame).display_window
        if window != first.display_window:
            raise SequenceError(
                f"resolution changes in {pattern.text!r} at frame {frame} ({path}): display window "
                f"{window}, frame {wanted[0]} has {first.display_window}"
            )
    log.debug("checked %d frames of %s: %s", len(wanted), pattern.text, first.display_window)
    return first
