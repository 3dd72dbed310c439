"""CIE colour differences for the evaluation: ΔE76 and ΔE2000 of CIELAB (D65) values.

The network's images are sRGB-encoded display values in [0, 1] (as the studio renders them); they go
to CIELAB with :func:`changer.core.color.lab.srgb_to_lab` (re-exported here). Differences are
computed in float64: ΔE2000 has branch points (hue wrap-around, near-zero chroma) that float32
rounding can push to the wrong side.

ΔE2000 follows Sharma, Wu & Dalal, "The CIEDE2000 color-difference formula: implementation notes,
supplementary test data, and mathematical observations" (Color Res. Appl. 30(1), 2005), with
k_L = k_C = k_H = 1; the tests check it against that paper's Table 1.
"""

from __future__ import annotations

import math

import torch

from changer.core.color.lab import srgb_to_lab

__all__ = ["delta_e76", "delta_e2000", "srgb_to_lab"]

_POW25_7 = 25.0**7


def delta_e76(lab1: torch.Tensor, lab2: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """CIE76: the Euclidean distance in CIELAB, the channel ``dim`` reduced."""
    return (lab1.to(torch.float64) - lab2.to(torch.float64)).norm(dim=dim)


def delta_e2000(lab1: torch.Tensor, lab2: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """CIEDE2000 (k_L = k_C = k_H = 1) of two CIELAB tensors, the channel ``dim`` reduced."""
    l1, a1, b1 = lab1.to(torch.float64).unbind(dim)
    l2, a2, b2 = lab2.to(torch.float64).unbind(dim)
    c_bar7 = ((torch.hypot(a1, b1) + torch.hypot(a2, b2)) / 2.0) ** 7
    g = 0.5 * (1.0 - torch.sqrt(c_bar7 / (c_bar7 + _POW25_7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = torch.hypot(a1p, b1), torch.hypot(a2p, b2)
    h1p, h2p = _hue_deg(b1, a1p), _hue_deg(b2, a2p)
    chromatic = (c1p * c2p) != 0
    dh = h2p - h1p
    dh = torch.where(dh > 180.0, dh - 360.0, torch.where(dh < -180.0, dh + 360.0, dh))
    dh = torch.where(chromatic, dh, torch.zeros_like(dh))
    d_lp, d_cp = l2 - l1, c2p - c1p
    d_hp = 2.0 * torch.sqrt(c1p * c2p) * torch.sin(torch.deg2rad(dh / 2.0))
    l_bar, c_bar = (l1 + l2) / 2.0, (c1p + c2p) / 2.0
    h_sum = h1p + h2p
    h_bar = torch.where((h1p - h2p).abs() <= 180.0, h_sum / 2.0,
                        torch.where(h_sum < 360.0, (h_sum + 360.0) / 2.0, (h_sum - 360.0) / 2.0))
    h_bar = torch.where(chromatic, h_bar, h_sum)
    t = (1.0 - 0.17 * _cos_deg(h_bar - 30.0) + 0.24 * _cos_deg(2.0 * h_bar) + 0.32 * _cos_deg(3.0 * h_bar + 6.0)
         - 0.20 * _cos_deg(4.0 * h_bar - 63.0))
    d_theta = 30.0 * torch.exp(-(((h_bar - 275.0) / 25.0) ** 2))
    c_bar7p = c_bar**7
    r_c = 2.0 * torch.sqrt(c_bar7p / (c_bar7p + _POW25_7))
    s_l = 1.0 + 0.015 * (l_bar - 50.0) ** 2 / torch.sqrt(20.0 + (l_bar - 50.0) ** 2)
    s_c = 1.0 + 0.045 * c_bar
    s_h = 1.0 + 0.015 * c_bar * t
    r_t = -torch.sin(torch.deg2rad(2.0 * d_theta)) * r_c
    dl, dc, dhh = d_lp / s_l, d_cp / s_c, d_hp / s_h
    return torch.sqrt(dl**2 + dc**2 + dhh**2 + r_t * dc * dhh)


def _hue_deg(b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Hue angle in [0, 360) degrees; 0 where a = b = 0 (the formula's convention)."""
    return torch.remainder(torch.rad2deg(torch.atan2(b, a)), 360.0)


def _cos_deg(x: torch.Tensor) -> torch.Tensor:
    return torch.cos(x * (math.pi / 180.0))
