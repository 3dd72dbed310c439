"""A torch ``Dataset`` over the studio: item ``i`` of a seeded dataset is always the same sample."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from changer.core.errors import ParamError
from changer.training.studio.generate import make_pair, random_sample, sample_seed, self_reconstruction
from changer.training.studio.params import SCREENS
from changer.training.studio.renderer import check_size
from changer.training.studio.sample import MASKS, Sample

MODES = ("single", "pairs", "self")


def sample_tensors(sample: Sample, prefix: str = "") -> dict[str, torch.Tensor]:
    """The truth of one sample as a flat dict of (C, H, W) tensors (masks binary, plus soft coverage)."""
    out = {"plate": sample.plate, "alpha": sample.alpha, "fg": sample.fg, "spill": sample.spill,
           "screen": sample.screen, "noise": sample.noise, "labels": sample.labels.long(),
           "amodal": sample.amodal}
    out |= {f"mask_{name}": sample.mask(name) for name in MASKS}
    out |= {f"soft_{name}": sample.mask(name, soft=True) for name in MASKS}
    return {prefix + k: v for k, v in out.items()}


class StudioDataset(Dataset):
    """``length`` procedural samples from ``seed``; ``mode`` 'single', 'pairs' (source/target with
    different identities) or 'self' (source = target, CHANGER's self-supervised training)."""

    def __init__(self, length: int, size: int | tuple[int, int] = 256, seed: int = 0,
                 screen: str = "green", mode: str = "single") -> None:
        if not isinstance(length, int) or length < 1:
            raise ParamError(f"length: expected a positive integer, got {length!r}")
        if mode not in MODES:
            raise ParamError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
        if screen not in SCREENS:
            raise ParamError(f"screen: expected one of {', '.join(SCREENS)}, got {screen!r}")
        self.length, self.size, self.seed, self.screen, self.mode = length, check_size(size), seed, screen, mode

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        seed = sample_seed(self.seed, index)
        if self.mode == "single":
            return sample_tensors(random_sample(seed, self.size, self.screen))
        source, target = (make_pair if self.mode == "pairs" else self_reconstruction)(seed, self.size, self.screen)
        return sample_tensors(source, "source_") | sample_tensors(target, "target_")
