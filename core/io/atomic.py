"""Atomic file replacement, shared by every writer (images, weights, TOML), and the sweep of its leftovers.

A render or training run killed mid-write must never leave a half-written file under the real name:
the next run would take it for a finished frame. Writers therefore write to a hidden temp file in
the destination folder (same filesystem, so the final rename is atomic) and move it over the real
name only once the write completed. A process killed by SIGKILL can still leave its hidden temp
file behind, never a partial file under the real name. No fsync is done: this guards against
crashed processes, not against power loss.

Temp names carry the writer's host and pid (``.<name>.tmp-<host>-<pid>-<random><suffix>``) so that
on shared storage (NFS, farm chunks on many hosts) :func:`remove_stale_temp_files` only ever removes
temp files of *this* host whose process is gone and that are older than :data:`STALE_TEMP_AGE_S`;
another host's writer in flight is never touched.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ParamError

log = logging.getLogger(__name__)

#: A leftover temp file younger than this is never removed, whoever wrote it (seconds).
STALE_TEMP_AGE_S = 600.0
#: Longest file name most filesystems accept (ext4, XFS, NFS exports of them), in bytes.
NAME_MAX = 255
_RANDOM_HEX = 8
_PID_MAX = 4194304  #: Linux's largest pid_max, so the longest pid a temp name can hold
_TEMP = re.compile(r"\.tmp-(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-[0-9a-f]+")


def host_tag() -> str:
    """This host's name as it appears in temp and lock names: letters, digits and ``_``, at most 32."""
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:32] or "host"


def temp_path_for(final: Path) -> Path:
    """Hidden temp name next to ``final``; the real extension stays last so format detection works."""
    token = secrets.token_hex(_RANDOM_HEX // 2)
    return final.with_name(f".{final.name}.tmp-{host_tag()}-{os.getpid()}-{token}{final.suffix}")


def check_name_fits(final: str | os.PathLike[str], what: str) -> None:
    """Refuse ``final`` now when its temp name would exceed :data:`NAME_MAX` (the write would fail later).

    ``what`` names the option or clip the path came from, e.g. ``--out 'x.####.exr'``.
    """
    final = Path(final)
    name = len(os.fsencode(final.name))
    overhead = len(f"..tmp-{'h' * 32}-{_PID_MAX}-{'0' * _RANDOM_HEX}") + len(os.fsencode(final.suffix))
    if name + overhead > NAME_MAX:
        raise ParamError(f"{what}: file name {final.name[:40]!r}... is {name} bytes long; expected at most "
                         f"{NAME_MAX - overhead} (its temporary name must stay within {NAME_MAX} bytes)")


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


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(folder: Path, name_prefix: str, *, min_age_s: float = STALE_TEMP_AGE_S,
                            pids: frozenset[int] | None = None) -> list[Path]:
    """Delete leftover temp files in ``folder`` of files named ``name_prefix...`` that are provably dead.

    A temp file is removed only when all hold: it was written on this host, its pid is not alive
    here, and it was last modified at least ``min_age_s`` ago. Anything else (another host's, a live
    writer's, a young one, a name that does not parse) is left alone. ``pids`` narrows the sweep to
    those writers (a render cleaning up after its own worker processes, with ``min_age_s=0``).
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    here, now = host_tag(), time.time()
    for path in folder.glob(f".{name_prefix}*.tmp-*"):
        match = _TEMP.search(path.name)
        if match is None or match["host"] != here:
            continue
        pid = int(match["pid"])
        if (pids is not None and pid not in pids) or pid == os.getpid() or pid_alive(pid):
            continue
        try:
            if now - path.stat().st_mtime < min_age_s:
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    if removed:
        log.info("removed %d stale temp file(s) of dead writers in %s", len(removed), folder)
    return removed
