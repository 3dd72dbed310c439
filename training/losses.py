"""The paper's objective (supplementary D) as a dict of named terms, and our reading of it.

``L = 10·L_rec + 10·L_hc + 10·L_mask + 1·L_per + 1·L_adv``. Where the print is ambiguous we chose:

* **L_rec**: Eq. 5 masks the L1 by ``M_S^head``; alone it would never supervise the region to
  inpaint ``M^ip`` (nor the pass-through outside). We use the sum of three mean L1 terms: over the
  full image, over ``M_S^head`` (Eq. 5 as printed, normalised by the mask's area) and over ``M^ip``
  (normalised likewise), so the head, the completion and the untouched rest all count.
* **L_hc**: Eq. 6 prints ``Y`` but the text says the ToRGB output; we supervise ToRGB with
  ``I_T^hc`` = the target without completion: the coloured head inside ``M_S^head``, green inside
  ``M^ip``, the target elsewhere (full-image mean L1).
* **L_mask**: L1 between the predicted ``M`` and the amodal body + neck matte, as Eq. 7 prints (the
  V-Net citation suggests Dice; the foreground covers a large part of the frame, so plain L1 is
  well-conditioned here).
* **L_per**: see :mod:`.perceptual` (VGG19 from a user file, else a Laplacian-pyramid L1).
* **L_fill** (ours, off by default): L1 between the *mean* colour of ``Y`` and of the ground truth
  over the body to fill (``M^ip ∩ M_gt``), per image. The per-pixel L_rec there is dominated by
  texture; a small mean-colour error is what shows as a band under the chin, so this term weighs it
  on its own.
* **L_adv**: D is trained with Eq. 9's BCE. Eq. 10's generator term ``−E[D(Y)]`` with a sigmoid D is
  bounded and its gradient vanishes exactly when D wins; we use the standard non-saturating form
  ``−E[log D(Y)]`` (its gradient has the same sign and does not vanish).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from changer.core.model import ChangerOutput
from changer.training.batch import Batch

EPS = 1e-6


@dataclass(frozen=True)
class LossWeights:
    """λ of each term (paper values by default)."""

    rec: float = 10.0
    hc: float = 10.0
    mask: float = 10.0
    per: float = 1.0
    adv: float = 1.0
    fill: float = 0.0


def masked_l1(a: torch.Tensor, b: torch.Tensor, matte: torch.Tensor) -> torch.Tensor:
    """Mean ``|a − b|`` inside a soft (N,1,H,W) matte: ``Σ m·|a−b| / (C·Σ m)``; 0 when the matte is empty."""
    channels = a.shape[1]
    return (matte * (a - b).abs()).sum() / (channels * matte.sum() + EPS)


def reconstruction_loss(y: torch.Tensor, target: torch.Tensor, source_head: torch.Tensor,
                        inpaint: torch.Tensor) -> torch.Tensor:
    """L_rec: full-image L1 + L1 in ``M_S^head`` (Eq. 5) + L1 in ``M^ip``."""
    return F.l1_loss(y, target) + masked_l1(y, target, source_head) + masked_l1(y, target, inpaint)


def head_colour_loss(to_rgb: torch.Tensor, target_hc: torch.Tensor) -> torch.Tensor:
    """L_hc: ToRGB against ``I_T^hc`` (mean L1)."""
    return F.l1_loss(to_rgb, target_hc)


def fill_colour_loss(y: torch.Tensor, target: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """L_fill: mean over images of ``|mean_region(Y) − mean_region(target)|`` (per channel, L1).

    Images whose region is empty count zero (a frame with nothing to fill has no band).
    """
    area = region.sum(dim=(2, 3))
    mean_y = (region * y).sum(dim=(2, 3)) / (area + EPS)
    mean_t = (region * target).sum(dim=(2, 3)) / (area + EPS)
    present = (area > 0.5).to(y.dtype)
    return ((mean_y - mean_t).abs().mean(dim=1, keepdim=True) * present).sum() / y.shape[0]


def mask_loss(mask: torch.Tensor, mask_gt: torch.Tensor) -> torch.Tensor:
    """L_mask: mean L1 between the predicted and the true foreground (Eq. 7)."""
    return F.l1_loss(mask, mask_gt)


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating ``−E[log D(Y)]`` on D's logits."""
    return F.softplus(-fake_logits).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 9: ``−E[log D(I_T)] − E[log(1 − D(Y))]`` on logits."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


class GeneratorLoss(nn.Module):
    """All generator terms as a dict (``total`` included); ``fake_logits`` None skips L_adv."""

    def __init__(self, perceptual: nn.Module, weights: LossWeights = LossWeights()) -> None:
        super().__init__()
        self.perceptual = perceptual
        self.weights = weights

    def forward(self, out: ChangerOutput, batch: Batch, fake_logits: torch.Tensor | None) -> dict[str, torch.Tensor]:
        terms = {
            "rec": reconstruction_loss(out.y, batch.target, batch.source_head, batch.inputs.inpaint),
            "hc": head_colour_loss(out.to_rgb, batch.target_hc),
            "mask": mask_loss(out.mask, batch.mask_gt),
            "per": self.perceptual(out.y, batch.target),
        }
        if self.weights.fill:
            terms["fill"] = fill_colour_loss(out.y, batch.target, batch.inputs.inpaint * batch.mask_gt)
        if fake_logits is not None:
            terms["adv"] = generator_adversarial_loss(fake_logits)
        w = self.weights
        terms["total"] = sum(getattr(w, name) * value for name, value in terms.items())
        return terms
