"""Neck (with the chest skin a neckline shows) and the clothed torso."""

from __future__ import annotations

import math

import numpy as np

from changer.training.studio.face import chin_shadow
from changer.training.studio.raster import band_limit, clamp, coverage, ellipse_sd, f32, rgb, smoothstep
from changer.training.studio.rig import BODY, NECK, Layer, Rig
from changer.training.studio.shapes import stripes


def _neckline_sd(rig: Rig, x: np.ndarray, y: np.ndarray, grow: float = 0.0) -> np.ndarray | None:
    """Signed distance (body units) to the opening of the garment, None for a closed collar."""
    idn = rig.identity
    nw = idn.neck_width
    if idn.neckline == "crew":
        return ellipse_sd(x, y + f32(0.06), nw * 1.45 + grow, 0.3 + grow)
    if idn.neckline == "vneck":
        depth, half = 0.55 + 0.25 * (idn.cloth_scale - 0.12) / 0.28, nw * 1.35
        k = (depth + 0.2) / half
        n = 1.0 / math.sqrt(1.0 + k * k)
        return (y + np.abs(x) * f32(k)) * f32(n) - f32(depth * n + grow)
    return None


def neck_layer(rig: Rig) -> Layer:
    """The neck as a tapered capsule from under the jaw into the torso, plus chest skin."""
    idn, frame = rig.identity, rig.frame
    unit = rig.body.unit
    top = rig.neck_top
    bottom = rig.body.to_image(0.0, 0.35)
    r0, r1 = idn.neck_width * unit, idn.neck_width * unit * 1.12
    chest = idn.neck_width * 1.6
    box = frame.box_around([(top[0] - r1, top[1] - r1), (top[0] + r1, top[1]),
                            rig.body.to_image(-chest, -0.2), rig.body.to_image(chest, 1.0)], 3)
    u, v = frame.axes(box)
    dx, dy = bottom[0] - top[0], bottom[1] - top[1]
    length2 = dx * dx + dy * dy
    pu, pv = u - f32(top[0]), v - f32(top[1])
    t = clamp(pu * f32(dx / length2) + pv * f32(dy / length2), 0.0, 1.0)
    eu, ev = pu - t * f32(dx), pv - t * f32(dy)
    sd = np.sqrt(eu * eu + ev * ev) - (f32(r0) + f32(r1 - r0) * t)
    across = clamp((pu * f32(dy) - pv * f32(dx)) * f32(1.0 / (math.sqrt(length2) * r1)), -1.0, 1.0)
    nz = np.sqrt(np.maximum(f32(1.0) - across * across, 0.0))
    shade = rig.shade(across * f32(0.9), np.zeros_like(across), nz) * chin_shadow(rig, u, v)
    bx, by = rig.body.grid(frame, box)
    opening = _neckline_sd(rig, bx, by, grow=0.06)
    if opening is not None:
        below_shoulders = _shoulder_line(rig, np.abs(bx))[0] - by + f32(0.03)
        sd = np.minimum(sd, np.maximum(opening, below_shoulders) * f32(unit))
        lit = smoothstep(-0.1, 0.4, by)
        shade = shade * (f32(1.0) - f32(0.12) * lit) + lit * f32(0.1 * rig.studio.light_intensity)
    alpha = coverage(sd, rig.edge)
    dark = np.maximum(f32(1.0) - shade, 0.0)
    colour = rgb(idn.skin) * shade * (f32(1.0) - rgb((0.0, 0.08, 0.15)) * dark)
    return Layer(NECK, box, alpha, clamp(colour, 0.0, 1.0, out=colour), amodal=True)


