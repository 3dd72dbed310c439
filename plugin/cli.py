"""The `changer` console entry point: one `main()`, one subcommand per module.

User mistakes (:class:`ChangerError`) become one line on stderr and exit code 2; anything else is a
bug and keeps its stack trace (exit code 1 from Python).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from changer.core.errors import ChangerError

log = logging.getLogger("changer")

# subcommand -> module under changer.plugin.commands that defines `add_arguments(parser)` and `run(args) -> int`.
# Modules are imported only when their command runs, so `changer info` never imports Qt.
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("changer.plugin.commands.info", "print versions, devices, colour config, image formats and weights"),
    "studio": ("changer.plugin.commands.studio", "write procedural green-screen plates with exact truth (EXR + PNG previews)"),
    "train": ("changer.plugin.commands.train", "train CHANGER from a TOML config (single process or torchrun)"),
    "eval": ("changer.plugin.commands.eval", "evaluate weights against classical baselines on the held-out studio split"),
    "render": ("changer.plugin.commands.render", "render EXR sequences through the CHANGER node (resumable, atomic, parallel)"),
    "demo": ("changer.plugin.commands.demo", "make a studio shot, render it with the shipped weights, write EXRs, a contact sheet and a GIF"),
    "export": ("changer.plugin.commands.export", "export weights as TorchScript (Nuke Inference / libtorch) or ONNX"),
    "review": ("changer.plugin.commands.review", "open the matte-review panel (PySide6) on a shot: look at every matte, tune live, save shot.toml"),
}

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="changer", description="CHANGER head blending with chroma keying.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(cmd)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except ChangerError as exc:
        print(f"changer {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"changer {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`changer info | head`): not an error of ours; silence the flush at exit.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0


if __name__ == "__main__":
    sys.exit(main())
