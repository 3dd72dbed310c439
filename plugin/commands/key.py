"""`changer key`: key a plate sequence (or a still) on its own with the node's keyer.

Writes EXR RGBA (the despilled foreground premultiplied, and alpha) with ``core``, ``edge`` and
``spill`` layers, through the batch host's machinery (:mod:`changer.plugin.hosts.plate_key`):
everything is checked before the first frame, complete frames are skipped unless ``--overwrite``,
writes are atomic and locked. Compositors use it as a keyer in its own right and to check a key
before a render.
"""

from __future__ import annotations

import argparse

from changer.plugin.hosts.options import CLIP_OPTIONS, CLIPS_GROUP, KeyOptions, add_output_arguments
from changer.plugin.hosts.plate_key import plan_key

from .render import run_plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    clips = parser.add_argument_group(CLIPS_GROUP)
    clips.add_argument("--plate", metavar="PATTERN",
                       help="the green- or blue-screen plate: a sequence such as plate.####.exr, or a still (required)")
    clips.add_argument("--clean-screen", metavar="PATTERN", help=CLIP_OPTIONS["clean_screen"][1])
    add_output_arguments(parser, "out/key.####.exr (or key.exr for a still plate)", "clip_white=0.9")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (the summary is still printed)")


def run(args: argparse.Namespace) -> int:
    return run_plan(plan_key(KeyOptions.from_args(args)), args.no_progress)
