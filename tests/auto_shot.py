"""Helpers of the automatic head-matte tests: whether the face models are installed, and a run without them."""

from __future__ import annotations

import builtins
import importlib.util

import pytest

from changer.core.headmatte import EXTRA_INSTALL
from changer.core.headmatte import face_models as face_models_module

HAVE_MODELS = importlib.util.find_spec("mediapipe") is not None
needs_models = pytest.mark.skipif(not HAVE_MODELS, reason=f"the face models are not installed ({EXTRA_INSTALL})")
#: The smallest studio frame whose faces (about 40 px high) the face models still find on every seed used here.
FACE_SIZE = (160, 160)


def no_mediapipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import mediapipe`` fail for the rest of the test, as when the ``auto`` extra is not installed."""
    real = builtins.__import__

    def fake(name: str, *args: object, **kwargs: object) -> object:
        if name == "mediapipe" or name.startswith("mediapipe."):
            raise ImportError(f"No module named {name!r} (simulated)")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    face_models_module.face_models.cache_clear()
