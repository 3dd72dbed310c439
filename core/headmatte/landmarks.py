"""Finding the one face of a plate and its face-oval landmarks, with a clear refusal when there is none.

The full-range detector looks at the whole frame (downscaled: it sees 192 pixels anyway); the face mesh
then runs on a square crop around the face, because on a whole frame a small face is below what its
own short-range detector finds. Only the 36 face-oval points are kept: the jaw line and the head
region are built from them. A shot follows its face from frame to frame (:mod:`.tracker`): given the
previous frame's oval, the crop is placed from it and the detector is not needed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import HeadMatteError
from .face_models import FaceModels

log = logging.getLogger(__name__)

#: The face mesh's face-oval landmarks as a closed loop, from the top of the forehead (10) through the
#: subject's left cheek (234), the chin (152) and the right cheek (454).
FACE_OVAL = (10, 109, 67, 103, 54, 21, 162, 127, 234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400,
             378, 379, 365, 397, 288, 361, 323, 454, 356, 389, 251, 284, 332, 297, 338)
FOREHEAD, CHIN, LEFT_CHEEK, RIGHT_CHEEK, NOSE_TIP = 10, 152, 234, 454, 1
#: Where those sit in :data:`FACE_OVAL`.
OVAL_FOREHEAD, OVAL_CHIN = FACE_OVAL.index(FOREHEAD), FACE_OVAL.index(CHIN)
OVAL_LEFT, OVAL_RIGHT = FACE_OVAL.index(LEFT_CHEEK), FACE_OVAL.index(RIGHT_CHEEK)
#: The detector sees the frame with its longer side at most this many pixels (it resizes to 192 itself).
DETECT_SIZE = 640
#: The mesh's crop is resized to this many pixels square (its model reads 192).
MESH_SIZE = 256
#: Side of the mesh's crop over the larger side of a detector box / of the face oval's box.
DETECTION_CROP, OVAL_CROP = 2.2, 1.7
#: A second face counts when its detector score is at least this fraction of the best one's.
SECOND_FACE_SCORE = 0.6
#: Nose tip's position between the cheeks (0 left cheek, 1 right cheek) beyond which the face is a profile.
PROFILE_LIMIT = 0.12
#: Fraction of the oval allowed outside the frame before the face counts as cut by the frame edge.
CUT_LIMIT = 0.3


@dataclass(frozen=True)
class FaceLandmarks:
    """One face: its oval (36, 2) in frame pixels (x, y), in :data:`FACE_OVAL` order, and the detector's score."""

    oval: np.ndarray
    score: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) around the oval."""
        x, y = self.oval[:, 0], self.oval[:, 1]
        return float(x.min()), float(y.min()), float(x.max()), float(y.max())

    @property
    def height(self) -> float:
        """Forehead-to-chin distance in pixels: the unit of the head region's margin and the hair's reach."""
        return float(np.hypot(*(self.oval[OVAL_CHIN] - self.oval[OVAL_FOREHEAD])))

    @classmethod
    def from_json(cls, data: dict[str, object], scale: float = 1.0) -> FaceLandmarks:
        """The face :meth:`to_json` wrote (a matte file's metadata), its pixels times ``scale`` (a render scale)."""
        return cls(np.asarray(data["oval"], dtype=np.float64) * scale, float(data["score"]))

    def to_json(self) -> dict[str, object]:
        """Plain values for a matte file's metadata (pixels, rounded to 1/100)."""
        return {"oval_indices": list(FACE_OVAL), "oval": np.round(self.oval, 2).tolist(),
                "box": [round(v, 2) for v in self.box], "score": round(self.score, 4)}


#: The EXR header attribute of an automatic matte that holds its face (:meth:`FaceLandmarks.to_json`).
LANDMARKS_ATTRIBUTE = "changer:head_landmarks"


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3,H,W) display-referred float -> contiguous (H,W,3) uint8 RGB, as the models read it."""
    scaled = (image.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8)
    return np.ascontiguousarray(scaled.permute(1, 2, 0).numpy())


def detect_faces(models: FaceModels, plate: torch.Tensor) -> list[tuple[float, tuple[float, float, float, float]]]:
    """Every face the detector finds in the (3,H,W) plate: (score, box in frame pixels), best first."""
    height, width = plate.shape[-2:]
    scale = min(1.0, DETECT_SIZE / max(height, width))
    small = plate if scale == 1.0 else F.interpolate(
        plate[None], size=(max(1, round(height * scale)), max(1, round(width * scale))), mode="area")[0]
    faces = models.detect(to_uint8(small))
    return [(score, tuple(v / scale for v in box)) for score, box in faces]


def square_crop(plate: torch.Tensor, centre: tuple[float, float],
                side: float) -> tuple[np.ndarray, float, float, float]:
    """The square of ``side`` pixels centred on ``centre`` as a :data:`MESH_SIZE` uint8 image (edges replicated
    outside the frame), and the crop's origin and pixels-per-crop-pixel to map landmarks back."""
    height, width = plate.shape[-2:]
    side = max(side, 8.0)
    x0, y0 = round(centre[0] - side / 2), round(centre[1] - side / 2)
    n = round(side)
    xs = torch.arange(x0, x0 + n).clamp(0, width - 1)
    ys = torch.arange(y0, y0 + n).clamp(0, height - 1)
    patch = plate[:, ys][:, :, xs]
    patch = F.interpolate(patch[None], size=(MESH_SIZE, MESH_SIZE), mode="area" if n > MESH_SIZE else "bilinear",
                          **({} if n > MESH_SIZE else {"align_corners": False}))[0]
    return to_uint8(patch), float(x0), float(y0), n / MESH_SIZE


