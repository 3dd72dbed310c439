"""Farm jobs for ``changer render``: one job per shot, each task one ``changer render --frames A-B`` chunk.

``changer farm`` plans the render exactly as ``changer render`` does (every input checked before anything is
written) and cuts its frames as ``--print-chunks`` does (:func:`~changer.core.io.chunk_frames`), so a job never
holds a task that fails on a typo. A task is safe to run anywhere, twice, or after a kill, because the batch
host makes it so: it locks its frames, writes each atomically, skips the ones already complete and exits 143 on
SIGTERM after cleaning up. The job's last step runs ``changer verify`` on the whole sequence.

Workers run in other folders and with other environments than the submitter, so a job names every file by its
absolute path and pins the weights the plan checked (their path is not in the params hash, their tensors are).
Each engine has a module that imports its engine's package at its top (:data:`ENGINE_MODULES`); the ``print``
engine needs none and lives here.
"""

from __future__ import annotations

import importlib
import logging
import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from changer.core.errors import MissingExtraError
from changer.core.io import Window, chunk_frames, format_frames
from changer.core.io.output_file import write_output_file

from .batch import RenderPlan
from .options import CLIP_OPTIONS, RenderOptions

log = logging.getLogger(__name__)

#: What installs the engines' packages; named by the message when one is missing.
FARM_EXTRA = 'pip install -e ".[farm]"'
#: engine -> module defining ``job_files(job) -> {file name: text}`` (imported only when that engine is used).
ENGINE_MODULES = {"openjd": "changer.plugin.hosts.farm_openjd", "opencue": "changer.plugin.hosts.farm_opencue"}
ENGINES = (*ENGINE_MODULES, "print")
#: The module a task runs with ``python -m`` (the console script may not be on a worker's PATH).
SHELL_MODULE = "changer.plugin.commands"
#: Memory hint per render process: a base plus bytes per pixel of the frame (docs/memory.md: 8K peaks at 5.8 GB).
BASE_GB = 1.0
BYTES_PER_PIXEL = 150
#: Which exit codes a retry can fix (docs/cli.md#exit-codes), for every submit.txt.
RETRY_TEXT = """Retries: a task exits 143 when the farm terminated it (SIGTERM: it cleaned up, a retry resumes), 1 on a
crash (retry once; report it if it repeats), 2 on a user error or frames locked by another host's render (a
retry fails again: fix what the one-line message names, then requeue). The verify step exits 3 when frames are
missing, unreadable or from other params: requeue the render tasks it names (they resume), not verify."""


@dataclass(frozen=True)
class FarmJob:
    """A checked render cut into farm tasks, and the settings every engine's job needs."""

    plan: RenderPlan
    chunk: int
    job_dir: Path  #: absolute
    name: str
    python: str  #: the interpreter that runs changer on the workers
    memory_gb: int  #: memory one task needs (all its worker processes)
    max_retries: int
    service: str = "shell"  #: OpenCue service
    show: str | None = None  #: OpenCue show (None: pyoutline's default)
    shot: str | None = None  #: OpenCue shot (None: pyoutline's default)

    @property
    def options(self) -> RenderOptions:
        """The plan's options with every file absolute and the checked weights pinned (module docstring)."""
        return pinned_options(self.plan)

    @property
    def frames(self) -> str:
        return format_frames(self.plan.frames)

    @property
    def chunks(self) -> list[str]:
        """Each task's ``--frames``."""
        return [format_frames(chunk) for chunk in chunk_frames(self.plan.frames, self.chunk)]

    @property
    def cores(self) -> int:
        return self.plan.options.workers

    def render_argv(self, options: RenderOptions) -> list[str]:
        """A task's command: ``options`` as ``changer render`` flags, run by the job's Python."""
        return [self.python, "-m", SHELL_MODULE, *options.to_argv()[1:]]

    def verify_argv(self, out: str) -> list[str]:
        """The last step's command: ``changer verify`` of every frame of the job."""
        return [self.python, "-m", SHELL_MODULE, "verify", "--out", out, "--frames", self.frames]


