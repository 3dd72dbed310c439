"""Photometric and geometric jitter of one training sample (besides H², see :mod:`.h2`).

* Colour jitter of the subject: applied to the foreground before it is laid on the canonical green,
  so ``I_T^green`` and the ground truth get the *same* jitter (they are one image in
  self-reconstruction) while the screen stays the canonical green the network works on.
* Reference jitter of ``I_T^head``: in self-reconstruction the Head Colorizer's reference is the very
  head it must colour, so the network could copy pixels through attention instead of transferring
  skin tone. A random flip / scale / shift / rotation of ``I_T^head`` (only of that input) makes the
  reference a *different view* of the same colours, as the real target head is at test time.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _uniform(gen: torch.Generator, low: float, high: float, shape: tuple[int, ...] = ()) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=gen)


def colour_jitter(fg: torch.Tensor, gen: torch.Generator, strength: float = 1.0) -> torch.Tensor:
    """Random exposure, per-channel gain, saturation and gamma on a (3,H,W) image in [0,1]."""
    exposure = _uniform(gen, 1 - 0.2 * strength, 1 + 0.2 * strength)
    gain = _uniform(gen, 1 - 0.08 * strength, 1 + 0.08 * strength, (3, 1, 1))
    saturation = _uniform(gen, 1 - 0.3 * strength, 1 + 0.3 * strength)
    gamma = torch.exp(_uniform(gen, -0.2 * strength, 0.2 * strength))
    out = (fg * exposure * gain).clamp(0, 1) ** gamma
    luma = (out * out.new_tensor([0.2126, 0.7152, 0.0722]).view(3, 1, 1)).sum(0, keepdim=True)
    return (luma + saturation * (out - luma)).clamp(0, 1)


def reference_theta(gen: torch.Generator, scale: float = 0.12, shift: float = 0.08,
                    rotation_deg: float = 10.0) -> torch.Tensor:
    """A random (2,3) affine (flip with p = 0.5, scale, shift, rotation) for :func:`warp_batch`."""
    flip = -1.0 if float(torch.rand((), generator=gen)) < 0.5 else 1.0
    s = float(_uniform(gen, 1 - scale, 1 + scale))
    a = math.radians(float(_uniform(gen, -rotation_deg, rotation_deg)))
    tx, ty = (float(_uniform(gen, -shift, shift)) for _ in range(2))
    return torch.tensor([[flip * math.cos(a) / s, math.sin(a) / s, tx], [-flip * math.sin(a) / s, math.cos(a) / s, ty]])


def warp_batch(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample (N,C,H,W) ``images`` with per-sample (N,2,3) affines; outside is black (like I_T^head)."""
    grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