def _pick_face(faces: list[tuple[float, tuple[float, float, float, float]]]) -> tuple[float, float, float, float]:
    if not faces:
        raise HeadMatteError("no face found in the plate (none visible, smaller than about 40 pixels, in profile or "
                             "cut by the frame edge); roto this frame's head matte by hand")
    best = faces[0][0]
    others = [score for score, _ in faces[1:] if score >= SECOND_FACE_SCORE * best]
    if others:
        raise HeadMatteError(f"{1 + len(others)} faces found in the plate; the automatic head matte follows one head "
                             "per plate: crop the plate to one person or roto this frame's head matte by hand")
    return faces[0][1]


def _touches_edge(box: tuple[float, float, float, float], width: int, height: int) -> bool:
    x0, y0, x1, y1 = box
    return x0 <= 1 or y0 <= 1 or x1 >= width - 1 or y1 >= height - 1


def find_face(models: FaceModels, plate: torch.Tensor, previous: FaceLandmarks | None = None) -> FaceLandmarks:
    """The face of the (3,H,W) display-referred plate; HeadMatteError (no face, two faces, a profile, a face
    cut by the frame edge) otherwise. With ``previous`` (the last frame's oval) the crop follows it."""
    height, width = plate.shape[-2:]
    score = 1.0
    if previous is None:
        faces = detect_faces(models, plate)
        box = _pick_face(faces)
        score, side_factor = faces[0][0], DETECTION_CROP
    else:
        box, score, side_factor = previous.box, previous.score, OVAL_CROP
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    side = side_factor * max(box[2] - box[0], box[3] - box[1])
    crop, x0, y0, step = square_crop(plate, centre, side)
    points = models.landmarks(crop)
    if points is None and previous is not None:
        log.debug("the face mesh lost the tracked face; looking for it in the whole frame")
        return find_face(models, plate)
    if points is None:
        where = "is cut by the frame edge" if _touches_edge(box, width, height) else "is in profile or hidden"
        raise HeadMatteError(f"a face was found but its landmarks could not be fitted: the face {where}; "
                             "roto this frame's head matte by hand")
    xy = points[:, :2] * step + np.array([x0, y0])
    landmarks = FaceLandmarks(xy[list(FACE_OVAL)], score)
    _check_usable(landmarks, xy, width, height)
    return landmarks


def _check_usable(landmarks: FaceLandmarks, mesh: np.ndarray, width: int, height: int) -> None:
    """Refuse a profile (the jaw line of one side is hidden) and a face mostly outside the frame."""
    left, right = mesh[LEFT_CHEEK], mesh[RIGHT_CHEEK]
    across = right - left
    span = float(across @ across)
    nose = float((mesh[NOSE_TIP] - left) @ across) / span if span > 0 else 0.5
    if not PROFILE_LIMIT <= nose <= 1.0 - PROFILE_LIMIT:
        raise HeadMatteError(f"the face is in profile (nose at {nose:.2f} of the way between the cheeks; the "
                             "automatic matte needs both sides of the jaw): roto this frame's head matte by hand")
    x, y = landmarks.oval[:, 0], landmarks.oval[:, 1]
    outside = float(((x < 0) | (x >= width) | (y < 0) | (y >= height)).mean())
    if outside > CUT_LIMIT:
        raise HeadMatteError(f"the face is cut by the frame edge ({100 * outside:.0f}% of its outline is outside "
                             "the frame): roto this frame's head matte by hand")
