"""One rendered studio frame with its exact ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from changer.core.errors import ParamError
from changer.training.studio.params import Identity, Pose, Studio
from changer.training.studio.rig import BACKGROUND, BODY, EARS, FACE, HAIR, LABELS, NECK

MASKS = {
    "background": (BACKGROUND,),
    "body": (BODY,),
    "neck": (NECK,),
    "face": (FACE,),
    "ears": (EARS,),
    "hair": (HAIR,),
    "head": (FACE, EARS, HAIR),
    "foreground": (BODY, NECK, FACE, EARS, HAIR),
}
"""Mask name -> label ids it unites. ``face`` is skin and features without the ears; ``head`` is the
paper's head mask (face + ears + hair); ``body`` is the clothed torso; ``neck`` includes the chest
skin a neckline shows."""


@dataclass
class Sample:
    """A studio frame and its truth. Images are float32 (C, H, W) in sRGB-encoded display [0, 1].

    The plate obeys ``plate = alpha * (fg + spill) + (1 - alpha) * screen + noise`` exactly (up to
    float rounding); ``noise`` already includes the clipping of the plate to [0, 1] and any codec damage.
    """

    plate: torch.Tensor        # (3, H, W) what the camera saw
    alpha: torch.Tensor        # (1, H, W) subject coverage
    fg: torch.Tensor           # (3, H, W) unpremultiplied subject colour without spill (0 where alpha = 0)
    spill: torch.Tensor        # (3, H, W) screen light bounced onto the subject, unpremultiplied
    screen: torch.Tensor       # (3, H, W) the screen alone as lit in this frame (shadow included)
    shadow: torch.Tensor       # (1, H, W) multiplicative shadow on the screen (1 = none)
    noise: torch.Tensor        # (3, H, W) sensor noise actually added
    parts: torch.Tensor        # (len(LABELS), H, W) visible coverage per label; sums to 1
    labels: torch.Tensor       # (1, H, W) uint8 label map: argmax of ``parts``
    amodal: torch.Tensor       # (1, H, W) body + neck coverage ignoring occlusion by head and hair
    identity: Identity
    pose: Pose
    studio: Studio
    noise_seed: int
    extra: dict = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.plate.shape[-1], self.plate.shape[-2]

    def mask(self, name: str, soft: bool = False) -> torch.Tensor:
        """A (1, H, W) float mask: binary from the label map, or soft visible coverage."""
        if name == "amodal":
            return self.amodal if soft else (self.amodal >= 0.5).float()
        if name not in MASKS:
            raise ParamError(f"mask name: expected one of {sorted([*MASKS, 'amodal'])}, got {name!r}")
        ids = MASKS[name]
        if soft:
            return self.parts[list(ids)].sum(0, keepdim=True)
        out = torch.zeros_like(self.alpha, dtype=torch.bool)
        for i in ids:
            out |= self.labels == i
        return out.float()

    @property
    def masks(self) -> dict[str, torch.Tensor]:
        """Every binary mask by name (see ``MASKS``, plus ``amodal``)."""
        return {name: self.mask(name) for name in [*MASKS, "amodal"]}

    def over(self, background: torch.Tensor) -> torch.Tensor:
        """The subject (spill-free) composited over another background plate of the same size."""
        if background.shape[-3:] != self.fg.shape:
            raise ParamError(f"background: expected shape (3, {self.fg.shape[1]}, {self.fg.shape[2]}), "
                             f"got {tuple(background.shape)}")
        return self.fg * self.alpha + background * (1.0 - self.alpha)

    def metadata(self) -> dict:
        """JSON-ready description: re-rendering it reproduces this sample."""
        return {"identity": self.identity.to_dict(), "pose": self.pose.to_dict(), "studio": self.studio.to_dict(),
                "noise_seed": self.noise_seed, "labels": list(LABELS), **self.extra}
