"""Decoder ``D``: concat(z_c, FPAT output) → Y, with U-Net skips from ``E(X)``.

The last layer predicts a colour and a per-pixel gate and returns gate·colour + (1 − gate)·X, so
where nothing needs changing the network can hand X through untouched (Y must reproduce X outside
the head and inpainting region). Y stays in [0,1] whenever X does.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .blocks import ResBlock, Up, group_norm
from .config import ChangerConfig


class Decoder(nn.Module):
    """(z_c, FPAT output, encoder features, X) → Y (N,3,H,W)."""

    def __init__(self, cfg: ChangerConfig) -> None:
        super().__init__()
        w, b, g = cfg.enc_widths, cfg.dec_blocks, cfg.norm_groups
        self.fuse = nn.Sequential(
            nn.Conv2d(2 * cfg.dim, cfg.dim, 1),
            group_norm(cfg.dim, g),
            nn.GELU(),
            *[ResBlock(cfg.dim, g) for _ in range(b[-1])],
        )
        self.ups = nn.ModuleList(Up(w[k], w[k - 1], w[k - 1], b[k - 1], g) for k in range(len(w) - 1, 0, -1))
        self.head = nn.Conv2d(w[0], 4, 3, padding=1)

    def forward(self, z_c: Tensor, blended: Tensor, skips: list[Tensor], x: Tensor) -> Tensor:
        f = self.fuse(torch.cat([z_c, blended], dim=1))
        levels = len(skips)
        for i, up in enumerate(self.ups):
            f = up(f, skips[levels - 2 - i])
        out = self.head(f)
        colour = torch.sigmoid(out[:, :3])
        gate = torch.sigmoid(out[:, 3:4])
        return gate * colour + (1.0 - gate) * x
