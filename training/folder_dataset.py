"""Real footage for training: a folder of frames with head / hair / neck / body mattes.

Layout (``<stem>`` is a frame's file name without extension; any format OpenImageIO reads)::

    root/
      frames/<stem>.png            RGB frame, sRGB-encoded display values
      mattes/<part>/<stem>.png     one-channel mattes, part in head, hair, neck, body (and optional alpha)
      labels/<stem>.png            OR a CelebAMask-HQ-style label map (integer ids, see LABEL_PARTS)
      parts/<stem>_<name>.png      OR CelebAMask-HQ per-part masks (skin, hair, l_ear, neck, cloth, ...)

Each frame needs one of the three matte sources (checked in that order). ``head`` includes the hair;
when only ``hair`` and face parts are given, ``head`` is their union. ``alpha`` (subject coverage)
defaults to head ∪ neck ∪ body. Chroma-key setting: the background is replaced by the canonical
green, ``I_T^green = α·I + (1 − α)·G``. Frames are centre-cropped to a square and resized.

Differences from the studio: real data has no amodal body (``M_gt`` is the visible neck ∪ body) and
no render of another identity at the same pose, so T_hair takes the hair mask of another frame of
the folder, moved and scaled so that its head's centroid and area match this head's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import torch
import torch.nn.functional as F

from changer.core.errors import ParamError
from changer.core.io import read_image
from changer.training.augment import colour_jitter, reference_theta
from changer.training.batch import IDENTITY, AugmentConfig, Item, on_green
from changer.training.h2 import HeadWarp, centroid, h2_augment
from changer.training.studio import sample_seed

PARTS = ("head", "hair", "neck", "body")
#: CelebAMask-HQ label ids (and per-part file names) grouped into our parts.
CELEBAMASK_NAMES = ("background", "skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear",
                    "mouth", "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth")
LABEL_PARTS = {
    "head": tuple(range(1, 16)),
    "hair": (13,),
    "neck": (16, 17),
    "body": (18,),
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".exr", ".tif", ".tiff", ".dpx")


def read_label_map(path: Path) -> torch.Tensor:
    """An integer (H,W) label map in the file's native integer values (not normalised to [0,1])."""
    buf = oiio.ImageBuf(str(path))
    if buf.has_error:
        raise ParamError(f"{path}: cannot read label map: {buf.geterror()}")
    pixels = buf.get_pixels(buf.spec().format)
    return torch.from_numpy(np.ascontiguousarray(pixels[..., 0]).astype(np.int64))


def _square(image: torch.Tensor, size: int, mode: str) -> torch.Tensor:
    _, h, w = image.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = image[:, top : top + side, left : left + side][None]
    if side == size:
        return crop[0]
    kwargs = {"align_corners": False, "antialias": True} if mode == "bilinear" else {}
    return F.interpolate(crop, size=(size, size), mode=mode, **kwargs)[0].clamp(0, 1)


