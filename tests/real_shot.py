"""The real green-screen frames of ``/work/shared/data/real-greenscreen`` run through the node's stages, and the
issue-16 measures of a result (haze in the alpha, skin against the neck, the band under the jaw).

The frames are not shipped (their SOURCES.md): everything here reads them from that folder, and tests skip
with a reason when it is absent. Nothing derived from them is written into the repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from changer.core.align import warp_into_box
from changer.core.color import from_network, to_network
from changer.core.color.lab import srgb_to_lab
from changer.core.grade import skin_pixels
from changer.core.headmatte import FaceLandmarks, head_matte
from changer.core.headmatte.face_models import face_models
from changer.core.headmatte.landmarks import OVAL_CHIN, find_face
from changer.core.masks import Box, grow_shrink
from changer.core.pipeline import classical_output, network_neck, stages
from changer.core.pipeline.crop import paste, resize
from changer.core.pipeline.frame import FrameInputs, FrameResult, NetworkJob
from changer.core.pipeline.plate import key_plate, plate_screen
from changer.core.pipeline.skin import neck_bands, neck_strip
from changer.plugin.models import MODELS
from changer.plugin.params import get_param, resolve_params

#: Where the real frames are (``CHANGER_REAL_FRAMES`` overrides).
REAL_FRAMES = Path(os.environ.get("CHANGER_REAL_FRAMES", "/work/shared/data/real-greenscreen"))
#: (source portrait, double's body frame): each actor on the other's double, two frames each.
PAIRS = (("source_portrait_lincoln.png", "sejong1_green_t0.5.png"),
         ("source_portrait_lincoln.png", "sejong2_green_t2.0.png"),
         ("source_portrait_sejong.png", "lincoln2_green_t0.5.png"),
         ("source_portrait_sejong.png", "lincoln3_green_t1.0.png"))


def skip_reason() -> str | None:
    """Why the real-frame tests cannot run here (None: they can)."""
    if not all((REAL_FRAMES / name).is_file() for pair in PAIRS for name in pair):
        return f"the real green-screen frames are not in {REAL_FRAMES} (they are not shipped; set CHANGER_REAL_FRAMES)"
    return None


def load_display(name: str) -> torch.Tensor:
    """(3,H,W) sRGB-encoded [0,1] frame."""
    with Image.open(REAL_FRAMES / name) as image:
        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


@cache
def face(name: str) -> FaceLandmarks:
    """The face oval of a real frame."""
    return find_face(face_models(), load_display(name))


def oval_matte(landmarks: FaceLandmarks, size: tuple[int, int], shrink: float = 0.0) -> torch.Tensor:
    """(1,H,W) the face oval filled (a source portrait's head matte: it is not on a screen, so it cannot be keyed)."""
    height, width = size
    image = Image.new("L", (width, height), 0)
    ImageDraw.Draw(image).polygon([tuple(p) for p in landmarks.oval.tolist()], fill=255)
    matte = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)[None]
    return grow_shrink(matte[None], -shrink)[0] if shrink else matte


@dataclass
class RealPair:
    """One pair ready for the node: plates in the working space, head mattes, the double's face."""

    source: torch.Tensor
    target: torch.Tensor
    source_matte: torch.Tensor
    target_matte: torch.Tensor
    source_face: FaceLandmarks
    target_face: FaceLandmarks
    target_display: torch.Tensor


@cache
def real_pair(source_name: str, target_name: str) -> RealPair:
    """A pair with automatic mattes: the double's head keyed (:func:`head_matte`), the actor's face oval."""
    target_display, source_display = load_display(target_name), load_display(source_name)
    target = head_matte(target_display)
    source_face = face(source_name)
    source_matte = oval_matte(source_face, tuple(source_display.shape[-2:]))
    return RealPair(from_network(source_display), from_network(target_display), source_matte, target.matte,
                    source_face, target.landmarks, target_display)


def params(**changes: object):
    """The node's params for the real pairs (the shipped weights)."""
    return resolve_params({"output": "aovs", **changes})


def model(values) -> torch.nn.Module:
    return MODELS.get(values["weights"], "cpu").model


@dataclass
class Rendered:
    """A real pair through the node's stages, with the placed source matte the measures need."""

    pair: RealPair
    result: FrameResult
    source_matte: torch.Tensor  #: (1,H,W) the actor's head matte placed on the double's plate
    plate_alpha: torch.Tensor  #: (1,H,W) the plate's key
    job: NetworkJob  #: what ``prepare`` made of the frame (the grade's target and where it was measured)


