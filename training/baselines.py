"""Classical baselines for the evaluation table, run on exactly the network's inputs.

* :func:`naive_paste`: the grey source head coloured by a per-channel mean/std transfer from the
  reference head ``I_T^head``; the region to inpaint stays green (what X holds there).
* :func:`classical_inpaint`: the head coloured by Reinhard's Lab transfer from ``I_T^head``, then the
  hole ``M^ip`` filled by OpenCV inpainting (Telea, or Navier–Stokes) from its surroundings (the
  target's body, neck and screen).
* :func:`node_classical`: the node's ``method = classical`` (:mod:`changer.core.pipeline.classical`):
  the grey head grade-matched to the double's face skin in ``I_T^head`` (:mod:`changer.core.grade`),
  the neck bridge filled push-pull from the body's skin, the rest of the hole left green. The node grades
  the *colour* source plate; here only the grey head is given, as to every row, and the head union stands
  in for the double's head matte.

OpenCV (``opencv-python-headless``) is imported lazily: only evaluation needs it.
"""

from __future__ import annotations

import numpy as np
import torch

from changer.core.compose import NetInputs
from changer.core.errors import ChangerError
from changer.core.grade import grade_match, skin_stats
from changer.core.pipeline.classical import classical_y

EPS = 1e-6


def _head_stats(image: torch.Tensor, matte: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of (N,C,H,W) ``image`` inside (N,1,H,W) ``matte``."""
    w = matte / matte.flatten(1).sum(1).clamp_min(EPS).view(-1, 1, 1, 1)
    mean = (image * w).sum((2, 3), keepdim=True)
    var = (((image - mean) ** 2) * w).sum((2, 3), keepdim=True)
    return mean, var.sqrt()


def _reference_matte(head: torch.Tensor) -> torch.Tensor:
    """Where ``I_T^head`` holds the head (it is black elsewhere)."""
    return (head.amax(1, keepdim=True) > 1e-3).to(head.dtype)


def naive_paste(inputs: NetInputs, source_head: torch.Tensor) -> torch.Tensor:
    """X with its grey head recoloured by mean/std transfer from ``I_T^head``; the hole left green."""
    ref_mean, ref_std = _head_stats(inputs.head, _reference_matte(inputs.head))
    src_mean, src_std = _head_stats(inputs.x, source_head)
    coloured = ((inputs.x - src_mean) / src_std.clamp_min(EPS) * ref_std + ref_mean).clamp(0, 1)
    return source_head * coloured + (1.0 - source_head) * inputs.x


def _cv2():
    try:
        import cv2  # optional: evaluation only
    except ImportError:
        raise ChangerError("the classical baseline needs OpenCV: pip install opencv-python-headless") from None
    return cv2


def _lab(cv2, image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32), cv2.COLOR_RGB2Lab)


def reinhard_transfer(image: np.ndarray, matte: np.ndarray, reference: np.ndarray, ref_matte: np.ndarray) -> np.ndarray:
    """Reinhard et al. 2001 in CIE Lab: match the mean and std of each channel inside the mattes."""
    cv2 = _cv2()
    lab, ref = _lab(cv2, image), _lab(cv2, reference)
    inside, ref_inside = matte > 0.5, ref_matte > 0.5
    if not inside.any() or not ref_inside.any():
        return image
    src_px, ref_px = lab[inside], ref[ref_inside]
    out = (lab - src_px.mean(0)) / (src_px.std(0) + EPS) * ref_px.std(0) + ref_px.mean(0)
    rgb = cv2.cvtColor(out.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.where(inside[..., None], np.clip(rgb, 0, 1), image)


def classical_inpaint(inputs: NetInputs, source_head: torch.Tensor, method: str = "telea",
                      radius: int = 5) -> torch.Tensor:
    """Reinhard-coloured head plus OpenCV inpainting of ``M^ip``; (N,3,H,W) in [0,1]."""
    cv2 = _cv2()
    flag = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}[method]
    out = []
    for i in range(inputs.x.shape[0]):
        x = inputs.x[i].permute(1, 2, 0).cpu().numpy()
        head = inputs.head[i].permute(1, 2, 0).cpu().numpy()
        matte = source_head[i, 0].cpu().numpy()
        coloured = reinhard_transfer(x, matte, head, (head.max(2) > 1e-3).astype(np.float32))
        hole = (inputs.inpaint[i, 0].cpu().numpy() > 0.5).astype(np.uint8)
        u8 = np.clip(coloured * 255.0 + 0.5, 0, 255).astype(np.uint8)
        filled = cv2.inpaint(u8, hole, radius, flag).astype(np.float32) / 255.0
        result = np.where(hole[..., None] > 0, filled, coloured)
        out.append(torch.from_numpy(np.ascontiguousarray(result)).permute(2, 0, 1))
    return torch.stack(out).to(inputs.x)


def node_classical(inputs: NetInputs, source_head: torch.Tensor) -> torch.Tensor:
    """The node's classical method on the network's inputs (module docstring); (N,3,H,W) in [0,1]."""
    heads = []
    for i in range(inputs.x.shape[0]):
        x, matte, head = inputs.x[i : i + 1], source_head[i : i + 1], inputs.head[i : i + 1]
        target, source = skin_stats(head, _reference_matte(head)), skin_stats(x, matte)
        heads.append(x if target is None or source is None else grade_match(x, matte, source, target))
    body = ((inputs.body.amax(1, keepdim=True) > 1e-3) & (inputs.union < 0.5)).to(inputs.x.dtype)
    return classical_y(inputs.x, body, inputs.inpaint, torch.cat(heads), source_head, inputs.union)[0]
