"""The head's skin layer (skull, face features) and the ears.

Features are painted into the face colour inside their own small pixel boxes, so a 4K head costs
little more than the features it shows. Proportions follow the portrait canon in head units (the
head spans y in [-1, 1]): eyes on the mid-line, brows 0.15 above, nose tip 0.36 and mouth 0.62
below, chin at 1.
"""

from __future__ import annotations

import math

import numpy as np

from changer.training.studio.raster import Box, band_limit, clamp, coverage, ellipse_sd, f32, rgb, smoothstep, soft_blob
from changer.training.studio.rig import EARS, FACE, Layer, Rig
from changer.training.studio.shapes import superellipse

Slices = tuple[slice, slice]


def _grain(x: np.ndarray, y: np.ndarray, period: float, px: float) -> np.ndarray | float:
    """Fine irregular texture in [0, 1] (skin pores, stubble): crossed waves, faded below 2 px."""
    amp = band_limit(period / px)
    if amp == 0:
        return 0.5
    f = f32(2.0 * math.pi / period)
    wave = np.sin(x * f + np.sin(y * (f * f32(0.37))) * f32(2.0))
    wave *= np.sin(y * (f * f32(1.13)) + np.sin(x * (f * f32(0.41))) * f32(2.0))
    return wave * f32(0.5 * amp) + f32(0.5)


class _Patch:
    """The head patch: local grids, the colour being painted, and sub-boxes for features."""

    def __init__(self, rig: Rig, box: Box) -> None:
        self.rig = rig
        self.box = box
        self.px = rig.frame.px / rig.head.unit
        self.x, self.y = rig.head.grid(rig.frame, box)
        self.colour = np.empty((3, box.h, box.w), dtype=f32)

    def sub(self, x0: float, y0: float, x1: float, y1: float) -> tuple[Slices, np.ndarray, np.ndarray] | None:
        """Slices and local grids of a head-local rectangle, or None when it is off the patch."""
        inner = self.rig.head.box(self.rig.frame, x0, y0, x1, y1, margin_px=2).clip(self.box)
        if inner.empty:
            return None
        sl = inner.within(self.box)
        return sl, self.x[sl], self.y[sl]

    def paint(self, sl: Slices, alpha: np.ndarray, colour: np.ndarray) -> None:
        """Blend ``colour`` ((3,1,1) or (3,h,w)) over the patch colour in ``sl`` with weight ``alpha``."""
        view = self.colour[:, sl[0], sl[1]]
        view += (colour - view) * alpha

    def darken(self, sl: Slices, amount: np.ndarray) -> None:
        """Multiply the colour in ``sl`` by ``1 - amount`` (negative amounts brighten)."""
        self.colour[:, sl[0], sl[1]] *= f32(1.0) - amount


def face_layers(rig: Rig) -> tuple[Layer, list[Layer]]:
    """Render the head skin with its features, and the ears."""
    idn = rig.identity
    a = idn.head_aspect
    reach = a + 0.32 * idn.ear_size + 0.05
    box = rig.head.box(rig.frame, -reach, -1.08, reach, 1.08)
    patch = _Patch(rig, box)
    x, y = patch.x, patch.y
    edge = rig.head_edge()
    jaw = clamp(y, 0.0, 1.0)
    half_width = f32(a) - f32(a * idn.jaw_taper) * jaw * jaw
    sd, nx, ny, r = superellipse(x, y, half_width, 1.0, idn.head_square)
    alpha = coverage(sd, edge)
    depth = clamp(r, 0.0, 1.0)
    nz = np.sqrt(np.maximum(f32(1.0) - depth * depth, 0.0))
    shade = rig.shade(nx * depth, ny * depth, nz)
    # Shadowed skin turns redder and more saturated (subsurface scattering, cheaply).
    dark = np.maximum(f32(1.0) - shade, 0.0)
    patch.colour[:] = rgb(idn.skin) * shade * (f32(1.0) - rgb((0.0, 0.12, 0.22)) * dark)
    pores = _grain(x, y, 0.02, patch.px)
    if not isinstance(pores, float):
        patch.colour *= f32(0.97) + f32(0.06) * pores
    _features(patch)
    ears = _ears(patch, alpha)
    clamp(patch.colour, 0.0, 1.0, out=patch.colour)
    return Layer(FACE, box, alpha, patch.colour), ears


