"""Convolutional encoders: ``E`` on X (with U-Net skips) and the conditioning encoders ``φ_c``, ``φ_b``.

``E`` keeps a feature map per resolution level: the decoder needs the full-resolution ones to
reproduce the unchanged parts of X exactly. ``φ_c`` and ``φ_b`` only feed attention keys and
values, so they skip the full-resolution level and are narrower.
"""

from __future__ import annotations

from torch import Tensor, nn

from .blocks import Down, ResBlock, group_norm
from .config import ChangerConfig


class ImageEncoder(nn.Module):
    """``E``: X (N,3,H,W) → one feature map per level, the last one the latent z (N,dim,H/s,W/s)."""

    def __init__(self, cfg: ChangerConfig) -> None:
        super().__init__()
        w, b, g = cfg.enc_widths, cfg.enc_blocks, cfg.norm_groups
        self.stem = nn.Sequential(
            nn.Conv2d(3, w[0], 3, padding=1),
            group_norm(w[0], g),
            nn.GELU(),
            *[ResBlock(w[0], g) for _ in range(b[0])],
        )
        self.downs = nn.ModuleList(Down(w[k - 1], w[k], b[k], g) for k in range(1, len(w)))

    def forward(self, x: Tensor) -> list[Tensor]:
        feats = [self.stem(x)]
        for down in self.downs:
            feats.append(down(feats[-1]))
        return feats


class CondEncoder(nn.Sequential):
    """``φ``: a target image (N,3,H,W) → features (N,out_dim,H/s,W/s) for attention keys/values."""

    def __init__(self, widths: tuple[int, ...], out_dim: int, groups: int) -> None:
        chans = (3, *widths)
        super().__init__(
            *[Down(chans[k], chans[k + 1], 1, groups) for k in range(len(widths))],
            nn.Conv2d(widths[-1], out_dim, 1),
        )
