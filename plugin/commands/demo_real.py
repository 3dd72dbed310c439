"""`changer demo --real DIR`: the whole chain on real photographs, both methods, one contact sheet.

``DIR`` holds real frames of a person on a green screen (the doubles) and portraits of actors, any image
format and size. An image whose name starts with ``source`` is an actor's portrait; every other image is
a double's frame. Each double gets the first actor whose name does not share the double's name (its
leading letters: ``lincoln2_green_t0.5.png`` is not given ``source_portrait_lincoln.png``), else the
first actor. Each pair goes through ``changer render`` from the plates alone: automatic head mattes
(the double's keyed, the portrait's segmented), alignment from the face landmarks, grade match, key,
then ``method=changer`` (the shipped network) and ``method=classical``.

Writes into ``--out``: ``real/<double>/<method>/comp.0001.exr`` (RGBA + matte/M/ip/X/Y/ToRGB layers)
and ``real_contact_sheet.png`` (rows: pairs; columns: the double's plate | the actor's portrait |
changer | classical, comps over mid grey, cut to a square round the double's head).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from changer.core import masks
from changer.core.color import get_config
from changer.core.errors import ImageReadError, ParamError
from changer.core.io import read_image, read_layers
from changer.core.masks import Box
from changer.plugin.hosts import batch
from changer.plugin.hosts.clips import to_working
from changer.plugin.hosts.options import RenderOptions
from changer.plugin.params import get_param

from .previews import contact_sheet, display, panel

#: Image files the folder may hold.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".dpx")
#: The methods rendered side by side.
METHODS = get_param("method").choices
#: Grey (scene-linear) the comps are shown over.
GREY = 0.18
PANEL = 256
#: The sheet's panels are this many double's head heights tall (the head and the neck below it).
HEAD_ZOOM = 2.2


@dataclass(frozen=True)
class RealPair:
    """A double's frame and the actor portrait that goes on it."""

    double: Path
    actor: Path

    @property
    def name(self) -> str:
        return self.double.stem


def _person(path: Path) -> str:
    """The leading letters of a file name: who is in it (``lincoln2_green_t0.5`` -> ``lincoln``)."""
    match = re.match(r"[a-z]+", path.stem.lower())
    return match.group(0) if match else path.stem.lower()


def find_pairs(folder: Path) -> list[RealPair]:
    """The pairs of ``folder`` (module docstring); ParamError naming the folder when it has no double or actor."""
    if not folder.is_dir():
        raise ParamError(f"--real {folder}: not a folder; expected a folder of real green-screen frames and "
                         f"portraits named source_*")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    actors = [p for p in images if p.stem.lower().startswith("source")]
    doubles = [p for p in images if p not in actors]
    if not actors or not doubles:
        raise ParamError(f"--real {folder}: found {len(doubles)} double frame(s) and {len(actors)} actor portrait(s) "
                         f"(source_*); expected at least one of each")
    pairs = []
    for double in doubles:
        others = [a for a in actors if _person(double) not in a.stem.lower()]
        pairs.append(RealPair(double, (others or actors)[0]))
    return pairs


def render_pair(pair: RealPair, out: Path, method: str, sets: list[str], progress: bool | None) -> tuple[Path, Path]:
    """``changer render`` of one pair from the plates alone with ``method``; the comp's path and the double's
    automatic head matte's."""
    options = RenderOptions(target=str(pair.double), source=str(pair.actor),
                            out=str(out / "real" / pair.name / method / "comp.####.exr"), frames="1",
                            sets=("output=aovs", *sets, f"method={method}"), overwrite=True)
    plan = batch.plan_render(options)
    print(batch.render(plan, progress=progress).text())
    return plan.out.path(1), plan.auto["target"].out.path(1)


def head_box(matte_path: Path) -> Box:
    """A square around the double's head (its automatic matte), :data:`HEAD_ZOOM` head heights tall."""
    box = masks.bounding_box((read_image(matte_path)[0][-1:] > 0.5).float()[None])
    if box is None:
        raise ImageReadError(f"{matte_path}: the double's head matte is empty")
    side = round(HEAD_ZOOM * box.height)
    cx, cy = (box.x0 + box.x1) // 2, (box.y0 + box.y1) // 2
    return Box(cx - side // 2, cy - side // 3, cx + side - side // 2, cy + side - side // 3)


def sheet_row(pair: RealPair, comps: list[Path], matte: Path) -> list[torch.Tensor]:
    """The double's plate, the actor's portrait, and each comp over grey, cut to a square round the head."""
    box = head_box(matte)
    double, actor = (display(_as_read(path)) for path in (pair.double, pair.actor))
    row = [panel(double, box, PANEL), panel(actor, None, PANEL)]
    for path in comps:
        rgba = read_layers(path, frame=1)[0]["rgba"]
        row.append(panel(display(rgba[:3] + (1.0 - rgba[3:4]) * GREY), box, PANEL))
    return row


def _as_read(path: Path) -> torch.Tensor:
    """A plate in the working space as a render reads it (:func:`~changer.plugin.hosts.clips.to_working`)."""
    pixels, meta = read_image(path, channels=["R", "G", "B"])
    return to_working(pixels, meta, "target", get_config(), str(path))


def run_real(folder: Path, out: Path, sets: list[str], progress: bool | None) -> int:
    """Render every pair with both methods and write the contact sheet."""
    pairs = find_pairs(folder)
    print(f"changer demo --real: {len(pairs)} pair(s) from {folder.resolve()} into {out.resolve()}, "
          f"methods {', '.join(METHODS)}")
    rows = []
    for pair in pairs:
        print(f"{pair.actor.name} on {pair.double.name}")
        renders = [render_pair(pair, out, method, sets, progress) for method in METHODS]
        rows.append(sheet_row(pair, [comp for comp, _ in renders], renders[0][1]))
    sheet = contact_sheet(rows, out / "real_contact_sheet.png")
    print(f"renders (EXR, RGBA + layers): {out / 'real'}")
    print(f"contact sheet (double | actor | {' | '.join(METHODS)}): {sheet}")
    return 0
