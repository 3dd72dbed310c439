"""The `changer` console entry point: the subcommands in one table, one command module imported per run.

The top-level parser names every command and its one-line help from :data:`COMMANDS` without
importing any of them; only the chosen command's module is imported, to add its arguments and run.
So `changer info` never loads Qt or the training code, and each command module imports at its top.

User mistakes (:class:`ChangerError`) become one line on stderr and exit code 2; anything else is a
bug and keeps its stack trace (exit code 1 from Python).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

from changer.core.errors import ChangerError
from changer.plugin.terminate import EXIT_TERMINATED, Terminated, raise_on_sigterm

from .stdout import StdoutError, guarded_stdout, silence_stdout

#: subcommand -> (module defining ``add_arguments(parser)`` and ``run(args) -> int``, one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("changer.plugin.commands.info",
             "print versions, devices, colour config, image formats and weights"),
    "params": ("changer.plugin.commands.params",
               "print the node's param list (plain, Markdown table or JSON for host adapters)"),
    "studio": ("changer.plugin.commands.studio",
               "write procedural green-screen plates with exact truth (EXR + PNG previews)"),
    "train": ("changer.plugin.commands.train",
              "train CHANGER from a TOML config (single process or torchrun)"),
    "eval": ("changer.plugin.commands.eval",
             "evaluate weights against classical baselines on the held-out studio split"),
    "render": ("changer.plugin.commands.render",
               "render EXR sequences through the CHANGER node (resumable, atomic, parallel)"),
    "farm": ("changer.plugin.commands.farm",
             "write a render farm job (Open Job Description / Deadline Cloud, OpenCue, or command lines) for a shot"),
    "verify": ("changer.plugin.commands.verify",
               "check a rendered sequence: every frame there, readable, with the render channels and one params hash"),
    "key": ("changer.plugin.commands.key",
            "key a plate on its own with the node's keyer: EXR RGBA + core, edge and spill layers (resumable, atomic)"),
    "mattes": ("changer.plugin.commands.mattes",
               "write automatic head-matte sequences from a plate alone (EXR A + landmarks; needs the auto extra)"),
    "demo": ("changer.plugin.commands.demo",
             "make a studio shot, render it with the shipped weights, write EXRs, a contact sheet and a GIF"),
    "export": ("changer.plugin.commands.export",
               "export weights as TorchScript (Nuke Inference / libtorch) or ONNX"),
    "ofx": ("changer.plugin.commands.ofx",
            "build or install the node as an OpenFX plug-in bundle (C++ plug-in + Python engine process)"),
    "review": ("changer.plugin.commands.review",
               "open the matte-review panel (PySide6) on a shot: look at every matte, tune live, save shot.toml"),
}

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def command_module(name: str) -> ModuleType:
    """The module of subcommand ``name`` (imported on first use)."""
    return importlib.import_module(COMMANDS[name][0])


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `changer` parser; ``command``'s module (only that one) is imported to add its arguments.

    Without ``command`` the sub-parsers take any arguments and have no ``--help`` of their own: that
    parser only finds which command an argv names (and answers the top-level ``--help``).
    """
    parser = argparse.ArgumentParser(prog="changer", description="CHANGER head blending with chroma keying.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text, add_help=name == command)
        if name == command:
            command_module(name).add_arguments(cmd)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse in two passes: find the command (nothing imported), then parse with its arguments."""
    argv = sys.argv[1:] if argv is None else list(argv)
    found, _ = build_parser().parse_known_args(argv)
    return build_parser(found.command).parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    previous = raise_on_sigterm() if threading.current_thread() is threading.main_thread() else None
    try:
        with guarded_stdout():
            return int(command_module(args.command).run(args) or 0)
    except ChangerError as exc:
        if isinstance(exc, StdoutError):
            silence_stdout()
        print(f"changer {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"changer {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print(f"changer {args.command}: terminated (SIGTERM); frames already written are kept", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:
        # The reader went away (`changer info | head`): not an error of ours; silence the flush at exit.
        silence_stdout()
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
