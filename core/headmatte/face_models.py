"""The two face models the head matte runs, both bundled inside the mediapipe wheel: nothing is downloaded.

mediapipe is an optional dependency (the ``auto`` extra, see ``pyproject.toml``): it is imported on
first use, so the rest of CHANGER installs and runs without it, and its absence is one line naming the
extra. Only the legacy ``solutions`` graphs are used, because they load ``.tflite`` files shipped in
the wheel: the full-range face detector (``face_detection_full_range_sparse.tflite``, small faces in
whole frames), the face mesh (``face_landmark.tflite`` with its own short-range detector, run on a
crop around the face) and the selfie segmenter (``selfie_segmentation.tflite``: the person of a plate
that is not on a screen, such as an actor's portrait). Pose and the newer ``tasks`` API are not used:
their models are fetched from the internet on first use.

TFLite and absl write start-up chatter to file descriptor 2 from C++, some of it from the graphs' own
threads after their constructor returns. It is silenced while the models are built, warmed up (one
run each, so every calculator has opened) and run (:func:`quiet_stderr`), so that a command's one-line
errors stay one line.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import MissingExtraError

log = logging.getLogger(__name__)
_LIBC = ctypes.CDLL(None)

#: What a user types to get the models.
EXTRA_INSTALL = 'pip install -e ".[auto]"'
#: The bundled model files the graphs below load, relative to the mediapipe package.
BUNDLED_MODELS = (
    "modules/face_detection/face_detection_full_range_sparse.tflite",
    "modules/face_detection/face_detection_short_range.tflite",
    "modules/face_landmark/face_landmark.tflite",
    "modules/selfie_segmentation/selfie_segmentation.tflite",
)


def import_mediapipe() -> ModuleType:
    """The mediapipe module, or :class:`MissingExtraError` naming the extra when it cannot be imported."""
    try:
        import mediapipe
        from mediapipe.python.solutions import (  # noqa: F401  (the graphs used below)
            face_detection,
            face_mesh,
            selfie_segmentation,
        )
    except ImportError as exc:
        raise MissingExtraError(f"automatic head mattes need the optional face models: {EXTRA_INSTALL} "
                                f"(mediapipe cannot be imported: {exc})") from None
    return mediapipe


def bundled_model_paths(mediapipe: ModuleType) -> list[Path]:
    """The model files inside the installed wheel; MissingExtraError when a release without them is installed."""
    root = Path(mediapipe.__file__).parent
    paths = [root / name for name in BUNDLED_MODELS]
    missing = [str(p.relative_to(root)) for p in paths if not p.is_file()]
    if missing:
        raise MissingExtraError(f"mediapipe {getattr(mediapipe, '__version__', '?')} at {root} lacks the bundled "
                                f"face models {', '.join(missing)}; install the pinned release: {EXTRA_INSTALL}")
    return paths


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """File descriptor 2 sent to /dev/null for the duration (the C++ side of mediapipe logs there, through C
    stdio buffers that are flushed before it is restored)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        _LIBC.fflush(None)
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@dataclass
class FaceModels:
    """The face detector (whole frame), the face mesh (crop around one face) and the person segmenter, built once
    per process."""

    detector: Any
    mesh: Any
    segmenter: Any

    def detect(self, image: np.ndarray) -> list[tuple[float, tuple[float, float, float, float]]]:
        """(score, (x0, y0, x1, y1) in pixels) of every face in an (H,W,3) uint8 RGB image, best first."""
        height, width = image.shape[:2]
        with quiet_stderr():
            found = self.detector.process(image).detections or []
        faces = []
        for detection in found:
            box = detection.location_data.relative_bounding_box
            x0, y0 = box.xmin * width, box.ymin * height
            faces.append((float(detection.score[0]), (x0, y0, x0 + box.width * width, y0 + box.height * height)))
        return sorted(faces, key=lambda face: -face[0])

    def landmarks(self, image: np.ndarray) -> np.ndarray | None:
        """(468, 3) mesh landmarks of the face in an (H,W,3) uint8 RGB crop, x and y in the crop's pixels; None
        when the mesh finds no face."""
        height, width = image.shape[:2]
        with quiet_stderr():
            found = self.mesh.process(image).multi_face_landmarks
        if not found:
            return None
        points = np.array([(p.x, p.y, p.z) for p in found[0].landmark], dtype=np.float64)
        points[:, 0] *= width
        points[:, 1] *= height
        points[:, 2] *= width
        return points

    def person(self, image: np.ndarray) -> np.ndarray:
        """(H,W) float32 in [0,1]: how much each pixel of an (H,W,3) uint8 RGB image is a person (soft, coarse at
        hair: the segmenter runs at 256x256)."""
        with quiet_stderr():
            mask = self.segmenter.process(image).segmentation_mask
        return np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)


@lru_cache(maxsize=1)
def face_models(min_confidence: float = 0.5) -> FaceModels:
    """The bundled detector, mesh and segmenter (mediapipe imported here, on first use)."""
    mediapipe = import_mediapipe()
    paths = bundled_model_paths(mediapipe)
    log.debug("face models: mediapipe %s, %s", mediapipe.__version__, ", ".join(p.name for p in paths))
    solutions = mediapipe.solutions
    with quiet_stderr():
        detector = solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=min_confidence)
        mesh = solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False,
                                            min_detection_confidence=min_confidence)
        segmenter = solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        # The graphs open their calculators (and log) on their own threads after construction returns; one
        # run each waits for that, so none of it lands outside this block.
        blank = np.zeros((64, 64, 3), dtype=np.uint8)
        detector.process(blank)
        mesh.process(blank)
        segmenter.process(blank)
    return FaceModels(detector, mesh, segmenter)


def mediapipe_version() -> str:
    """The installed mediapipe's version (part of a matte sequence's hash: another release, other landmarks);
    MissingExtraError when it or its bundled models are missing."""
    mediapipe = import_mediapipe()
    bundled_model_paths(mediapipe)
    return str(mediapipe.__version__)
