"""One frame in, one frame out: the CHANGER render pipeline as three pure stages.

``prepare`` (network stage) -> ``infer`` -> ``composite`` (comp stage), and :func:`render_frame`
composing them. See :mod:`.stages` for what each does and :mod:`.frame` for the data that flows.
"""

from .frame import FULL_FRAME_COVERAGE, FrameInputs, FrameResult, NetworkJob
from .settings import FrameSettings, MatteSettings
from .stages import composite, empty_mattes, infer, keyer_in_network_space, passthrough_result, prepare, render_frame
from .timing import StageTimer

__all__ = [
    "FULL_FRAME_COVERAGE",
    "FrameInputs",
    "FrameResult",
    "FrameSettings",
    "MatteSettings",
    "NetworkJob",
    "StageTimer",
    "composite",
    "empty_mattes",
    "infer",
    "keyer_in_network_space",
    "passthrough_result",
    "prepare",
    "render_frame",
]
