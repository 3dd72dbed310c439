"""Colour management through OpenColorIO 2.x.

Config: :func:`get_config` resolves an explicit path/URI, else ``$OCIO``, else
:data:`DEFAULT_CONFIG` (``ocio://cg-config-v2.2.0_aces-v1.3_ocio-v2.4``), and returns a
:class:`ColorConfig` (config, source, name, number of colourspaces, working and network spaces).

Transforms on torch tensors (C,H,W) or (N,C,H,W), first 3 channels only, never clamped:
:func:`to_network` (working -> network), :func:`from_network`, :func:`convert`;
:func:`clamp_network` clamps explicitly. ``method="ocio"`` runs OCIO's CPU processor,
``"lut"`` a baked 1D-3D-1D LUT in torch on the tensor's device (see :mod:`.lut`), ``"auto"``
picks OCIO for CPU tensors and the LUT elsewhere.

Measured on CPU, float32, default 65^3 LUT, ACEScg <-> sRGB Encoded Rec.709, OCIO 2.6.0, torch 2.14
(the tests enforce the constants; ``benchmarks/color.py`` reprints the figures). CUDA not yet
measured (no GPU was available when this was written; the CUDA tests skip with a reason):

* LUT vs OCIO, working -> network, on working values whose network value lies in [0,1]^3
  (65536 random network values + grey/saturated sweeps mapped to working by OCIO): max abs
  error 7.9e-6 (33^3: 8.2e-6). Contract :data:`LUT_TOLERANCE` = 2e-3; tests also guard 1e-4.
* network -> working on [0,1]^3: 8.0e-6 (an identity pre-shaper would give 9.6e-5, 3.7e-4 at 33^3).
* HDR (absolute error below 1, relative above; :data:`LUT_HDR_TOLERANCE` = 1e-3 on [-1, 64]^3):
  saturated working values in [0,64]^3 1.8e-4; negatives in [-1,1]^3 8e-6; greys 1e-4..65504
  6e-6; near-neutral (+-10%) up to 1e4 6e-6. Fully saturated per-channel values spread over
  [0.1, 1e4] reach 3e-2 (float32 cancellation far outside the grid; OCIO itself is 4e-4 off
  exact float64 maths there).
* float16 (computed in float32): 2.4e-4 vs OCIO on the same fp16 input, i.e. the output's own
  rounding (:data:`LUT_TOLERANCE_FP16`); against the float32 input it is 4.6e-3, the fp16
  quantisation of the input amplified by the sRGB slope near black. bfloat16: 2e-3.
* Round trips working -> network -> working on in-gamut values (<= ~1): OCIO 3.6e-5, LUT 4.0e-5
  max abs (:data:`ROUND_TRIP_TOLERANCE` = 1e-4; OCIO's own float32 maths sets the floor).
* Speed, 1920x1080, 2 CPU threads (shared machine, runs varied 2x): OCIO CPU processor 72-184
  ms/frame, LUT path on CPU 500-1180 ms, i.e. 6-10x slower in the same run (grid_sample and
  gathers on CPU), hence ``"auto"`` = OCIO on CPU. Baking both LUTs: 0.3-0.9 s, once per process.
"""

from __future__ import annotations

from changer.core.color import lut as _lut
from changer.core.color.config import (
    DEFAULT_CONFIG,
    DEFAULT_NETWORK_SPACE,
    DEFAULT_WORKING_SPACE,
    OCIO_ENV,
    ColorConfig,
    ConfigLike,
    clear_config_caches,
    default_display_view,
    display_view_processor,
    get_config,
    resolve_config_source,
)
from changer.core.color.lut import (
    LUT_HDR_TOLERANCE,
    LUT_SIZE,
    LUT_TOLERANCE,
    BakedLut,
    bake,
)
from changer.core.color.transform import (
    METHODS,
    apply_ocio,
    clamp_network,
    convert,
    from_network,
    to_network,
)

#: LUT path on float16 input vs OCIO on the same (fp16-rounded) input, network values in [0,1]:
#: dominated by float16 rounding of the output (half an ulp below 1 is 2.4e-4).
LUT_TOLERANCE_FP16 = 5e-4
#: working -> network -> working on in-gamut working values (max abs, values <= 1), both paths.
ROUND_TRIP_TOLERANCE = 1e-4


def clear_caches() -> None:
    """Forget loaded configs, processors and baked LUTs."""
    clear_config_caches()
    _lut._bake.cache_clear()


__all__ = [
    "DEFAULT_CONFIG", "DEFAULT_NETWORK_SPACE", "DEFAULT_WORKING_SPACE", "OCIO_ENV", "LUT_SIZE",
    "LUT_TOLERANCE", "LUT_HDR_TOLERANCE", "LUT_TOLERANCE_FP16", "ROUND_TRIP_TOLERANCE",
    "METHODS", "ColorConfig", "ConfigLike", "BakedLut", "get_config", "resolve_config_source",
    "default_display_view", "display_view_processor", "to_network", "from_network", "convert",
    "clamp_network", "apply_ocio", "bake", "clear_caches",
]