def memory_gb(window: Window, workers: int) -> int:
    """Memory hint for a task of ``workers`` processes rendering frames of ``window``'s size, in whole GB."""
    return math.ceil(workers * (BASE_GB + BYTES_PER_PIXEL * window.width * window.height / 1e9))


def _absolute(text: str) -> str:
    return str(Path(text).expanduser().absolute())


def _absolute_if_file(text: str) -> str:
    """A file path made absolute; anything else (an ``ocio://`` URI, empty) unchanged."""
    return _absolute(text) if text and Path(text).expanduser().exists() else text


def pinned_options(plan: RenderPlan) -> RenderOptions:
    """``plan``'s options with clips, output, shot file and OCIO config absolute and ``weights`` set to the file
    the plan checked, so a worker in another folder and environment renders what was checked."""
    options = plan.options
    files = {name: _absolute(getattr(options, name)) for name in (*CLIP_OPTIONS, "out", "config")
             if getattr(options, name) is not None}
    sets = []
    for item in options.sets:
        name, _, value = item.partition("=")
        if name.strip() == "ocio_config":
            sets.append(f"ocio_config={_absolute_if_file(value)}")
        elif name.strip() != "weights":
            sets.append(item)
    sets.append(f"weights={plan.weights}")
    ocio = None if options.ocio_config is None else _absolute_if_file(options.ocio_config)
    return replace(options, **files, sets=tuple(sets), ocio_config=ocio)


def command_lines(plan: RenderPlan, chunk: int) -> list[str]:
    """One shell-quoted ``changer render`` command line per chunk of ``chunk`` frames, files absolute and weights
    pinned (``changer render --print-chunks`` and the ``print`` engine)."""
    return pinned_options(plan).chunk_commands(list(plan.frames), chunk)


def engine_job_files(engine: str) -> Callable[[FarmJob], dict[str, str]]:
    """``engine``'s job writer; a missing engine package is one line naming the extra that installs it."""
    if engine == "print":
        return print_job_files
    try:
        module = importlib.import_module(ENGINE_MODULES[engine])
    except ModuleNotFoundError as exc:
        raise MissingExtraError(f"--engine {engine} needs the farm extra ({exc.name} is not installed): "
                           f"{FARM_EXTRA}") from None
    return module.job_files


def write_job(job: FarmJob, job_files: Callable[[FarmJob], dict[str, str]]) -> list[Path]:
    """Write the files ``job_files`` makes of ``job`` into its folder (each atomically); returns them."""
    files = job_files(job)
    if job.plan.options.overwrite:
        log.warning("--overwrite: a retried task renders its whole chunk again instead of resuming")
    written = []
    for name, text in files.items():
        path = job.job_dir / name
        with write_output_file(path, "--job-dir") as tmp:
            tmp.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def print_job_files(job: FarmJob) -> dict[str, str]:
    """The ``print`` engine: ``changer render --print-chunks``' command lines, one per task, for any manager."""
    lines = command_lines(job.plan, job.chunk)
    verify = shlex.join(["changer", *job.verify_argv(job.options.out or "")[3:]])
    submit = f"""{job.name}: {len(lines)} task(s) of at most {job.chunk} frame(s), frames {job.frames}

commands.txt holds one task per line: run each once on any host that sees the files (any order, in
parallel, a retry anywhere), each line's output its task's log; when all have exited 0, run
  {verify}
For example, in a shell, with a log per task in logs/:
  cd {shlex.quote(str(job.job_dir))} && mkdir -p logs && i=0 && while read -r task; do
    i=$((i+1)); bash -c "$task" < /dev/null > logs/task$i.log 2>&1 || echo "task $i exited $?"; done < commands.txt

{RETRY_TEXT}
"""
    return {"commands.txt": "\n".join(lines) + "\n", "submit.txt": submit}
