"""Video-compression damage: 4:2:0 chroma subsampling and 8x8 block DCT quantisation (JPEG/H.264-like).

Real plates arrive through codecs: chroma at half resolution bleeds across every edge, and coarse
quantisation leaves 8x8 blocks and ringing that a keyer must not turn into matte. This is a
deterministic imitation (no entropy coding, no motion prediction) that produces those artefacts at
a chosen strength; it works on the plate in the network space (sRGB-encoded [0, 1]).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from changer.training.studio.raster import f32

#: BT.709 luma weights (the studios' HD codecs).
_KR, _KB = 0.2126, 0.0722
# The JPEG luminance quantisation table (Annex K), the frequency shape of every quantiser here.
_JPEG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.float64).reshape(8, 8)


@functools.cache
def _dct_matrix() -> np.ndarray:
    """Orthonormal 8-point DCT-II as an (8, 8) matrix."""
    k, n = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    m = np.cos(math.pi * (2 * n + 1) * k / 16.0) * math.sqrt(2.0 / 8.0)
    m[0] /= math.sqrt(2.0)
    return m.astype(f32)


def _quant_step(quality: float) -> np.ndarray:
    """(8, 8) quantiser steps in [0, 1] units for a JPEG-style quality in (0, 100]."""
    scale = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    return (np.maximum(np.floor((_JPEG_LUMA * scale + 50.0) / 100.0), 1.0) / 255.0).astype(f32)


def _blocks(plane: np.ndarray, quality: float) -> np.ndarray:
    """Quantise one (h, w) plane (h, w multiples of 8) in 8x8 DCT blocks."""
    h, w = plane.shape
    d, step = _dct_matrix(), _quant_step(quality)
    blocks = plane.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)
    coef = d @ blocks @ d.T
    coef = np.round(coef / step) * step
    return (d.T @ coef @ d).transpose(0, 2, 1, 3).reshape(h, w)


def compress(plate: np.ndarray, quality: float) -> np.ndarray:
    """(3, H, W) plate after 4:2:0 subsampling and block quantisation at ``quality`` (1..100), clipped to [0, 1]."""
    _, h, w = plate.shape
    ph, pw = -(-h // 16) * 16, -(-w // 16) * 16
    x = np.pad(plate, ((0, 0), (0, ph - h), (0, pw - w)), mode="edge")
    r, g, b = x
    y = _KR * r + (1.0 - _KR - _KB) * g + _KB * b
    cb = (b - y) / (2.0 * (1.0 - _KB)) + 0.5
    cr = (r - y) / (2.0 * (1.0 - _KR)) + 0.5
    y = _blocks(y, quality)
    chroma = []
    for c in (cb, cr):
        half = c.reshape(ph // 2, 2, pw // 2, 2).mean((1, 3))
        half = _blocks(half, quality)
        # Decoders interpolate chroma back to full size: bilinear with centred samples.
        full = np.repeat(np.repeat(half, 2, 0), 2, 1)
        full[1:-1] = 0.75 * full[1:-1] + 0.125 * (full[:-2] + full[2:])
        full[:, 1:-1] = 0.75 * full[:, 1:-1] + 0.125 * (full[:, :-2] + full[:, 2:])
        chroma.append(full)
    cb, cr = chroma[0] - 0.5, chroma[1] - 0.5
    r = y + 2.0 * (1.0 - _KR) * cr
    b = y + 2.0 * (1.0 - _KB) * cb
    g = (y - _KR * r - _KB * b) / (1.0 - _KR - _KB)
    out = np.stack([r, g, b])[:, :h, :w].astype(f32)
    return np.clip(out, 0.0, 1.0, out=out)
