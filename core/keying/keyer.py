r"""A colour-difference keyer (the Keylight/IBK/Natron PIK family), in torch, for any device.

For a green screen (blue: swap G and B below), with plate :math:`P`, screen colour :math:`S` (one
colour per image, or per pixel from a clean plate) and balance :math:`b`:

.. math::

    d_b(X) &= X_G - \big(b\,X_R + (1-b)\,X_B\big)                    && \text{colour difference}\\
    \rho &= d_b(P) / d_b(S) \ \text{(fixed balance)}, \quad
    \rho = \min\big(d_1(P)/d_1(S),\ d_0(P)/d_0(S)\big) \ \text{(auto)}     && \text{screen ratio}\\
    \alpha_0 &= \max\Big(1 - \text{gain}\cdot\rho,\ \max_c \frac{P_c - S_c}{1 - S_c},\
             \max_{c:\,S_c \ge S_G/2} \frac{S_c - P_c}{S_c}\Big)
             && \text{1 on the subject, 0 on the screen}\\
    \alpha_1 &= \operatorname{clamp}\big((\alpha_0 - c_b)/(c_w - c_b),\ 0,\ 1\big) && \text{clip black / white}\\
    \alpha_2 &= \operatorname{soften}_\sigma(\operatorname{grow}_r(\max(\alpha_1, \text{autocore}(\alpha_1))))
             && \text{neighbourhood ops}\\
    \alpha &= \max(\alpha_2, \text{core})\cdot(1 - \text{garbage})            && \text{inside / outside mattes}

*Auto balance* is the classic ratio minimised over :math:`b \in [0, 1]` (a weighted mediant lies
between its two single-channel ratios): each pixel is compared with the other channel that keeps
the most foreground, so yellows (R >= G) and teals (B close to G) stay opaque where a fixed mix
keys them half away. The *brightness bounds* are the compositing equation with
:math:`0 \le F \le 1`: a pixel brighter than the screen in some channel is at least that much
foreground (light blue clothes on a blue screen, yellow-green on green), and so is one darker than
the screen in one of the screen's bright channels (deep blue on a cyan-ish blue screen, dark hair);
the screen's dim channels are left out of the darkness bound because noise there would be amplified.
Colour difference is exact for foreground on the plane :math:`d(F) = 0` (greys, skin, most hair);
saturated colours away from it come out a little too opaque at soft edges, the known bias of the
family.

The foreground comes from the compositing equation :math:`P = \alpha F + (1-\alpha) S`, which is what
recovers the true colour of soft edges and hair:

.. math::

    F &= \max\big(0,\ S + (P - S)/\alpha\big) = \max\big(0, (P - (1-\alpha) S)/\alpha\big)
         \ \text{where } \alpha > \epsilon, \text{ else } P\\
    L &= k\,(b\,F_R + (1-b)\,F_B), \quad s = \text{despill}\cdot\max(0, F_G - L)  && \text{despill limit}\\
    F'_G &= F_G - s \quad(\text{luminance mode: } F' \mathrel{+}= 0.7152\,s \text{ on every channel})\\
    F'_{\text{premult}} &= \alpha F', \qquad I^{green} = \alpha F' + (1-\alpha)\,G_c

:math:`k` scales the limit so that ``despill_bias`` maps to itself (1 for a neutral bias);
:math:`G_c` is :data:`CANONICAL_GREEN`. With the correct screen, an unclipped :math:`\alpha` puts
:math:`F` exactly on :math:`d(F) = 0`, so edges need no despill; despill acts on spill *inside* the
subject (light bounced off the screen) and on what clipping changed.

The keyer is colour-space agnostic: it keys the values it is given (the studio and the network use
sRGB-encoded [0,1]; linear light works the same, with the screen colour picked in that space).
Negative foreground values (no light) are clipped to 0; values above 1 are kept.

The per-pixel stages run as one fused CuPy kernel on CUDA when CuPy is usable
(:mod:`.cuda_kernel`); auto core, grow/shrink and softness are neighbourhood operations and always
run in torch between the two per-pixel stages (with all three off the whole key is one kernel launch).
float16 inputs are keyed in float32 and returned as float16.

Large frames are keyed in horizontal bands (:mod:`.bands`): besides its outputs the key holds only a
band's temporaries, whatever the frame size, and the result is the whole-frame result bit for bit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..device import cupy_status
from ..errors import ParamError
from .bands import ROW_ALIGN, band_height, bands, compute_dtype
from .clean_plate import estimate_clean_plate
from .neighbourhood import neighbourhood
from .params import CANONICAL_GREEN, KeyerParams, despill_bias_factor, key_channels
from .screen import check_screen_color, estimate_screen_color

log = logging.getLogger(__name__)

Backend = Literal["auto", "torch", "cupy"]

#: Below this alpha the foreground is not unpremultiplied (the division would only amplify noise).
FG_EPS = 1e-3
#: Rec. 709 luma of the key channel: what luminance-preserving despill adds back per unit removed.
LUMA = (0.2126, 0.7152, 0.0722)
#: Guards d(S) against a clean-plate pixel that is not screen-coloured (no division by <= 0).
MIN_SCREEN_DIFF = 1e-4
#: Guards the brightness bounds where the screen is near white (or black) in some channel.
MIN_HEADROOM = 0.05
#: The darkness bound looks only at screen channels at least this share of the key channel.
DARK_BOUND_SHARE = 0.5


@dataclass
class KeyResult:
    """What the keyer returns; every image is (N,C,H,W) on the plate's device and dtype."""

    alpha: torch.Tensor  #: (N,1,H,W) matte
    fg: torch.Tensor  #: (N,3,H,W) despilled foreground, unpremultiplied
    fg_premult: torch.Tensor  #: (N,3,H,W) ``alpha * fg``
    green: torch.Tensor  #: (N,3,H,W) ``I_T^green``: fg over :data:`CANONICAL_GREEN`
    screen: torch.Tensor  #: (N,3,1,1) or (N,3,H,W): the screen colour that was keyed against


