"""One root error for everything a user can get wrong.

The CLI and the review panel catch :class:`ChangerError` and show its message as one line; anything
else is a bug and keeps its stack trace. Every message names the file, frame, clip or parameter and
what was expected.
"""

from __future__ import annotations

#: Longest piece of a user's value quoted in a message (a 5 MB TOML string must not make a 5 MB line).
SHOWN_CHARS = 80


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` cut to about ``limit`` characters, saying how long the whole was."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}...' ({len(text)} characters)"


class ChangerError(Exception):
    """Root of all user-facing CHANGER errors."""


class ImageReadError(ChangerError):
    """An image could not be read, or does not hold what was expected."""


class ImageWriteError(ChangerError):
    """An image could not be written."""


class SequenceError(ChangerError):
    """A sequence pattern, frame range or set of frames on disk is not what was expected."""


class ColorError(ChangerError):
    """An OCIO config or colourspace could not be resolved."""


class ParamError(ChangerError):
    """A parameter value is out of range or of the wrong type."""


class WeightsError(ChangerError):
    """Model weights are missing, corrupt or do not match their config."""


class MissingExtraError(ChangerError):
    """An optional dependency is not installed; the message names the extra that installs it."""


class HeadMatteError(ChangerError):
    """No usable head in a plate (no face, two faces, a profile, a face cut by the frame edge)."""


class ContractError(ValueError):
    """A caller broke a function's contract (a tensor of the wrong shape, rank or dtype).

    A programming error, not a user mistake: it is deliberately *not* a :class:`ChangerError`, so the
    CLI shows its traceback instead of one line that would read as bad input. User input is checked
    at the edge (files, params) before it reaches a function that raises this.
    """
