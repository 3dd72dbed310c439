"""The head's own frame, the neck line under the jaw and the head region, rasterised on a window of the plate.

Everything is measured in the face's frame (``u`` across the face, ``v`` down it, from the top of the
forehead towards the chin), so a rolled head gets a rolled neck line. The neck line is the jaw part of
the face oval (cheek, jaw angle, chin, jaw angle, cheek) moved down by the neck-line offset, and
continued flat beyond its ends; everything below it is neck, collar or body, except the long hair
:mod:`.hair` grows back. Edges are 1 pixel ramps on pixel centres, so the line moves smoothly with
sub-pixel landmark motion (no staircase jitter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..masks import Box
from .landmarks import FACE_OVAL, OVAL_CHIN, OVAL_FOREHEAD, FaceLandmarks

#: The neck line's landmarks, in order across the face: below the jaw angle (136), the chin (152), below the other
#: jaw angle (365). Beyond its ends the line runs flat, so the sides of the face and the ear lobes stay above it
#: (the cheek points higher up would cut them; measured on studio faces, docs/mattes.md).
JAW_LINE = FACE_OVAL[FACE_OVAL.index(136):FACE_OVAL.index(365) + 1]
_JAW = [FACE_OVAL.index(i) for i in JAW_LINE]
#: The neck line sits this many face heights below the fitted jaw: the oval landmarks run a little inside the
#: jaw's silhouette (the skin's last pixels before the neck's shadow).
NECK_ALLOWANCE = 0.02


@dataclass(frozen=True)
class FaceFrame:
    """Axes of the face in frame pixels: ``origin`` at the top of the forehead, unit ``right`` and ``down``."""

    origin: np.ndarray
    right: np.ndarray
    down: np.ndarray
    height: float

    def to_face(self, xy: np.ndarray) -> np.ndarray:
        """(N,2) frame pixels -> (N,2) face coordinates (u, v)."""
        rel = xy - self.origin
        return np.stack([rel @ self.right, rel @ self.down], axis=-1)

    def to_frame(self, uv: np.ndarray) -> np.ndarray:
        """(N,2) face coordinates -> (N,2) frame pixels."""
        return self.origin + uv[:, :1] * self.right + uv[:, 1:] * self.down


def face_frame(face: FaceLandmarks) -> FaceFrame:
    """The frame of ``face``: ``down`` from the top of the forehead to the chin."""
    top, chin = face.oval[OVAL_FOREHEAD], face.oval[OVAL_CHIN]
    down = chin - top
    height = float(np.hypot(*down))
    down = down / height
    return FaceFrame(top, np.array([-down[1], down[0]]), down, height)


@dataclass(frozen=True)
class HeadLayout:
    """Where the head is in face coordinates: the neck line (sorted by ``u``) and the head region's bounds."""

    frame: FaceFrame
    neck_u: np.ndarray
    neck_v: np.ndarray
    u_range: tuple[float, float]
    v_range: tuple[float, float]
    oval_uv: np.ndarray

    @property
    def chin_u(self) -> float:
        """Where the chin is across the face."""
        return float(self.oval_uv[OVAL_CHIN, 0])

    def window(self, width: int, height: int) -> Box | None:
        """The frame pixels the head region covers (None when it is outside the frame)."""
        (u0, u1), (v0, v1) = self.u_range, self.v_range
        corners = self.frame.to_frame(np.array([[u0, v0], [u1, v0], [u0, v1], [u1, v1]]))
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
        box = Box(max(int(x0), 0), max(int(y0), 0), min(int(x1), width), min(int(y1), height))
        return box if box.width > 0 and box.height > 0 else None


