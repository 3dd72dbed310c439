"""Is a rendered sequence complete, and all of one render? What ``changer verify`` and a farm job's last step ask.

Every farm task exits 0 once its own chunk is on disk, but nothing in a task sees the whole sequence: a chunk
that was never queued, a frame deleted or damaged since, or a frame left by a render with other params (a
``--overwrite`` chunk with another ``--set``) all pass unnoticed until comp. This reads every frame: present,
its header and pixels readable, the channels every render writes, and one params hash (the batch host's
:data:`~.batch.PARAMS_ATTRIBUTE`), one channel set and one size across the sequence. The odd frames out are
those that differ from most of the sequence.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from changer.core.errors import ChangerError, SequenceError
from changer.core.io import SequencePattern, Window, format_frames, parse_frames, read_image, read_meta

from .batch import BASE_CHANNELS, LAYERS, PARAMS_ATTRIBUTE

log = logging.getLogger(__name__)

#: Channels every ``changer render`` frame has, whatever its ``output`` param (``aovs`` adds more).
RENDER_CHANNELS = (*BASE_CHANNELS, *(f"{layer}.A" for layer in LAYERS))
#: Characters of a params hash shown in messages.
SHORT_HASH = 12


@dataclass(frozen=True)
class FrameFacts:
    """What one readable frame says about the render that wrote it."""

    digest: str
    channels: tuple[str, ...]
    window: Window


@dataclass
class VerifyReport:
    """Frames checked and, per problem, the frames that have it (empty when the sequence is right)."""

    out: SequencePattern
    frames: list[int]
    problems: dict[str, list[int]] = field(default_factory=dict)
    digest: str = ""  #: the sequence's params hash (the most common one)

    def add(self, problem: str, frame: int) -> None:
        self.problems.setdefault(problem, []).append(frame)

    @property
    def bad_frames(self) -> list[int]:
        return sorted({f for frames in self.problems.values() for f in frames})

    def lines(self) -> list[str]:
        """One line per problem, naming its frames and the first one's file."""
        lines = []
        for problem, frames in sorted(self.problems.items(), key=lambda item: min(item[1])):
            where = f"frame {frames[0]}" if len(frames) == 1 else f"frames {format_frames(frames)}"
            lines.append(f"{where}: {problem} ({self.out.path(min(frames))}{'' if len(frames) == 1 else ', ...'})")
        return lines


def sequence_frames(out: SequencePattern, frames: str | None) -> list[int]:
    """``frames`` parsed, else the first to last frame on disk (so a gap is a missing frame)."""
    if frames is not None:
        return parse_frames(frames)
    found = out.frames_on_disk()
    if not found:
        raise SequenceError(f"--out {out.text!r}: no frames on disk; pass --frames")
    return list(range(found[0], found[-1] + 1))


def _read_frame(path: Path, frame: int, report: VerifyReport) -> FrameFacts | None:
    """The frame's facts, or None after recording why it is not a usable render frame."""
    if not path.is_file():
        report.add("missing", frame)
        return None
    try:
        meta = read_meta(path, frame=frame)
        read_image(path, frame=frame)
    except ChangerError as exc:
        report.add(f"unreadable ({exc})", frame)
        return None
    digest = meta.attributes.get(PARAMS_ATTRIBUTE)
    if not digest:
        report.add(f"not written by changer render (no {PARAMS_ATTRIBUTE} attribute)", frame)
        return None
    lacking = [c for c in RENDER_CHANNELS if c not in meta.channel_names]
    if lacking:
        report.add(f"lacks channel(s) {', '.join(lacking)}", frame)
        return None
    return FrameFacts(str(digest), tuple(sorted(meta.channel_names)), meta.display_window)


def verify_sequence(out_text: str, frames_text: str | None = None) -> VerifyReport:
    """Check every frame of ``out_text`` (``--frames``, else those on disk); see the module docstring."""
    out = SequencePattern.parse(out_text)
    report = VerifyReport(out, sequence_frames(out, frames_text))
    facts: dict[int, FrameFacts] = {}
    for frame in report.frames:
        found = _read_frame(out.path(frame), frame, report)
        if found is not None:
            facts[frame] = found
        log.debug("frame %d: %s", frame, found)
    if not facts:
        return report
    digest = Counter(f.digest for f in facts.values()).most_common(1)[0][0]
    channels = Counter(f.channels for f in facts.values()).most_common(1)[0][0]
    window = Counter(f.window for f in facts.values()).most_common(1)[0][0]
    report.digest = digest
    for frame, found in facts.items():
        if found.digest != digest:
            report.add(f"rendered with other params (hash {found.digest[:SHORT_HASH]}, the sequence's "
                       f"{digest[:SHORT_HASH]})", frame)
        elif found.channels != channels:
            report.add("other channels than the rest of the sequence", frame)
        elif found.window != window:
            report.add(f"another size ({found.window}; the rest {window})", frame)
    return report