def _features(p: _Patch) -> None:
    rig, idn = p.rig, p.rig.identity
    a = idn.head_aspect
    lx, ly, _ = rig.studio.light
    fx, fy = rig.face_dx, rig.face_dy
    skin = np.asarray(idn.skin, dtype=f32)
    edge = rig.head_edge()
    ey = fy + idn.eye_height
    ex = idn.eye_spacing * a * 1.25
    ew = 0.15 * idn.eye_size * a / 0.8
    eh = 0.05 * idn.eye_size

    # Cheeks: a little colour, and the hollow under the cheekbone on the shadow side.
    s = p.sub(fx - ex * 1.05 - 0.25, ey + 0.05, fx + ex * 1.05 + 0.25, ey + 0.6)
    if s:
        sl, x, y = s
        for side in (-1.0, 1.0):
            cx = fx + side * ex * 1.05
            blush = soft_blob(x, y, cx, ey + 0.32, 0.2, 0.14) * f32(0.06)
            p.colour[1:, sl[0], sl[1]] *= f32(1.0) - blush
            if side * lx < 0:
                p.darken(sl, soft_blob(x, y, cx + side * 0.08, ey + 0.42, 0.1, 0.16) * f32(0.1))

    _nose(p, skin, ey, edge)
    mx, my, mw = _mouth(p, skin, edge)

    # Beard shadow: from the sideburns along the cheek line to the moustache, kept off the lips.
    if idn.beard > 0:
        tip = fy + 0.36 * idn.nose_length
        s = p.sub(-a - 0.05, 0.0, a + 0.05, 1.05)
        if s:
            sl, x, y = s
            dx = np.abs(x - f32(fx))
            line = f32(tip + 0.05) - np.maximum(dx - f32(mw * 0.9), 0.0) * f32((tip - 0.05) / max(a - mw * 0.9, 0.1))
            ring = smoothstep(0.0, 0.08, y - line) * (f32(1.0) - soft_blob(x, y, mx, my + 0.01, mw * 1.02, 0.075))
            ring *= f32(idn.beard * 0.6) * (f32(0.85) + f32(0.15) * _grain(x, y, 0.012, p.px))
            p.paint(sl, ring, rgb(np.asarray(idn.hair) * 0.5 + skin * 0.2))

    for side in (-1.0, 1.0):
        _eye(p, side, ex, ew, eh, ey, edge)


def _nose(p: _Patch, skin: np.ndarray, ey: float, edge: float) -> None:
    """The shadow side of the bridge, tip highlight, alar wings, nostrils and the shadow under it."""
    rig, idn = p.rig, p.rig.identity
    lx, ly, _ = rig.studio.light
    nw = 0.085 * idn.nose_width
    tip = rig.face_dy + 0.36 * idn.nose_length
    nx = rig.face_dx * 1.15
    s = p.sub(nx - 0.25, ey - 0.1, nx + 0.25, tip + 0.16)
    if not s:
        return
    sl, x, y = s
    side = -1.0 if lx >= 0 else 1.0
    along = smoothstep(ey - 0.05, tip - 0.08, y) * (f32(1.0) - smoothstep(tip, tip + 0.06, y))
    d = (x - f32(nx + side * nw * 0.75)) * f32(1.0 / (nw * 0.5))
    p.darken(sl, np.exp(-d * d) * along * f32(0.14 + 0.22 * abs(lx)))
    p.darken(sl, soft_blob(x, y, nx - side * nw * 0.25, tip - 0.04, nw * 0.55, 0.07) * f32(-0.1))
    p.darken(sl, soft_blob(x, y, nx, tip + 0.075, nw * 1.25, 0.04) * f32(0.22 + 0.12 * max(-ly, 0.0)))
    below_tip = smoothstep(tip - 0.05, tip, y)
    for k in (-1.0, 1.0):
        wing = np.abs(ellipse_sd(x - f32(nx + k * nw * 0.85), y - f32(tip + 0.005), 0.055, 0.045)) * f32(1.0 / 0.012)
        p.darken(sl, np.exp(-wing * wing) * below_tip * f32(0.22))
        nostril = coverage(ellipse_sd(x - f32(nx + k * nw * 0.5), y - f32(tip + 0.035), 0.034, 0.017), edge * 2.0)
        p.paint(sl, nostril * f32(0.85), rgb(skin * 0.25))


