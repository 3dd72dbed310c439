"""The `changer` console entry point: one `main()`, one subcommand per module.

User mistakes (:class:`ChangerError`) become one line on stderr and exit code 2; anything else is a
bug and keeps its stack trace (exit code 1 from Python).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TextIO, TypeVar

from changer.core.errors import ChangerError

from .terminate import EXIT_TERMINATED, Terminated, raise_on_sigterm

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
T = TypeVar("T")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="changer", description="CHANGER head blending with chroma keying.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(cmd)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115


class StdoutError(ChangerError):
    """Standard output cannot be written (a full device such as /dev/full, an I/O error)."""


class _GuardedStdout:
    """sys.stdout that turns a failed write into :class:`StdoutError` (a closed pipe stays BrokenPipeError)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def _guard(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise StdoutError(f"cannot write to standard output ({exc.strerror or exc})") from None

    def write(self, text: str) -> int:
        return self._guard(lambda: self._stream.write(text))

    def flush(self) -> None:
        self._guard(self._stream.flush)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _run(args: argparse.Namespace) -> int:
    stream = sys.stdout
    sys.stdout = _GuardedStdout(stream)
    try:
        code = int(importlib.import_module(args._module).run(args) or 0)
        sys.stdout.flush()  # a full disk on stdout shows here, not as a traceback at exit
    finally:
        sys.stdout = stream
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    previous = raise_on_sigterm() if threading.current_thread() is threading.main_thread() else None
    try:
        return _run(args)
    except ChangerError as exc:
        if isinstance(exc, StdoutError):
            _silence_stdout()
        print(f"changer {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"changer {args.command}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"changer {args.command}: terminated (SIGTERM); frames already written are kept", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:
        # The reader went away (`changer info | head`): not an error of ours; silence the flush at exit.
        _silence_stdout()
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
