"""Standard output that fails as a user error, not a traceback at exit.

``changer info > /dev/full`` must end in one line and exit code 2; Python's own final flush would
print a traceback instead. A closed pipe (``changer info | head``) is no error at all.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO, TypeVar

from changer.core.errors import ChangerError

T = TypeVar("T")


class StdoutError(ChangerError):
    """Standard output cannot be written (a full device such as /dev/full, an I/O error)."""


class GuardedStdout:
    """sys.stdout that turns a failed write into :class:`StdoutError` (a closed pipe stays BrokenPipeError)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def _guard(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise StdoutError(f"cannot write to standard output ({exc.strerror or exc})") from None

    def write(self, text: str) -> int:
        return self._guard(lambda: self._stream.write(text))

    def flush(self) -> None:
        self._guard(self._stream.flush)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


@contextmanager
def guarded_stdout() -> Iterator[None]:
    """sys.stdout guarded inside the block and flushed at its end, so a full disk shows here, not at exit."""
    stream = sys.stdout
    sys.stdout = GuardedStdout(stream)
    try:
        yield
        sys.stdout.flush()
    finally:
        sys.stdout = stream


def silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (kept open until the interpreter exits)