def _mouth(p: _Patch, skin: np.ndarray, edge: float) -> tuple[float, float, float]:
    """Upper and lower lip, the dark line between them, and the shadow under the lower lip."""
    rig, idn = p.rig, p.rig.identity
    mw = 0.24 * idn.mouth_width * idn.head_aspect / 0.8
    my = rig.face_dy * 1.1 + 0.62
    mx = rig.face_dx * 1.1
    uh, lh = 0.04 * idn.lip_fullness, 0.055 * idn.lip_fullness
    s = p.sub(mx - mw - 0.05, my - uh - 0.08, mx + mw + 0.05, my + lh + 0.12)
    if not s:
        return mx, my, mw
    sl, x, y = s
    dx, dy = x - f32(mx), y - f32(my)
    shading = p.colour[:, sl[0], sl[1]].mean(0) * f32(1.0 / skin.mean())
    lips = rgb(idn.lips) * shading
    bow = f32(1.0) - f32(0.3) * np.exp(-(dx * f32(1.0 / 0.035)) ** 2)
    upper = coverage(np.maximum(ellipse_sd(dx, dy / bow, mw, uh), dy), edge * 1.5)
    lower = coverage(np.maximum(ellipse_sd(dx, dy, mw * 0.82, lh), -dy), edge * 1.5)
    p.darken(sl, soft_blob(x, y, mx, my - uh - 0.04, 0.03, 0.04) * f32(0.08))
    p.paint(sl, upper * f32(0.9), lips * f32(0.82))
    gloss = soft_blob(x, y, mx, my + lh * 0.45, mw * 0.4, lh * 0.35)
    highlight = f32(1.0) + gloss * f32(0.25 * rig.studio.light_intensity)
    p.paint(sl, lower * f32(0.9), lips * highlight)
    t = np.abs(dx) * f32(1.0 / mw)
    line = coverage(np.abs(dy - f32(0.03) * t * t + f32(0.006)) - f32(0.005), edge * 1.5)
    line *= f32(1.0) - smoothstep(0.85, 1.05, t)
    p.paint(sl, line * f32(0.9), rgb(skin * 0.15))
    p.darken(sl, soft_blob(x, y, mx, my + lh + 0.05, mw * 0.6, 0.035) * f32(0.16))
    return mx, my, mw


def _eye(p: _Patch, side: float, ex: float, ew: float, eh: float, ey: float, edge: float) -> None:
    """Socket shadow, an almond of two arcs, iris, pupil, catchlight, lashes, crease; then the brow."""
    rig, idn = p.rig, p.rig.identity
    lx, ly, _ = rig.studio.light
    fx = rig.face_dx
    skin = np.asarray(idn.skin, dtype=f32)
    cx = fx * 1.05 + side * ex
    w = ew * (1.0 - 0.3 * side * rig.pose.yaw)
    s = p.sub(cx - w * 2.2, ey - 0.36, cx + w * 2.2, ey + eh * 3.5)
    if not s:
        return
    sl, x, y = s
    lit = np.minimum(p.colour[:, sl[0], sl[1]].mean(0) * f32(1.0 / skin.mean()), 1.1)
    p.darken(sl, soft_blob(x, y, cx, ey - 0.03, w * 1.7, eh * 3.4) * f32(0.14 + 0.12 * max(-ly, 0.0)))
    dx = x - f32(cx)
    tilt = y - f32(ey) - f32(0.12 * side) * dx
    hu, hl = eh * 1.15, eh * 0.75
    ru, rl = (w * w + hu * hu) / (2 * hu), (w * w + hl * hl) / (2 * hl)
    dx2 = dx * dx
    top_arc = np.sqrt(dx2 + (tilt - f32(ru - hu)) ** 2) - f32(ru)
    bottom_arc = np.sqrt(dx2 + (tilt + f32(rl - hl)) ** 2) - f32(rl)
    eye_sd = np.maximum(top_arc, bottom_arc)
    eye = coverage(eye_sd, edge)
    t = np.abs(dx) * f32(1.0 / w)
    sclera = (f32(0.7) + f32(0.3) * smoothstep(-hu, hl, tilt)) * (f32(1.0) - f32(0.25) * smoothstep(0.5, 1.0, t))
    p.paint(sl, eye * f32(0.95), rgb((0.8, 0.77, 0.74)) * (sclera * lit))
    ix = cx + fx * 0.25
    ir = 0.44 * w
    radial = np.sqrt((x - f32(ix)) ** 2 + (tilt - f32(0.1 * eh)) ** 2)
    iris = coverage(radial - f32(ir), edge) * eye
    ring = clamp(radial * f32(1.0 / ir), 0.0, 1.0)
    p.paint(sl, iris, rgb(idn.iris) * ((f32(1.25) - f32(0.7) * ring * ring) * lit))
    p.paint(sl, coverage(radial - f32(ir * 0.42), edge) * eye, rgb((0.015, 0.015, 0.015)))
    glint = soft_blob(x, y, ix + ir * 0.4 * lx + ir * 0.15, ey - ir * 0.3, ir * 0.22, ir * 0.22) * eye
    p.paint(sl, glint * f32(0.9), rgb((0.97, 0.97, 0.97)))
    lash = (top_arc - f32(0.004)) * f32(1.0 / 0.011)
    lash = np.exp(-lash * lash) * (tilt < f32(0.2 * eh)) * (f32(1.0) - smoothstep(0.85, 1.15, t))
    p.paint(sl, lash * f32(0.95), rgb(skin * 0.08))
    lower_lid = (bottom_arc - f32(0.006)) * f32(1.0 / 0.008)
    p.darken(sl, np.exp(-lower_lid * lower_lid) * (tilt > 0) * f32(0.15))
    crease = (np.sqrt(dx2 + (tilt - f32(ru - hu - 0.05)) ** 2) - f32(ru)) * f32(1.0 / 0.01)
    p.darken(sl, np.exp(-crease * crease) * (tilt < f32(-hu * 0.5)) * f32(0.2))
    # Brow: an arched band thinning outwards, drawn with a strand texture.
    bx = cx + side * w * 0.15
    bw = w * 1.25
    by = ey - 0.15 - idn.brow_arch * 0.5
    t = (x - f32(bx)) * f32(1.0 / bw)
    centre = f32(by - idn.brow_arch) + f32(idn.brow_arch) * t * t + f32(0.02 * side) * t
    thick = f32(idn.brow_thickness * 0.5) * (f32(1.0) - f32(0.5) * clamp(t * f32(side), 0.0, 1.0))
    brow_sd = np.maximum(np.abs(y - centre) - thick, np.abs(t) - f32(1.0))
    brow = coverage(brow_sd, edge * 2.5) * (f32(0.8) + f32(0.18) * np.sin(x * f32(300.0) + y * f32(120.0 * side)))
    brow_colour = np.asarray(idn.hair) * 0.6 + skin * 0.12 if sum(idn.hair) < 1.6 else skin * 0.45
    p.paint(sl, brow * f32(0.9), rgb(brow_colour))


