"""Head Colorizer: the latent of X attends to ``φ_c(I_T^head)`` to take on the target's skin tone.

Q comes from ``E(X)``, K and V from ``φ_c``; the output is ``z_c``. Colour is low-frequency, so
``φ_c``'s tokens may be average-pooled (``colorizer_kv_pool``), which cuts attention cost by the
pool factor squared. Position enters through a depthwise 3×3 conv before each block (a conditional
positional encoding), which works at any input size.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import TransformerBlock
from .config import ChangerConfig
from .encoder import CondEncoder


class HeadColorizer(nn.Module):
    """(z (N,dim,h,w), I_T^head (N,3,H,W)) → z_c (N,dim,h,w)."""

    def __init__(self, cfg: ChangerConfig) -> None:
        super().__init__()
        dim = cfg.dim
        self.phi_c = CondEncoder(cfg.cond_widths, dim, cfg.norm_groups)
        self.kv_pool = cfg.colorizer_kv_pool
        self.pos = nn.ModuleList(nn.Conv2d(dim, dim, 3, padding=1, groups=dim) for _ in range(cfg.colorizer_depth))
        self.blocks = nn.ModuleList(
            TransformerBlock(dim, dim, cfg.colorizer_heads, cfg.mlp_ratio) for _ in range(cfg.colorizer_depth)
        )

    def forward(self, z: Tensor, head: Tensor) -> Tensor:
        ctx = self.phi_c(head)
        if self.kv_pool > 1:
            ctx = F.avg_pool2d(ctx, self.kv_pool)
        ctx = ctx.flatten(2).transpose(1, 2)
        n, c, h, w = z.shape
        for pos, block in zip(self.pos, self.blocks):
            z = z + pos(z)
            tokens, _ = block(z.flatten(2).transpose(1, 2), ctx)
            z = tokens.transpose(1, 2).reshape(n, c, h, w)
        return z
