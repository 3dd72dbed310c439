"""Implicit shapes beyond ellipses and capsules: superellipses with their normals, and stripes."""

from __future__ import annotations

import math

import numpy as np

from changer.training.studio.raster import EPS, clamp, f32


def superellipse(x: np.ndarray, y: np.ndarray, a: float | np.ndarray, b: float, p: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Signed distance estimate to ``|x/a|^p + |y/b|^p = 1`` plus its normal and radial parameter.

    Returns ``(sd, nx, ny, r)``: ``sd`` is ``(r - 1) / |grad r|`` in the units of ``x`` (accurate near
    the boundary, which is all antialiasing needs), ``(nx, ny)`` the unit outward normal and ``r`` the
    superellipse radius (0 at the centre, 1 on the boundary) that shading uses as a fake depth.
    """
    ax = np.abs(x / a)
    ay = np.abs(y * f32(1.0 / b))
    np.maximum(ax, EPS, out=ax)
    np.maximum(ay, EPS, out=ay)
    px = np.log(ax)
    px *= f32(p)
    np.exp(px, out=px)
    py = np.log(ay)
    py *= f32(p)
    np.exp(py, out=py)
    s = px + py
    r = np.log(s)
    r *= f32(1.0 / p)
    np.exp(r, out=r)
    gx = px / ax / a
    gx *= np.sign(x)
    gy = py / ay
    gy *= np.sign(y) * f32(1.0 / b)
    g = np.sqrt(gx * gx + gy * gy)
    np.maximum(g, EPS, out=g)
    sd = (r - f32(1.0)) * s / (r * g)
    gx /= g
    gy /= g
    return sd, gx, gy, r


def stripes(c: np.ndarray, period: float, px: float, phase: float = 0.0) -> np.ndarray:
    """Antialiased 50% square-wave stripes across coordinate ``c`` (values in [0, 1]).

    The sine is sharpened to about one pixel of transition and faded to grey when the period nears
    the pixel size, so patterns never alias into moire.
    """
    period_px = period / px
    gain = max(period_px / (2.0 * math.pi), 0.5)
    fade = min(max((period_px - 3.0) / 3.0, 0.0), 1.0)
    wave = np.sin(c * f32(2.0 * math.pi / period) + f32(phase))
    wave *= f32(gain * fade)
    clamp(wave, -0.5, 0.5, out=wave)
    wave += f32(0.5)
    return wave
