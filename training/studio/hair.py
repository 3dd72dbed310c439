"""Hair: a region per style, a strand texture that frays its edge into fractional alpha, flyaways.

Each style is a union/difference of implicit shapes in head units. The part of the hair that lies
behind the face, neck and shoulders (long hair, curls) is a *back* layer; the part over the skull and
in front of the face or shoulders is a *front* layer. Near the boundary the coverage is thinned by a
directional strand texture (strands fan out from the parting, fall straight below the ears), so the
matte has a band of fractional alpha as real hair does. Flyaways are thin curves splatted as points
with a width in image units: their alpha is physically fractional at low resolution and resolves
into single strands at 4K.
"""

from __future__ import annotations

import math

import numpy as np

from changer.training.studio.raster import (
    Box,
    band_limit,
    capsule_sd,
    circle_sd,
    clamp,
    coverage,
    f32,
    rgb,
    smoothstep,
    splat,
)
from changer.training.studio.rig import HAIR, Layer, Rig
from changer.training.studio.shapes import superellipse

STRAND_WIDTH = 0.00055
"""Flyaway strand width in frame heights (0.6 px at 1080 lines)."""


class _Style:
    """The implicit shapes of one hair style, in head units."""

    def __init__(self, rig: Rig) -> None:
        idn = rig.identity
        self.rig, self.idn = rig, idn
        self.a, self.v = idn.head_aspect, idn.hair_volume
        self.style = idn.hair_style
        self.seed = idn.detail_seed
        self.side = 1.0 if idn.detail_seed % 2 else -1.0
        self.bottom = {"long": 1.0 + idn.hair_length, "curly": 0.55 + 1.2 * self.v,
                       "ponytail": 1.0 + 0.55 * idn.hair_length}.get(self.style, 0.35)

    def cap(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Hair volume over the skull (sd, normal, radius)."""
        return superellipse(x, y - f32(0.04), self.a + 0.55 * self.v + 0.025, 1.0 + self.v + 0.03, self.idn.head_square)

    def window(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The face area the hair leaves open (negative inside); its top edge is the hairline."""
        top = -0.6 + 0.4 * self.idn.hair_fringe + self.rig.face_dy
        dx = x - f32(self.rig.face_dx * 0.8)
        temples = dx * f32(1.0 / self.a)
        recede = f32(self.idn.hair_recession) * temples * temples
        return superellipse(dx, y + recede - f32(top + 1.25), self.a * 0.9, 1.25, 2.6)[0]

    def curly(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        sd = superellipse(x, y - f32(0.1), self.a + self.v, 1.0 + 0.9 * self.v, 2.2)[0]
        theta = np.arctan2(x, f32(0.1) - y)
        bumps = f32(0.04) * np.sin(theta * f32(7.0) + f32(self.seed % 13))
        bumps += f32(0.03) * np.sin(theta * f32(13.0) + f32(self.seed % 5))
        sd += bumps * f32(0.5 + self.v)
        return np.maximum(sd, y - f32(self.bottom))

    def outer(self, y: np.ndarray) -> np.ndarray:
        """Half-width of long hair at height ``y``: hugs the skull, then falls over the shoulders."""
        return f32(self.a + 0.55 * self.v + 0.1) + f32(0.14) * clamp(y, 0.0, 3.0)

    def ends(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Ragged ends: the bottom edge varies by strand clump."""
        spread = x * f32(1.0 / (self.a + 0.5))
        ragged = f32(0.1) * np.sin(x * f32(23.0) + f32(self.seed % 19))
        ragged += f32(0.05) * np.sin(x * f32(57.0) + f32(self.seed % 7))
        return y - f32(self.bottom) - ragged + f32(0.12) * spread * spread

    def has_layer(self, front: bool) -> bool:
        return self.style != "bald" and (front or self.style in ("long", "curly"))

    def extent(self) -> tuple[float, float, float]:
        """(half-width, top, bottom) in head units that hold every hair shape and its fringe."""
        a, v = self.a, self.v
        half = a + v + 0.2
        top = -(1.0 + v + 0.12)
        if self.style == "long":
            half = a + 0.55 * v + 0.3 + 0.14 * min(self.bottom, 3.0)
        elif self.style == "curly":
            half, top = (a + v) * 1.1 + 0.12, -(1.0 + 0.9 * v) * 1.1 - 0.05
        elif self.style == "bun":
            top -= 1.65 * (0.27 + 0.6 * v)
        elif self.style == "ponytail":
            half = a + 0.6
        return half, top, self.bottom + 0.25

    def shapes(self, x: np.ndarray, y: np.ndarray, front: bool, cap: np.ndarray,
               window: np.ndarray | None) -> np.ndarray:
        """Signed distance of the front or back hair layer (see :meth:`has_layer`)."""
        style, a, v = self.style, self.a, self.v
        if not front:
            if style == "long":
                fall = np.maximum(np.abs(x) - self.outer(y), self.ends(x, y))
                return np.maximum(fall, np.minimum(cap - f32(0.1), -y))
            return self.curly(x, y)
        if style == "curly":
            return np.maximum(np.maximum(self.curly(x, y), -window), y + f32(0.05))
        cut = {"short": 0.05 + 0.8 * v, "long": 0.3}.get(style, 0.0)
        sd = np.maximum(np.maximum(cap, -window), y - f32(cut))
        if style == "long":
            ax = np.abs(x)
            inner = f32(a * 0.8) + f32(0.1) * np.maximum(y - f32(0.8), 0.0)
            curtain = np.maximum(np.maximum(inner - ax, ax - self.outer(y)), self.ends(x, y))
            curtain = np.maximum(np.maximum(curtain, -(window + f32(0.05))), np.minimum(cap - f32(0.1), f32(0.1) - y))
            sd = np.minimum(sd, curtain)
        elif style == "bun":
            r = 0.27 + 0.6 * v
            sd = np.minimum(sd, circle_sd(x - f32(self.idn.hair_part * 0.3), y + f32(1.0 + v + r * 0.55), r))
        elif style == "ponytail":
            s = self.side
            sd = np.minimum(sd, capsule_sd(x, y, s * a * 0.8, -0.05, s * (a + 0.32), self.bottom, 0.14, 0.06))
        return sd

    def across(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The coordinate across the strands: arc length around the parting on top, x where hair falls."""
        r = y + f32(1.45)
        around = np.arctan2(x - f32(self.idn.hair_part), np.maximum(r, 0.05)) * np.maximum(r, 0.3)
        if self.style not in ("long", "ponytail"):
            return around
        fall = x + f32(0.035) * np.sin(y * f32(6.0) + f32(self.seed % 11))
        return around + (fall - around) * smoothstep(-0.2, 0.35, y)


def _strands(style: _Style, x: np.ndarray, y: np.ndarray, px: float) -> tuple[np.ndarray, np.ndarray]:
    """(edge texture, colour texture) in [0, 1]: clumps and single strands, or curls."""
    if style.style == "curly":
        tex = np.full_like(x, 0.5)
        period = 0.08 + 0.1 * (1.0 - style.idn.hair_curl)
        for scale, angle, weight in ((1.0, 0.0, 0.32), (0.47, 0.7, 0.22), (0.23, 1.9, 0.14)):
            amp = band_limit(period * scale / px)
            if amp == 0:
                continue
            f = f32(2.0 * math.pi / (period * scale))
            ca, sa = f32(math.cos(angle)), f32(math.sin(angle))
            u, w = x * ca + y * sa, y * ca - x * sa
            ring = np.sin(u * f + f32(1.3) * np.sin(w * (f * f32(0.8)) + f32(style.seed % 7)))
            ring *= np.sin(w * f + f32(1.3) * np.sin(u * (f * f32(0.9))))
            tex += ring * f32(weight * amp)
        clamp(tex, 0.0, 1.0, out=tex)
        return tex, tex
    c = style.across(x, y)
    rng = np.random.default_rng(style.seed)
    edge = np.full_like(c, 0.5)
    colour = np.full_like(c, 0.5)
    for octave in range(8):
        period = 0.12 * 0.66 ** octave * rng.uniform(0.85, 1.15)
        phase, wobble, freq = rng.uniform(0, 2 * math.pi), rng.uniform(0.5, 2.5), rng.uniform(2.0, 9.0)
        amp = band_limit(period / px)
        if amp == 0:
            continue
        wave = np.sin(c * f32(2 * math.pi / period) + f32(wobble) * np.sin(y * f32(freq) + f32(phase)) + f32(phase))
        colour += wave * f32(0.16 * (0.85 ** octave) * amp)
        edge += wave * f32(0.13 * amp)
    clamp(edge, 0.0, 1.0, out=edge)
    clamp(colour, 0.0, 1.0, out=colour)
    return edge, colour


def _flyaways(rig: Rig, style: _Style) -> Layer | None:
    """Stray strands: curves leaving the hair outline, splatted as points into their own layer."""
    idn, frame = rig.identity, rig.frame
    n = idn.flyaways
    rng = np.random.default_rng(style.seed)
    if style.style == "curly":
        ax, ay, cy = style.a + style.v, 1.0 + 0.9 * style.v, 0.1
    else:
        ax, ay, cy = style.a + 0.55 * style.v + 0.025, 1.0 + style.v + 0.03, 0.04
    phi = rng.uniform(-1.9, 1.9, n)
    sx, sy = ax * np.sin(phi), cy - ay * np.cos(phi)
    nx, ny = np.sin(phi) / ax, -np.cos(phi) / ay
    if style.style == "long":
        k = n // 2
        s = np.where(rng.random(k) < 0.5, -1.0, 1.0)
        t = rng.uniform(0.1, 1.0, k)
        sx[:k] = s * (style.a + style.v + 0.2 + 0.3 * t)
        sy[:k] = -0.2 + t * (style.bottom + 0.2)
        nx[:k], ny[:k] = s, 0.6
    norm = np.hypot(nx, ny)
    nx, ny = nx / norm, ny / norm
    turn = rng.uniform(-0.7, 0.7, n)
    dx, dy = nx * np.cos(turn) - ny * np.sin(turn), nx * np.sin(turn) + ny * np.cos(turn)
    length = rng.uniform(0.06, 0.3, n)[:, None]
    bend = rng.uniform(-0.6, 0.6, n)[:, None] * length
    unit_px = rig.head.unit * frame.height
    m = int(math.ceil(0.3 * unit_px * 2.0)) + 4
    t = np.linspace(0.0, 1.0, m)[None, :]
    x = (sx - 0.03 * nx)[:, None] + dx[:, None] * length * t - dy[:, None] * bend * t * t
    y = (sy - 0.03 * ny)[:, None] + dy[:, None] * length * t + dx[:, None] * bend * t * t
    c, s = math.cos(rig.head.angle), math.sin(rig.head.angle)
    cols = (rig.head.cx + rig.head.unit * (c * x - s * y)) * frame.height + frame.width / 2.0
    rows = (rig.head.cy + rig.head.unit * (s * x + c * y)) * frame.height
    box = Box(math.floor(rows.min()) - 1, math.ceil(rows.max()) + 2,
              math.floor(cols.min()) - 1, math.ceil(cols.max()) + 2).clip(frame.box)
    if box.empty:
        return None
    weight = (length * unit_px / (m - 1)) * (STRAND_WIDTH * frame.height) * (1.0 - 0.7 * t)
    density = splat((rows - box.r0).ravel(), (cols - box.c0).ravel(), weight.ravel(), box.h, box.w)
    alpha = f32(1.0) - np.exp(-density)
    lit = rig.studio.ambient + 0.6 * rig.studio.light_intensity
    colour = clamp(rgb(np.asarray(idn.hair) * 1.2 + 0.05) * f32(lit), 0.0, 1.0)
    return Layer(HAIR, box, alpha, np.broadcast_to(colour, (3, box.h, box.w)))


def hair_layers(rig: Rig) -> tuple[Layer | None, Layer | None, Layer | None]:
    """Back, front and flyaway layers (each may be None: bald, or nothing behind the head)."""
    style = _Style(rig)
    layers: list[Layer | None] = []
    half, top, bottom = style.extent()
    for front in (False, True):
        if not style.has_layer(front):
            layers.append(None)
            continue
        box = rig.head.box(rig.frame, -half, top, half, bottom)
        x, y = rig.head.grid(rig.frame, box)
        cap = style.cap(x, y)
        window = style.window(x, y) if front else None
        layers.append(_shade(rig, style, box, x, y, style.shapes(x, y, front, cap[0], window), cap, window))
    layers.append(_flyaways(rig, style) if style.style != "bald" and rig.identity.flyaways else None)
    return layers[0], layers[1], layers[2]


def _shade(rig: Rig, style: _Style, box: Box, x: np.ndarray, y: np.ndarray, sd: np.ndarray,
           cap: tuple[np.ndarray, ...], window: np.ndarray | None) -> Layer:
    idn = rig.identity
    px = rig.frame.px / rig.head.unit
    edge_tex, colour_tex = _strands(style, x, y, px)
    curly = style.style == "curly"
    fringe = (0.035 if curly else 0.04) + rig.head_edge()
    t = smoothstep(fringe, -0.05, sd + (edge_tex - f32(0.5)) * f32(0.12 if curly else 0.04))
    alpha = t * (f32(1.0) - (f32(1.0) - t) * (f32(1.0) - edge_tex) * f32(1.5))
    clamp(alpha, 0.0, 1.0, out=alpha)
    np.maximum(alpha, coverage(sd + f32(0.05), rig.head_edge()), out=alpha)

    _, nx, ny, r = cap
    depth = clamp(r, 0.0, 1.0)
    hang = smoothstep(0.0, 0.5, y)
    keep = (f32(1.0) - hang) * depth
    nx = nx * keep + hang * clamp(x * f32(1.0 / (style.a + style.v + 0.3)), -1.0, 1.0)
    ny = ny * keep
    nz = np.sqrt(np.maximum(f32(1.0) - nx * nx - ny * ny, 0.05))
    shade = rig.shade(nx, ny, nz)
    base = rgb(idn.hair)
    ly = rig.studio.light[1]
    band = (y - f32(-0.62 - 0.25 * ly)) * f32(1.0 / 0.12)
    low = (y - f32(0.9)) * f32(1.0 / 0.15)
    sheen = (np.exp(-band * band) + f32(0.5) * np.exp(-low * low) * hang) * colour_tex
    sheen *= f32(0.35 * rig.studio.light_intensity)
    colour = base * (shade * (f32(0.7) + f32(0.6) * colour_tex)) + (base * f32(0.6) + f32(0.2)) * sheen
    if window is None:
        colour *= f32(0.7)
    else:
        root = (window + f32(0.03)) * f32(1.0 / 0.05)
        colour *= f32(1.0) - f32(0.25) * np.exp(-root * root)
    clamp(colour, 0.0, 1.0, out=colour)
    return Layer(HAIR, box, alpha, colour)
