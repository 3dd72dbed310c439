"""Body Blender: ``φ_b(I_T^body)`` feeds FPAT, which completes neck and body under the mask M.

The FPAT mask is built here from the predicted M and the artist's τ, at the patch size that
matches FPAT's latent patches (``stride·P`` image pixels).
"""

from __future__ import annotations

from typing import Optional

from torch import Tensor, nn

from .config import ChangerConfig
from .encoder import CondEncoder
from .fpat import FPAT, additive_mask, body_share


class BodyBlender(nn.Module):
    """(z_c, I_T^body, M (N,1,H,W), τ) → (FPAT output (N,dim,h,w), attention weights of one query).

    M is binarised here (:func:`body_share`), so a soft prediction never blurs the two groups.
    """

    def __init__(self, cfg: ChangerConfig) -> None:
        super().__init__()
        self.phi_b = CondEncoder(cfg.cond_widths, cfg.dim, cfg.norm_groups)
        self.fpat = FPAT(cfg)
        self.mask_patch = cfg.stride * cfg.patch_size

    def forward(
        self, z_c: Tensor, body: Tensor, m: Tensor, tau: Tensor, query_index: int = -1
    ) -> tuple[Tensor, Optional[Tensor]]:
        mask = additive_mask(body_share(m, self.mask_patch), tau)
        return self.fpat(z_c, self.phi_b(body), mask, query_index)
