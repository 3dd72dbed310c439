"""`changer verify`: check that a rendered sequence is complete and all of one render (a farm job's last step).

Exit 0 when every frame is present, readable, has the render channels and the sequence has one params hash,
one channel set and one size; otherwise one line per problem on stdout and :data:`EXIT_INCOMPLETE`, a code of
its own so a farm (or a script) tells "rerun the render tasks" from a bad command line (2) or a crash (1).
"""

from __future__ import annotations

import argparse
import sys

from changer.core.io import format_frames
from changer.plugin.hosts.verify import SHORT_HASH, verify_sequence

#: The sequence is incomplete or mixed: rerunning verify changes nothing; rerun the render tasks (they resume).
EXIT_INCOMPLETE = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="PATTERN",
                        help="the rendered EXR sequence, e.g. out/comp.####.exr (changer render's --out)")
    parser.add_argument("--frames", metavar="RANGE",
                        help="frames that must be there: 1001-1100, 1001-1100x2, 1001,1005 "
                             "(default: the first to the last frame on disk)")


def run(args: argparse.Namespace) -> int:
    report = verify_sequence(args.out, args.frames)
    if report.problems:
        for line in report.lines():
            print(line)
        print(f"changer verify: {len(report.bad_frames)} of {len(report.frames)} frame(s) of {report.out.text} "
              "are not right; rerun the render tasks (they resume), then verify again", file=sys.stderr)
        return EXIT_INCOMPLETE
    print(f"verified {len(report.frames)} frame(s) ({format_frames(report.frames)}) of {report.out.text}: all "
          f"present and readable, render channels, one params hash ({report.digest[:SHORT_HASH]})")
    return 0