class FolderDataset:
    """Frames and mattes under ``root``; :meth:`item` gives training items like the studio's."""

    def __init__(self, root: str | Path, size: int = 256, seed: int = 0,
                 augment: AugmentConfig = AugmentConfig()) -> None:
        self.root = Path(root)
        frames = self.root / "frames"
        if not frames.is_dir():
            raise ParamError(f"{self.root}: expected a frames/ folder (see training/README.md for the layout)")
        self.frames = sorted(p for p in frames.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.frames:
            raise ParamError(f"{frames}: no frames found")
        self.size, self.seed, self.augment = size, seed, augment

    def __len__(self) -> int:
        return len(self.frames)

    def _find(self, folder: Path, stem: str) -> Path | None:
        for suffix in IMAGE_SUFFIXES:
            if (folder / f"{stem}{suffix}").is_file():
                return folder / f"{stem}{suffix}"
        return None

    def mattes(self, index: int) -> dict[str, torch.Tensor]:
        """The (1,H,W) head, hair, neck, body and alpha mattes of frame ``index`` at full size."""
        stem = self.frames[index].stem
        per_part = {p: self._find(self.root / "mattes" / p, stem) for p in (*PARTS, "alpha")}
        if per_part["hair"] and per_part["neck"] and per_part["body"] and (per_part["head"] or per_part["hair"]):
            out = {p: read_image(path, expect_channels=1)[0] for p, path in per_part.items() if path}
            out.setdefault("head", out["hair"])
        elif (labels := self._find(self.root / "labels", stem)) is not None:
            ids = read_label_map(labels)
            out = {p: torch.isin(ids, torch.tensor(v)).float()[None] for p, v in LABEL_PARTS.items()}
        else:
            out = self._celebamask_parts(stem)
        out["head"] = torch.maximum(out["head"], out["hair"])
        if "alpha" not in out:
            out["alpha"] = torch.maximum(torch.maximum(out["head"], out["neck"]), out["body"])
        return out

    def _celebamask_parts(self, stem: str) -> dict[str, torch.Tensor]:
        folder = self.root / "parts"
        found = {n: self._find(folder, f"{stem}_{n}") for n in CELEBAMASK_NAMES[1:]}
        found = {n: p for n, p in found.items() if p is not None}
        if not found:
            raise ParamError(f"{self.frames[0].parent.parent}: no mattes for frame {stem!r} "
                             "(expected mattes/<part>/, labels/ or parts/<stem>_<name>.png)")
        masks = {n: read_image(p)[0][:1] for n, p in found.items()}
        like = next(iter(masks.values()))
        out = {}
        for part, ids in LABEL_PARTS.items():
            planes = [masks[CELEBAMASK_NAMES[i]] for i in ids if CELEBAMASK_NAMES[i] in masks]
            out[part] = torch.stack(planes).amax(0) if planes else torch.zeros_like(like)
        return out

    def load(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Frame ``index`` and its mattes, square at ``size``."""
        frame = read_image(self.frames[index], expect_channels=(3, 4))[0][:3]
        mattes = self.mattes(index)
        for name, m in mattes.items():
            if m.shape[-2:] != frame.shape[-2:]:
                raise ParamError(f"{self.frames[index]}: matte {name!r} is {tuple(m.shape[-2:])}, "
                                 f"frame is {tuple(frame.shape[-2:])}")
        squared = {k: _square(v, self.size, "bilinear") for k, v in mattes.items()}
        return _square(frame.clamp(0, 1), self.size, "bilinear"), squared

    def item(self, index: int) -> Item:
        """Training item ``index`` (any non-negative integer; frames repeat, augmentations do not)."""
        item_seed = sample_seed(self.seed, index)
        gen = torch.Generator().manual_seed(item_seed)
        rng = np.random.default_rng([item_seed, 1])
        frame, mattes = self.load(index % len(self))
        alpha = mattes["alpha"]
        fg = colour_jitter(frame, gen, self.augment.colour_jitter) if self.augment.colour_jitter > 0 else frame
        head = mattes["head"]
        if self.augment.h2:
            hair = None
            if rng.random() < self.augment.hair_probability and len(self) > 1:
                other = int(rng.integers(0, len(self) - 1))
                other += other >= index % len(self)
                _, other_mattes = self.load(other)
                hair = align_matte(other_mattes["hair"], other_mattes["head"], head)
            partner = h2_augment(head, hair, gen, HeadWarp())
        else:
            partner = head
        theta = reference_theta(gen) if self.augment.reference_jitter else IDENTITY
        mask_gt = torch.maximum(mattes["neck"], mattes["body"])
        target = on_green(fg, alpha)
        # The grey source head must not carry the answer's lightness: its own jitter (see training.batch).
        jitter = self.augment.source_jitter
        source = on_green(colour_jitter(frame, gen, jitter), alpha) if jitter > 0 else target
        return Item(target, alpha, source, target * head, head, partner, mask_gt, theta)


def align_matte(matte: torch.Tensor, its_head: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
    """Move and scale ``matte`` so that ``its_head``'s centroid and area match ``head``'s."""
    (cx0, cy0), (cx1, cy1) = centroid(its_head), centroid(head)
    area0, area1 = float(its_head.sum()), float(head.sum())
    if area0 <= 0 or area1 <= 0:
        return torch.zeros_like(head)
    s = (area1 / area0) ** 0.5
    # output p samples input q = c0 + (p − c1)/s
    theta = torch.tensor([[[1 / s, 0.0, cx0 - cx1 / s], [0.0, 1 / s, cy0 - cy1 / s]]], dtype=matte.dtype)
    grid = F.affine_grid(theta, [1, 1, *head.shape[-2:]], align_corners=False)
    return F.grid_sample(matte[None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0]
