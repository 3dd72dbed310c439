"""From a layer's working-space pixels to the 8-bit image on screen, as compositing viewers do it.

Colour layers: exposure (stops, scene-linear) -> OCIO DisplayViewTransform from the working space
(the config's default display/view unless chosen; OCIO's CPU processor, cached) -> gamma -> 8 bit.
Channel isolation (R, G or B) copies that channel to all three before the transform, as Nuke's viewer
does; A shows alpha as data. Mattes are data: shown as grey without any colour transform. FPAT
attention is normalised to its maximum and shown with a heat ramp. The float values the probe reads
are kept beside the 8-bit image, untouched by any of this.

The display transform is the costliest step of a panel update (an ACES output transform on every
pixel), so a colour layer shown again with the same display settings re-transforms only the pixels
whose values changed; OCIO's CPU processor works pixel by pixel, so the image is the one a full
conversion makes, bit for bit.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np
import torch

from changer.core.color import ColorConfig, apply_ocio, display_view_processor

from .layers import COLOR, HEAT, MATTE

log = logging.getLogger(__name__)

CHANNELS = ("rgb", "r", "g", "b", "a")
#: A perceptual black-purple-orange-yellow ramp (inferno-like) for attention weights: positions and RGB.
_HEAT_STOPS = np.array([0.0, 0.25, 0.5, 0.75, 1.0], dtype=np.float32)
_HEAT_RGB = np.array([[0.0, 0.0, 0.02], [0.34, 0.06, 0.43], [0.73, 0.21, 0.33], [0.98, 0.55, 0.04],
                      [0.99, 1.0, 0.64]], dtype=np.float32)
#: Attention over the plate: opacity of the heat ramp, and how dim the plate is where there is no weight.
HEAT_OPACITY, BACKDROP_DIM = 0.75, 0.45


@dataclass(frozen=True)
class DisplaySettings:
    """How the viewer shows pixels: OCIO display and view (None: the config's defaults), exposure in
    stops, gamma, and which channel is isolated."""

    display: str | None = None
    view: str | None = None
    exposure: float = 0.0
    gamma: float = 1.0
    channel: str = "rgb"


@dataclass
class DisplayImage:
    """What the viewer paints (``rgb8``, H x W x 3) and what the probe reads (``values``, H x W x C).

    ``made_by`` is what else decided ``rgb8`` (kind, display settings, colour config) when it came from
    the display transform, so a later conversion knows when it may reuse it.
    """

    rgb8: np.ndarray
    values: np.ndarray
    channel_names: tuple[str, ...]
    note: str = ""
    made_by: tuple | None = None


@functools.lru_cache(maxsize=16)
def _cpu_processor(color: ColorConfig, display: str | None, view: str | None):
    return display_view_processor(color, src=color.working, display=display, view=view).getDefaultCPUProcessor()


def _to_uint8(rgb: torch.Tensor, gamma: float) -> np.ndarray:
    """(H,W,3) float display values -> uint8, with the viewer gamma applied after the transform."""
    rgb = rgb.clamp(0.0, 1.0)
    if gamma != 1.0:
        rgb = rgb.pow(1.0 / gamma)
    return rgb.mul(255.0).add_(0.5).to(torch.uint8).numpy()


def _grey(plane: torch.Tensor, gamma: float) -> np.ndarray:
    return _to_uint8(plane[0][..., None].expand(-1, -1, 3), gamma)


def _heat(plane: torch.Tensor, backdrop: np.ndarray | None) -> np.ndarray:
    """Weights normalised to their peak on the heat ramp; where they are 0 (outside the query's FPAT
    group, outside the crop) a dimmed grey ``backdrop`` (8-bit RGB) shows what the patches cover."""
    weights = plane[0].numpy()
    peak = float(weights.max()) if weights.size else 0.0
    t = weights / peak if peak > 0 else weights
    rgb = np.stack([np.interp(t, _HEAT_STOPS, _HEAT_RGB[:, c]) for c in range(3)], axis=-1)
    if backdrop is not None:
        grey = (backdrop.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], np.float32) / 255.0)[..., None]
        rgb = np.where(weights[..., None] > 0, HEAT_OPACITY * rgb + (1.0 - HEAT_OPACITY) * grey, BACKDROP_DIM * grey)
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def _changed(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """(H,W) pixels of two contiguous (H,W,C) float32 arrays that differ in any bit, compared a machine
    word at a time (several times faster than a float compare reduced over channels; NaNs compare)."""
    words = np.uint64 if now.shape[-1] % 2 == 0 else np.uint32
    a, b = now.view(words), before.view(words)
    changed = a[..., 0] != b[..., 0]
    for index in range(1, a.shape[-1]):
        changed |= a[..., index] != b[..., index]
    return changed


def channel_names(kind: str, channels: int) -> tuple[str, ...]:
    if kind != COLOR:
        return ("weight",) if kind == HEAT else ("matte",)
    return ("R", "G", "B", "A")[:channels]


def to_display(pixels: torch.Tensor, kind: str, settings: DisplaySettings, color: ColorConfig,
               backdrop: torch.Tensor | None = None, previous: DisplayImage | None = None) -> DisplayImage:
    """8-bit display image and probe values of a (C,H,W) CPU layer (see the module docstring).

    ``backdrop`` (a colour layer of the same size) is shown dimmed under a HEAT layer. ``previous`` is
    the image last shown for this layer: only pixels whose values changed since are transformed again.
    """
    pixels = pixels.detach().to("cpu", torch.float32)
    values = pixels.permute(1, 2, 0).contiguous().numpy()
    names = channel_names(kind, pixels.shape[0])
    if kind == HEAT:
        under = None if backdrop is None else to_display(backdrop, COLOR, DisplaySettings(
            settings.display, settings.view, settings.exposure, settings.gamma), color).rgb8
        return DisplayImage(_heat(pixels, under), values, names)
    if kind == MATTE:
        return DisplayImage(_grey(pixels, settings.gamma), values, names)
    note = ""
    channel = settings.channel
    if channel == "a":
        if pixels.shape[0] < 4:
            note = "no alpha in this layer"
            return DisplayImage(_grey(pixels.new_zeros(1, *pixels.shape[1:]), settings.gamma), values, names, note)
        return DisplayImage(_grey(pixels[3:4], settings.gamma), values, names)
    rgb = pixels[:3] if channel == "rgb" else pixels["rgb".index(channel):"rgb".index(channel) + 1].expand(3, -1, -1)
    if settings.exposure != 0.0:
        rgb = rgb * (2.0 ** settings.exposure)
    made_by = (kind, settings, color)
    processor = _cpu_processor(color, settings.display, settings.view)
    if previous is None or previous.made_by != made_by or previous.values.shape != values.shape:
        shown = apply_ocio(processor, rgb[None])[0]
        return DisplayImage(_to_uint8(shown, settings.gamma), values, names, note, made_by)
    rgb8 = previous.rgb8.copy()
    changed = _changed(values, previous.values)
    if changed.any():
        picked = rgb.permute(1, 2, 0)[torch.from_numpy(changed)]  # (N,3): the changed pixels in one row
        shown = apply_ocio(processor, picked.T[None, :, None, :])[0, 0]
        rgb8[changed] = _to_uint8(shown, settings.gamma)
    return DisplayImage(rgb8, values, names, note, made_by)


def displays(color: ColorConfig) -> list[str]:
    return list(color.config.getDisplays())


def views(color: ColorConfig, display: str) -> list[str]:
    return list(color.config.getViews(display))
