"""Where the parts of a person sit in one frame: head and body placements, edge width, light."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from changer.training.studio.params import Identity, Pose, Studio
from changer.training.studio.raster import Box, Frame, Placement, f32

LABELS = ("background", "body", "neck", "face", "ears", "hair")
"""Label ids of the label map, in this order. Visible-coverage channels of ``Sample.parts`` too."""
BACKGROUND, BODY, NECK, FACE, EARS, HAIR = range(len(LABELS))


@dataclass
class Layer:
    """One depth layer of the subject: coverage and unpremultiplied colour inside a pixel box."""

    label: int
    box: Box
    alpha: np.ndarray                 # (h, w) float32
    rgb: np.ndarray                   # (3, h, w) float32
    amodal: bool = False              # counts towards the body+neck mask that ignores occlusion


@dataclass(frozen=True)
class Rig:
    """Derived geometry of one person in one frame."""

    frame: Frame
    identity: Identity
    pose: Pose
    studio: Studio
    head: Placement
    body: Placement
    neck_top: tuple[float, float]     # image units
    face_dx: float                    # face-feature offset in head units (yaw)
    face_dy: float                    # face-feature offset in head units (nod)
    edge: float                       # edge width in image units (>= one pixel)

    @staticmethod
    def build(identity: Identity, pose: Pose, studio: Studio, frame: Frame) -> Rig:
        unit = identity.head_size * pose.scale
        pivot_dy = 0.8 * unit
        pivot = (pose.x, pose.y + pivot_dy)
        head = Placement(pivot[0] + math.sin(pose.roll) * pivot_dy, pivot[1] - math.cos(pose.roll) * pivot_dy,
                         pose.roll, unit)
        shoulders_y = pose.y + unit * (1.0 + identity.neck_length)
        body = Placement(pose.x + pose.body_x, shoulders_y, pose.body_roll, unit)
        edge = max(1.0, studio.edge_softness * frame.height / 1080.0) * frame.px
        return Rig(frame, identity, pose, studio, head, body, pivot,
                   face_dx=0.28 * pose.yaw, face_dy=0.2 * pose.nod, edge=edge)

    def head_edge(self) -> float:
        """Edge width in head units."""
        return self.edge / self.head.unit

    def shade(self, nx: np.ndarray, ny: np.ndarray, nz: np.ndarray, wrap: float = 0.25) -> np.ndarray:
        """Wrapped Lambert shading plus ambient for a unit normal field (camera space)."""
        lx, ly, lz = self.studio.light
        k = self.studio.light_intensity / (1.0 + wrap)
        out = nx * f32(lx * k) + ny * f32(ly * k) + nz * f32(lz * k)
        out += f32(wrap * k)
        np.maximum(out, 0.0, out=out)
        out += f32(self.studio.ambient)
        return out