def _shoulder_line(rig: Rig, ax: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Height of the shoulder line over ``|x|`` (trapezius slope from the neck), its ramp and slope."""
    idn = rig.identity
    start, end = idn.neck_width * 0.85, idn.shoulder_width * 0.85
    ramp = clamp((ax - f32(start)) * f32(1.0 / (end - start)), 0.0, 1.0)
    return ramp * (f32(0.7) + f32(0.3) * ramp) * f32(idn.shoulder_drop), ramp, idn.shoulder_drop / (end - start)


def _torso(rig: Rig, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed distance of the torso (trapezius slope, rounded deltoids, arms down) and a fake normal."""
    idn = rig.identity
    sw, drop = idn.shoulder_width, idn.shoulder_drop
    ax = np.abs(x)
    top, ramp, slope = _shoulder_line(rig, ax)
    norm = 1.0 / math.sqrt(1.0 + slope * slope)
    f_top = (top - y) * f32(norm)
    f_side = ax - f32(sw) - f32(0.04) * clamp(y, 0.0, 2.0)
    k = 0.35 * drop + 0.2
    h = np.maximum(f32(k) - np.abs(f_top - f_side), 0.0)
    sd = np.maximum(f_top, f_side) + h * h * f32(1.0 / (4.0 * k))
    side = f32(1.0) / (f32(1.0) + np.exp(clamp((f_top - f_side) * f32(1.0 / (0.3 * k)), -30.0, 30.0)))
    sign = np.sign(x)
    nx = side * sign + (f32(1.0) - side) * sign * (ramp > 0) * f32(slope * norm)
    ny = side - f32(1.0)
    tilt = clamp(f32(1.0) + sd * f32(1.0 / 0.45), 0.0, 1.0) ** 2
    tilt /= np.maximum(np.sqrt(nx * nx + ny * ny), 1e-6)
    return sd, nx * tilt, ny * tilt


def _collar(rig: Rig, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A mock-neck collar hugging the neck base: a rounded box, slightly wider at the bottom."""
    r = 0.07
    qx = np.abs(x) - f32(rig.identity.neck_width * 1.12 - r) - f32(0.08) * clamp(y, 0.0, 0.3)
    qy = np.abs(y + f32(0.02)) - f32(0.2 - r)
    outside = np.sqrt(np.maximum(qx, 0.0) ** 2 + np.maximum(qy, 0.0) ** 2)
    return outside + np.minimum(np.maximum(qx, qy), 0.0) - f32(r)


def body_layer(rig: Rig) -> Layer:
    """Shoulders and torso, clothed and shaded."""
    idn, frame = rig.identity, rig.frame
    sw = idn.shoulder_width
    bottom = (1.0 - rig.body.cy) / rig.body.unit + sw * abs(math.sin(rig.body.angle)) + 0.2
    box = rig.body.box(frame, -sw - 0.15, -0.35, sw + 0.15, bottom)
    x, y = rig.body.grid(frame, box)
    sd, nx, ny = _torso(rig, x, y)
    collar = None
    if idn.neckline == "collar":
        collar = _collar(rig, x, y)
        sd = np.minimum(sd, collar)
    opening = _neckline_sd(rig, x, y)
    if opening is not None:
        sd = np.maximum(sd, -opening)
    alpha = coverage(sd, rig.edge / rig.body.unit)

    if collar is not None:
        wrap = coverage(collar, 0.05) * (y < f32(0.05))
        nx += (clamp(x * f32(0.9 / (idn.neck_width * 1.2)), -0.95, 0.95) - nx) * wrap
        ny *= f32(1.0) - wrap
    nz = np.sqrt(np.maximum(f32(1.0) - nx * nx - ny * ny, 0.0))
    shade = rig.shade(nx, ny, nz)
    seed = f32(idn.detail_seed % 7)
    folds = f32(0.05) * np.sin(x * f32(4.1) + y * f32(2.3) + seed) + f32(0.04) * np.sin(y * f32(5.3) - x * f32(2.7))
    shade *= f32(1.0) + folds
    arm = (np.abs(x) - f32(sw * 0.8)) * f32(1.0 / 0.035)
    shade *= f32(1.0) - f32(0.3) * np.exp(-arm * arm) * smoothstep(idn.shoulder_drop + 0.5, idn.shoulder_drop + 1.0, y)
    if opening is not None:
        hem = (opening + f32(0.025)) * f32(1.0 / 0.02)
        shade *= f32(1.0) - f32(0.2) * np.exp(-hem * hem)
    colour = _cloth(rig, x, y) * shade
    return Layer(BODY, box, alpha, clamp(colour, 0.0, 1.0, out=colour), amodal=True)


def _cloth(rig: Rig, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Clothing albedo: solid, stripes, checks (gingham) or heathered noise, in body coordinates."""
    idn = rig.identity
    c1, c2 = rgb(idn.cloth), rgb(idn.cloth2)
    px = rig.frame.px / rig.body.unit
    ca, sa = f32(math.cos(idn.cloth_angle)), f32(math.sin(idn.cloth_angle))
    along, across = x * ca + y * sa, y * ca - x * sa
    period = idn.cloth_scale
    if idn.cloth_pattern == "stripes":
        return c1 + (c2 - c1) * stripes(across, period, px)
    if idn.cloth_pattern == "checks":
        return c1 + (c2 - c1) * ((stripes(across, period, px) + stripes(along, period, px)) * f32(0.5))
    if idn.cloth_pattern == "noise":
        rng = np.random.default_rng(idn.detail_seed)
        m = np.zeros_like(x)
        for octave in range(5):
            theta, phase = rng.uniform(0.0, math.pi), rng.uniform(0.0, 2.0 * math.pi)
            wavelength = period * 1.6 ** -octave
            amp = 0.55 ** octave * band_limit(wavelength / px)
            if amp > 0:
                f = 2.0 * math.pi / wavelength
                d = along * f32(math.cos(theta) * f) + across * f32(math.sin(theta) * f)
                m += np.sin(d + f32(phase)) * f32(amp)
        return c1 + (c2 - c1) * clamp(m * f32(0.35) + f32(0.5), 0.0, 1.0)
    weave = 0.04 * band_limit(0.035 / px)
    if weave == 0.0:
        return np.broadcast_to(c1, (3, *x.shape))
    return c1 * (f32(1.0) + f32(weave) * np.sin(along * f32(180.0)) * np.sin(across * f32(170.0)))
