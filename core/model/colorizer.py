"""Head Colorizer: the latent of X attends to ``φ_c(I_T^head)`` to take on the target's skin tone.

Q comes from ``E(X)``, K and V from ``φ_c``; the output is ``z_c``. Colour is low-frequency, so
``φ_c``'s tokens may be average-pooled (``colorizer_kv_pool``), which cuts attention cost by the
pool factor squared. Position enters through a depthwise 3×3 conv before each block (a conditional
positional encoding), which works at any input size.

Deviation from the paper: :class:`ReferenceColour` turns the reference's skin colour into a colour
code that the decoder adds to its output's logits (see :mod:`.decoder`). Every feature path of the
network runs through group or layer norms, which normalise away an image-wide offset: measured on
v1-style weights, shifting every channel of ``z`` by a unit vector moved the head's mean colour by
< 0.001. The reference's overall lightness and hue, which the head must take on, need a path past
the norms.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import TransformerBlock
from .config import ChangerConfig
from .encoder import CondEncoder


class ReferenceColour(nn.Module):
    """I_T^head (N,3,H,W), black outside the head → a colour code (N,3,1,1) in logit units.

    A small convolution (no norms) weighs each reference pixel by how skin-like it is; the weighted
    mean colour, with the plain mean and spread of the head, goes through an MLP. The MLP's last
    layer starts at zero, so a network initialised from v1 weights computes what it did before.
    """

    def __init__(self, hidden: int = 16, width: int = 64) -> None:
        super().__init__()
        self.skin = nn.Sequential(nn.Conv2d(3, hidden, 3, padding=1), nn.GELU(), nn.Conv2d(hidden, 1, 3, padding=1))
        self.embed = nn.Sequential(nn.Linear(9, width), nn.GELU(), nn.Linear(width, 3))
        nn.init.zeros_(self.embed[2].weight)
        nn.init.zeros_(self.embed[2].bias)

    def forward(self, head: Tensor) -> Tensor:
        return self.embed(colour_statistics(head, torch.sigmoid(self.skin(head))))[:, :, None, None]


def colour_statistics(head: Tensor, weight: Tensor) -> Tensor:
    """(N,9): the ``weight``-ed mean colour, the mean and the standard deviation of the head's pixels
    (those not black: I_T^head is black outside the head)."""
    covered = (head.amax(dim=1, keepdim=True) > 1.0 / 255.0).to(head.dtype)
    count = covered.sum(dim=(2, 3)).clamp(min=1.0)
    mean = (head * covered).sum(dim=(2, 3)) / count
    var = ((head - mean[:, :, None, None]) ** 2 * covered).sum(dim=(2, 3)) / count
    w = weight * covered
    weighted = (head * w).sum(dim=(2, 3)) / w.sum(dim=(2, 3)).clamp(min=1e-6)
    return torch.cat([weighted, mean, var.clamp(min=0.0).sqrt()], dim=1)


class HeadColorizer(nn.Module):
    """(z (N,dim,h,w), I_T^head (N,3,H,W)) → z_c (N,dim,h,w)."""

    def __init__(self, cfg: ChangerConfig) -> None:
        super().__init__()
        dim = cfg.dim
        self.phi_c = CondEncoder(cfg.cond_widths, dim, cfg.norm_groups)
        self.reference = ReferenceColour()
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
