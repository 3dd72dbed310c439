"""The folder dataset for real footage: per-part mattes, label maps, CelebAMask-HQ part files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
import torch

from changer.core.compose import canonical_green
from changer.core.errors import ParamError
from changer.core.io import write_image
from changer.training.batch import AugmentConfig
from changer.training.config import config_from_dict
from changer.training.distributed import World
from changer.training.folder_dataset import FolderDataset, align_matte
from changer.training.loop import StepBatches

H, W = 64, 80  # not square: the dataset crops the centre


def _write(path: Path, pixels: torch.Tensor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, pixels)


def _parts(shift: int = 0) -> dict[str, torch.Tensor]:
    head = torch.zeros(1, H, W)
    head[:, 8:28, 30 + shift : 50 + shift] = 1.0
    hair = torch.zeros(1, H, W)
    hair[:, 8:14, 30 + shift : 50 + shift] = 1.0
    neck = torch.zeros(1, H, W)
    neck[:, 28:36, 36 + shift : 44 + shift] = 1.0
    body = torch.zeros(1, H, W)
    body[:, 36:, 20:60] = 1.0
    return {"head": head, "hair": hair, "neck": neck, "body": body}


def _frame(seed: int) -> torch.Tensor:
    return torch.rand(3, H, W, generator=torch.Generator().manual_seed(seed)) * 0.5 + 0.25


def _write_frames(root: Path, n: int = 2) -> None:
    for i in range(n):
        _write(root / "frames" / f"f{i:03d}.png", _frame(i))


def _per_part_folder(root: Path) -> Path:
    _write_frames(root)
    for i in range(2):
        for name, matte in _parts(shift=4 * i).items():
            _write(root / "mattes" / name / f"f{i:03d}.png", matte)
    return root


def test_per_part_mattes_and_chroma_key(tmp_path: Path) -> None:
    ds = FolderDataset(_per_part_folder(tmp_path), size=64, seed=1, augment=AugmentConfig(h2=False, colour_jitter=0.0))
    assert len(ds) == 2
    item = ds.item(0)
    assert item.target.shape == (3, 64, 64) and item.source_head.shape == (1, 64, 64)
    green = canonical_green(item.target[None])[0]
    background = item.alpha[0] < 1e-6
    assert torch.allclose(item.target[:, background], green.expand(3, 64, 64)[:, background], atol=1e-6)
    # centre crop of 80 -> 64 drops 8 columns on the left
    assert float(item.source_head[0, 10, 30 - 8 + 2]) == pytest.approx(1.0, abs=1e-3)
    assert torch.allclose(item.mask_gt, torch.maximum(ds.load(0)[1]["neck"], ds.load(0)[1]["body"]))
    assert torch.equal(item.union_partner, item.source_head)


def test_label_maps_celebamask_ids(tmp_path: Path) -> None:
    _write_frames(tmp_path)
    for i in range(2):
        labels = np.zeros((H, W), np.uint8)
        labels[8:28, 30:50] = 1  # skin
        labels[8:14, 30:50] = 13  # hair
        labels[28:36, 36:44] = 17  # neck
        labels[36:, 20:60] = 18  # cloth

        (tmp_path / "labels").mkdir(exist_ok=True)
        out = oiio.ImageOutput.create("png")
        out.open(str(tmp_path / "labels" / f"f{i:03d}.png"), oiio.ImageSpec(W, H, 1, "uint8"))
        out.write_image(np.ascontiguousarray(labels[..., None]))
        out.close()
    ds = FolderDataset(tmp_path, size=64)
    mattes = ds.mattes(0)
    expected = _parts()
    for name in ("head", "hair", "neck", "body"):
        assert torch.equal(mattes[name], expected[name]), name


def test_celebamask_part_files(tmp_path: Path) -> None:
    _write_frames(tmp_path, 1)
    parts = _parts()
    skin = parts["head"] - parts["hair"]
    for name, matte in (("skin", skin), ("hair", parts["hair"]), ("neck", parts["neck"]), ("cloth", parts["body"])):
        _write(tmp_path / "parts" / f"f000_{name}.png", matte.expand(3, -1, -1))
    mattes = FolderDataset(tmp_path, size=64).mattes(0)
    for name in ("head", "hair", "neck", "body"):
        assert torch.equal(mattes[name], parts[name]), name


def test_folder_training_batches_with_h2(tmp_path: Path) -> None:
    root = _per_part_folder(tmp_path)
    cfg = config_from_dict({"data": {"source": "folder", "folder": str(root), "size": 64, "batch_size": 3}})
    batch = StepBatches(cfg, World())[0]
    assert batch.inputs.x.shape == (3, 3, 64, 64)
    assert torch.all(batch.inputs.union >= batch.source_head - 1e-6)


def test_align_matte_moves_to_the_head() -> None:
    other_head, head = torch.zeros(1, 32, 32), torch.zeros(1, 32, 32)
    other_head[:, 4:12, 4:12] = 1.0
    head[:, 16:24, 16:24] = 1.0
    moved = align_matte(other_head, other_head, head)
    assert torch.allclose(moved, head, atol=1e-5)


def test_missing_frames_folder(tmp_path: Path) -> None:
    with pytest.raises(ParamError, match="frames/"):
        FolderDataset(tmp_path)
