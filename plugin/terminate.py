"""SIGTERM as an exception, so a terminated command unwinds (temp files removed, locks released, workers ended).

Farm managers and shells stop jobs with SIGTERM; Python's default is to die on the spot, skipping
every ``finally``. :func:`raise_on_sigterm` makes it raise :class:`Terminated` instead.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived; the CLI exits with :data:`EXIT_TERMINATED` once everything has unwound."""


def _raise(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def _exit(_signum: int, _frame: object) -> None:
    raise SystemExit(EXIT_TERMINATED)


def raise_on_sigterm() -> Callable[..., Any] | int | None:
    """Install the handler in this process (main thread only); returns the one it replaced."""
    return signal.signal(signal.SIGTERM, _raise)


def exit_on_sigterm() -> None:
    """In a worker process: SIGTERM unwinds as a quiet ``SystemExit`` (no traceback from multiprocessing)."""
    signal.signal(signal.SIGTERM, _exit)
