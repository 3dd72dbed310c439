"""`changer render`: render EXR sequences through the CHANGER node (resumable, atomic, in parallel).

Everything is checked before the first frame renders (see :mod:`changer.plugin.hosts.batch`); a
frame already complete on disk is skipped unless ``--overwrite``. ``--print-chunks N`` prints one
command line per chunk of N frames for a render farm and renders nothing (the ``print`` engine of
``changer farm``, :mod:`changer.plugin.hosts.farm`).
"""

from __future__ import annotations

import argparse
import logging

from changer.plugin.hosts import batch, farm
from changer.plugin.hosts.options import RenderOptions, add_render_arguments

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_render_arguments(parser)
    parser.add_argument("--print-chunks", type=int, metavar="N",
                        help="print one command line per chunk of N frames (for a farm manager) and exit; "
                             "changer farm writes whole jobs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (the summary is still printed)")


def run(args: argparse.Namespace) -> int:
    options = RenderOptions.from_args(args)
    plan = batch.plan_render(options)
    if args.print_chunks is not None:
        for line in farm.command_lines(plan, args.print_chunks):
            print(line)
        return 0
    return run_plan(plan, args.no_progress)


def run_plan(plan: batch.BatchPlan, no_progress: bool) -> int:
    """Write the frames ``plan`` still needs and print the summary, or say that none were left
    (shared by ``changer render`` and ``changer key``)."""
    if not plan.todo:
        print(f"nothing to {plan.label}: all {len(plan.frames)} frame(s) of {plan.out.text} are complete "
              f"(--overwrite {plan.label}s them again)")
        return 0
    summary = batch.render(plan, progress=False if no_progress else None)
    print(summary.text())
    return 0
