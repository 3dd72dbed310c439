"""Chroma keying of green- and blue-screen plates (and of the network's output on green).

``key(plate, params)`` returns alpha, the despilled foreground (straight and premultiplied) and the
plate laid onto the canonical green, ``I_T^green``. Parameters, defaults and ranges live in
:mod:`.params`; the math is documented in :mod:`.keyer`.
"""

from .clean_plate import estimate_clean_plate
from .keyer import Backend, Keyer, KeyResult, finish, key, key_network_output, resolve_screen, screen_matte
from .params import CANONICAL_GREEN, KeyerParams, ParamSpec, param_specs
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
    "key_network_output",
    "param_specs",
    "resolve_screen",
    "screen_matte",
]
