r"""The keyer's per-pixel maths in torch: the key (:func:`screen_matte`) and the finish (:func:`finish`).

These are the reference the fused kernels are checked against (:mod:`.kernel_source`, run on the
CPU by :mod:`.host_kernel` and on CUDA by :mod:`.cuda_kernel`). For a green screen (blue: swap G and
B), plate :math:`P` and the screen :math:`S` behind the pixel:

.. math::

    \alpha_0 &= \max\Big(1 - \text{gain}\cdot\rho,\ \max_c \frac{P_c - S_c}{1 - S_c},\
             \max_{c:\,S_c \ge S_G/2} \frac{S_c - P_c}{S_c}\Big),\quad
    \rho = \min\Big(\frac{P_G - P_R}{S_G - S_R}, \frac{P_G - P_B}{S_G - S_B}\Big) \ \text{(auto balance)}

(fixed balance: :math:`\rho = d_b(P)/d_b(S)`, :math:`d_b(X) = X_G - bX_R - (1-b)X_B`). The
foreground is the compositing equation :math:`P = \alpha F + (1-\alpha) S` solved with a prior
:math:`F_e` (the colour of the solid subject nearby) that only speaks where alpha is small:

.. math::

    F = \frac{\alpha\,(P - (1-\alpha)S) + \lambda(1-\alpha)F_e}{\alpha^2 + \lambda(1-\alpha)}

exact (:math:`F = P`) where :math:`\alpha = 1`, :math:`F_e` where :math:`\alpha = 0`, and never a
division that turns noise or a wrong alpha into a dark or screen-coloured fringe. Despill works
against the local screen: with the limit :math:`L` (the balance mix of the other two channels,
scaled by the despill bias), the spill share is :math:`q = \max(0, F_G - L(F)) / (S_G - L(S))`, the
part of the local screen colour the pixel holds beyond the limit; *screen* mode subtracts
:math:`q\,S` (bounce is screen light, so this restores the colour under it), *limit* mode pulls
:math:`F_G` down by the excess (*luminance* adds it back as grey). On the solid subject a share
above ``despill_protect`` is more than bounce gives: it is the subject's own colour (yellow-green,
teal, lilac) and is kept, the removal fading out from half of it; soft edges are always despilled.
"""

from __future__ import annotations

import torch

from .bands import compute_dtype
from .params import CANONICAL_GREEN, KeyerParams, despill_bias_factor, key_channels

#: Rec. 709 luma of the key channel: what luminance-preserving despill adds back per unit removed.
LUMA = (0.2126, 0.7152, 0.0722)
#: Guards d(S) against a screen pixel that is not screen-coloured (no division by <= 0).
MIN_SCREEN_DIFF = 1e-4
#: Guards the brightness bounds where the screen is near white (or black) in some channel.
MIN_HEADROOM = 0.05
#: The darkness bound looks only at screen channels at least this share of the key channel.
DARK_BOUND_SHARE = 0.5
#: Weight of the foreground prior at alpha 0 (lambda above): below alpha ~ sqrt(lambda) the prior leads.
FG_PRIOR = 0.02
#: Alpha where despill starts to treat a pixel as solid subject, and where it fully does.
SOLID_FROM, SOLID_TO = 0.6, 0.95


