"""FPAT, the Foreground Predictive Attention Transformer (supplementary C.2, Eq. 1–3).

``z_c`` and the body features are cut into P×P patches (tokens of P²C values); the predicted
foreground M is cut into the same patches and averaged (Eq. 1). Patches whose average is ``>= τ``
form S_b, the rest S_nb (Eq. 2). Attention is allowed only inside a group: the additive mask is 0
where query and key are in the same group and −∞ otherwise (Eq. 3). Every query sees at least its
own patch (j = i), so no softmax row is all −∞ and nothing turns NaN when a group is empty.

M here is the full-resolution prediction, binarised at 0.5 (the supplementary predicts "a binary
mask M"), so one patch is ``stride·P`` image pixels across and τ reads as "the fraction of a patch's
pixels that are body", which is what an artist sees in the M view. Binarising matters: a soft M
leaves small values in every patch, and then both ends of the τ range put every patch in one group.
"""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor, nn

from ..errors import ContractError, ParamError
from .blocks import TransformerBlock
from .config import ChangerConfig


def check_tau(tau: Union[float, Tensor]) -> None:
    """Refuse a τ outside [0, 1] (a Python number) or a tensor τ that is not a single value."""
    if isinstance(tau, Tensor):
        if tau.numel() != 1:
            raise ParamError(f"tau: expected a single value, got a tensor of shape {tuple(tau.shape)}")
        return
    if isinstance(tau, bool) or not isinstance(tau, (int, float)):
        raise ParamError(f"tau: expected a number in [0, 1], got {tau!r}")
    if not 0.0 <= tau <= 1.0:
        raise ParamError(f"tau: expected a value in [0, 1], got {tau}")


def binary_body(m: Tensor) -> Tensor:
    """M (N,1,H,W) in [0,1] → the binary body/neck mask (M ≥ 0.5) in M's dtype, without gradient."""
    return (m.detach() >= 0.5).to(m.dtype)


def body_share(m: Tensor, patch: int) -> Tensor:
    """Eq. 1 on the binary M: the share of body pixels in each patch, (N,1,H,W) → (N, patches)."""
    return patch_average(binary_body(m), patch)


def patchify(x: Tensor, patch: int) -> Tensor:
    """(N,C,H,W) → (N, (H/P)(W/P), P·P·C) tokens, patches in row-major order."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(n, (h // patch) * (w // patch), patch * patch * c)


def unpatchify(tokens: Tensor, patch: int, h: int, w: int) -> Tensor:
    """Inverse of :func:`patchify`: (N, (h/P)(w/P), P·P·C) → (N,C,h,w)."""
    n, _, pc = tokens.shape
    c = pc // (patch * patch)
    x = tokens.reshape(n, h // patch, w // patch, patch, patch, c)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(n, c, h, w)


def patch_average(mask: Tensor, patch: int) -> Tensor:
    """Eq. 1: mean of each P×P patch of M (N,1,H,W) → (N, (H/P)(W/P)), patches row-major."""
    # Written out rather than core.checks.check_shape: TorchScript compiles this with the blender.
    if mask.dim() != 4 or mask.shape[1] != 1:
        raise ContractError(f"M: expected shape (N,1,H,W), got {list(mask.shape)}")
    if patch < 1 or mask.shape[2] % patch != 0 or mask.shape[3] % patch != 0:
        raise ContractError(f"M: height and width {list(mask.shape[2:])} must be multiples of the patch size {patch}")
    return patchify(mask, patch).mean(dim=-1)


def additive_mask(m_avg: Tensor, tau: Tensor) -> Tensor:
    """Eq. 2–3 for a tensor τ (no validation; the scripted graph calls this): (N,L) → (N,L,L)."""
    body = m_avg >= tau
    same_group = body.unsqueeze(2) == body.unsqueeze(1)
    return torch.where(same_group, m_avg.new_zeros(()), m_avg.new_full((), float("-inf")))


def fpat_mask(m_avg: Tensor, tau: Union[float, Tensor]) -> Tensor:
    """Eq. 2–3: additive attention mask (N,L,L) from patch averages (N,L); 0 inside a group, −∞ across.

    τ is compared in the dtype of ``m_avg`` (as in the network, where it takes the input's dtype).
    """
    check_tau(tau)
    if m_avg.dim() != 2:
        raise ContractError(f"M_avg: expected shape (N, patches), got {tuple(m_avg.shape)}")
    tau_t = torch.as_tensor(tau, dtype=m_avg.dtype, device=m_avg.device).reshape(())
    return additive_mask(m_avg, tau_t)


class FPAT(nn.Module):
    """Masked cross-attention from ``z_c`` patches (Q) to body-feature patches (K, V).

    Patches (P²C values) are projected to ``fpat_dim``, pass ``fpat_depth`` pre-norm transformer
    blocks that all share the FPAT mask, and are projected back and un-patched to (N,dim,h,w). The
    first block keeps no query residual: a query's own ``z_c`` only chooses what it attends to, so
    every output token is made from its group's keys and τ, which sets the groups, steers it.
    """

    def __init__(self, cfg: ChangerConfig) -> None:
        super().__init__()
        p2c = cfg.patch_size**2 * cfg.dim
        self.patch = cfg.patch_size
        self.embed_q = nn.Linear(p2c, cfg.fpat_dim)
        self.embed_kv = nn.Linear(p2c, cfg.fpat_dim)
        self.blocks = nn.ModuleList(
            TransformerBlock(cfg.fpat_dim, cfg.fpat_dim, cfg.fpat_heads, cfg.mlp_ratio, query_residual=i > 0)
            for i in range(cfg.fpat_depth)
        )
        self.norm_out = nn.LayerNorm(cfg.fpat_dim)
        self.unembed = nn.Linear(cfg.fpat_dim, p2c)

    def forward(
        self, z_c: Tensor, body: Tensor, mask: Tensor, query_index: int = -1
    ) -> tuple[Tensor, Optional[Tensor]]:
        """(z_c, φ_b features, additive mask (N,L,L)) → (FPAT output (N,dim,h,w), last block's weights)."""
        h, w = z_c.shape[2], z_c.shape[3]
        q = self.embed_q(patchify(z_c, self.patch))
        kv = self.embed_kv(patchify(body, self.patch))
        weights: Optional[Tensor] = None
        for block in self.blocks:
            q, weights = block(q, kv, mask, query_index)
        return unpatchify(self.unembed(self.norm_out(q)), self.patch, h, w), weights
