"""LPIPS (Zhang et al. 2018, VGG variant) from a user-supplied ``.safetensors`` file; nothing downloaded.

The file must hold the ``lpips`` package's ``LPIPS(net='vgg')`` state dict converted to safetensors:
``net.slice{1..5}.{i}.weight/bias`` (torchvision vgg16 ``features`` indices) and
``lin{0..4}.model.1.weight``. Images are [0,1] RGB; LPIPS sees them in [-1,1] after its scaling layer.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import torch
from torch import nn

from changer.core.errors import WeightsError

from .vgg import load_safetensors, vgg_features

#: vgg16 ``features``: conv widths and "M" pooling; slices end after relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
SLICE_ENDS = (4, 9, 16, 23, 30)
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)


class LPIPS(nn.Module):
    """Per-image LPIPS distance of (N,3,H,W) images in [0,1]."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        path = Path(path)
        tensors = load_safetensors(path, "LPIPS")
        layers = vgg_features(VGG16_LAYOUT)
        bounds = (0, *SLICE_ENDS)
        self.slices = nn.ModuleList(nn.Sequential(*layers[a:b]) for a, b in pairwise(bounds))
        widths = (64, 128, 256, 512, 512)
        self.lins = nn.ModuleList(nn.Conv2d(w, 1, 1, bias=False) for w in widths)
        state = {}
        for k, (a, b) in enumerate(pairwise(bounds)):
            for i in range(a, b):
                for kind in ("weight", "bias"):
                    name = f"net.slice{k + 1}.{i}.{kind}"
                    if name in tensors:
                        state[f"slices.{k}.{i - a}.{kind}"] = tensors[name]
            lin = f"lin{k}.model.1.weight"
            if lin in tensors:
                state[f"lins.{k}.weight"] = tensors[lin]
        try:
            self.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise WeightsError(f"{path}: not an lpips LPIPS(net='vgg') state dict: {exc}") from None
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False).eval()

    @torch.no_grad()
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        fa, fb = ((2 * a - 1) - self.shift) / self.scale, ((2 * b - 1) - self.shift) / self.scale
        total = a.new_zeros(a.shape[0])
        for block, lin in zip(self.slices, self.lins, strict=True):
            fa, fb = block(fa), block(fb)
            na = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            nb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + lin((na - nb) ** 2).mean((1, 2, 3))
        return total
