"""Per-frame output locks: two renders never write the same frame, farm chunks of one sequence still run side by side.

A render locks every frame it is about to write by creating ``.<frame file name>.lock`` beside it
with ``O_CREAT | O_EXCL`` (atomic on local disks and on NFSv3+), holding JSON with the host, pid,
start time and a random token of the holder. All frames are locked before frame 1 renders, in
ascending order; if one is held, the ones taken so far are released and the render is refused with
the holder named. Chunks with disjoint frame ranges never meet, so they run in parallel.

Stale-lock rule: a lock is stale only when it was taken on *this* host and its pid no longer runs
here; such a lock is removed (under a short-lived ``.<sequence>.lock-breaker`` file, so two renders
never both break it and both think they hold it) and taken. A lock of another host is never
broken automatically: its process cannot be checked from here. If that render is gone, delete the
lock files it names (``rm <folder>/.<name>.*.lock``).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ChangerError
from .atomic import host_tag, pid_alive

log = logging.getLogger(__name__)

#: A lock-breaker file older than this is itself stale (it is held for milliseconds), in seconds.
BREAKER_STALE_S = 60.0


class LockedError(ChangerError):
    """An output frame is being written by another render."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as written in the lock file."""

    host: str
    pid: int
    started: str
    token: str

    def text(self) -> str:
        return f"pid {self.pid} on host {self.host} since {self.started}"

    def stale(self) -> bool:
        """Taken on this host by a process that no longer runs (see the module docstring)."""
        return self.host == host_tag() and not pid_alive(self.pid)


def lock_path(final: Path) -> Path:
    """The lock file of output file ``final``."""
    return final.with_name(f".{final.name}.lock")


def _read_holder(path: Path) -> Holder | None:
    """The holder of an existing lock; None when the file vanished or cannot be read as a lock."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(str(data["host"]), int(data["pid"]), str(data["started"]), str(data["token"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return Holder("?", -1, "an unknown time (unreadable lock file)", "")


class FrameLocks:
    """The locks one render holds; release them with :meth:`release` (or use as a context manager)."""

    def __init__(self, files: Iterable[Path], breaker: Path) -> None:
        self.files = sorted(set(files))
        self.breaker = breaker
        self.holder = Holder(host_tag(), os.getpid(), datetime.now(timezone.utc).isoformat(timespec="seconds"),
                             secrets.token_hex(8))
        self.held: list[Path] = []

    def acquire(self) -> FrameLocks:
        """Take every lock or none; raises :class:`LockedError` naming the holder of the first one held."""
        try:
            for final in self.files:
                self._take(lock_path(final), final)
        except BaseException:
            self.release()
            raise
        return self

    def _take(self, path: Path, final: Path) -> None:
        payload = json.dumps(self.holder.__dict__).encode()
        for _attempt in range(20):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _read_holder(path)
                if holder is not None and not holder.stale():
                    raise LockedError(
                        f"{final}: locked by another render ({holder.text()}; lock file {path}); wait for it to "
                        "finish, or, if it is no longer running, delete its lock files") from None
                if holder is not None and not self._break(path, holder):
                    time.sleep(0.05)
                continue
            try:
                os.write(fd, payload)
            finally:
                os.close(fd)
            self.held.append(path)
            return
        raise LockedError(f"{final}: could not take its lock {path} (another render keeps taking it)")

    def _break(self, path: Path, holder: Holder) -> bool:
        """Remove a stale lock under the breaker file; False when another render is breaking it now."""
        try:
            fd = os.open(self.breaker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                if time.time() - self.breaker.stat().st_mtime > BREAKER_STALE_S:
                    self.breaker.unlink(missing_ok=True)
            except FileNotFoundError:
                pass
            return False
        os.close(fd)
        try:
            if _read_holder(path) == holder:
                path.unlink(missing_ok=True)
                log.warning("removed stale lock %s of %s (that process no longer runs)", path, holder.text())
                return True
            return False
        finally:
            self.breaker.unlink(missing_ok=True)

    def release(self) -> None:
        """Remove the locks this render holds (only files that still hold its own token)."""
        for path in self.held:
            if _read_holder(path) == self.holder:
                path.unlink(missing_ok=True)
        self.held.clear()

    def __enter__(self) -> FrameLocks:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
