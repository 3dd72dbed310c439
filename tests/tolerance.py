"""One tolerance table for the whole suite.

The absolute error one elementwise op may add in a dtype (about ten units in the last place near 1).
A test scales it by the ops it chains and says why, instead of writing its own number.
"""

from __future__ import annotations

import torch

TOLERANCE = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}
