"""Building blocks shared by the encoders, the two transformers and the decoder.

Everything is residual and normalised (GroupNorm for feature maps, LayerNorm for tokens) so the
small config trains from scratch on a CPU without warm-up tricks. All modules are TorchScript
scriptable: the Nuke wrapper and the TorchScript export script the whole network.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def group_norm(channels: int, groups: int) -> nn.GroupNorm:
    """GroupNorm with the largest group count <= ``groups`` that divides ``channels``."""
    return nn.GroupNorm(math.gcd(channels, groups), channels)


class ResBlock(nn.Module):
    """Pre-activation residual block: x + conv(act(norm(conv(act(norm(x))))))."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            group_norm(channels, groups),
            nn.GELU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            group_norm(channels, groups),
            nn.GELU(),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class Down(nn.Sequential):
    """Halve the resolution with a strided 3×3 conv, then ``blocks`` residual blocks."""

    def __init__(self, c_in: int, c_out: int, blocks: int, groups: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, 3, stride=2, padding=1),
            group_norm(c_out, groups),
            nn.GELU(),
            *[ResBlock(c_out, groups) for _ in range(blocks)],
        )


class Up(nn.Module):
    """Double the resolution (1×1 conv + pixel shuffle), fuse the encoder skip, refine."""

    def __init__(self, c_in: int, c_skip: int, c_out: int, blocks: int, groups: int) -> None:
        super().__init__()
        self.expand = nn.Conv2d(c_in, 4 * c_out, 1)
        self.fuse = nn.Sequential(
            nn.Conv2d(c_out + c_skip, c_out, 3, padding=1),
            group_norm(c_out, groups),
            nn.GELU(),
            *[ResBlock(c_out, groups) for _ in range(blocks)],
        )

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = F.pixel_shuffle(self.expand(x), 2)
        return self.fuse(torch.cat([x, skip], dim=1))


class Mlp(nn.Sequential):
    """Token-wise feed-forward layer."""

    def __init__(self, dim: int, ratio: float) -> None:
        hidden = max(1, int(round(dim * ratio)))
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))


class CrossAttention(nn.Module):
    """Multi-head cross-attention; Q from ``x``, K and V from ``ctx``, optional additive mask.

    Uses ``scaled_dot_product_attention`` (fused kernels where the backend has them). When
    ``query_index >= 0`` it also returns that query's attention weights, computed explicitly
    (the fused kernels do not expose them): shape (N, heads, M).
    """

    def __init__(self, dim: int, ctx_dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(ctx_dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(
        self, x: Tensor, ctx: Tensor, mask: Optional[Tensor] = None, query_index: int = -1
    ) -> tuple[Tensor, Optional[Tensor]]:
        n, len_q, dim = x.shape
        len_kv = ctx.shape[1]
        head_dim = dim // self.heads
        q = self.q(x).reshape(n, len_q, self.heads, head_dim).transpose(1, 2)
        k, v = self.kv(ctx).reshape(n, len_kv, 2, self.heads, head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        attn_mask: Optional[Tensor] = None
        if mask is not None:
            attn_mask = mask.unsqueeze(1).to(q.dtype)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        weights: Optional[Tensor] = None
        if query_index >= 0:
            weights = attention_row(q, k, attn_mask, query_index)
        return self.out(y.transpose(1, 2).reshape(n, len_q, dim)), weights


def attention_row(q: Tensor, k: Tensor, attn_mask: Optional[Tensor], index: int) -> Tensor:
    """softmax(q_i Kᵀ/√d + mask_i) for query ``index``: (N, heads, M) from q (N,h,L,d), k (N,h,M,d)."""
    logits = q[:, :, index : index + 1] @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if attn_mask is not None:
        logits = logits + attn_mask[:, :, index : index + 1]
    return logits.softmax(dim=-1).squeeze(2)


class TransformerBlock(nn.Module):
    """Pre-norm block: x + CrossAttn(LN(x), LN(ctx), mask); x + MLP(LN(x)).

    ``query_residual=False`` drops the first ``x +``: the block's output is built only from what
    the query attended to (FPAT's first block, so the attention groups cannot be bypassed).
    """

    def __init__(self, dim: int, ctx_dim: int, heads: int, mlp_ratio: float, query_residual: bool = True) -> None:
        super().__init__()
        self.query_residual = query_residual
        self.norm_x = nn.LayerNorm(dim)
        self.norm_ctx = nn.LayerNorm(ctx_dim)
        self.attn = CrossAttention(dim, ctx_dim, heads)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_ratio)

    def forward(
        self, x: Tensor, ctx: Tensor, mask: Optional[Tensor] = None, query_index: int = -1
    ) -> tuple[Tensor, Optional[Tensor]]:
        a, weights = self.attn(self.norm_x(x), self.norm_ctx(ctx), mask, query_index)
        x = x + a if self.query_residual else a
        return x + self.mlp(self.norm_mlp(x)), weights


class PixelHead(nn.Sequential):
    """Latent (N,dim,h,w) → image (N,c_out,h·s,w·s) in [0,1]: conv, GELU, 1×1 conv, pixel shuffle, sigmoid.

    Used for ToRGB and Foreground-Prediction: both read ``z_c`` and are supervised at full resolution.
    """

    def __init__(self, dim: int, c_out: int, stride: int) -> None:
        hidden = max(1, dim // 2)
        super().__init__(
            nn.Conv2d(dim, hidden, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(hidden, c_out * stride * stride, 1),
            nn.PixelShuffle(stride),
            nn.Sigmoid(),
        )
