"""Similarity alignment of the source head onto the target head, fitted from their mattes.

The paper aligns the actor's head with a reenactment network; production plates often only need the
head moved and scaled to where the double's head is. :func:`fit_similarity` matches the mattes'
centroids, areas and (when both are clearly elongated) principal-axis orientations; the result maps
source pixel coordinates to target pixel coordinates (pixel centres at ``i + 0.5``).
:func:`warp_into_box` resamples an image through it for just the pixels of a crop box, so the cost
follows the crop, not the plate.

A matte that includes hair makes the fit follow the hair: a bald actor fitted to a long-haired
double is scaled up. That is why the node's default alignment is ``none``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import masks
from .errors import ParamError
from .masks import Box

#: Ratio of the principal standard deviations above which a matte's orientation is trusted.
MIN_ANISOTROPY = 1.15


@dataclass(frozen=True)
class Similarity:
    """``q = scale · R(angle) · p + (tx, ty)``: source pixel coordinates ``p`` to target ``q``."""

    scale: float = 1.0
    angle: float = 0.0
    tx: float = 0.0
    ty: float = 0.0

    @property
    def is_identity(self) -> bool:
        return self.scale == 1.0 and self.angle == 0.0 and self.tx == 0.0 and self.ty == 0.0

    def apply(self, points: torch.Tensor) -> torch.Tensor:
        """Source pixel coordinates (K,2: x, y) to target coordinates, in ``points``' dtype."""
        c, s = self.scale * math.cos(self.angle), self.scale * math.sin(self.angle)
        x, y = points[:, 0], points[:, 1]
        return torch.stack([c * x - s * y + self.tx, s * x + c * y + self.ty], dim=1)

    def inverse_matrix(self) -> torch.Tensor:
        """(2,3) float64 matrix mapping target coordinates back to source coordinates."""
        c, s = math.cos(self.angle) / self.scale, math.sin(self.angle) / self.scale
        # p = R(-angle)/scale · (q - t)
        return torch.tensor([[c, s, -(c * self.tx + s * self.ty)],
                             [-s, c, -(-s * self.tx + c * self.ty)]], dtype=torch.float64)


@dataclass(frozen=True)
class Moments:
    """Centroid, area and orientation of a soft matte (pixel-centre coordinates)."""

    cx: float
    cy: float
    area: float
    angle: float
    anisotropy: float


def moments(matte: torch.Tensor) -> Moments:
    """Moments of a (1,1,H,W) matte, computed in float64; ParamError when it is empty."""
    masks.check_matte(matte)
    m = matte[0, 0].to(torch.float64)
    area = float(m.sum())
    if area <= 0:
        raise ParamError("cannot fit an alignment to an empty matte")
    h, w = m.shape
    ys = torch.arange(h, dtype=torch.float64, device=m.device) + 0.5
    xs = torch.arange(w, dtype=torch.float64, device=m.device) + 0.5
    row, col = m.sum(1), m.sum(0)
    cx, cy = float((col * xs).sum()) / area, float((row * ys).sum()) / area
    dx, dy = xs - cx, ys - cy
    mu20 = float((col * dx * dx).sum()) / area
    mu02 = float((row * dy * dy).sum()) / area
    mu11 = float((m * dy[:, None] * dx[None, :]).sum()) / area
    spread = math.hypot(mu20 - mu02, 2.0 * mu11)
    major, minor = 0.5 * (mu20 + mu02 + spread), max(0.5 * (mu20 + mu02 - spread), 1e-12)
    return Moments(cx, cy, area, 0.5 * math.atan2(2.0 * mu11, mu20 - mu02), math.sqrt(major / minor))


def fit_similarity(source_matte: torch.Tensor, target_matte: torch.Tensor) -> Similarity:
    """The similarity that puts the source matte's centroid, area and orientation onto the target's."""
    src, dst = moments(source_matte), moments(target_matte)
    scale = math.sqrt(dst.area / src.area)
    angle = 0.0
    if min(src.anisotropy, dst.anisotropy) >= MIN_ANISOTROPY:
        angle = (dst.angle - src.angle + math.pi / 2) % math.pi - math.pi / 2
    c, s = math.cos(angle) * scale, math.sin(angle) * scale
    return Similarity(scale, angle, dst.cx - (c * src.cx - s * src.cy), dst.cy - (s * src.cx + c * src.cy))


def fit_points(source: torch.Tensor, target: torch.Tensor) -> Similarity:
    """The least-squares similarity (Umeyama) taking the (N,2) ``source`` points onto the ``target`` points.

    Landmarks pin the face itself, so unlike :func:`fit_similarity` the fit does not follow hair or a hat.
    """
    src, dst = source.to(torch.float64), target.to(torch.float64)
    if src.shape != dst.shape or src.dim() != 2 or src.shape[-1] != 2 or src.shape[0] < 2:
        raise ParamError(f"cannot fit an alignment to {tuple(src.shape)} and {tuple(dst.shape)} points: "
                         "expected two (N,2) sets, N >= 2")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    var = float((a * a).sum())
    if var <= 0:
        raise ParamError("cannot fit an alignment to source landmarks that all coincide")
    cov = b.T @ a
    angle = math.atan2(float(cov[1, 0] - cov[0, 1]), float(cov[0, 0] + cov[1, 1]))
    c, s = math.cos(angle), math.sin(angle)
    scale = (c * float(cov[0, 0] + cov[1, 1]) + s * float(cov[1, 0] - cov[0, 1])) / var
    cx, cy = float(mu_s[0]), float(mu_s[1])
    tx, ty = float(mu_d[0]) - scale * (c * cx - s * cy), float(mu_d[1]) - scale * (s * cx + c * cy)
    return Similarity(scale, angle, tx, ty)


def warp_into_box(image: torch.Tensor, transform: Similarity, box: Box, padding_mode: str = "zeros") -> torch.Tensor:
    """``image`` (N,C,H,W, source coordinates) resampled at the target pixels of ``box`` (bilinear).

    Returns (N,C,box.height,box.width). Samples outside the source frame take ``padding_mode``
    (``zeros`` for mattes, ``border`` for plates). The identity transform with a box inside the
    frame is an exact crop.
    """
    n, _, h, w = image.shape
    if transform.is_identity and box.x0 >= 0 and box.y0 >= 0 and box.x1 <= w and box.y1 <= h:
        return masks.crop(image, box).clone()
    inv = transform.inverse_matrix().to(image.device)
    ys = torch.arange(box.y0, box.y1, dtype=torch.float64, device=image.device) + 0.5
    xs = torch.arange(box.x0, box.x1, dtype=torch.float64, device=image.device) + 0.5
    qy, qx = torch.meshgrid(ys, xs, indexing="ij")
    px = inv[0, 0] * qx + inv[0, 1] * qy + inv[0, 2]
    py = inv[1, 0] * qx + inv[1, 1] * qy + inv[1, 2]
    grid = torch.stack([2.0 * px / w - 1.0, 2.0 * py / h - 1.0], dim=-1).to(image.dtype)
    return F.grid_sample(image, grid[None].expand(n, -1, -1, -1), mode="bilinear",
                         padding_mode=padding_mode, align_corners=False)
