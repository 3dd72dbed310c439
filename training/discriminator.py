"""D_I: a PatchGAN discriminator (pix2pix-style) that scores overlapping patches of an image.

It returns logits; the losses apply the sigmoid (see :mod:`.losses`), which keeps Eq. 9's BCE stable.
"""

from __future__ import annotations

import torch
from torch import nn


class PatchDiscriminator(nn.Module):
    """Three stride-2 4×4 convs then two stride-1 ones: ~70 px receptive field, (N,1,H/8−2,W/8−2) logits."""

    def __init__(self, width: int = 32, groups: int = 8) -> None:
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(3, w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, 2, 1),
            nn.GroupNorm(groups, 2 * w),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1),
            nn.GroupNorm(groups, 4 * w),
            nn.LeakyReLU(0.2),
            nn.Conv2d(4 * w, 4 * w, 4, 1, 1),
            nn.GroupNorm(groups, 4 * w),
            nn.LeakyReLU(0.2),
            nn.Conv2d(4 * w, 1, 4, 1, 1),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)