def _check_image(x: torch.Tensor, name: str, channels: int, like: torch.Tensor | None = None) -> None:
    if not isinstance(x, torch.Tensor):
        raise ParamError(f"{name}: expected a torch tensor, got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] != channels:
        raise ParamError(f"{name}: expected shape (N,{channels},H,W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ParamError(f"{name}: expected floating-point values, got {x.dtype}")
    if like is not None:
        n, _, h, w = like.shape
        if x.shape[0] not in (1, n) or x.shape[-2:] != (h, w):
            raise ParamError(f"{name}: expected shape ({n},{channels},{h},{w}) to match the plate, got {tuple(x.shape)}")
        if x.device != like.device:
            raise ParamError(f"{name}: on {x.device}, but the plate is on {like.device}")


# ---------------------------------------------------------------------------------------------------
# The per-pixel stages in torch (the CuPy kernel is their twin; the tests compare the two).


def screen_matte(plate: torch.Tensor, screen: torch.Tensor, params: KeyerParams) -> torch.Tensor:
    """Stage 1: (N,1,H,W) clipped alpha, ``alpha_1`` above (colour difference and brightness bounds).

    With one screen colour per image, every term of ``alpha_1`` before clamping is an affine map of
    the pixel, so the stage is a 1x1 convolution to those maps and a max over them, run on pieces of
    :data:`.bands.ROW_ALIGN` rows: the terms stay in cache, and the convolution's rounding (which
    depends on the shape it is given) is the same however the frame is cut into bands. With a
    per-pixel screen (clean plate) it is computed term by term.
    """
    if screen.shape[-2:] == (1, 1):
        weight, bias = _affine_terms(screen, params)
        n, m = bias.shape
        weight, bias = weight.reshape(n * m, 3, 1, 1), bias.reshape(-1)
        alpha = plate.new_empty((n, 1, *plate.shape[-2:]))
        for y in range(0, plate.shape[-2], ROW_ALIGN):
            part = plate[..., y:y + ROW_ALIGN, :]
            terms = F.conv2d(part.reshape(1, -1, *part.shape[-2:]), weight, bias, groups=n)
            alpha[..., y:y + ROW_ALIGN, :] = terms.view(n, m, *part.shape[-2:]).amax(1, keepdim=True)
        return alpha.clamp_(0.0, 1.0)
    k, a, b = key_channels(params.screen_type)
    pk, pa, pb = plate[:, k:k + 1], plate[:, a:a + 1], plate[:, b:b + 1]
    sk, sa, sb = screen[:, k:k + 1], screen[:, a:a + 1], screen[:, b:b + 1]
    if params.balance_mode == "auto":
        ratio = (pk - pa).mul_((sk - sa).clamp_min_(MIN_SCREEN_DIFF).reciprocal_())
        ratio = torch.minimum(ratio, (pk - pb).mul_((sk - sb).clamp_min_(MIN_SCREEN_DIFF).reciprocal_()), out=ratio)
    else:
        w = params.screen_balance
        ds = (sk - w * sa - (1.0 - w) * sb).clamp_min_(MIN_SCREEN_DIFF)
        ratio = torch.sub(pk, pa, alpha=w).sub_(pb, alpha=1.0 - w).mul_(ds.reciprocal_())
    span = params.clip_white - params.clip_black
    # alpha_1 = clamp((max(1 - gain*ratio, bounds) - cb) / span), with the constants folded.
    alpha = ratio.mul_(-params.screen_gain / span).add_((1.0 - params.clip_black) / span)
    # Brightness bounds: F <= 1 where the plate is brighter than the screen, F >= 0 where it is darker
    # (only in the screen's bright channels, where noise is not blown up).
    diff = plate - screen
    bound = (diff * (1.0 - screen).clamp_min_(MIN_HEADROOM).reciprocal_()).amax(1, keepdim=True)
    dark_weight = (screen >= DARK_BOUND_SHARE * sk).to(screen.dtype).div_(screen.clamp_min(MIN_HEADROOM))
    bound = torch.maximum(bound, diff.neg_().mul_(dark_weight).amax(1, keepdim=True), out=bound)
    bound = bound.sub_(params.clip_black).mul_(1.0 / span)
    return torch.maximum(alpha, bound, out=alpha).clamp_(0.0, 1.0)


def _affine_terms(screen: torch.Tensor, params: KeyerParams) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,M,3) weights and (N,M) biases of the terms whose max is ``alpha_1`` before clamping, for
    one screen colour per image (N,3,1,1): the colour-difference term(s), then per channel the
    brighter-than-screen bound and the darker-than-screen bound (-inf where it does not apply)."""
    k, a, b = key_channels(params.screen_type)
    s = screen.flatten(1)  # (N,3)
    span = params.clip_white - params.clip_black
    g = params.screen_gain / span
    eye = torch.eye(3, dtype=s.dtype, device=s.device)
    rows, biases = [], []
    base = s.new_full((s.shape[0],), (1.0 - params.clip_black) / span)
    if params.balance_mode == "auto":
        for o in (a, b):  # 1 - gain * (P_k - P_o) / (S_k - S_o)
            inv = (s[:, k] - s[:, o]).clamp_min(MIN_SCREEN_DIFF).reciprocal()
            rows.append((eye[o] - eye[k]) * (g * inv)[:, None])
            biases.append(base)
    else:
        w = params.screen_balance
        inv = (s[:, k] - w * s[:, a] - (1.0 - w) * s[:, b]).clamp_min(MIN_SCREEN_DIFF).reciprocal()
        rows.append((w * eye[a] + (1.0 - w) * eye[b] - eye[k]) * (g * inv)[:, None])
        biases.append(base)
    dark_ok = s >= DARK_BOUND_SHARE * s[:, k:k + 1]
    for c in range(3):
        inv = (1.0 - s[:, c]).clamp_min(MIN_HEADROOM).reciprocal()  # (P_c - S_c) / (1 - S_c)
        rows.append(eye[c] * (inv / span)[:, None])
        biases.append((-s[:, c] * inv - params.clip_black) / span)
        inv = s[:, c].clamp_min(MIN_HEADROOM).reciprocal()  # (S_c - P_c) / S_c
        rows.append(-eye[c] * (inv / span)[:, None])
        biases.append(torch.where(dark_ok[:, c], (s[:, c] * inv - params.clip_black) / span, -torch.inf))
    return torch.stack(rows, 1), torch.stack(biases, 1)


def finish(plate: torch.Tensor, screen: torch.Tensor, alpha: torch.Tensor, params: KeyerParams,
           core: torch.Tensor | None = None, garbage: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """Stage 2: inside/outside mattes, unpremultiply, despill, premultiply, lay over the canonical green.

    Returns (alpha, fg, fg_premult, green).
    """
    if core is not None:
        alpha = torch.maximum(alpha, core)
    if garbage is not None:
        alpha = alpha * (1.0 - garbage)
    k, a, b = key_channels(params.screen_type)
    # F = (P - (1-alpha) S) / alpha = lerp(S, P, r) with r = 1/alpha; r = 1 keeps P where alpha <= eps.
    r = torch.where(alpha > FG_EPS, alpha.reciprocal(), 1.0)
    fg = torch.lerp(screen, plate, r).clamp_min_(0.0)
    if params.despill > 0:
        bias = despill_bias_factor(params)
        limit = torch.add(fg[:, a:a + 1] * (params.screen_balance * bias), fg[:, b:b + 1],
                          alpha=(1.0 - params.screen_balance) * bias)
        spill = (fg[:, k:k + 1] - limit).clamp_min_(0.0).mul_(params.despill)
        fg[:, k:k + 1] -= spill
        if params.despill_mode == "luminance":
            fg.add_(spill * LUMA[k])
    premult = fg * alpha
    green = torch.lerp(plate.new_tensor(CANONICAL_GREEN).view(1, 3, 1, 1), fg, alpha)
    return alpha, fg, premult, green


# ---------------------------------------------------------------------------------------------------


def resolve_screen(plate: torch.Tensor, params: KeyerParams, clean_plate: torch.Tensor | None = None,
                   band_rows: int | None = None) -> torch.Tensor:
    """The screen colour behind every pixel: a given clean plate, an estimated one, the given colour,
    or the colour picked from the plate; (N,3,1,1) or (N,3,H,W), in the keying precision (the plate's
    dtype; float32 for half precision, which would move the picked colour). ``band_rows``: see
    :func:`.bands.band_height`."""
    n = plate.shape[0]
    dtype = compute_dtype(plate.dtype)
    if clean_plate is not None:
        _check_image(clean_plate, "clean_plate", 3, like=plate)
        return clean_plate.to(dtype).expand(n, -1, -1, -1)
    if params.screen_color is not None:
        screen = plate.new_tensor(params.screen_color, dtype=dtype).view(1, 3, 1, 1).expand(n, -1, -1, -1)
        check_screen_color(screen, params.screen_type, params.screen_balance, "screen_color")
    else:
        screen = estimate_screen_color(plate, params.screen_type)
        check_screen_color(screen, params.screen_type, params.screen_balance, "the picked screen colour")
    if params.auto_clean_plate:
        return estimate_clean_plate(plate, screen, params.screen_type, band_rows)
    return screen


def _pick_backend(plate: torch.Tensor, backend: Backend) -> str:
    if backend not in ("auto", "torch", "cupy"):
        raise ParamError(f"backend={backend!r}: expected auto, torch or cupy")
    fits = plate.device.type == "cuda" and plate.dtype in (torch.float32, torch.float16)
    if backend == "auto":
        return "cupy" if fits and cupy_status()[0] else "torch"
    if backend == "cupy":
        usable, reason = cupy_status()
        if not fits or not usable:
            raise ParamError(f"backend='cupy': needs a float32/float16 CUDA plate and CuPy ({reason}); "
                             f"the plate is {plate.dtype} on {plate.device}")
    return backend


def key(plate: torch.Tensor, params: KeyerParams | None = None, *, clean_plate: torch.Tensor | None = None,
        core_matte: torch.Tensor | None = None, garbage_matte: torch.Tensor | None = None,
        backend: Backend = "auto", band_rows: int | None = None) -> KeyResult:
    """Key a green- or blue-screen plate (N,3,H,W) into alpha, despilled fg and ``I_T^green``.

    ``clean_plate`` (N or 1,3,H,W) is the empty screen shot under the same light; ``core_matte`` and
    ``garbage_matte`` (N or 1,1,H,W) force the matte to 1 inside / 0 outside, as in Natron's PIK.
    ``backend`` "auto" uses the fused CuPy kernel for CUDA tensors when CuPy is usable, else torch.
    ``band_rows`` is the height of the bands the frame is keyed in (None: about
    :data:`.bands.BAND_PIXELS` pixels a band); it changes memory and speed, never the result.
    """
    params = params or KeyerParams()
    _check_image(plate, "plate", 3)
    if core_matte is not None:
        _check_image(core_matte, "core_matte", 1, like=plate)
    if garbage_matte is not None:
        _check_image(garbage_matte, "garbage_matte", 1, like=plate)
    chosen = _pick_backend(plate, backend)
    rows = band_height(plate.shape[-2], plate.shape[-1], band_rows)
    log.debug("keying %s %s on %s with the %s backend, bands of %d rows", tuple(plate.shape), plate.dtype,
              plate.device, chosen, rows)
    screen = resolve_screen(plate, params, clean_plate, rows)
    if chosen == "cupy":
        from . import cuda_kernel  # noqa: PLC0415  (lazy: imports cupy)

        screen = screen.to(plate.dtype)
        alpha, fg, premult, green = cuda_kernel.key_fused(plate, screen, params, core_matte, garbage_matte,
                                                          lambda a, p: neighbourhood(a, p, rows))
        return KeyResult(alpha, fg, premult, green, screen)
    alpha = neighbourhood(_banded_screen_matte(plate, screen, params, rows), params, rows)
    return _banded_finish(plate, screen, alpha, params, rows, core_matte, garbage_matte)


def _rows_of(x: torch.Tensor | None, rows: slice, dtype: torch.dtype) -> torch.Tensor | None:
    """``x``'s rows in the keying precision; a flat (N,C,1,1) screen as it is."""
    if x is None:
        return None
    return x.to(dtype) if x.shape[-2:] == (1, 1) else x[..., rows, :].to(dtype)


def _banded_screen_matte(plate: torch.Tensor, screen: torch.Tensor, params: KeyerParams, rows: int) -> torch.Tensor:
    """Stage 1 band by band: the clipped matte (N,1,H,W) in the keying precision."""
    n, _, h, w = plate.shape
    dtype = compute_dtype(plate.dtype)
    alpha = plate.new_empty((n, 1, h, w), dtype=dtype)
    for band in bands(h, rows):
        alpha[..., band.rows, :] = screen_matte(_rows_of(plate, band.rows, dtype), _rows_of(screen, band.rows, dtype),
                                                params)
    return alpha


def _banded_finish(plate: torch.Tensor, screen: torch.Tensor, alpha: torch.Tensor, params: KeyerParams, rows: int,
                   core: torch.Tensor | None, garbage: torch.Tensor | None) -> KeyResult:
    """Stage 2 band by band, written into the outputs (in the plate's dtype)."""
    h = plate.shape[-2]
    dtype = compute_dtype(plate.dtype)
    alpha_out = alpha if alpha.dtype == plate.dtype else torch.empty_like(alpha, dtype=plate.dtype)
    fg, premult, green = (torch.empty_like(plate) for _ in range(3))
    for band in bands(h, rows):
        outs = finish(_rows_of(plate, band.rows, dtype), _rows_of(screen, band.rows, dtype), alpha[..., band.rows, :],
                      params, _rows_of(core, band.rows, dtype), _rows_of(garbage, band.rows, dtype))
        for out, part in zip((alpha_out, fg, premult, green), outs, strict=True):
            out[..., band.rows, :] = part
    return KeyResult(alpha_out, fg, premult, green, screen.to(plate.dtype))


def key_network_output(y: torch.Tensor, params: KeyerParams | None = None, backend: Backend = "auto") -> KeyResult:
    """Key the network's output ``Y`` (the blended head on :data:`CANONICAL_GREEN`) for its alpha.

    The screen is the canonical green, flat and noise-free: it is never picked or estimated, and the
    auto core (a rescue for wardrobe near the screen hue) is off; the artist's gain, balance, clip,
    grow/shrink, softness and despill settings apply as for the plate.
    """
    params = (params or KeyerParams()).replace(screen_type="green", screen_color=CANONICAL_GREEN,
                                               auto_clean_plate=False, core_depth=0.0)
    return key(y, params, backend=backend)


class Keyer(nn.Module):
    """:func:`key` as a module holding its params, for models and pipelines that compose modules."""

    def __init__(self, params: KeyerParams | None = None, backend: Backend = "auto") -> None:
        super().__init__()
        self.params = params or KeyerParams()
        self.backend = backend

    def forward(self, plate: torch.Tensor, clean_plate: torch.Tensor | None = None,
                core_matte: torch.Tensor | None = None, garbage_matte: torch.Tensor | None = None) -> KeyResult:
        return key(plate, self.params, clean_plate=clean_plate, core_matte=core_matte,
                   garbage_matte=garbage_matte, backend=self.backend)
