"""Matte tools: threshold, grow/shrink, feather, push-pull fill, set operations, the network crop box
and its seam weight.

Every function takes mattes as (N,1,H,W) float tensors in [0,1] on any device and returns tensors of
the same device and dtype. All of them are deterministic (no atomics, no random state), so a frame
renders the same on every run. Pixel sizes are in pixels of the matte given; a host at a proxy render
scale scales them first.
"""

from __future__ import annotations

import logging
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from .checks import check_shape
from .errors import ContractError, ParamError

log = logging.getLogger(__name__)

# Above this radius a sliding max is computed with the van Herk/Gil-Werman block trick (cost
# independent of the radius); below it max_pool2d is faster.
_VAN_HERK_MIN_RADIUS = 8


class Box(NamedTuple):
    """A pixel rectangle: x0, y0 inclusive, x1, y1 exclusive (so width = x1 - x0).

    The one box type of the code base: crops, the network box, and the effect's OpenFX regions (an
    OfxRectI's ``x1, y1, x2, y2`` are ``x0, y0, x1, y1`` here).
    """

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def check_matte(matte: torch.Tensor, name: str = "matte") -> None:
    """Raise a ContractError unless ``matte`` is a floating (N,1,H,W) tensor."""
    check_shape(matte, "N 1 H W", name, floating=True)


