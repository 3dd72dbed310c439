"""CIELAB (D65) of network-space values (sRGB-encoded, [0, 1]) and back.

The grade match (:mod:`changer.core.grade`) moves skin in CIELAB, where a lightness or hue shift is
a shift of one coordinate, and the evaluation measures CIE ΔE in it. sRGB-encoded values are decoded
with the sRGB curve, taken to XYZ with the IEC 61966-2-1 matrix and to CIELAB against the D65 white.
Computed in float64: the cube root and its inverse lose float32 precision near black.
"""

from __future__ import annotations

import torch

#: sRGB (linear) → XYZ, IEC 61966-2-1.
SRGB_TO_XYZ = ((0.4124, 0.3576, 0.1805), (0.2126, 0.7152, 0.0722), (0.0193, 0.1192, 0.9505))
#: The D65 reference white (X, Y, Z).
D65 = (0.95047, 1.0, 1.08883)
_DELTA = 6.0 / 29.0


def srgb_to_lab(rgb: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """CIELAB (D65) of sRGB-encoded values in [0, 1] (clamped), channels along ``dim``; float64.

    >>> [round(v, 1) + 0.0 for v in srgb_to_lab(torch.tensor([1.0, 1.0, 1.0]), dim=0).tolist()]
    [100.0, 0.0, 0.0]
    """
    c = rgb.to(torch.float64).clamp(0.0, 1.0).movedim(dim, -1)
    lin = torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = lin @ c.new_tensor(SRGB_TO_XYZ).T / c.new_tensor(D65)
    f = torch.where(xyz > _DELTA**3, xyz.clamp_min(1e-12) ** (1.0 / 3.0), xyz / (3 * _DELTA**2) + 4.0 / 29.0)
    fx, fy, fz = f.unbind(-1)
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], -1).movedim(-1, dim)


def lab_to_srgb(lab: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """The inverse of :func:`srgb_to_lab`: sRGB-encoded values (float64), clamped to [0, 1].

    >>> x = torch.tensor([[0.8, 0.5, 0.3]])
    >>> bool(torch.allclose(lab_to_srgb(srgb_to_lab(x, -1), -1), x.double(), atol=1e-9))
    True
    """
    lab = lab.to(torch.float64).movedim(dim, -1)
    light, a, b = lab.unbind(-1)
    fy = (light + 16.0) / 116.0
    f = torch.stack([fy + a / 500.0, fy, fy - b / 200.0], -1)
    xyz = torch.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4.0 / 29.0)) * lab.new_tensor(D65)
    lin = (xyz @ torch.linalg.inv(lab.new_tensor(SRGB_TO_XYZ)).T).clamp(0.0, 1.0)
    enc = torch.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin.clamp_min(1e-12) ** (1.0 / 2.4) - 0.055)
    return enc.clamp(0.0, 1.0).movedim(-1, dim)
