"""What the VGG-based losses share: torchvision-layout feature stacks and safe weight loading.

Both L_per (VGG19) and LPIPS (VGG16) take a user-supplied ``.safetensors`` file; other formats are
refused because loading them would unpickle.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from changer.core.errors import WeightsError


def vgg_features(layout: tuple[int | str, ...]) -> list[nn.Module]:
    """torchvision's ``features`` modules for a layout of conv widths and "M" (2x2 max-pool)."""
    layers: list[nn.Module] = []
    width = 3
    for item in layout:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(width, int(item), 3, padding=1), nn.ReLU()]
            width = int(item)
    return layers


def load_safetensors(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file; WeightsError naming ``what`` and the path otherwise."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise WeightsError(f"{path}: {what} weights must be a .safetensors file (other formats would be unpickled)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path}: cannot read {what} weights: {exc}") from None
