"""One output file (an export, a screenshot): checked before any slow work, written atomically.

A typo in ``--out`` must not cost a model load and then a traceback, and an output must never
replace one of the command's own inputs (``export --out`` naming its ``--weights``) or an earlier
file the user did not ask to replace. :func:`check_output_file` refuses those up front and makes the
folder; :func:`write_output_file` writes through a temp name and turns an OS failure into one line.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ..errors import ParamError
from .atomic import atomic_path, check_name_fits


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file (through symlinks and hard links), or one path if either is missing."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_output_file(
    path: str | os.PathLike[str],
    what: str,
    *,
    inputs: Mapping[str, Path] | None = None,
    overwrite: bool = False,
    suffixes: tuple[str, ...] = (),
) -> Path:
    """Refuse ``path`` unless it can take a new file; make its folder. Returns the path.

    ``what`` names the option (``--out``); ``inputs`` maps a label (``weights file``) to each file the
    command reads, none of which the output may be; an existing file needs ``overwrite``; with
    ``suffixes`` (lower case, with the dot) the name must end in one of them.
    """
    path = Path(path).expanduser()
    if suffixes and path.suffix.lower() not in suffixes:
        raise ParamError(f"{what} {path}: expected a file name ending in {' or '.join(suffixes)}")
    check_name_fits(path, f"{what} {path.parent}")
    for label, source in (inputs or {}).items():
        if same_file(path, source):
            raise ParamError(f"{what} {path}: is the {label} {source}; an output never replaces an input")
    if path.is_dir():
        raise ParamError(f"{what} {path}: is a folder; expected a file name")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise ParamError(f"{what} {path}: already exists; pass --overwrite to replace it")
    make_output_folder(path, what)
    return path


@contextmanager
def write_output_file(path: Path, what: str) -> Iterator[Path]:
    """:func:`~.atomic.atomic_path` for ``path``, its folder made; an ``OSError`` becomes one line naming ``what``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            yield tmp
    except OSError as exc:
        raise ParamError(f"{what} {path}: cannot write it: {exc.strerror or exc}") from None


def make_output_folder(path: Path, what: str) -> None:
    """Make ``path``'s folder and prove it takes a file (a real probe: permission bits lie to root and on
    read-only mounts), as ``changer render`` does for its ``--out``."""
    folder = path.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ParamError(f"{what} {path}: cannot write into folder {folder}: {existing} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".changer-write-test-"):
            pass
    except OSError as exc:
        raise ParamError(f"{what} {path}: cannot write into folder {folder}: {exc.strerror or exc}") from None
