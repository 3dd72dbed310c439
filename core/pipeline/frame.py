"""What goes into and comes out of one frame render.

Images are (C,H,W) torch tensors in the working space (scene-linear, e.g. ACEScg); mattes are
(1,H,W) and get no colour transform. Clip names are the node's OpenFX clip names, so every error
names the clip a user connected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..align import Similarity
from ..compose import NetInputs
from ..errors import ImageReadError
from ..grade import SkinStats
from ..masks import Box

#: A matte covering at least this share of the frame is refused: it is almost surely not a head matte.
FULL_FRAME_COVERAGE = 0.99
#: Role -> channel counts a clip may have. The roles are the fields of :class:`FrameInputs`.
CLIP_CHANNELS = {"target": (3,), "source": (3,), "target_matte": (1,), "source_matte": (1,),
                 "background": (3, 4), "clean_screen": (3,)}
#: The roles that share the source plate's size (any size: the alignment places the source head).
SOURCE_ROLES = ("source", "source_matte")
#: Role -> the node's clip name in its general context; a host in another context passes its own names.
GENERAL_CLIP_NAMES = {"target": "Target", "source": "Source", "target_matte": "TargetHeadMatte",
                      "source_matte": "SourceHeadMatte", "background": "Background", "clean_screen": "CleanScreen"}


@dataclass
class FrameInputs:
    """The pixels of one frame, on one device; the source plate and its matte share a size of their own
    (:data:`SOURCE_ROLES`), every other clip has the target's."""

    target: torch.Tensor  #: (3,H,W) the double's green-screen plate
    source: torch.Tensor  #: (3,H,W) the actor's head plate
    target_matte: torch.Tensor  #: (1,H,W) M_T^head
    source_matte: torch.Tensor  #: (1,H,W) M_S^head
    background: torch.Tensor | None = None  #: (3 or 4,H,W) optional plate to comp over (4: premultiplied RGBA)
    clean_screen: torch.Tensor | None = None  #: (3,H,W) optional empty screen, same light as the target
    #: Role -> the clip name the user connected (what every message names); the effect passes its context's.
    names: dict[str, str] = field(default_factory=lambda: dict(GENERAL_CLIP_NAMES))
    #: The same face landmarks (K,2: x, y pixels) on the target and on the source plate, when the mattes
    #: came with them (automatic mattes): the similarity alignment then pins the face, not the hair.
    target_points: torch.Tensor | None = None
    source_points: torch.Tensor | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return int(self.target.shape[-2]), int(self.target.shape[-1])

    @property
    def source_size(self) -> tuple[int, int]:
        """(height, width) of the source plate and its matte, which may differ from the target's."""
        return int(self.source.shape[-2]), int(self.source.shape[-1])

    @property
    def device(self) -> torch.device:
        return self.target.device

    def clips(self) -> dict[str, torch.Tensor]:
        """Role -> pixels of every connected clip."""
        return {role: getattr(self, role) for role in CLIP_CHANNELS if getattr(self, role) is not None}

    def check(self) -> None:
        """Shapes, channel counts, sizes and finiteness; ImageReadError naming the clip."""
        height, width = self.size
        target, source = self.names["target"], self.names["source"]
        for role, image in self.clips().items():
            name = self.names[role]
            if not isinstance(image, torch.Tensor) or image.dim() != 3 or not image.is_floating_point():
                what = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
                raise ImageReadError(f"clip {name}: expected a float (C,H,W) image, got {what}")
            if image.shape[0] not in CLIP_CHANNELS[role]:
                wanted = " or ".join(str(c) for c in CLIP_CHANNELS[role])
                raise ImageReadError(f"clip {name}: has {image.shape[0]} channels, expected {wanted}")
            reference, size = (source, self.source_size) if role in SOURCE_ROLES else (target, (height, width))
            if tuple(image.shape[-2:]) != size:
                raise ImageReadError(
                    f"clip {name}: is {image.shape[-1]}x{image.shape[-2]}, the {reference} is {size[1]}x{size[0]}")
            if image.device != self.device:
                raise ImageReadError(f"clip {name}: on {image.device}, the {target} is on {self.device}")
            bad = int((~torch.isfinite(image)).sum())
            if bad:
                raise ImageReadError(f"clip {name}: {bad} NaN or infinite values; expected finite pixels")
        points = (self.target_points, self.source_points)
        if any(p is not None for p in points) and (
                any(p is None for p in points) or points[0].shape != points[1].shape or points[0].shape[-1:] != (2,)):
            shapes = [None if p is None else tuple(p.shape) for p in points]
            raise ImageReadError(f"face landmarks of {target} and {self.names['source']}: expected two (K,2) "
                                 f"sets of the same K, got {shapes[0]} and {shapes[1]}")

    def to(self, device: torch.device) -> FrameInputs:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, torch.float32)

        return FrameInputs(move(self.target), move(self.source), move(self.target_matte), move(self.source_matte),
                           move(self.background), move(self.clean_screen), self.names, self.target_points,
                           self.source_points)


@dataclass
class NetworkJob:
    """Everything ``prepare`` made for the network and for putting its result back.

    Network-resolution tensors are (1,C,R,R) in network space (sRGB-encoded [0,1]); crop tensors are
    (1,C,h,w) at plate resolution inside ``box``.
    """

    box: Box
    resolution: int
    inputs: NetInputs
    target_green: torch.Tensor  #: I_T^green at network resolution
    target_alpha: torch.Tensor  #: the network-stage key of the target at network resolution
    source_crop: torch.Tensor  #: aligned source plate, network space, clamped, crop resolution
    source_head: torch.Tensor  #: aligned, shaped M_S^head at crop resolution
    target_head: torch.Tensor  #: shaped M_T^head at crop resolution
    union: torch.Tensor  #: M_union at crop resolution
    inpaint: torch.Tensor  #: M^ip at crop resolution
    alignment: Similarity
    source_net: torch.Tensor  #: the aligned source crop at network resolution, grade-matched
    target_skin: SkinStats | None = None  #: the double's skin the head is graded to (None: not graded)
    source_skin: torch.Tensor | None = None  #: where the new head's skin is measured, network resolution
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class FrameResult:
    """One rendered frame.

    ``rgba`` (4,H,W) and ``layers`` (name -> (C,H,W), at least ``matte``, ``M``, ``ip``) are in the
    working space at plate resolution. ``intermediates`` holds what the review panel shows: network
    images (X, Y, ToRGB, M, attention) at network resolution in network space, crop-resolution mattes
    (union, ip, edit) and full-frame ``alpha`` (the plate's key) and ``comp``. ``box`` is the crop (None
    for a pass-through frame); pixels where the ``edit`` weight is 0 (and outside ``box``) come from
    the plate unchanged.
    """

    rgba: torch.Tensor
    layers: dict[str, torch.Tensor]
    premultiplied: bool
    box: Box | None
    intermediates: dict[str, torch.Tensor] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    passthrough: bool = False
