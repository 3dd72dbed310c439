"""`changer mattes`: automatic head-matte sequences from a plate alone (EXR, channel ``A``, landmarks in the header).

The head (face, ears, hair; no neck) is found with the face models of the optional ``auto`` extra, keyed
with the node's keyer, cut under the jaw and given its long hair back (:mod:`changer.core.headmatte`);
the job (checks, resume, atomic writes, locks) is :mod:`changer.plugin.hosts.auto_mattes`. The mattes
feed ``changer render --target-matte/--source-matte`` and ``changer review``, or a roto artist.
"""

from __future__ import annotations

import argparse

from changer.plugin.hosts.auto_mattes import ROLES, MatteOptions, plan_mattes, write_mattes
from changer.plugin.hosts.options import add_output_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plate", metavar="PATTERN",
                        help="the green- or blue-screen plate (required): a sequence such as plate.####.exr, "
                             "or a still")
    parser.add_argument("--role", choices=ROLES, default="target",
                        help="whose head: the double's plate (target, default) or the actor's (source); "
                             "with --shaped it picks the threshold/grow/feather params")
    parser.add_argument("--shaped", action="store_true",
                        help="apply the role's matte threshold/grow/feather before writing (render and review "
                             "apply them to the mattes they read: leave this off for them)")
    add_output_arguments(parser, "mattes/head.####.exr (channel A)", "auto_matte_neck_offset=6")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (the summary is still printed)")


def run(args: argparse.Namespace) -> int:
    options = MatteOptions.from_args(args)
    plan = plan_mattes(options)
    if not plan.todo:
        print(f"nothing to write: all {len(plan.frames)} frame(s) of {plan.out.text} are complete "
              "(--overwrite writes them again)")
        return 0
    print(write_mattes(plan, progress=False if args.no_progress else None))
    return 0
