"""`changer review`: the matte-review panel over a shot, with the same inputs as `changer render`.

Every flag of ``changer render`` is accepted (so a render command line works with ``review`` in its
place): the clips, ``--frames``, ``--config shot.toml`` and ``--set``; ``--out`` and the output flags
only go into the render command the panel copies for you. Inputs are checked by the batch host's
readers before the window opens, and so are the display (no Qt abort on a headless machine) and the
``--screenshot`` path (a PNG in a writable folder; an earlier screenshot is replaced). Qt is imported
by this module, which `changer` imports only for this command, never for ``changer render``.
"""

from __future__ import annotations

import argparse
import logging

from changer.core.errors import ParamError
from changer.plugin.hosts.options import RenderOptions, add_render_arguments
from changer.ui.app import check_display, check_screenshot, run_review
from changer.ui.layers import LAYER_BY_NAME
from changer.ui.session import ReviewSession

log = logging.getLogger(__name__)

PROXIES = {"1": 1.0, "2": 0.5, "4": 0.25}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_render_arguments(parser)
    panel = parser.add_argument_group("review panel")
    panel.add_argument("--proxy", choices=tuple(PROXIES), default="1",
                       help="render at 1/N resolution for faster interaction (default 1: full)")
    panel.add_argument("--frame", type=int, help="frame to open at (default: the first)")
    panel.add_argument("--layer", default="output", help="layer to show first (default output)")
    panel.add_argument("--display", help="OCIO display of the viewer (default: the config's default)")
    panel.add_argument("--view", help="OCIO view of the viewer (default: the display's default)")
    panel.add_argument("--cache-mb", type=int, default=2048, help="memory for cached frames, MB (default 2048)")
    panel.add_argument("--screenshot", metavar="PNG", help="save the window once the first frame is shown, then quit")


def run(args: argparse.Namespace) -> int:
    if args.cache_mb < 64:
        raise ParamError(f"--cache-mb {args.cache_mb}: expected at least 64")
    check_display()
    if args.screenshot is not None:
        check_screenshot(args.screenshot)
    options = RenderOptions.from_args(argparse.Namespace(**{**vars(args), "out": args.out or ""}))
    if args.layer not in LAYER_BY_NAME:
        raise ParamError(f"--layer {args.layer!r}: expected one of {', '.join(LAYER_BY_NAME)}")
    session = ReviewSession(options, cache_mb=args.cache_mb)
    if args.frame is not None and args.frame not in session.frames:
        raise ParamError(f"--frame {args.frame}: not among the shot's frames {session.frames[0]}-{session.frames[-1]}")
    return run_review(session, proxy=PROXIES[args.proxy], display=args.display, view=args.view, frame=args.frame,
                      layer=args.layer, screenshot=args.screenshot)
