"""Render one frame: layers of a person over a screen, then spill, motion blur, shadow, noise and codec.

Layers are composited front to back (the *under* operator, equivalent to *over* back to front)
inside the subject's bounding box (the "canvas"); everything outside it is screen. Front-to-back
precedence (what hides what): flyaways > front hair > ears (short styles) > face > ears (long and
curly styles, under the hair) > body (clothes) > neck (+ chest skin) > back hair. Each part's
visible coverage is tracked through the compositing, so the soft part masks sum to alpha exactly.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from changer.core.errors import ParamError
from changer.training.studio.body import body_layer, neck_layer
from changer.training.studio.codec import compress
from changer.training.studio.face import face_layers
from changer.training.studio.hair import hair_layers
from changer.training.studio.params import Identity, Pose, Studio
from changer.training.studio.raster import Box, Frame, blur_lowres, clamp, f32, single_thread
from changer.training.studio.rig import HAIR, LABELS, Layer, Rig
from changer.training.studio.sample import Sample
from changer.training.studio.screen import apply_shadow, clean_screen, lowres_step, sensor_noise

MIN_SIZE, MAX_SIZE = 64, 4096
HAIR_SPILL = 1.2
"""Extra spill on hair relative to skin and cloth: fine strands are lit through by the screen."""


def check_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """Normalise ``size`` to (width, height) and check its range."""
    try:
        width, height = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    except (TypeError, ValueError, IndexError):
        raise ParamError(f"size: expected an int or (width, height), got {size!r}") from None
    if not (MIN_SIZE <= width <= MAX_SIZE and MIN_SIZE <= height <= MAX_SIZE):
        raise ParamError(f"size: expected width and height in [{MIN_SIZE}, {MAX_SIZE}], got {width}x{height}")
    return width, height


def _layers(rig: Rig) -> list[Layer]:
    """Back-to-front layers of the person."""
    back_hair, front_hair, flyaways = hair_layers(rig)
    face, ears = face_layers(rig)
    covered_ears = rig.identity.hair_style in ("long", "curly")
    order = [back_hair, neck_layer(rig), body_layer(rig)]
    order += [*ears, face, front_hair] if covered_ears else [face, front_hair, *ears]
    order.append(flyaways)
    return [layer for layer in order if layer is not None and not layer.box.empty]


def _aligned(box: Box, step: int, frame: Frame) -> Box:
    """Grow ``box`` to multiples of ``step`` (the low-res grid) and clip it to the frame."""
    r0, c0 = box.r0 // step * step, box.c0 // step * step
    r1, c1 = -(-box.r1 // step) * step, -(-box.c1 // step) * step
    return Box(max(r0, 0), min(r1, frame.height), max(c0, 0), min(c1, frame.width))


def _motion_blur(stack: np.ndarray, length_px: float, angle: float) -> np.ndarray:
    """Average ``stack`` (C, h, w) over integer shifts along a line ``length_px`` long."""
    taps = min(max(int(math.ceil(length_px)) + 1, 2), 16)
    shifts = {(round((k / (taps - 1) - 0.5) * length_px * math.sin(angle)),
                round((k / (taps - 1) - 0.5) * length_px * math.cos(angle))) for k in range(taps)}
    pad = int(math.ceil(length_px / 2)) + 1
    c, h, w = stack.shape
    padded = np.zeros((c, h + 2 * pad, w + 2 * pad), dtype=f32)
    padded[:, pad:pad + h, pad:pad + w] = stack
    out = np.zeros_like(stack)
    for dy, dx in shifts:
        out += padded[:, pad - dy:pad - dy + h, pad - dx:pad - dx + w]
    out *= f32(1.0 / len(shifts))
    return out


def _argmax(parts: np.ndarray) -> np.ndarray:
    """Index of the largest channel of (C, h, w) as (h, w) uint8; ties go to the lower index."""
    best = parts[0].copy()
    index = np.zeros(parts.shape[1:], dtype=np.uint8)
    for k in range(1, parts.shape[0]):
        better = parts[k] > best
        index[better] = k
        np.maximum(best, parts[k], out=best)
    return index


def render(identity: Identity, pose: Pose, studio: Studio, size: int | tuple[int, int] = 256,
           noise_seed: int = 0) -> Sample:
    """Render one frame of ``identity`` at ``pose`` in ``studio``; ``size`` is (width, height)."""
    width, height = check_size(size)
    with single_thread(), np.errstate(over="ignore", under="ignore"):
        return _render(identity, pose, studio, Frame(width, height), noise_seed)


def _render(identity: Identity, pose: Pose, studio: Studio, frame: Frame, noise_seed: int) -> Sample:
    rig = Rig.build(identity, pose, studio, frame)
    layers = _layers(rig)
    step = lowres_step(frame)
    blur_px = studio.motion_blur[0] * frame.height
    canvas = Box(frame.height, 0, frame.width, 0)
    for layer in layers:
        canvas = canvas.union(layer.box)
    canvas = _aligned(canvas.grow(int(math.ceil(blur_px / 2)) + 2), step, frame)
    if canvas.empty:  # the person is entirely out of frame: an empty plate, truth still well defined
        canvas = _aligned(Box(0, 1, 0, 1), step, frame)
    cs = (slice(canvas.r0, canvas.r1), slice(canvas.c0, canvas.c1))

    n_parts = len(LABELS)
    # Full-frame truth, zero outside the canvas (lazily zeroed pages): alpha, fg, spill, parts, amodal.
    truth = np.zeros((8 + n_parts, frame.height, frame.width), dtype=f32)
    alpha, fg, spill = truth[0, cs[0], cs[1]], truth[1:4, cs[0], cs[1]], truth[4:7, cs[0], cs[1]]
    parts, amodal = truth[7:7 + n_parts, cs[0], cs[1]], truth[7 + n_parts, cs[0], cs[1]]
    # Composited front to back ("under"): each layer shows through what is left of the transmittance.
    premult = np.zeros((3, canvas.h, canvas.w), dtype=f32)
    transmit = np.ones((canvas.h, canvas.w), dtype=f32)
    for layer in reversed(layers):
        box = layer.box.clip(canvas)
        if box.empty:
            continue
        sl = box.within(canvas)
        src = box.within(layer.box)
        a = layer.alpha[src]
        visible = a * transmit[sl]
        transmit[sl] -= visible
        parts[layer.label][sl] += visible
        premult[:, sl[0], sl[1]] += layer.rgb[:, src[0], src[1]] * visible
        if layer.amodal:
            amodal[sl] += a * (f32(1.0) - amodal[sl])
    np.subtract(f32(1.0), transmit, out=alpha)

    screen = clean_screen(studio, frame)
    # Spill: strongest at the silhouette (where surfaces turn towards the screen) and in hair.
    coarse = max(1, frame.height // 48)
    edge = f32(1.0) - blur_lowres(alpha, coarse, max(1, round(0.025 * frame.height / coarse)))
    edge *= f32(2.0)
    clamp(edge, 0.0, 1.0, out=edge)
    weight = (f32(0.15) + f32(0.85) * edge) * (f32(1.0) + f32(HAIR_SPILL) * parts[HAIR]) * f32(studio.spill)
    spill_premult = (weight * screen[:, cs[0], cs[1]]) * (f32(0.25) * alpha + f32(0.75) * premult)

    if blur_px > 0.5:
        stack = np.concatenate([premult, alpha[None], parts, amodal[None], spill_premult])
        stack = _motion_blur(stack, blur_px, studio.motion_blur[1])
        premult, spill_premult = stack[0:3], stack[-3:]
        alpha[:], parts[:], amodal[:] = stack[3], stack[4:4 + n_parts], stack[4 + n_parts]

    shadow = apply_shadow(studio, frame, screen, alpha, canvas)
    truth[7] = 1.0
    parts[0] = f32(1.0) - alpha
    cover = alpha[None]
    inv = np.divide(f32(1.0), cover, out=np.zeros_like(cover), where=cover > 0)
    np.multiply(premult, inv, out=fg)
    clamp(fg, 0.0, 1.0, out=fg)
    np.multiply(spill_premult, inv, out=spill)
    np.minimum(spill, f32(1.0) - fg, out=spill)  # a display-referred pixel saturates at 1
    comp = screen.copy()
    local = comp[:, cs[0], cs[1]]
    local *= f32(1.0) - cover
    local += cover * (fg + spill)
    plate = sensor_noise(studio, comp, noise_seed)
    plate += comp
    clamp(plate, 0.0, 1.0, out=plate)
    if studio.codec_quality > 0:
        plate = compress(plate, studio.codec_quality)
    noise = np.subtract(plate, comp, out=comp)
    labels = np.zeros((1, frame.height, frame.width), dtype=np.uint8)
    labels[0, cs[0], cs[1]] = _argmax(parts)
    t = torch.from_numpy(truth)
    return Sample(plate=torch.from_numpy(plate), alpha=t[0:1], fg=t[1:4], spill=t[4:7], screen=torch.from_numpy(screen),
                  shadow=torch.from_numpy(shadow), noise=torch.from_numpy(noise), parts=t[7:7 + n_parts],
                  labels=torch.from_numpy(labels), amodal=t[7 + n_parts:8 + n_parts], identity=identity, pose=pose,
                  studio=studio, noise_seed=noise_seed)
