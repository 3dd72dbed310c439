"""Automatic head mattes from the plate alone: face landmarks, the keyer's alpha, a jaw cut and hair growth.

``head_matte(plate, settings)`` returns the head (face, ears, hair; no neck) of a green- or blue-screen
plate as a matte; a :class:`HeadTracker` carries the face through a shot and smooths its landmarks so
the neck line does not jitter. The face models come from the optional ``auto`` extra (mediapipe, its
bundled models only); without it every entry point raises one line naming the extra. How it works and
what it measures: ``docs/mattes.md``.
"""

from .face_models import EXTRA_INSTALL, mediapipe_version
from .landmarks import FACE_OVAL, FaceLandmarks
from .matte import MATTE_COMBINE_MODES, HeadMatteResult, HeadMatteSettings, combine_mattes, head_matte
from .smoothing import OneEuroFilter, OneEuroSettings
from .tracker import HeadTracker

__all__ = [
    "EXTRA_INSTALL",
    "FACE_OVAL",
    "MATTE_COMBINE_MODES",
    "FaceLandmarks",
    "HeadMatteResult",
    "HeadMatteSettings",
    "HeadTracker",
    "OneEuroFilter",
    "OneEuroSettings",
    "combine_mattes",
    "head_matte",
    "mediapipe_version",
]