@cache
def render(source_name: str, target_name: str, **changes: object) -> Rendered:
    """The pair rendered with the node's params (``changes`` on top of :func:`params`): the source portrait
    at its own size, placed by the pipeline (``alignment`` auto: the similarity between the two face ovals).
    Kept per arguments: the tests read one render many times, and a render of these plates takes tens of seconds."""
    pair = real_pair(source_name, target_name)
    height, width = pair.target.shape[-2:]
    frame = FrameInputs(pair.target, pair.source, pair.target_matte, pair.source_matte,
                        target_points=torch.from_numpy(pair.target_face.oval).float(),
                        source_points=torch.from_numpy(pair.source_face.oval).float())
    values = params(**changes)
    settings = values.frame_settings()
    job = stages.prepare(frame, settings)
    plate_key = key_plate(plate_screen(frame, settings), settings)
    if values["method"] == "classical":
        output = classical_output(job)
    else:
        output = network_neck(stages.infer(model(values), job, settings), job, settings)
    result = stages.composite(frame, job, output, settings, plate_key)
    source_matte = warp_into_box(pair.source_matte[None], job.alignment, Box(0, 0, width, height))[0]
    return Rendered(pair, result, source_matte, plate_key.alpha[0], job)


def haze(rendered: Rendered, near: int = 100, level: float = 0.05) -> float:
    """Share of the open-screen pixels within ``near`` pixels of the head whose final alpha is above ``level``.

    Open screen: screen in the plate, or the double's head above the new head's chin, outside the new head
    (grown by 3 pixels for its soft edge).
    """
    source = rendered.source_matte > level
    rows = torch.nonzero(source[0].any(dim=1))
    chin = int(rows.max()) if len(rows) else 0
    above = (torch.arange(source.shape[-2])[:, None] < chin)[None]
    head = source | (rendered.pair.target_matte > SOLID_MATTE)
    screen = (rendered.plate_alpha < level) | ((rendered.pair.target_matte > SOLID_MATTE) & above)
    open_screen = screen & ~grown(source, 3) & grown(head, near)
    alpha = rendered.result.rgba[3:4]
    return float((alpha[open_screen] > level).float().mean()) if bool(open_screen.any()) else 0.0


#: A head matte covers a pixel above this value.
SOLID_MATTE = 0.5
#: The target head matte's grow as the render shapes it (the param's default).
TARGET_MATTE_GROW = get_param("target_matte_grow").default


