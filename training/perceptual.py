"""L_per: VGG19 features from a user-supplied weights file, or a weight-free fallback.

Nothing is downloaded. ``--vgg19 PATH`` must be a ``.safetensors`` file holding torchvision's
``vgg19`` ``features.{i}.weight/bias`` tensors (a torchvision state dict converted once with
``safetensors.torch.save_file``); other formats are refused because loading them would unpickle.
Without a file the loop warns loudly and uses :class:`LaplacianPyramidLoss`: the L1 distance of the
two images' Laplacian pyramids (5 levels), which, like VGG's early layers, compares edges and
texture at several scales and needs no learned weights.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from changer.core.errors import WeightsError

from .vgg import load_safetensors, vgg_features

log = logging.getLogger(__name__)

#: torchvision's vgg19 ``features`` layout: conv widths, "M" for max-pooling.
VGG19_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512)
#: Indices in ``features`` after which relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 are taken.
VGG19_TAPS = (1, 6, 11, 20, 29)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG19Loss(nn.Module):
    """``Σ_i ‖Φ_i(Y) − Φ_i(I_T)‖₁`` (mean per layer) over relu1_1 … relu5_1 of a frozen VGG19."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        path = Path(path)
        tensors = load_safetensors(path, "VGG19")
        features = nn.Sequential(*vgg_features(VGG19_LAYOUT))
        state = {k.removeprefix("features."): v for k, v in tensors.items() if k.startswith("features.")}
        try:
            features.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise WeightsError(f"{path}: not torchvision vgg19 'features.*' tensors: {exc}") from None
        self.features = features[: VGG19_TAPS[-1] + 1].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        a, b = (y - self.mean) / self.std, (target - self.mean) / self.std
        total = y.new_zeros(())
        for i, layer in enumerate(self.features):
            a, b = layer(a), layer(b)
            if i in VGG19_TAPS:
                total = total + F.l1_loss(a, b)
        return total


def laplacian_pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels (2×2 average pyramid) plus the low-pass residual, finest first."""
    bands = []
    current = image
    for _ in range(levels - 1):
        down = F.avg_pool2d(current, 2)
        bands.append(current - F.interpolate(down, size=current.shape[-2:], mode="bilinear", align_corners=False))
        current = down
    bands.append(current)
    return bands


class LaplacianPyramidLoss(nn.Module):
    """The fallback L_per: ``Σ_level mean|L_k(Y) − L_k(I_T)|`` over a 5-level Laplacian pyramid."""

    def __init__(self, levels: int = 5) -> None:
        super().__init__()
        self.levels = levels

    def forward(self, y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pairs = zip(laplacian_pyramid(y, self.levels), laplacian_pyramid(target, self.levels), strict=True)
        return sum((F.l1_loss(a, b) for a, b in pairs), y.new_zeros(()))


def perceptual_loss(vgg19: str | Path | None) -> nn.Module:
    """The L_per module: VGG19 from ``vgg19`` if given, else the fallback with a loud warning."""
    if vgg19:
        log.info("L_per: VGG19 features from %s", vgg19)
        return VGG19Loss(vgg19)
    log.warning(
        "L_per: NO VGG19 WEIGHTS GIVEN (--vgg19 PATH.safetensors); using the weight-free Laplacian-pyramid "
        "L1 fallback instead of the paper's perceptual loss"
    )
    return LaplacianPyramidLoss()
