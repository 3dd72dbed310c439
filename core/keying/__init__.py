"""Chroma keying of green- and blue-screen plates (and of the network's output on green).

``key(plate, params)`` returns alpha, the despilled foreground (straight and premultiplied) and the
plate laid onto the canonical green, ``I_T^green``. Parameters, defaults and ranges live in
:mod:`.params`; how the key is built is in :mod:`.keyer`, its per-pixel maths in :mod:`.pixel`.
"""

from .clean_plate import estimate_clean_plate
from .keyer import Backend, Keyer, KeyResult, key
from .params import CANONICAL_GREEN, KeyerParams, ParamSpec, param_specs
from .pixel import finish, screen_matte
from .screen import estimate_screen_color

__all__ = [
    "CANONICAL_GREEN",
    "Backend",
    "KeyResult",
    "Keyer",
    "KeyerParams",
    "ParamSpec",
    "estimate_clean_plate",
    "estimate_screen_color",
    "finish",
    "key",
    "param_specs",
    "screen_matte",
]
