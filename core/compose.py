"""The network's three inputs, built one way for training and for the render pipeline.

Paper notation (supplementary Table 1), all sRGB-encoded [0,1], (N,C,H,W); mattes (N,1,H,W) soft:

* ``X`` = grey source head inside ``M_S^head``, the canonical green inside ``M^ip``, and
  ``I_T^green`` everywhere else, with ``M^ip = M_union − M_S``. Soft mattes blend the three:
  ``X = M_S·gray(I_S) + (1 − M_S)·(M^ip·G + (1 − M^ip)·I_T^green)``.
* ``I_T^head``: the target with only its head kept, on black (input of the Head Colorizer).
* ``I_T^body``: the target with head, neck and background removed, on black (input of the Body
  Blender): the premultiplied foreground recovered from ``I_T^green`` and the target's alpha,
  with the union matte removed. Production clips carry no neck matte, so the neck goes with the
  union grown by ``neck_margin`` pixels: the body reference only needs to hold the clothing and
  shoulders whose colour and texture FPAT attends to.

Training passes ``M_h2`` (the H²-augmented head) as the union partner; test time passes ``M_T``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from . import masks
from .checks import check_shape
from .errors import ParamError
from .keying import CANONICAL_GREEN

#: Rec.709 luma weights, applied to the encoded values (the paper's ``I_S^gray``).
LUMA = (0.2126, 0.7152, 0.0722)


class NetInputs(NamedTuple):
    x: torch.Tensor  #: (N,3,H,W) ``X``
    head: torch.Tensor  #: (N,3,H,W) ``I_T^head``
    body: torch.Tensor  #: (N,3,H,W) ``I_T^body``
    union: torch.Tensor  #: (N,1,H,W) ``M_union``
    inpaint: torch.Tensor  #: (N,1,H,W) ``M^ip``


def gray(image: torch.Tensor) -> torch.Tensor:
    """Luma of an (N,3,H,W) image, repeated to three channels."""
    weights = image.new_tensor(LUMA).view(1, 3, 1, 1)
    return (image[:, :3] * weights).sum(1, keepdim=True).expand(-1, 3, -1, -1)


def canonical_green(like: torch.Tensor) -> torch.Tensor:
    """The flat green the network works on, as an (1,3,1,1) tensor on ``like``'s device and dtype."""
    return like.new_tensor(CANONICAL_GREEN).view(1, 3, 1, 1)


def _check_inputs(images: dict[str, torch.Tensor], mattes: dict[str, torch.Tensor]) -> None:
    ref_name, ref = next(iter(images.items()))
    dims = check_shape(ref, "N 3 H W", ref_name)
    for name, img in images.items():
        check_shape(img, "N 3 H W", f"{name} (like {ref_name})", dims)
    for name, m in mattes.items():
        check_shape(m, "N 1 H W", f"{name} (like {ref_name})", dims)


def build_inputs(
    target_green: torch.Tensor,
    source: torch.Tensor,
    source_head: torch.Tensor,
    union_partner: torch.Tensor,
    target_alpha: torch.Tensor,
    target_head: torch.Tensor | None = None,
    neck_margin: int = 0,
) -> NetInputs:
    """Build ``X``, ``I_T^head`` and ``I_T^body`` from the greened target and the (aligned) source.

    ``source_head`` is ``M_S^head``; ``union_partner`` is ``M_T^head`` at test time or ``M_h2`` in
    training; ``target_head`` (default: ``union_partner``) is the matte that cuts ``I_T^head``.
    ``target_alpha`` is the target's key (what is not screen).
    """
    target_head = union_partner if target_head is None else target_head
    _check_inputs(
        {"I_T^green": target_green, "I_S": source},
        {"M_S^head": source_head, "union partner": union_partner, "alpha_T": target_alpha, "M_T^head": target_head},
    )
    if neck_margin < 0:
        raise ParamError(f"neck_margin={neck_margin}: expected a number of pixels >= 0")
    union = masks.union(union_partner, source_head)
    inpaint = masks.difference(union, source_head)
    green = canonical_green(target_green)
    outside = inpaint * green + (1.0 - inpaint) * target_green
    x = source_head * gray(source) + (1.0 - source_head) * outside
    head = target_green * target_head
    removed = masks.grow_shrink(union, float(neck_margin)) if neck_margin else union
    premultiplied = target_green - (1.0 - target_alpha) * green
    body = premultiplied * (1.0 - removed)
    return NetInputs(x=x, head=head, body=body, union=union, inpaint=inpaint)
