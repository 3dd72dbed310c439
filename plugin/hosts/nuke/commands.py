"""Command lines the Nuke adapter runs (plain Python: no Nuke, no torch).

The adapter never re-implements the renderer: it runs the ``changer`` executable (``$CHANGER_EXE``,
else ``changer`` on PATH), asks it for the param list (``changer params --json``) and, for farm jobs,
for the chunk command lines (``changer render ... --print-chunks N``), so the chunking lives in one place.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

CHANGER_EXE_ENV = "CHANGER_EXE"
#: Gizmo input -> ``changer render`` flag (input order of the gizmo: 0 Target, 1 Source, ...).
INPUT_FLAGS = (
    ("Target", "--target"),
    ("Source", "--source"),
    ("TargetHeadMatte", "--target-matte"),
    ("SourceHeadMatte", "--source-matte"),
    ("Background", "--background"),
    ("CleanScreen", "--clean-screen"),
)
#: The head mattes are optional: ``changer render`` makes a missing one from its plate.
REQUIRED_INPUTS = ("Target", "Source")


class AdapterError(Exception):
    """Something the artist must fix (shown in a Nuke message box)."""


def changer_executable() -> str:
    """Path of the ``changer`` console script; AdapterError when there is none."""
    exe = os.environ.get(CHANGER_EXE_ENV) or shutil.which("changer")
    if not exe:
        raise AdapterError(f"cannot find the changer executable: set ${CHANGER_EXE_ENV} or put changer on PATH")
    return exe


def params_from_changer(exe: str | None = None) -> list[dict[str, Any]]:
    """The param list, as JSON from ``changer params --json`` (changer's own Python, not Nuke's)."""
    proc = subprocess.run([exe or changer_executable(), "params", "--json"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AdapterError(proc.stderr.strip() or f"changer params exited {proc.returncode}")
    return json.loads(proc.stdout)


def render_argv(exe: str, inputs: Mapping[str, str], out: str, frames: str | None,
                assignments: Sequence[str], workers: int = 1) -> list[str]:
    """``changer render`` argv for files feeding the gizmo (name -> pattern) and knob values."""
    missing = [name for name in REQUIRED_INPUTS if not inputs.get(name)]
    if missing:
        raise AdapterError(f"connect a Read node to input(s): {', '.join(missing)}")
    if not out:
        raise AdapterError("set Output to an EXR sequence such as comp.####.exr")
    argv = [exe, "render"]
    for name, flag in INPUT_FLAGS:
        if inputs.get(name):
            argv += [flag, inputs[name]]
    argv += ["--out", out]
    if frames:
        argv += ["--frames", frames]
    for item in assignments:
        argv += ["--set", item]
    if workers != 1:
        argv += ["--workers", str(workers)]
    return argv


def chunk_lines(argv: Sequence[str], chunk: int) -> list[str]:
    """Farm command lines, one per chunk, as ``changer render ... --print-chunks`` prints them."""
    proc = subprocess.run([*argv, "--print-chunks", str(chunk)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AdapterError(proc.stderr.strip() or f"changer render exited {proc.returncode}")
    return [line for line in proc.stdout.splitlines() if line.strip()]


def farm_script(lines: Sequence[str], path: Path) -> Path:
    """A shell script with one chunk per line (any farm manager can take them as command jobs)."""
    path.write_text("#!/bin/sh\n# changer render chunks: one independent command per line\n" + "\n".join(lines) + "\n")
    path.chmod(0o755)
    return path