def head_layout(face: FaceLandmarks, neck_offset: float, margin: float, reach: float) -> HeadLayout:
    """The neck line (:data:`NECK_ALLOWANCE` face heights plus ``neck_offset`` pixels below the jaw) and the
    region: the oval grown by ``margin`` face heights on the sides and above, reaching ``reach`` face heights
    below the neck line."""
    frame = face_frame(face)
    uv = frame.to_face(face.oval)
    jaw = uv[_JAW]
    order = np.argsort(jaw[:, 0], kind="stable")
    neck_u, neck_v = jaw[order, 0], jaw[order, 1] + NECK_ALLOWANCE * frame.height + neck_offset
    pad = margin * frame.height
    u_range = (float(uv[:, 0].min() - pad), float(uv[:, 0].max() + pad))
    v_range = (float(uv[:, 1].min() - pad), float(neck_v.max() + max(reach * frame.height, 1.0)))
    return HeadLayout(frame, neck_u, neck_v, u_range, v_range, uv)


@dataclass(frozen=True)
class HeadMaps:
    """Per-pixel maps of a window (each (1,h,w) float32): face coordinates, above-the-neck-line weight, region."""

    u: torch.Tensor
    v: torch.Tensor
    above: torch.Tensor
    region: torch.Tensor
    neck: torch.Tensor  #: the neck line's ``v`` under every pixel


def _ramp(distance: torch.Tensor) -> torch.Tensor:
    """1 inside (distance > 0.5), 0 outside, linear across the pixel at the edge."""
    return (distance + 0.5).clamp_(0.0, 1.0)


#: Spacing (pixels of ``u``) of the table the neck line is looked up in.
_TABLE_STEP = 0.25


def interp(x: torch.Tensor, xp: np.ndarray, fp: np.ndarray) -> torch.Tensor:
    """``numpy.interp(x, xp, fp)`` on a tensor (``xp`` increasing; flat beyond its ends), through a table every
    :data:`_TABLE_STEP` pixels: a gather and a lerp per pixel instead of a search."""
    lo, hi = float(xp[0]), float(xp[-1])
    grid = np.arange(lo, hi + 2 * _TABLE_STEP, _TABLE_STEP)
    table = torch.as_tensor(np.interp(grid, xp, fp), dtype=x.dtype)
    pos = ((x - lo) / _TABLE_STEP).clamp_(0.0, len(grid) - 1.0)
    i = pos.floor().long().clamp_(max=len(grid) - 2)
    return torch.lerp(table[i], table[i + 1], pos - i)


def head_maps(layout: HeadLayout, box: Box) -> HeadMaps:
    """Rasterise ``layout`` on the pixel centres of ``box``."""
    ys = torch.arange(box.y0, box.y1, dtype=torch.float32) + 0.5
    xs = torch.arange(box.x0, box.x1, dtype=torch.float32) + 0.5
    f = layout.frame
    rx, ry = xs[None, :] - float(f.origin[0]), ys[:, None] - float(f.origin[1])
    u = rx * float(f.right[0]) + ry * float(f.right[1])
    v = rx * float(f.down[0]) + ry * float(f.down[1])
    neck = interp(u, layout.neck_u, layout.neck_v)
    above = _ramp(neck - v)
    (u0, u1), (v0, v1) = layout.u_range, layout.v_range
    region = torch.minimum(torch.minimum(_ramp(u - u0), _ramp(u1 - u)), torch.minimum(_ramp(v - v0), _ramp(v1 - v)))
    return HeadMaps(u[None], v[None], above[None], region[None], neck[None])


def ellipse_radius2(maps: HeadMaps, layout: HeadLayout) -> torch.Tensor:
    """(1,h,w) squared radius in the ellipse through the face oval's extremes (below 1: inside it; below s*s:
    inside it scaled by s about its centre)."""
    lo, hi = layout.oval_uv.min(axis=0), layout.oval_uv.max(axis=0)
    centre, half = (lo + hi) / 2, np.maximum((hi - lo) / 2, 1e-6)
    du = (maps.u - float(centre[0])) / float(half[0])
    dv = (maps.v - float(centre[1])) / float(half[1])
    return du * du + dv * dv
