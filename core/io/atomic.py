"""Atomic file replacement, shared by every writer (images, weights, TOML).

A render or training run killed mid-write must never leave a half-written file under the real name:
the next run would take it for a finished frame. Writers therefore write to a hidden temp file in
the destination folder (same filesystem, so the final rename is atomic) and move it over the real
name only once the write completed. A process killed by SIGKILL can still leave its hidden temp
file behind, never a partial file under the real name. No fsync is done: this guards against
crashed processes, not against power loss.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


def temp_path_for(final: Path) -> Path:
    """Hidden temp name next to ``final``; the real extension stays last so format detection works."""
    return final.with_name(f".{final.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}{final.suffix}")


@contextmanager
def atomic_path(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path to write; on success it replaces ``final``, on any exception it is removed.

    The caller must have closed the temp file when the ``with`` block ends. An existing file under
    ``final`` is untouched unless the block succeeds. Exceptions propagate unchanged, so each writer
    can turn them into its own error type.
    """
    final = Path(final)
    tmp = temp_path_for(final)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.debug("wrote %s atomically", final)
