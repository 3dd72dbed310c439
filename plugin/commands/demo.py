"""`changer demo`: a studio shot rendered with the shipped weights, end to end, through `changer render`.

Writes into ``--out`` (default ``./changer-demo``): ``shot/`` (the double's plate, the actor's plate,
both head mattes as EXR sequences and a background plate), ``render/comp.####.exr`` (RGBA comp over
the background plus the matte, M, ip and AOV layers), ``contact_sheet.png`` (rows of frames; columns:
plate | X | Y on green | final comp, cut to the network crop) and ``preview.gif``.

``--real DIR`` runs the chain on real photographs instead (:mod:`.demo_real`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from changer.core.errors import ParamError, WeightsError
from changer.core.io import read_image, read_layers
from changer.core.masks import Box
from changer.core.pipeline.crop import resize
from changer.plugin.hosts import batch
from changer.plugin.hosts.batch import CROP_ATTRIBUTE, RenderPlan
from changer.plugin.hosts.options import RenderOptions
from changer.plugin.models import resolve_weights
from changer.training.studio.shot import make_demo_shot, size_text

from .demo_real import run_real
from .previews import contact_sheet, display, panel, write_gif

log = logging.getLogger(__name__)

SHEET_ROWS = 4
PANEL = 256
GIF_WIDTH = 480


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("changer-demo"), help="output folder (default ./changer-demo)")
    parser.add_argument("--frames", type=int, default=24, help="frames of the shot (default 24)")
    parser.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT of the plates (default 1280x720)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the studio shot (default 7)")
    parser.add_argument("--workers", type=int, default=1, help="render processes (default 1)")
    parser.add_argument("--weights", default="", help="weights to use instead of the shipped ones")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                        help="extra node params for the render, e.g. --set tau=0.4")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--real", type=Path, metavar="DIR",
                        help="render real photographs instead: DIR holds frames of people on green and actors' "
                             "portraits named source_*; both methods, automatic mattes, a contact sheet "
                             "(docs/real_footage.md)")


def run(args: argparse.Namespace) -> int:
    size = size_text(args.size)
    if not 1 <= args.frames <= 1000:
        raise ParamError(f"--frames {args.frames}: expected 1 to 1000")
    try:
        weights = resolve_weights(args.weights)
    except WeightsError as exc:
        raise WeightsError(f"changer demo renders with the shipped weights, and they are missing: {exc}") from None
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise ParamError(f"--out {out}: exists and is not a folder")
    if args.real is not None:
        return run_real(args.real, out, [f"weights={weights}", *args.sets], False if args.no_progress else None)
    print(f"changer demo: {args.frames} frames at {size[0]}x{size[1]} into {out.resolve()} (weights {weights})")
    shot = make_demo_shot(out / "shot", args.frames, size, seed=args.seed)
    options = RenderOptions(
        target=shot.target, source=shot.source, target_matte=shot.target_matte, source_matte=shot.source_matte,
        background=shot.background, out=str(out / "render" / "comp.####.exr"),
        sets=("output=aovs", f"weights={weights}", *args.sets), workers=args.workers, overwrite=True,
    )
    plan = batch.plan_render(options)
    summary = batch.render(plan, progress=False if args.no_progress else None)
    print(summary.text())
    sheet, gif = _previews(plan, out)
    print(f"shot (EXR sequences):  {out / 'shot'}")
    print(f"render (EXR, RGBA + matte/M/ip/X/Y/ToRGB layers): {out / 'render'}")
    print(f"contact sheet (plate | X | Y on green | comp): {sheet}")
    print(f"preview: {gif}" if gif else "preview: no GIF writer in this OpenImageIO build; skipped")
    print(f"re-render with other settings: {' '.join(options.to_argv())}")
    return 0


def _previews(plan: RenderPlan, out: Path) -> tuple[Path, Path | None]:
    """The contact sheet and the GIF from the rendered EXRs."""
    color = plan.params.color_config()
    frames = list(plan.frames)
    picks = sorted({frames[round(i * (len(frames) - 1) / max(SHEET_ROWS - 1, 1))] for i in range(SHEET_ROWS)})
    rows, gif_frames = [], []
    for frame in frames:
        layers, meta = read_layers(plan.out.path(frame), frame=frame)
        comp = display(layers["rgba"][:3], color)
        height, width = comp.shape[-2:]
        gif_frames.append(resize(comp[None], (round(height * GIF_WIDTH / width), GIF_WIDTH))[0])
        if frame in picks:
            text = meta.attributes.get(CROP_ATTRIBUTE)
            box = Box(*(int(v) for v in text.split())) if text else None
            plate, _ = read_image(plan.clips["target"].pattern.path(frame), channels=["R", "G", "B"], frame=frame)
            images = [display(plate, color), display(layers["X"], color), display(layers["Y"], color), comp]
            rows.append([panel(image, box, PANEL) for image in images])
    sheet = contact_sheet(rows, out / "contact_sheet.png")
    gif = write_gif(gif_frames, out / "preview.gif")
    return sheet, gif
