"""The CHANGER network (figure b of the paper): encoder, Head Colorizer, FPAT Body Blender, decoder.

Import what you need from here; submodules hold one concept each.
"""

from .changer_net import ChangerNet, ChangerOutput, build_model, count_parameters
from .config import CONFIGS, ChangerConfig, get_config
from .fpat import binary_body, body_share, fpat_mask, patch_average

__all__ = [
    "CONFIGS",
    "ChangerConfig",
    "ChangerNet",
    "ChangerOutput",
    "binary_body",
    "body_share",
    "build_model",
    "count_parameters",
    "fpat_mask",
    "get_config",
    "patch_average",
]