def _ears(p: _Patch, face_alpha: np.ndarray) -> list[Layer]:
    """Ears stick out of the skull; their coverage excludes the face so the two never overlap."""
    rig, idn = p.rig, p.rig.identity
    a = idn.head_aspect
    ew, eh = 0.1 * idn.ear_size, 0.2 * idn.ear_size
    cy = 0.12 + rig.face_dy * 0.5
    skin = rgb(np.asarray(idn.skin) * np.array([1.0, 0.94, 0.92]))
    ears = []
    for side in (-1.0, 1.0):
        cx = side * (a * (1.0 - idn.jaw_taper * cy * cy) + ew * 0.5) - rig.face_dx * 0.35
        s = p.sub(cx - ew * 1.5, cy - eh * 1.3, cx + ew * 1.5, cy + eh * 1.3)
        if not s:
            continue
        sl, x, y = s
        dx, dy = x - f32(cx), y - f32(cy)
        lobe = dx - dy * f32(0.2 * side) - f32(0.25 * ew * side) * clamp(dy * f32(1.0 / eh), 0.0, 1.0) ** 2
        alpha = coverage(ellipse_sd(lobe, dy, ew, eh), rig.head_edge()) * (f32(1.0) - face_alpha[sl])
        shade = rig.shade(np.full_like(dx, 0.6 * side), dy * f32(0.4 / eh), np.full_like(dx, 0.75))
        bowl = soft_blob(x, y, cx - side * ew * 0.15, cy + eh * 0.05, ew * 0.45, eh * 0.45)
        rim = ellipse_sd(lobe, dy, ew * 0.78, eh * 0.8) * f32(1.0 / 0.012)
        colour = skin * (shade * (f32(1.0) - f32(0.3) * bowl) * (f32(1.0) - f32(0.15) * np.exp(-rim * rim)))
        box = Box(p.box.r0 + sl[0].start, p.box.r0 + sl[0].stop, p.box.c0 + sl[1].start, p.box.c0 + sl[1].stop)
        ears.append(Layer(EARS, box, alpha, clamp(colour, 0.0, 1.0, out=colour)))
    return ears


def chin_shadow(rig: Rig, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """How much light the jaw takes from the neck below it (image-unit grids in, factor out)."""
    c, s = math.cos(rig.head.angle), math.sin(rig.head.angle)
    k = 1.0 / rig.head.unit
    du, dv = (u - f32(rig.head.cx)) * f32(k), (v - f32(rig.head.cy)) * f32(k)
    x, y = du * f32(c) + dv * f32(s), dv * f32(c) - du * f32(s)
    idn = rig.identity
    below = np.maximum(ellipse_sd(x, y, idn.head_aspect * (1.0 - idn.jaw_taper * 0.6), 1.0), 0.0)
    strength = 0.4 + 0.25 * max(-rig.studio.light[1], 0.0)
    return f32(1.0) - np.exp(below * f32(-1.0 / 0.15)) * smoothstep(0.2, 0.7, y) * f32(strength)
