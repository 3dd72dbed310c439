"""Growing long hair back below the neck line from a colour model of the hair above it.

The jaw cut removes everything below the neck line, long hair included. The hair above the line (the
solid foreground outside the face oval, refitted without the pixels closer to skin than to it, such as
the ears: hair can be the colour of skin) gives a Gaussian colour model; the face gives one for skin,
the foreground just under the chin one for the neck (skin in shadow), and the solid foreground below
the line that is clearly neither hair nor skin one for the clothing. A cell
below the line (a few pixels square, its mean colour) is hair when it is closer to the hair model than
to all the others and within :data:`HAIR_DISTANCE` of it, and when it connects to hair just above the line
through such cells (a geodesic reconstruction): hair over the shoulders and down the back comes back,
a sweater of another colour does not. Hair and clothing of one colour (dark hair on a dark suit)
cannot be told apart: the reach bounds the damage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .geometry import HeadLayout, HeadMaps, ellipse_radius2

log = logging.getLogger(__name__)

#: Mahalanobis distance (in standard deviations of the hair's colour) within which a pixel can be hair.
HAIR_DISTANCE = 3.0
#: Alpha at or above which a pixel's colour is trusted for the models.
SOLID = 0.9
#: Fewest pixels a colour model is built from (fewer: bald heads, no hair to grow).
MIN_SAMPLES = 64
#: Hair whose model is closer to skin's than this (:func:`_separation`) is a bald head's scalp and ears: measured
#: at most 4.2 on bald studio heads, at least 5.4 on hair that hangs below the jaw (docs/mattes.md).
MIN_SEPARATION = 5.0
#: The neck's colour is sampled under the chin, this many face heights down and to each side of it.
NECK_BAND = 0.2
#: Hair grows from hair within this many face heights above the neck line.
SEED_BAND = 0.25
#: Hair is decided on cells of about this fraction of the face height.
CELL_FRACTION = 1 / 80
_REGULARISE = 1e-4


@dataclass(frozen=True)
class ColourModel:
    """A Gaussian in RGB: mean (3,) and inverse covariance (3,3)."""

    mean: torch.Tensor
    inverse: torch.Tensor

    def distance2(self, rgb: torch.Tensor) -> torch.Tensor:
        """(3,N) colours -> (N,) squared Mahalanobis distance, written out per pixel (no BLAS: the same bits
        whatever the buffers' alignment)."""
        d = rgb - self.mean[:, None]
        a = self.inverse
        return (a[0, 0] * d[0] * d[0] + a[1, 1] * d[1] * d[1] + a[2, 2] * d[2] * d[2]
                + 2.0 * (a[0, 1] * d[0] * d[1] + a[0, 2] * d[0] * d[2] + a[1, 2] * d[1] * d[2]))


def colour_model(rgb: torch.Tensor) -> ColourModel | None:
    """The model of (3,N) colours; None for fewer than :data:`MIN_SAMPLES`."""
    if rgb.shape[1] < MIN_SAMPLES:
        return None
    samples = rgb.double()
    mean = samples.mean(1)
    cov = torch.cov(samples) + _REGULARISE * torch.eye(3, dtype=samples.dtype)
    return ColourModel(mean.to(rgb.dtype), torch.linalg.inv(cov).to(rgb.dtype))


def _separation(a: ColourModel, b: ColourModel) -> float:
    """How far apart two models are: the geometric mean of each mean's squared distance in the other."""
    return float(a.distance2(b.mean[:, None]) * b.distance2(a.mean[:, None])) ** 0.5


def reconstruct(seeds: torch.Tensor, allowed: torch.Tensor, steps: int, coarse: int = 2) -> torch.Tensor:
    """(h,w) bool: the ``allowed`` cells 8-connected to ``seeds`` through ``allowed``, at most ``steps`` cells away.

    The flood runs on blocks of ``coarse`` x ``coarse`` cells (a block is allowed when any of its cells is),
    then keeps the allowed cells of the blocks it reached: a gap narrower than a block does not stop it, and
    it costs a sixteenth of a flood on the cells themselves.
    """
    h, w = allowed.shape
    allowed_f = F.max_pool2d(allowed[None, None].float(), coarse, ceil_mode=True)
    marker = F.max_pool2d(seeds[None, None].float(), coarse, ceil_mode=True) * allowed_f
    for _ in range(steps // coarse + 1):
        grown = F.max_pool2d(marker, 3, stride=1, padding=1) * allowed_f
        if torch.equal(grown, marker):
            break
        marker = grown
    reached = F.interpolate(marker, scale_factor=coarse, mode="nearest")[0, 0, :h, :w] > 0
    return reached & allowed


def _cells(x: torch.Tensor, cell: int) -> torch.Tensor:
    return F.avg_pool2d(x[None], cell, ceil_mode=True)[0]


def hair_models(fg: torch.Tensor, alpha: torch.Tensor, maps: HeadMaps,
                layout: HeadLayout) -> tuple[ColourModel, ColourModel] | None:
    """(skin, hair) colour models from above the neck line; None when there is no hair to grow (too few
    samples, or a "hair" model as close to skin as a bald head's scalp and ears)."""
    solid = alpha[0] >= SOLID
    radius2 = ellipse_radius2(maps, layout)[0]
    skin = colour_model(fg[:, solid & (radius2 < 0.6 ** 2)])
    if skin is None:
        return None
    above = (maps.above[0] > 0.5) & (maps.region[0] > 0.5)
    top_rgb = fg[:, solid & above & (radius2 > 1.1 ** 2)]
    first = colour_model(top_rgb)  # hair, ears and the odd bit of forehead: then drop what is closer to skin
    hair = None if first is None else colour_model(top_rgb[:, first.distance2(top_rgb) < skin.distance2(top_rgb)])
    if hair is None or _separation(hair, skin) < MIN_SEPARATION:
        log.debug("no hair above the neck line to model (a bald or covered head): nothing grown below it")
        return None
    return skin, hair


def _near_line(maps: HeadMaps, layout: HeadLayout) -> torch.Tensor:
    return maps.v > maps.neck - SEED_BAND * layout.frame.height


def hair_at_line(fg: torch.Tensor, alpha: torch.Tensor, maps: HeadMaps, layout: HeadLayout) -> bool:
    """Whether hair reaches the neck line (so there may be some below it to grow): hair-coloured solid pixels
    outside the face within :data:`SEED_BAND` face heights above the line."""
    models = hair_models(fg, alpha, maps, layout)
    if models is None:
        return False
    skin, hair = models
    band = (alpha[0] >= SOLID) & (maps.above[0] > 0.5) & _near_line(maps, layout)[0]
    band &= ellipse_radius2(maps, layout)[0] > 1.0
    rgb = fg[:, band]
    d_hair = hair.distance2(rgb)
    return int(((d_hair < HAIR_DISTANCE ** 2) & (d_hair < skin.distance2(rgb))).sum()) >= MIN_SAMPLES


def grow_hair(fg: torch.Tensor, alpha: torch.Tensor, maps: HeadMaps, layout: HeadLayout) -> torch.Tensor:
    """(1,h,w) weight of the hair below the neck line (0 elsewhere and where no hair model could be built).

    ``fg`` (3,h,w) is the plate's despilled foreground colour, ``alpha`` (1,h,w) its key. The models are
    fitted on pixels; hair is then decided on cells of about :data:`CELL_FRACTION` face heights (the mean
    colour of a cell's solid pixels), so a strand's streaks do not break it into speckle, and the
    matte takes its detail from the key.
    """
    zero = torch.zeros_like(alpha)
    models = hair_models(fg, alpha, maps, layout)
    if models is None:
        return zero
    skin, hair = models
    solid = alpha[0] >= SOLID
    limit = HAIR_DISTANCE ** 2
    cell = max(1, round(layout.frame.height * CELL_FRACTION))
    weight = _cells(solid[None].to(fg.dtype), cell)
    colour = (_cells(fg * solid, cell) / weight.clamp_min(1e-6)).flatten(1)
    d_hair, d_skin = hair.distance2(colour), skin.distance2(colour)
    is_hair = (weight.flatten() >= 0.25) & (d_hair < limit) & (d_hair < d_skin)
    cell_above, cell_inside = _cells(maps.above, cell).flatten(), _cells(maps.region, cell).flatten() > 0.5
    below = (cell_above < 0.5) & cell_inside & (weight.flatten() > 0)
    cloth = colour_model(colour[:, below & (weight.flatten() > 0.9) & (d_hair > limit) & (d_skin > limit)])
    if cloth is not None:
        is_hair &= d_hair < cloth.distance2(colour)
    neck_pixels = solid & (maps.above[0] < 0.5) & (maps.v[0] < maps.neck[0] + NECK_BAND * layout.frame.height)
    neck_pixels &= (maps.u[0] - float(layout.chin_u)).abs() < NECK_BAND * layout.frame.height
    neck = colour_model(fg[:, neck_pixels])
    if neck is not None:
        is_hair &= d_hair < neck.distance2(colour)
    grid = weight.shape[-2:]
    near = _cells(_near_line(maps, layout).to(fg.dtype), cell).flatten() > 0.5
    seeds = is_hair & (cell_above > 0.5) & cell_inside & near
    candidate = is_hair & below
    if not bool(seeds.any()) or not bool(candidate.any()):
        return zero
    steps = int((layout.v_range[1] - layout.v_range[0]) / cell) + 4
    grown = reconstruct(seeds.view(grid), (candidate | seeds).view(grid), steps) & candidate.view(grid)
    h, w = alpha.shape[-2:]
    full = F.interpolate(grown[None, None].float(), scale_factor=cell, mode="nearest")[0, :, :h, :w]
    return full * (maps.above < 0.5)
