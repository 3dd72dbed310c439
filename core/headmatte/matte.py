"""The automatic head matte of one plate: the entry point of :mod:`changer.core.headmatte`.

A head matte is the head as CHANGER's paper means it: face, ears and hair, the neck and everything
below the jaw excluded. It is built from the plate alone:

1. find the face and fit its oval (:mod:`.landmarks`; in a shot, follow it and smooth the oval:
   :mod:`.tracker`);
2. lay out the head in the face's own frame: the neck line under the jaw, moved by the neck-line
   offset, and the head region around the oval (:mod:`.geometry`);
3. key the region down to the neck line (the keyer's alpha is the person, hair strands and all, on a
   green or blue screen); when hair reaches the line, key it again down to the hair's reach. A plate
   with no screen round the face (an actor's portrait) is not keyed: the person comes from the
   segmenter instead (coarser at hair strands);
4. keep the key above the neck line and inside the region, and grow long hair back below it
   (:mod:`.hair`);
5. optionally threshold, grow/shrink and feather it as a hand-made matte is
   (:func:`changer.core.pipeline.mattes.shape_matte`).

Only the region's window is keyed and rasterised, so a 4K plate costs what its head costs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import torch

from ..checks import check_shape
from ..errors import HeadMatteError
from ..keying import KeyerParams, key
from ..keying.screen import screen_excess
from ..masks import Box, crop
from ..pipeline.mattes import shape_matte
from ..pipeline.settings import MatteSettings
from .face_models import face_models
from .geometry import HeadLayout, head_layout, head_maps
from .hair import grow_hair, hair_at_line
from .landmarks import FaceLandmarks, find_face, to_uint8
from .tracker import HeadTracker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeadMatteSettings:
    """The artist's controls of the automatic head matte (the params ``auto_matte_*`` of the node).

    ``neck_offset`` (pixels) moves the neck line down (positive: keeps a beard or a high collar's
    worth of chin) or up; ``hair_reach`` and ``head_margin`` are in face heights (top of the forehead
    to the chin); ``keyer`` keys the plate when no alpha is given; ``shape`` thresholds, grows and
    feathers the result (None: as built).
    """

    neck_offset: float = 0.0
    hair_below_jaw: bool = True
    hair_reach: float = 3.0
    head_margin: float = 1.0
    keyer: KeyerParams = field(default_factory=KeyerParams)
    shape: MatteSettings | None = None


@dataclass
class HeadMatteResult:
    """An automatic head matte and what it was built from."""

    matte: torch.Tensor  #: (1,H,W) in [0,1]
    landmarks: FaceLandmarks  #: the face oval the matte was built from (smoothed in a tracked shot)
    fitted: FaceLandmarks  #: the oval as fitted on this frame
    box: Box  #: the head region's window: the matte is 0 outside it (before ``shape``)
    diagnostics: dict[str, float] = field(default_factory=dict)  #: seconds per step, face height, hair pixels


#: The head matte's method: part of a matte sequence's resume key, raised when the same plate and settings would
#: give other pixels (2: plates off a screen are segmented, not keyed).
MATTE_METHOD = 2
#: A pixel shows the screen when its key channel exceeds the other two by this much (display-referred).
SCREEN_EXCESS = 0.1
#: The head region is on a screen when at least this share of it shows the screen. Measured on the real
#: frames: 0.77-0.80 on green-screen plates, at most 0.001 on portraits.
SCREEN_SHARE_MIN = 0.05


def screen_share(plate: torch.Tensor, face: FaceLandmarks, settings: HeadMatteSettings) -> float:
    """Share of the head region of the (3,H,W) plate that shows the keyer's screen colour."""
    layout = head_layout(face, settings.neck_offset, settings.head_margin, 0.0)
    box = layout.window(plate.shape[-1], plate.shape[-2])
    if box is None:
        return 0.0
    return float((screen_excess(crop(plate[None], box), settings.keyer.screen_type) > SCREEN_EXCESS).float().mean())


def person_alpha(plate: torch.Tensor) -> torch.Tensor:
    """(1,H,W) the person of a (3,H,W) plate that is not on a screen, from the bundled segmenter."""
    return torch.from_numpy(face_models().person(to_uint8(plate)))[None]


