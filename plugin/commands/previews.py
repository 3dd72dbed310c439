"""Display-referred previews of rendered frames: a PNG contact sheet and an animated GIF.

Working-space (scene-linear) pixels are shown through the network space's sRGB encoding, clamped to
[0, 1]. The GIF is written by OpenImageIO's GIF writer when the build has one (one subimage per
frame); without it the GIF is skipped with a message.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import torch

from changer.core.color import ColorConfig, clamp_network, to_network
from changer.core.errors import ImageWriteError
from changer.core.io import atomic_path, write_image
from changer.core.masks import Box
from changer.core.pipeline.crop import inside, resize

log = logging.getLogger(__name__)

GAP = 4  #: pixels between contact-sheet panels (white)


def display(image: torch.Tensor, color: ColorConfig | None = None) -> torch.Tensor:
    """(3,H,W) working space -> sRGB-encoded [0, 1] for viewing."""
    return clamp_network(to_network(image[:3], color))


def panel(image: torch.Tensor, box: Box | None, size: int) -> torch.Tensor:
    """``image`` (3,H,W) cut to the part of ``box`` inside the frame (when given), fitted into a square."""
    if box is not None:
        part, _ = inside(box, tuple(image.shape[-2:]))
        image = image[:, part.y0:part.y1, part.x0:part.x1]
    h, w = image.shape[-2:]
    scale = size / max(h, w)
    fitted = resize(image[None], (max(1, round(h * scale)), max(1, round(w * scale))))[0]
    out = image.new_zeros(3, size, size)
    y0, x0 = (size - fitted.shape[1]) // 2, (size - fitted.shape[2]) // 2
    out[:, y0:y0 + fitted.shape[1], x0:x0 + fitted.shape[2]] = fitted
    return out


def contact_sheet(rows: Sequence[Sequence[torch.Tensor]], path: Path) -> Path:
    """A PNG grid of equal-size display-referred panels (rows of (3,S,S) tensors), white gaps."""
    size = rows[0][0].shape[-1]
    cols = len(rows[0])
    sheet = torch.ones(3, len(rows) * (size + GAP) + GAP, cols * (size + GAP) + GAP)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            y, x = GAP + r * (size + GAP), GAP + c * (size + GAP)
            sheet[:, y:y + size, x:x + size] = image
    return write_image(path, sheet)


def gif_supported() -> bool:
    return "gif" in oiio.get_string_attribute("output_format_list").split(",")


def write_gif(frames: Sequence[torch.Tensor], path: Path, fps: float = 12.0) -> Path | None:
    """Animated GIF of display-referred (3,H,W) frames; None (and a log line) when OIIO cannot write GIF."""
    if not frames:
        raise ImageWriteError(f"cannot write {path}: no frames")
    if not gif_supported():
        log.warning("this OpenImageIO build has no GIF writer; skipping %s", path)
        return None
    height, width = frames[0].shape[-2:]
    spec = oiio.ImageSpec(width, height, 3, "uint8")
    spec.attribute("FramesPerSecond", float(fps))
    spec.attribute("oiio:LoopCount", 0)
    pixels = [np.ascontiguousarray((f.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy())
              for f in frames]
    with atomic_path(path) as tmp:
        out = oiio.ImageOutput.create(os.fspath(tmp))
        if out is None or not out.open(os.fspath(tmp), [spec] * len(pixels)):
            raise ImageWriteError(f"cannot write {path}: {oiio.geterror() or (out and out.geterror())}")
        ok = True
        for index, image in enumerate(pixels):
            if index:
                ok &= out.open(os.fspath(tmp), spec, "AppendSubimage")
            ok &= out.write_image(image)
        ok &= out.close()
        if not ok:
            raise ImageWriteError(f"cannot write {path}: {out.geterror()}")
    return path
