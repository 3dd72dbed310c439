"""The baseline: a naive HSV-range keyer, what a first attempt at chroma keying looks like.

A pixel is background when its hue is within ``hue_tolerance`` degrees of the screen's hue and it is
saturated and bright enough; alpha ramps linearly over ``hue_softness`` degrees outside that range.
The foreground is the plate itself (no unpremultiply, no despill). It gets the same screen colour as
our keyer, so the comparison is about the keying model, not about picking the screen.
"""

from __future__ import annotations

import torch


def rgb_to_hsv(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(hue in degrees [0, 360), saturation, value) of an (N,3,H,W) image, each (N,1,H,W)."""
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    value, arg = rgb.max(dim=1, keepdim=True)
    chroma = value - rgb.min(dim=1, keepdim=True).values
    safe = chroma.clamp_min(1e-8)
    hue = torch.where(arg == 0, ((g - b) / safe) % 6.0,
                      torch.where(arg == 1, (b - r) / safe + 2.0, (r - g) / safe + 4.0))
    hue = torch.where(chroma > 0, hue * 60.0, torch.zeros_like(hue))
    saturation = torch.where(value > 0, chroma / value.clamp_min(1e-8), torch.zeros_like(value))
    return hue, saturation, value


def naive_key(plate: torch.Tensor, screen: torch.Tensor, hue_tolerance: float = 30.0, hue_softness: float = 15.0,
              min_saturation: float = 0.3, min_value: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """(alpha, fg) of an (N,3,H,W) plate against an (N,3,1,1) screen colour."""
    hue, sat, val = rgb_to_hsv(plate)
    screen_hue, _, _ = rgb_to_hsv(screen)
    dist = (hue - screen_hue).abs()
    dist = torch.minimum(dist, 360.0 - dist)
    alpha = ((dist - hue_tolerance) / hue_softness).clamp(0.0, 1.0)
    alpha = torch.where((sat >= min_saturation) & (val >= min_value), alpha, torch.ones_like(alpha))
    return alpha, plate
