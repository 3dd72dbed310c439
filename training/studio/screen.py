"""The chroma screen: uneven illumination, fabric unevenness, the subject's shadow, sensor noise.

Illumination is a product of smooth terms (linear gradient, radial falloff from the key light's
hotspot, lens vignette, fabric unevenness as a few separable low-frequency waves), each built from
1-D profiles so a 4K screen costs a handful of full-frame operations. The shadow is the subject's
alpha, offset away from the key light and blurred, computed on a coarse grid inside its own box.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from changer.training.studio.params import Studio
from changer.training.studio.raster import Box, Frame, box_blur, clamp, downsample, f32, rgb, upsample

NOISE_BANK = 1 << 18
"""Size of the shared table of Gaussian samples that sensor noise is cut from (1 MB: it stays in
cache; a 16 MB table made the row gathers memory-bound and the noise 2x slower)."""


def lowres_step(frame: Frame) -> int:
    """Downsampling factor of smooth fields (spill reach, shadow): about 128 low-res rows."""
    return max(1, frame.height // 128)


def clean_screen(studio: Studio, frame: Frame) -> np.ndarray:
    """The lit screen without subject or shadow, (3, H, W).

    The illumination is smooth, so it is evaluated on the low-res grid and upsampled bilinearly.
    """
    step = lowres_step(frame)
    low = Frame(-(-frame.width // step), -(-frame.height // step))
    u, v = low.axes(low.box)
    u, v = u[0], v[:, 0]
    gx, gy = studio.gradient
    hx, hy = studio.hotspot
    norm = 1.0 / (0.25 * (frame.width / frame.height) ** 2 + 0.25)
    light = (f32(1.0 - 0.5 * gy) + v * f32(gy))[:, None] + (u * f32(gx))[None, :]
    fall, vig = f32(studio.falloff), f32(studio.vignette * norm)
    light *= (f32(1.0) - fall * (v - f32(hy)) ** 2)[:, None] - (fall * (u - f32(hx)) ** 2)[None, :]
    light *= (f32(1.0) - vig * (v - f32(0.5)) ** 2)[:, None] - (vig * u * u)[None, :]
    if studio.wrinkles > 0:
        rng = np.random.default_rng(studio.texture_seed)
        waves = np.ones_like(light)
        for _ in range(3):
            fu, fv = rng.uniform(2.0, 9.0, 2)
            pu, pv = rng.uniform(0.0, 2.0 * math.pi, 2)
            amp = studio.wrinkles * rng.uniform(0.3, 0.6)
            waves += np.sin(v * f32(fv) + f32(pv))[:, None] * (np.sin(u * f32(fu) + f32(pu)) * f32(amp))[None, :]
        light *= waves
    light = upsample(light, step)[: frame.height, : frame.width]
    clamp(light, 0.05, 1.0 / max(max(studio.screen), 1e-3), out=light)
    out = rgb(studio.screen) * light[None]
    if studio.dirt > 0:
        stain = upsample(_dirt(studio, low, u, v), step)[: frame.height, : frame.width]
        out += (rgb(_DIRT_COLOUR) * light[None] - out) * stain[None]
    return out


# Dirt is a dull grey-brown: stains shift the screen's hue, not only its brightness.
_DIRT_COLOUR = (0.22, 0.21, 0.18)


def _dirt(studio: Studio, low: Frame, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(h, w) low-res share of dirt colour: soft stains and a few seams (tape, panel joins)."""
    rng = np.random.default_rng(studio.texture_seed + 1)
    share = np.zeros((low.height, low.width), dtype=f32)
    half = 0.5 * low.width / low.height
    for _ in range(int(rng.integers(10, 30))):
        cu, cv = rng.uniform(-half, half), rng.uniform(0.0, 1.0)
        r = rng.uniform(0.01, 0.05)
        blob = np.exp(-((u[None, :] - f32(cu)) ** 2 + (v[:, None] - f32(cv)) ** 2) * f32(1.0 / (2 * r * r)))
        share = np.maximum(share, blob * f32(rng.uniform(0.3, 1.0)))
    for _ in range(int(rng.integers(1, 4))):
        width = rng.uniform(0.003, 0.01)
        if rng.random() < 0.5:
            line = np.exp(-((u - f32(rng.uniform(-half, half))) ** 2) * f32(1.0 / (2 * width * width)))[None, :]
        else:
            line = np.exp(-((v - f32(rng.uniform(0.0, 1.0))) ** 2) * f32(1.0 / (2 * width * width)))[:, None]
        share = np.maximum(share, np.broadcast_to(line * f32(0.6), share.shape))
    return share * f32(0.35 * studio.dirt)


def apply_shadow(studio: Studio, frame: Frame, screen: np.ndarray, alpha: np.ndarray, box: Box) -> np.ndarray:
    """Darken ``screen`` in place with the subject's shadow; return the (1, H, W) shadow factor.

    ``alpha`` covers ``box``, whose corners are multiples of :func:`lowres_step`.
    """
    shadow = np.ones((1, frame.height, frame.width), dtype=f32)
    if studio.shadow <= 0.0 or box.empty:
        return shadow
    step = lowres_step(frame)
    radius = max(1, round(studio.shadow_blur * frame.height / step))
    pad = 3 * radius
    small = np.pad(downsample(alpha, step), pad)
    up = upsample(box_blur(small, radius, passes=3), step)
    dy = round(studio.shadow_offset[1] * frame.height / step) * step
    dx = round(studio.shadow_offset[0] * frame.height / step) * step
    placed = Box(box.r0 + dy - pad * step, box.r0 + dy - pad * step + up.shape[0],
                 box.c0 + dx - pad * step, box.c0 + dx - pad * step + up.shape[1])
    visible = placed.clip(frame.box)
    if visible.empty:
        return shadow
    src = visible.within(placed)
    region = f32(1.0) - up[src] * f32(studio.shadow)
    shadow[0, visible.r0:visible.r1, visible.c0:visible.c1] = region
    screen[:, visible.r0:visible.r1, visible.c0:visible.c1] *= region
    return shadow


@functools.cache
def _noise_bank() -> np.ndarray:
    """A fixed table of standard normal samples (the same in every process)."""
    return torch.randn(NOISE_BANK, generator=torch.Generator().manual_seed(0x5EED)).numpy()


def sensor_noise(studio: Studio, signal: np.ndarray, seed: int) -> np.ndarray:
    """Read noise plus signal-dependent shot noise, independent per channel and row.

    Each image row is a run cut at a random offset (from ``seed``) from a shared table of Gaussian
    samples: white within a row and independent between rows at the scale anyone looks at, and
    ~4x cheaper than drawing fresh normals, which would otherwise dominate the cost of a 4K frame.
    (Rows of one frame can repeat a shifted run of the table; nothing here needs cryptographic noise.)
    """
    c, h, w = signal.shape
    bank = _noise_bank()
    offsets = np.random.default_rng(seed).integers(0, bank.size - w, size=c * h)
    noise = np.lib.stride_tricks.sliding_window_view(bank, w)[offsets].reshape(c, h, w)
    sigma = signal * f32(studio.shot_noise)
    sigma += f32(studio.noise ** 2)
    np.sqrt(sigma, out=sigma)
    noise *= sigma
    return noise
