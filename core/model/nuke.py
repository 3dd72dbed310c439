"""A TorchScript wrapper in the shape Nuke's Inference node (via CatFileCreator) expects.

One input tensor 1×9×H×W: X, I_T^head and I_T^body (RGB each), scene-linear with Rec.709/sRGB
primaries. One output tensor 1×4×H×W: Y (linear RGB) and the predicted foreground M. Colour
conversion to the network's sRGB encoding and back happens inside; the size is padded to the
network's multiple and cropped back. ``tau`` is a plain float attribute, which a CatFileCreator
knob of the same name drives. See docs/nuke_inference.md.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ParamError
from .changer_net import ChangerNet
from .export import save_script, script_module
from .fpat import check_tau

log = logging.getLogger(__name__)

IN_CHANNELS = 9
OUT_CHANNELS = 4


def linear_to_srgb(x: Tensor) -> Tensor:
    """sRGB OETF (IEC 61966-2-1) on values clipped to [0,1], the network's input range."""
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(0.0031308).pow(1.0 / 2.4) - 0.055)


def srgb_to_linear(x: Tensor) -> Tensor:
    """Inverse of :func:`linear_to_srgb` (sRGB EOTF) on [0,1]."""
    return torch.where(x <= 0.04045, x / 12.92, ((x.clamp_min(0.04045) + 0.055) / 1.055).pow(2.4))


class NukeInferenceWrapper(nn.Module):
    """``forward(image 1×9×H×W linear)`` → 1×4×H×W: Y (linear RGB) and M; ``tau`` is an attribute."""

    def __init__(self, net: ChangerNet, tau: float = 0.5) -> None:
        super().__init__()
        check_tau(tau)
        self.net = net
        self.tau = float(tau)  # a float attribute stays a mutable attribute once scripted: the knob
        self.size_multiple = net.size_multiple
        self.in_channels = IN_CHANNELS

    def forward(self, image: Tensor) -> Tensor:
        if image.dim() != 4 or image.shape[1] != self.in_channels:
            raise ParamError(
                f"input: expected 1x{self.in_channels}xHxW (X rgb, head rgb, body rgb), got {list(image.shape)}"
            )
        if not 0.0 <= self.tau <= 1.0:
            raise ParamError(f"tau: expected a value in [0, 1], got {self.tau}")
        height, width = image.shape[2], image.shape[3]
        pad_h = (self.size_multiple - height % self.size_multiple) % self.size_multiple
        pad_w = (self.size_multiple - width % self.size_multiple) % self.size_multiple
        encoded = linear_to_srgb(image)
        if pad_h > 0 or pad_w > 0:
            encoded = F.pad(encoded, [0, pad_w, 0, pad_h], mode="replicate")
        tau = image.new_full((), self.tau)
        out = self.net.infer(encoded[:, 0:3], encoded[:, 3:6], encoded[:, 6:9], tau, -1)
        result = torch.cat([srgb_to_linear(out.y), out.mask], dim=1)
        return result[:, :, :height, :width]


def export_nuke(model: ChangerNet, path: Union[str, Path], tau: float = 0.5) -> Path:
    """Script a :class:`NukeInferenceWrapper` around a CPU copy of ``model`` and save it (``.pt``).

    Load the file in Nuke's CatFileCreator (channels in: 9, out: 4; a float knob named ``tau``).
    """
    wrapper = NukeInferenceWrapper(copy.deepcopy(model).to("cpu").eval(), tau)
    saved = save_script(script_module(wrapper), path)
    log.info("exported Nuke Inference model to %s", saved)
    return saved
