"""`changer farm`: write a render farm job for a shot: an Open Job Description bundle (AWS Deadline Cloud), an
OpenCue job spec, or one command line per task, each task a ``changer render --frames A-B`` chunk, then a
``changer verify`` step; ``submit.txt`` in the job folder says how to submit it.

It takes ``changer render``'s flags and plans the render the same way, so a bad input fails here, with exit
code 2, and never on the farm. The engines' packages come with the farm extra (``pip install -e ".[farm]"``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from changer.core.errors import ParamError
from changer.plugin.hosts import batch
from changer.plugin.hosts.farm import ENGINES, FarmJob, engine_job_files, memory_gb, write_job
from changer.plugin.hosts.options import RenderOptions, add_render_arguments

DEFAULT_CHUNK = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    job = parser.add_argument_group("farm job")
    job.add_argument("--engine", required=True, choices=ENGINES,
                     help="openjd: Open Job Description bundle (AWS Deadline Cloud, openjd run); opencue: OpenCue "
                          "job spec; print: one changer render command line per task, for any farm manager")
    job.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, metavar="N",
                     help=f"frames per task (default {DEFAULT_CHUNK})")
    job.add_argument("--job-dir", required=True, type=Path, metavar="DIR",
                     help="folder to write the job and submit.txt into (made if missing; its job files are replaced)")
    job.add_argument("--name", help="job name (default: changer_ and the output's name)")
    job.add_argument("--python", default=sys.executable, metavar="PATH",
                     help="the Python that runs changer on the workers (default: this one)")
    job.add_argument("--memory-gb", type=int, metavar="GB",
                     help="memory a task needs (default: estimated from the frame size and --workers)")
    job.add_argument("--max-retries", type=int, default=2, metavar="N",
                     help="retries per task the job asks for (default 2; see submit.txt for the exit codes)")
    job.add_argument("--service", default="shell", help="OpenCue service of the layers (default shell)")
    job.add_argument("--show", help="OpenCue show (default: pyoutline's, $SHOW or its config)")
    job.add_argument("--shot", help="OpenCue shot (default: pyoutline's, $SHOT or its config)")
    add_render_arguments(parser)


def run(args: argparse.Namespace) -> int:
    for flag, value, least in (("--chunk", args.chunk, 1), ("--memory-gb", args.memory_gb, 1),
                               ("--max-retries", args.max_retries, 0)):
        if value is not None and value < least:
            raise ParamError(f"{flag} {value}: expected at least {least}")
    job_files = engine_job_files(args.engine)  # a missing farm extra fails before the (slower) plan
    plan = batch.plan_render(RenderOptions.from_args(args))
    name = args.name or re.sub(r"[^A-Za-z0-9_.-]+", "_", f"changer_{plan.out.prefix.strip('._-')}")
    job = FarmJob(plan, args.chunk, args.job_dir.expanduser().absolute(), name, args.python,
                  args.memory_gb or memory_gb(plan.window, plan.options.workers), args.max_retries,
                  args.service, args.show, args.shot)
    written = write_job(job, job_files)
    print(f"wrote {args.engine} job {name!r}: {len(job.chunks)} task(s) of at most {job.chunk} frame(s) "
          f"(frames {job.frames}), then changer verify")
    for path in written:
        print(f"  {path}")
    print((job.job_dir / "submit.txt").read_text(encoding="utf-8"), end="")
    return 0
