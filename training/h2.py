"""H² augmentation (main paper Eq. 3–4): grow the removed region beyond the true head.

In self-reconstruction the source head *is* the target head, so without augmentation ``M^ip`` would
be empty and the network would never learn to complete necks and shoulders. H² makes
``M_h1 = T_head(M_S^head)`` (a random scale / shift / rotation about the head's centroid plus a
smooth elastic warp) and ``M_h2 = T_hair(M_h1)``: with probability ε the union with a long-hair mask
of *another* identity rendered at the same pose (so it is aligned to this head). We read the
paper's ε = 0.5 as that probability. ``build_inputs`` then forms ``M_union = M_h2 ∪ M_S`` and
``M^ip = M_union − M_S``, so ``M_union ⊇ M_S`` always holds.

The scale range leans towards growth (0.95–1.35): a shrunk head adds nothing to the union, and the
region to inpaint is non-empty in more than 95 % of studio samples (tests/test_h2.py measures it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from changer.core import masks

#: Our reading of the paper's ε (supplementary D, Eq. 4): the probability of applying T_hair.
HAIR_PROBABILITY = 0.5


@dataclass(frozen=True)
class HeadWarp:
    """Ranges of T_head. Shifts and elastic amplitude are fractions of the image size."""

    scale: tuple[float, float] = (0.95, 1.35)
    shift: float = 0.05
    rotation_deg: float = 15.0
    elastic: float = 0.03
    elastic_grid: int = 4


def _uniform(gen: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=gen))


def centroid(matte: torch.Tensor) -> tuple[float, float]:
    """Centre of mass of a (1,H,W) matte in ``affine_grid``'s normalised coordinates
    (``align_corners=False``: pixel centres at ``(2i + 1)/W − 1``); the image centre if empty."""
    _, h, w = matte.shape
    total = float(matte.sum())
    if total <= 0.0:
        return 0.0, 0.0
    ys = (2 * torch.arange(h, dtype=matte.dtype) + 1) / h - 1
    xs = (2 * torch.arange(w, dtype=matte.dtype) + 1) / w - 1
    return float((matte[0].sum(0) * xs).sum()) / total, float((matte[0].sum(1) * ys).sum()) / total


def t_head(matte: torch.Tensor, gen: torch.Generator, warp: HeadWarp = HeadWarp()) -> torch.Tensor:
    """``M_h1 = T_head(M_S^head)`` for one (1,H,W) matte: affine about its centroid, then elastic."""
    _, h, w = matte.shape
    s = _uniform(gen, *warp.scale)
    a = math.radians(_uniform(gen, -warp.rotation_deg, warp.rotation_deg))
    tx, ty = (_uniform(gen, -2 * warp.shift, 2 * warp.shift) for _ in range(2))
    cx, cy = centroid(matte)
    # affine_grid maps output coordinates to input ones: in = A·out + b with A = R(−a)/s.
    cos, sin = math.cos(a) / s, math.sin(a) / s
    a_mat = torch.tensor([[cos, sin], [-sin, cos]], dtype=matte.dtype)
    centre = torch.tensor([cx, cy], dtype=matte.dtype)
    b = centre - a_mat @ (centre + torch.tensor([tx, ty], dtype=matte.dtype))
    theta = torch.cat([a_mat, b[:, None]], dim=1)[None]
    grid = F.affine_grid(theta, [1, 1, h, w], align_corners=False)
    k = warp.elastic_grid
    coarse = (torch.rand((1, 2, k, k), generator=gen, dtype=matte.dtype) * 2 - 1) * (2 * warp.elastic)
    field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)
    grid = grid + field.permute(0, 2, 3, 1)
    return F.grid_sample(matte[None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0].clamp(0, 1)


def t_hair(m_h1: torch.Tensor, long_hair: torch.Tensor | None) -> torch.Tensor:
    """``M_h2 = T_hair(M_h1)``: the union with another identity's aligned long-hair mask, if given."""
    if long_hair is None:
        return m_h1
    return masks.union(m_h1[None], long_hair[None])[0]


def h2_augment(source_head: torch.Tensor, long_hair: torch.Tensor | None, gen: torch.Generator,
               warp: HeadWarp = HeadWarp()) -> torch.Tensor:
    """``M_h2`` for one (1,H,W) source head matte; ``long_hair`` is None when the ε coin said no."""
    return t_hair(t_head(source_head, gen, warp), long_hair)