def _check_int(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ParamError(f"{name}={value!r}: expected a whole number >= {minimum}")


def _check_number(name: str, value: float, minimum: float, maximum: float = math.inf) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParamError(f"{name}={value!r}: expected a finite number in [{minimum}, {maximum}]")
    if not minimum <= value <= maximum:
        raise ParamError(f"{name}={value}: out of range; expected a value in [{minimum}, {maximum}]")


def threshold(matte: torch.Tensor, value: float, name: str = "matte") -> torch.Tensor:
    """Binary matte: 1 where ``matte >= value``, else 0. ``name`` is the matte's artist-facing name."""
    check_matte(matte, name)
    _check_number(f"{name} threshold", value, 0.0, 1.0)
    return (matte >= value).to(matte.dtype)


def sliding_max(x: torch.Tensor, radius: int, dim: int) -> torch.Tensor:
    """Max over a window of 2*radius+1 along ``dim`` (3 or 2), ignoring out-of-frame samples."""
    if radius < _VAN_HERK_MIN_RADIUS:
        # Shifted maxima, in place: several times faster on the CPU than max_pool2d with a 1D window.
        length = x.shape[dim]
        out = x.clone()
        for d in range(1, min(radius, length - 1) + 1):
            head, tail = out.narrow(dim, 0, length - d), out.narrow(dim, d, length - d)
            torch.maximum(head, x.narrow(dim, d, length - d), out=head)
            torch.maximum(tail, x.narrow(dim, 0, length - d), out=tail)
        return out
    # van Herk/Gil-Werman: split the padded line into blocks of k; a window spans at most two
    # blocks, so max = max(suffix-max of one block, prefix-max of the next).
    k = 2 * radius + 1
    x = x.movedim(dim, -1)
    length = x.shape[-1]
    n_blocks = -(-(length + 2 * radius) // k)
    low = torch.finfo(x.dtype).min
    padded = F.pad(x, (radius, n_blocks * k - length - radius), value=low).unflatten(-1, (n_blocks, k))
    prefix = padded.cummax(-1).values.flatten(-2)
    suffix = padded.flip(-1).cummax(-1).values.flip(-1).flatten(-2)
    out = torch.maximum(suffix[..., :length], prefix[..., 2 * radius: 2 * radius + length])
    return out.movedim(-1, dim)


def _dilate(x: torch.Tensor, radius: int) -> torch.Tensor:
    if radius == 0:
        return x
    return sliding_max(sliding_max(x, radius, 3), radius, 2)


def grow_shrink(matte: torch.Tensor, pixels: float) -> torch.Tensor:
    """Grow (``pixels`` > 0) or shrink (< 0) a soft matte by a square window (grey dilation/erosion).

    Fractional sizes blend the two nearest whole sizes, so the control is continuous for artists.
    The frame border neither grows nor eats into the matte.
    """
    check_matte(matte)
    _check_number("grow/shrink pixels", pixels, -1000.0, 1000.0)
    if pixels == 0:
        return matte
    sign = 1.0 if pixels > 0 else -1.0
    src = matte if sign > 0 else -matte
    lo, frac = int(math.floor(abs(pixels))), abs(pixels) - math.floor(abs(pixels))
    out = _dilate(src, lo)
    if frac > 0:
        out = torch.lerp(out, _dilate(src, lo + 1), frac)
    return out if sign > 0 else -out


def blur_radius(sigma: float) -> int:
    """How many pixels a blur of ``sigma`` reaches on each side (its taps go out to 3 sigma)."""
    return max(1, int(math.ceil(3.0 * sigma)))


def gaussian_kernel1d(sigma: float, like: torch.Tensor) -> torch.Tensor:
    """Normalised 1D Gaussian taps out to 3 sigma, on ``like``'s device and dtype."""
    radius = blur_radius(sigma)
    x = torch.arange(-radius, radius + 1, device=like.device, dtype=torch.float64)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    return (taps / taps.sum()).to(like.dtype)


def feather(matte: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of a matte (sigma in pixels), separable, edges extended (not faded to black)."""
    check_matte(matte)
    _check_number("feather sigma", sigma, 0.0, 1000.0)
    if sigma == 0:
        return matte
    return blur(matte, sigma)


def blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of every channel of an (N,C,H,W) tensor, border replicated.

    Written as shifted multiply-adds rather than a depthwise convolution: on CPU that is several
    times faster for the small kernels mattes use, and it is the same arithmetic on every device.
    Cost grows with sigma (taps out to 3 sigma).
    """
    taps = gaussian_kernel1d(sigma, image).tolist()
    radius = len(taps) // 2
    out = image
    for dim in (-1, -2):
        size = out.shape[dim]
        pad = (radius, radius, 0, 0) if dim == -1 else (0, 0, radius, radius)
        padded = F.pad(out, pad, mode="replicate")
        acc = padded.narrow(dim, 0, size) * taps[0]
        for i in range(1, len(taps)):
            acc.add_(padded.narrow(dim, i, size), alpha=taps[i])
        out = acc
    return out


def push_pull(image: torch.Tensor, weight: torch.Tensor, fallback: torch.Tensor, level: int = 3) -> torch.Tensor:
    """Fill an (N,C,H,W) image where ``weight`` (N,1,H,W) is 0 from the weighted samples around,
    smooth at 1/2**level of the resolution (a weighted pyramid, pulled down then pushed up).

    Where the whole image has no weight, ``fallback`` ((N,C,1,1), or an image that is averaged down)
    is used.
    Used for clean plates and local matte levels: the result follows the samples where they are
    dense and interpolates smoothly across the gaps between them. The three steps are public so that
    a caller can pull and push band by band (:func:`pyramid_cells` of rows that start on a cell
    boundary are the rows of the frame's cells; :func:`upsample_rows` of any rows are those rows).
    """
    coarse = pyramid_fill(*pyramid_cells(image, weight, level), fallback)
    if coarse.shape[-2:] == image.shape[-2:]:  # level 0: the resize would weigh each value by 1 and its neighbour by 0
        return coarse
    rows = torch.arange(image.shape[-2], device=image.device)
    return upsample_rows(coarse, tuple(image.shape[-2:]), rows)


def pyramid_cells(image: torch.Tensor, weight: torch.Tensor, level: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The pyramid's finest level: ``image * weight`` and ``weight`` averaged over cells of 2**level
    pixels (a partial cell at the bottom or right edge averages what it holds)."""
    cell = 2 ** level
    return (F.avg_pool2d(image * weight, cell, ceil_mode=True), F.avg_pool2d(weight, cell, ceil_mode=True))


def pyramid_fill(vw: torch.Tensor, w: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """The push-pull estimate at the resolution of its finest cells ``(vw, w)`` (see :func:`push_pull`)."""
    levels = [(vw, w)]
    while min(levels[-1][1].shape[-2:]) > 1:
        vw, w = levels[-1]
        levels.append((F.avg_pool2d(vw, 2, ceil_mode=True), F.avg_pool2d(w, 2, ceil_mode=True)))
    vw, w = levels[-1]
    fallback = fallback.to(vw.dtype)
    if fallback.shape[-2:] != (1, 1):
        fallback = F.interpolate(fallback, size=w.shape[-2:], mode="area")
    est = torch.where(w > 0, vw / w.clamp_min(1e-12), fallback.expand_as(vw))
    for vw, w in reversed(levels[:-1]):
        up = F.interpolate(est, size=vw.shape[-2:], mode="bilinear", align_corners=False)
        own = (w * 2.0).clamp(max=1.0)  # a cell at least half covered speaks for itself
        est = torch.lerp(up, vw / w.clamp_min(1e-12), own)
    return est


def bilinear_taps(out_size: int, in_size: int, index: torch.Tensor,
                   dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source indices and weights of output ``index`` for a bilinear resize (half-pixel centres, as
    ``F.interpolate(align_corners=False)``), from the index alone: the same for every band."""
    src = ((index.to(torch.float64) + 0.5) * (in_size / out_size) - 0.5).clamp_min(0.0)
    i0 = src.floor().long().clamp_max(in_size - 1)
    i1 = (i0 + 1).clamp_max(in_size - 1)
    w1 = (src - i0).clamp_max(1.0).to(dtype)
    return i0, i1, 1.0 - w1, w1


def upsample_rows(coarse: torch.Tensor, size: tuple[int, int], rows: torch.Tensor,
                  cols: torch.Tensor | None = None) -> torch.Tensor:
    """(N,C,len(rows),len(cols)): the given rows and columns (1D index tensors; columns default to
    all) of ``coarse`` (N,C,h,w) resized bilinearly to ``size`` (H,W), reading only the coarse rows
    they need.

    Each output pixel is a fixed sum of products of its own taps, so rows computed in bands equal
    the rows of the whole resize bit for bit.
    """
    height, width = size
    h, w = coarse.shape[-2:]
    cols = torch.arange(width, device=coarse.device) if cols is None else cols
    r0, r1, a0, a1 = bilinear_taps(height, h, rows, coarse.dtype)
    c0, c1, b0, b1 = bilinear_taps(width, w, cols, coarse.dtype)
    lo, hi = int(r0.min()), int(r1.max()) + 1
    part = coarse[..., lo:hi, :]
    wide = part[..., c0] * b0 + part[..., c1] * b1
    return wide[..., r0 - lo, :] * a0[:, None] + wide[..., r1 - lo, :] * a1[:, None]


def union(*mattes: torch.Tensor) -> torch.Tensor:
    """Pixelwise maximum (``M_union = M_T ∪ M_S``)."""
    if not mattes:
        raise ContractError("union: expected at least one matte")
    for i, m in enumerate(mattes):
        check_matte(m, f"union matte {i}")
    _same_shape(mattes, "union")
    out = mattes[0]
    for m in mattes[1:]:
        out = torch.maximum(out, m)
    return out


def difference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``clamp(a - b, 0, 1)``: with ``a ⊇ b`` (M_union and M_S) ``b + difference(a, b) == a``, so
    ``M^ip = difference(M_union, M_S)`` and the source head partition the union exactly."""
    check_matte(a, "difference minuend")
    check_matte(b, "difference subtrahend")
    _same_shape((a, b), "difference")
    return (a - b).clamp_(0.0, 1.0)


def _same_shape(mattes: tuple[torch.Tensor, ...], what: str) -> None:
    shapes = {tuple(m.shape) for m in mattes}
    if len(shapes) > 1:
        raise ContractError(f"{what}: mattes must have the same shape, got {sorted(shapes)}")


def bounding_box(matte: torch.Tensor, pad: int = 0, aspect: float | None = None,
                 level: float = 0.0) -> Box | None:
    """Box around every pixel above ``level`` in any image of the batch, for the network crop.

    Grown by ``pad`` pixels each side, then widened or heightened (never shrunk, kept centred) to
    ``aspect`` = width/height, then moved inside the frame; only a box larger than the frame is cut
    to it (and so loses the aspect). None when nothing is above ``level``.
    """
    check_matte(matte)
    _check_int("bounding box pad", pad, 0)
    _check_number("bounding box level", level, 0.0, 1.0)
    if aspect is not None:
        _check_number("bounding box aspect", aspect, 1e-3, 1e3)
    _, _, h, w = matte.shape
    inside = (matte > level).any(dim=0)[0]
    cols = torch.nonzero(inside.any(dim=0)).flatten()
    rows = torch.nonzero(inside.any(dim=1)).flatten()
    if cols.numel() == 0:
        return None
    x0, x1 = int(cols[0]) - pad, int(cols[-1]) + 1 + pad
    y0, y1 = int(rows[0]) - pad, int(rows[-1]) + 1 + pad
    if aspect is not None:
        bw, bh = x1 - x0, y1 - y0
        if bw < bh * aspect:
            x0, x1 = _widen(x0, x1, int(math.ceil(bh * aspect - 1e-9)))
        else:
            y0, y1 = _widen(y0, y1, int(math.ceil(bw / aspect - 1e-9)))
    x0, x1 = _fit(x0, x1, w)
    y0, y1 = _fit(y0, y1, h)
    return Box(x0, y0, x1, y1)


def _widen(lo: int, hi: int, size: int) -> tuple[int, int]:
    extra = size - (hi - lo)
    return lo - extra // 2, hi + (extra - extra // 2)


def _fit(lo: int, hi: int, limit: int) -> tuple[int, int]:
    """Shift [lo, hi) inside [0, limit); cut it only when it is longer than the frame."""
    if hi - lo >= limit:
        return 0, limit
    if lo < 0:
        return 0, hi - lo
    if hi > limit:
        return limit - (hi - lo), limit
    return lo, hi


def crop(image: torch.Tensor, box: Box) -> torch.Tensor:
    """The (N,C,h,w) view of ``image`` inside ``box``."""
    return image[..., box.y0:box.y1, box.x0:box.x1]


def seam_weight(box: Box, frame_size: tuple[int, int], width: float, like: torch.Tensor) -> torch.Tensor:
    """(1,1,h,w) weight of the crop for paste-back: 1 inside, ramping (smoothstep) to 0 at the crop
    edges that lie inside the frame over ``width`` pixels; edges on the frame border get no ramp."""
    _check_number("paste-back seam width", width, 0.0, math.inf)
    h_frame, w_frame = frame_size

    def ramp(n: int, lo_open: bool, hi_open: bool) -> torch.Tensor:
        i = torch.arange(n, device=like.device, dtype=like.dtype)
        r = torch.ones_like(i)
        if width > 0:
            if lo_open:
                r = torch.minimum(r, (i + 0.5) / width)
            if hi_open:
                r = torch.minimum(r, (n - i - 0.5) / width)
        r = r.clamp(0.0, 1.0)
        return r * r * (3.0 - 2.0 * r)

    wy = ramp(box.height, box.y0 > 0, box.y1 < h_frame)
    wx = ramp(box.width, box.x0 > 0, box.x1 < w_frame)
    return (wy[:, None] * wx[None, :])[None, None]


def polygon(points: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(1,1,H,W) 0/1 matte of the closed polygon ``points`` (K,2: x, y in pixels, pixel centres at
    ``i + 0.5``), filled by the even-odd rule; ``size`` is (H, W).

    >>> square = torch.tensor([[1.0, 1.0], [3.0, 1.0], [3.0, 3.0], [1.0, 3.0]])
    >>> polygon(square, (4, 4))[0, 0].int().tolist()
    [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    """
    if points.dim() != 2 or points.shape[-1] != 2 or points.shape[0] < 3:
        raise ParamError(f"polygon: expected (K,2) points with K >= 3, got {tuple(points.shape)}")
    height, width = size
    p = points.to(torch.float64)
    x0, y0 = p[:, 0], p[:, 1]
    x1, y1 = p.roll(-1, 0)[:, 0], p.roll(-1, 0)[:, 1]
    ys = torch.arange(height, dtype=torch.float64, device=p.device) + 0.5
    xs = torch.arange(width, dtype=torch.float64, device=p.device) + 0.5
    inside = torch.zeros(height, width, dtype=torch.bool, device=p.device)
    for k in range(p.shape[0]):
        spans = (y0[k] > ys) != (y1[k] > ys)  # rows whose centre line this edge crosses
        if not bool(spans.any()):
            continue
        t = (ys[spans] - y0[k]) / (y1[k] - y0[k])
        cross = x0[k] + t * (x1[k] - x0[k])
        inside[spans] ^= xs[None, :] < cross[:, None]
    return inside[None, None].float()
