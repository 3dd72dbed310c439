"""Bringing the network's result back to plate resolution.

The network sees the crop at its own resolution (256 for the shipped weights); a 4K head crop is
several times larger. Upsampling ``Y`` alone would blur the new head, so the high-frequency luminance
of the full-resolution source plate (what the network could not see: the luma minus its round trip
through the network resolution) is added back inside the source head matte. Colour stays the
network's (the Head Colorizer's skin tone); only luminance detail comes from the source.
"""

from __future__ import annotations

import torch

from ..compose import gray
from .crop import resize


def luminance(image: torch.Tensor) -> torch.Tensor:
    """(N,1,H,W) Rec.709 luma of the encoded values (as the network's grey source)."""
    return gray(image)[:, :1]


def high_frequency(image: torch.Tensor, resolution: tuple[int, int]) -> torch.Tensor:
    """Luma of ``image`` minus its round trip through ``resolution``: the detail a resize to it loses."""
    luma = luminance(image)
    return luma - resize(resize(luma, resolution), tuple(luma.shape[-2:]))


def transfer_detail(y: torch.Tensor, source: torch.Tensor, source_head: torch.Tensor) -> torch.Tensor:
    """``Y`` (N,3,r,r, network space) upsampled to the crop of ``source`` (N,3,h,w) plus the source's
    high-frequency luma inside ``source_head`` (N,1,h,w), clamped to the network range [0, 1]."""
    size = tuple(source.shape[-2:])
    up = resize(y, size)
    detail = high_frequency(source, tuple(y.shape[-2:])) * source_head
    return (up + detail).clamp(0.0, 1.0)
