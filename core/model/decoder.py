"""Decoder ``D``: concat(z_c, FPAT output) → Y, with U-Net skips from ``E(X)``.

The last layer predicts a colour and a per-pixel gate and returns gate·colour + (1 − gate)·X, so
where nothing needs changing the network can hand X through untouched (Y must reproduce X outside
the head and inpainting region). Y stays in [0,1] whenever X does.

Inside the predicted body (binary M) the decoder sees only FPAT's output: ``z_c`` and the encoder
skips are zeroed there. Otherwise convolutions extend the visible body into the hole straight from
X's features, around FPAT, and τ (which only steers FPAT's attention groups) changes nothing. The
visible body is still reproduced exactly, by the gate handing X through.

The reference's colour code (from the Head Colorizer's :class:`~.colorizer.ReferenceColour`) is
added to the colour logits, weighted per pixel by a map the decoder predicts (where the reference's
skin colour applies): after every norm, so the reference's lightness reaches Y.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import ResBlock, Up, group_norm
from .config import ChangerConfig


class Decoder(nn.Module):
    """(z_c, FPAT output, encoder features, X, binary body M (N,1,H,W), colour code (N,3,1,1)) → Y."""

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
        self.reference_weight = nn.Conv2d(w[0], 1, 3, padding=1)

    def forward(self, z_c: Tensor, blended: Tensor, skips: list[Tensor], x: Tensor, body: Tensor,
                reference: Tensor) -> Tensor:
        levels = len(skips)
        f = self.fuse(torch.cat([z_c * _outside(body, 1 << (levels - 1)), blended], dim=1))
        for i, up in enumerate(self.ups):
            level = levels - 2 - i
            f = up(f, skips[level] * _outside(body, 1 << level))
        out = self.head(f)
        colour = torch.sigmoid(out[:, :3] + torch.sigmoid(self.reference_weight(f)) * reference)
        gate = torch.sigmoid(out[:, 3:4])
        return gate * colour + (1.0 - gate) * x


def _outside(body: Tensor, stride: int) -> Tensor:
    """1 − the share of body pixels in each ``stride``×``stride`` cell: the weight of X's features there."""
    return 1.0 - (F.avg_pool2d(body, stride) if stride > 1 else body)