def grown(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """(1,H,W) bool grown by ``radius`` pixels (a square max filter, separable: rows then columns)."""
    size = 2 * radius + 1
    rows = F.max_pool2d(mask[None].float(), (1, size), 1, (0, radius))
    return F.max_pool2d(rows, (size, 1), 1, (radius, 0))[0] > 0


def median_lab(image: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """(3,) median CIELAB of ``image`` (3,H,W, sRGB-encoded) over the bool ``region`` (1,H,W)."""
    return srgb_to_lab(image, dim=0)[:, region[0]].median(dim=1).values


def result_display(rendered: Rendered) -> tuple[torch.Tensor, torch.Tensor]:
    """The comp's colour un-premultiplied, sRGB-encoded (3,H,W), and its alpha (1,H,W)."""
    rgba = rendered.result.rgba
    alpha = rgba[3:4]
    return to_network(rgba[:3] / alpha.clamp_min(1e-6)).clamp(0.0, 1.0), alpha


def double_neck(rendered: Rendered) -> torch.Tensor:
    """(1,H,W) bool: :func:`neck_box` outside the neck bands the grade match measured (:func:`neck_bands`: the
    shadow under the jaw, the bands between them and the neck's sides are left)."""
    shaped = grow_shrink(rendered.pair.target_matte[None], TARGET_MATTE_GROW)
    return neck_box(rendered) & ~neck_bands(shaped)[0]


def neck_box(rendered: Rendered) -> torch.Tensor:
    """(1,H,W) bool: the double's neck skin in the plate: below the double's chin by a twentieth to three tenths
    of a face height, within a third of a face height of the chin's column, solid in the key, skin-coloured and
    outside the double's head matte."""
    face = rendered.pair.target_face
    chin_x, chin_y = face.oval[OVAL_CHIN]
    height, width = rendered.plate_alpha.shape[-2:]
    ys = torch.arange(height)[:, None].float()
    xs = torch.arange(width)[None, :].float()
    box = ((ys > chin_y + 0.05 * face.height) & (ys < chin_y + 0.3 * face.height)
           & ((xs - float(chin_x)).abs() < face.height / 3))[None]
    solid = (rendered.plate_alpha > 0.95) & (rendered.pair.target_matte < SOLID_MATTE)
    skin = skin_pixels(rendered.pair.target_display[None], solid[None].float())[0]
    return box & solid & skin


def graded_neck(rendered: Rendered) -> torch.Tensor:
    """(1,H,W) bool: the neck the pipeline's grade measured the double's skin in (:func:`neck_strip` of the job's
    double head matte and its network-stage key, in the crop), placed in the frame."""
    job = rendered.job
    strip = neck_strip(job.target_head, resize(job.target_alpha, (job.box.height, job.box.width)))
    canvas = torch.zeros(1, 1, *rendered.plate_alpha.shape[-2:])
    return paste(canvas, strip.to(canvas.dtype), job.box)[0] > 0.5


def new_face(rendered: Rendered) -> torch.Tensor:
    """(1,H,W) bool: the new face's skin in the comp: the placed face oval shrunk by a tenth of its size, opaque,
    skin-coloured (eyes, brows and lips drop out)."""
    rgb, alpha = result_display(rendered)
    oval = rendered.source_matte > SOLID_MATTE
    rows = torch.nonzero(oval[0].any(dim=1))
    size = int(rows.max() - rows.min()) if len(rows) else 0
    inner = grow_shrink(oval[None].float(), -0.1 * size)[0] > SOLID_MATTE
    return inner & (alpha > 0.95) & skin_pixels(rgb[None], inner[None].float())[0]


def skin_delta_e(rendered: Rendered, neck=None) -> float:
    """ΔE76 between the medians of the new face's skin and the double's neck skin (``neck``: another neck region,
    e.g. :func:`neck_box`)."""
    rgb, _ = result_display(rendered)
    region = double_neck(rendered) if neck is None else neck(rendered)
    face, neck_lab = median_lab(rgb, new_face(rendered)), median_lab(rendered.pair.target_display, region)
    return float((face - neck_lab).norm())


def band_delta_e(rendered: Rendered) -> float:
    """ΔE76 between the median of the strip under the new jaw (from the new chin down a twentieth of the face's
    height, as wide as a third of it, opaque in the comp) and the double's neck skin."""
    rgb, alpha = result_display(rendered)
    oval = rendered.source_matte > SOLID_MATTE
    rows, cols = torch.nonzero(oval[0].any(dim=1)), torch.nonzero(oval[0].any(dim=0))
    top, chin = int(rows.min()), int(rows.max())
    size, centre = chin - top, float(cols.float().mean())
    height, width = alpha.shape[-2:]
    ys, xs = torch.arange(height)[:, None], torch.arange(width)[None, :].float()
    strip = ((ys > chin) & (ys <= chin + max(size // 20, 2)) & ((xs - centre).abs() < size / 6))[None]
    band = strip & (alpha > 0.95)
    neck = median_lab(rendered.pair.target_display, double_neck(rendered))
    return float((median_lab(rgb, band) - neck).norm())


def print_table() -> None:
    """The issue-16 table of docs/real_footage.md: haze, skin and band per pair, both methods."""
    print("| pair | haze classical | haze changer | skin classical | skin changer | band classical | band changer |")
    print("|---|---|---|---|---|---|---|")
    for source, target in PAIRS:
        runs = [render(source, target, method=method) for method in ("classical", "changer")]
        cells = [f"{100 * haze(r):.3f} %" for r in runs] + [f"{skin_delta_e(r):.1f}" for r in runs]
        cells += [f"{band_delta_e(r):.1f}" for r in runs]
        print(f"| {source.removesuffix('.png')} on `{target.removesuffix('.png')}` | " + " | ".join(cells) + " |")
    print("\nskin against the whole neck box (no pixel the grade used left out), classical / changer:")
    for source, target in PAIRS:
        runs = [render(source, target, method=method) for method in ("classical", "changer")]
        print(f"{target.removesuffix('.png')}: " + " / ".join(f"{skin_delta_e(r, neck_box):.1f}" for r in runs))


if __name__ == "__main__":
    reason = skip_reason()
    if reason:
        raise SystemExit(reason)
    print_table()
