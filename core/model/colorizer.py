"""Head Colorizer: the latent of X attends to ``φ_c(I_T^head)`` to take on the target's skin tone.

Q comes from ``E(X)``, K and V from ``φ_c``; the output is ``z_c``. Colour is low-frequency, so
``φ_c``'s tokens may be average-pooled (``colorizer_kv_pool``), which cuts attention cost by the
pool factor squared. Position enters through a depthwise 3×3 conv before each block (a conditional
positional encoding), which works at any input size.

Deviation from the paper: before the attention blocks, ``z`` is modulated (FiLM) by the masked mean
and standard deviation of the reference head's colour (:class:`ReferenceColour`). ``φ_c``'s group
norms largely normalise away the reference's overall lightness, which is exactly what the head must
take on; the statistics carry it past them, and attention still picks which parts (skin, not hair)
to follow.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import TransformerBlock
from .config import ChangerConfig
from .encoder import CondEncoder


class ReferenceColour(nn.Module):
    """I_T^head (N,3,H,W), black outside the head → FiLM scale and shift (N,dim,1,1) each.

    The last layer starts at zero, so a network initialised from weights without this module
    computes what it computed before.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(6, dim), nn.GELU(), nn.Linear(dim, 2 * dim))
        nn.init.zeros_(self.embed[2].weight)
        nn.init.zeros_(self.embed[2].bias)

    def forward(self, head: Tensor) -> tuple[Tensor, Tensor]:
        covered = (head.amax(dim=1, keepdim=True) > 1.0 / 255.0).to(head.dtype)
        count = covered.sum(dim=(2, 3)).clamp(min=1.0)
        mean = (head * covered).sum(dim=(2, 3)) / count
        var = ((head - mean[:, :, None, None]) ** 2 * covered).sum(dim=(2, 3)) / count
        scale, shift = self.embed(torch.cat([mean, var.clamp(min=0.0).sqrt()], dim=1)).chunk(2, dim=1)
        return scale[:, :, None, None], shift[:, :, None, None]


class HeadColorizer(nn.Module):
    """(z (N,dim,h,w), I_T^head (N,3,H,W)) → z_c (N,dim,h,w)."""

    def __init__(self, cfg: ChangerConfig) -> None:
        super().__init__()
        dim = cfg.dim
        self.phi_c = CondEncoder(cfg.cond_widths, dim, cfg.norm_groups)
        self.reference = ReferenceColour(dim)
        self.kv_pool = cfg.colorizer_kv_pool
        self.pos = nn.ModuleList(nn.Conv2d(dim, dim, 3, padding=1, groups=dim) for _ in range(cfg.colorizer_depth))
        self.blocks = nn.ModuleList(
            TransformerBlock(dim, dim, cfg.colorizer_heads, cfg.mlp_ratio) for _ in range(cfg.colorizer_depth)
        )

    def forward(self, z: Tensor, head: Tensor) -> Tensor:
        ctx = self.phi_c(head)
        scale, shift = self.reference(head)
        z = z * (1.0 + scale) + shift
        if self.kv_pool > 1:
            ctx = F.avg_pool2d(ctx, self.kv_pool)
        ctx = ctx.flatten(2).transpose(1, 2)
        n, c, h, w = z.shape
        for pos, block in zip(self.pos, self.blocks):
            z = z + pos(z)
            tokens, _ = block(z.flatten(2).transpose(1, 2), ctx)
            z = tokens.transpose(1, 2).reshape(n, c, h, w)
        return z
