"""One root error for everything a user can get wrong.

The CLI and the review panel catch :class:`ChangerError` and show its message as one line; anything
else is a bug and keeps its stack trace. Every message names the file, frame, clip or parameter and
what was expected.
"""

from __future__ import annotations


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
