"""One frame in, one frame out: the CHANGER render pipeline as three pure stages.

``prepare`` -> ``infer`` -> ``composite`` (whose parts a host may cache: the network's result at plate
resolution, :mod:`.place`, and the artist key of the plate, :mod:`.plate`). See
:mod:`.stages` for what each does and :mod:`.frame` for the data that flows. The node's effect
(:mod:`changer.plugin.effect`) is the one driver: it runs the stages and caches their products.
"""

from .classical import classical_output, network_neck
from .frame import FULL_FRAME_COVERAGE, FrameInputs, FrameResult, NetworkJob
from .place import Placement, place
from .plate import KEY_LAYERS, PlateKey, PlateScreen, key_plate, key_result, keyer_in_network_space, plate_screen
from .settings import FrameSettings, GradeSettings, MatteSettings
from .stages import alignment_mode, composite, empty_mattes, infer, passthrough_result, prepare
from .timing import StageTimer

__all__ = [
    "FULL_FRAME_COVERAGE",
    "KEY_LAYERS",
    "FrameInputs",
    "FrameResult",
    "FrameSettings",
    "GradeSettings",
    "MatteSettings",
    "NetworkJob",
    "PlateKey",
    "PlateScreen",
    "Placement",
    "StageTimer",
    "alignment_mode",
    "classical_output",
    "network_neck",
    "composite",
    "empty_mattes",
    "infer",
    "key_plate",
    "key_result",
    "keyer_in_network_space",
    "passthrough_result",
    "place",
    "plate_screen",
    "prepare",
]