def smoothstep(x: torch.Tensor) -> torch.Tensor:
    """3x^2 - 2x^3 of x clamped to [0, 1]."""
    x = x.clamp(0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def screen_matte(plate: torch.Tensor, screen: torch.Tensor, params: KeyerParams) -> torch.Tensor:
    """(N,1,H,W) ``alpha_0`` in [0, 1]: colour difference and brightness bounds against ``screen``
    ((N,3,1,1) or (N,3,H,W)); clip black/white come later, after the auto clip white."""
    k, a, b = key_channels(params.screen_type)
    pk, pa, pb = plate[:, k:k + 1], plate[:, a:a + 1], plate[:, b:b + 1]
    sk, sa, sb = screen[:, k:k + 1], screen[:, a:a + 1], screen[:, b:b + 1]
    if params.balance_mode == "auto":
        ratio = torch.minimum((pk - pa) / (sk - sa).clamp_min(MIN_SCREEN_DIFF),
                              (pk - pb) / (sk - sb).clamp_min(MIN_SCREEN_DIFF))
    else:
        w = params.screen_balance
        ratio = (pk - w * pa - (1.0 - w) * pb) / (sk - w * sa - (1.0 - w) * sb).clamp_min(MIN_SCREEN_DIFF)
    alpha = 1.0 - params.screen_gain * ratio
    diff = plate - screen
    bright = (diff / (1.0 - screen).clamp_min(MIN_HEADROOM)).amax(1, keepdim=True)
    dark_weight = (screen >= DARK_BOUND_SHARE * sk).to(screen.dtype) / screen.clamp_min(MIN_HEADROOM)
    dark = (-diff * dark_weight).amax(1, keepdim=True)
    return torch.maximum(torch.maximum(alpha, bright), dark).clamp(0.0, 1.0)


def foreground(plate: torch.Tensor, screen: torch.Tensor, alpha: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """The regularised compositing-equation foreground (see the module docstring), before despill."""
    lam = FG_PRIOR * (1.0 - alpha)
    return (alpha * (plate - (1.0 - alpha) * screen) + lam * prior) / (alpha * alpha + lam)


def despill(fg: torch.Tensor, screen: torch.Tensor, alpha: torch.Tensor, params: KeyerParams) -> torch.Tensor:
    """Spill removed from an unpremultiplied foreground against the local screen (module docstring);
    not clipped at 0."""
    if params.despill <= 0:
        return fg
    k, a, b = key_channels(params.screen_type)
    bias, w = despill_bias_factor(params), params.screen_balance

    def limit(x: torch.Tensor) -> torch.Tensor:
        return bias * (w * x[:, a:a + 1] + (1.0 - w) * x[:, b:b + 1])

    excess = (fg[:, k:k + 1] - limit(fg)).clamp_min(0.0)
    share = excess / (screen[:, k:k + 1] - limit(screen)).clamp_min(MIN_SCREEN_DIFF)
    keep = torch.zeros_like(share)
    if params.despill_protect > 0:
        half = 0.5 * params.despill_protect
        keep = smoothstep((share - half) / half) * smoothstep((alpha - SOLID_FROM) / (SOLID_TO - SOLID_FROM))
    strength = params.despill * (1.0 - keep)
    if params.despill_mode == "screen":
        return fg - (share * strength) * screen
    removed = excess * strength
    out = fg.clone()
    out[:, k:k + 1] -= removed
    if params.despill_mode == "luminance":
        out += removed * LUMA[k]
    return out


def finish(plate: torch.Tensor, screen: torch.Tensor, alpha: torch.Tensor, params: KeyerParams,
           core: torch.Tensor | None = None, garbage: torch.Tensor | None = None,
           prior: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Inside/outside mattes, foreground, despill: (alpha, fg). The premultiplied fg and ``I_T^green``
    follow from these (:func:`premultiply`, :func:`over_green`), computed only where they are used.

    ``prior`` is the foreground prior (N,3,H,W or broadcastable); None uses the plate itself.
    """
    if core is not None:
        alpha = torch.maximum(alpha, core)
    if garbage is not None:
        alpha = alpha * (1.0 - garbage)
    fg = foreground(plate, screen, alpha, plate if prior is None else prior)
    return alpha, despill(fg, screen, alpha, params).clamp_min(0.0)


def premultiply(fg: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``alpha * fg``, in the keying precision, returned in ``fg``'s dtype."""
    dtype = compute_dtype(fg.dtype)
    return (fg.to(dtype) * alpha.to(dtype)).to(fg.dtype)


def over_green(fg: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``I_T^green``: the foreground over :data:`CANONICAL_GREEN`, ``lerp(green, fg, alpha)``, in the
    keying precision, returned in ``fg``'s dtype."""
    dtype = compute_dtype(fg.dtype)
    green = torch.tensor(CANONICAL_GREEN, dtype=dtype, device=fg.device).view(1, 3, 1, 1)
    return torch.lerp(green, fg.to(dtype), alpha.to(dtype)).to(fg.dtype)