def _keyed_region(plate: torch.Tensor, alpha: torch.Tensor | None, face: FaceLandmarks, settings: HeadMatteSettings,
                  reach: float) -> tuple[HeadLayout, Box, torch.Tensor, torch.Tensor]:
    """The head's layout reaching ``reach`` face heights below the neck line, its window, and the window's
    alpha and foreground colour (keyed with ``settings.keyer`` unless ``alpha`` is given)."""
    layout = head_layout(face, settings.neck_offset, settings.head_margin, reach)
    height, width = plate.shape[-2:]
    box = layout.window(width, height)
    if box is None:
        raise HeadMatteError("the head region lies outside the frame; roto this frame's head matte by hand")
    window = crop(plate[None], box)
    if alpha is None:
        keyed = key(window, settings.keyer)
        return layout, box, keyed.alpha[0], keyed.fg[0]
    return layout, box, crop(alpha.detach().float().cpu()[None], box)[0], window[0]


def head_matte(plate: torch.Tensor, settings: HeadMatteSettings | None = None, *, alpha: torch.Tensor | None = None,
               tracker: HeadTracker | None = None, frame: float = 0.0) -> HeadMatteResult:
    """The head matte of ``plate`` (3,H,W), display-referred (the network space: sRGB-encoded, about [0,1]).

    ``alpha`` (1,H,W) is the plate's key when the caller has one; without it the head region is keyed
    with ``settings.keyer``, or, when no screen shows round the face, the person is segmented.
    ``tracker`` carries the face from the previous ``frame`` of a shot and smooths it. Raises HeadMatteError
    (one line) when the plate has no usable face, and MissingExtraError when the face models are not installed.
    """
    settings = settings or HeadMatteSettings()
    dims = check_shape(plate, "3 H W", "plate", floating=True)
    if alpha is not None:
        check_shape(alpha, "1 H W", "alpha", dims, floating=True)
    height, width = dims["H"], dims["W"]
    plate = plate.detach().float().cpu()
    times = {"start": time.perf_counter()}
    fitted = find_face(face_models(), plate, None if tracker is None else tracker.previous)
    face = fitted if tracker is None else tracker.follow(fitted, frame)
    segmented = alpha is None and screen_share(plate, face, settings) < SCREEN_SHARE_MIN
    if segmented:
        log.info("no %s screen round the face: the person is segmented, not keyed", settings.keyer.screen_type)
        alpha = person_alpha(plate)
    times["landmarks"] = time.perf_counter()
    layout, box, a, fg = _keyed_region(plate, alpha, face, settings, 0.0)
    maps = head_maps(layout, box)
    grow = settings.hair_below_jaw and settings.hair_reach > 0 and hair_at_line(fg, a, maps, layout)
    if grow:  # hair reaches the line: key again, down to the hair's reach
        layout, box, a, fg = _keyed_region(plate, alpha, face, settings, settings.hair_reach)
        maps = head_maps(layout, box)
    times["key"] = time.perf_counter()
    keep = maps.above * maps.region
    hair = grow_hair(fg, a, maps, layout) * maps.region if grow else torch.zeros_like(keep)
    keep = torch.maximum(keep, hair)
    matte = torch.zeros(1, height, width)
    crop(matte[None], box).copy_((a * keep)[None])
    if settings.shape is not None:
        matte = shape_matte(matte[None], settings.shape, "automatic head matte")[0]
    times["matte"] = time.perf_counter()
    diagnostics = {f"{name}_s": times[name] - prev for name, prev in
                   zip(("landmarks", "key", "matte"), (times["start"], times["landmarks"], times["key"]), strict=True)}
    diagnostics |= {"face_height_px": layout.frame.height, "hair_below_px": float(hair.sum()),
                    "segmented": float(segmented)}
    log.debug("head matte: face %.0f px high, window %s, %s", layout.frame.height, box, diagnostics)
    return HeadMatteResult(matte, face, fitted, box, diagnostics)


#: How a given (hand-made) head matte and the automatic one make one matte (the ``matte_combine`` param).
MATTE_COMBINE_MODES = ("replace", "add", "subtract")


def combine_mattes(given: torch.Tensor | None, auto: torch.Tensor, mode: str) -> torch.Tensor:
    """The head matte a render uses: ``auto`` alone when nothing is ``given``, else ``given`` (replace: roto
    wins), their maximum (add) or ``auto`` less ``given`` (subtract), all in [0, 1]."""
    if given is None:
        return auto
    if mode == "replace":
        return given
    if mode == "add":
        return torch.maximum(given, auto)
    if mode == "subtract":
        return (auto - given).clamp(0.0, 1.0)
    raise ValueError(f"matte combine mode {mode!r}: expected one of {', '.join(MATTE_COMBINE_MODES)}")
