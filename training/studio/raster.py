"""Vectorised 2D rasterisation on pixel boxes: coordinate grids, signed distances, coverage, splats.

Everything works on a *patch* (a pixel box inside the frame) so that costly shapes are evaluated only
where they can be visible. Coordinates are normalised by the frame height (``u`` right, ``v`` down,
``u = 0`` at the horizontal centre, ``v`` in [0, 1]), so a person scales with the frame at any size.

The kernels are numpy float32: a sample is ~2000 small array operations, and numpy's per-call
overhead (1-3 us) is a third of torch's on the CPU, which is what the 256x256 budget is made of.
Pooling and resampling go through torch (zero-copy views).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

EPS = 1e-6
f32 = np.float32


def clamp(x: np.ndarray, lo: float, hi: float, out: np.ndarray | None = None) -> np.ndarray:
    """``np.clip`` without its Python-level overhead (which dominates on small patches)."""
    out = np.maximum(x, lo, out=out)
    return np.minimum(out, hi, out=out)


def rgb(values: tuple[float, float, float] | np.ndarray) -> np.ndarray:
    """A colour as a (3, 1, 1) float32 array that broadcasts over (3, h, w)."""
    return np.asarray(values, dtype=f32).reshape(3, 1, 1)


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch CPU ops on one thread for the duration.

    The few torch ops here (pooling, resampling) work on small patches; on a small shared machine the
    OpenMP fan-out costs more than it saves. Parallelism comes from several generator processes
    (DataLoader workers) instead.
    """
    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class Box:
    """A half-open pixel box ``[r0, r1) x [c0, c1)``."""

    r0: int
    r1: int
    c0: int
    c1: int

    @property
    def h(self) -> int:
        return max(self.r1 - self.r0, 0)

    @property
    def w(self) -> int:
        return max(self.c1 - self.c0, 0)

    @property
    def empty(self) -> bool:
        return self.h == 0 or self.w == 0

    def clip(self, other: Box) -> Box:
        return Box(max(self.r0, other.r0), min(self.r1, other.r1), max(self.c0, other.c0), min(self.c1, other.c1))

    def union(self, other: Box) -> Box:
        if self.empty:
            return other
        if other.empty:
            return self
        return Box(min(self.r0, other.r0), max(self.r1, other.r1), min(self.c0, other.c0), max(self.c1, other.c1))

    def grow(self, px: int) -> Box:
        return Box(self.r0 - px, self.r1 + px, self.c0 - px, self.c1 + px)

    def within(self, outer: Box) -> tuple[slice, slice]:
        """Slices of this box inside the array that covers ``outer``."""
        return slice(self.r0 - outer.r0, self.r1 - outer.r0), slice(self.c0 - outer.c0, self.c1 - outer.c0)


@dataclass(frozen=True)
class Frame:
    """Output raster size and the normalised coordinate convention."""

    width: int
    height: int

    @property
    def box(self) -> Box:
        return Box(0, self.height, 0, self.width)

    @property
    def px(self) -> float:
        """One pixel in normalised units."""
        return 1.0 / self.height

    def to_pixel(self, u: float, v: float) -> tuple[float, float]:
        """Normalised (u, v) to pixel (col, row) in continuous coordinates."""
        return u * self.height + self.width / 2.0, v * self.height

    def box_around(self, points: list[tuple[float, float]], margin_px: int = 2) -> Box:
        """The clipped pixel box holding normalised points (plus a margin)."""
        cols, rows = zip(*(self.to_pixel(u, v) for u, v in points), strict=True)
        box = Box(math.floor(min(rows)) - margin_px, math.ceil(max(rows)) + margin_px,
                  math.floor(min(cols)) - margin_px, math.ceil(max(cols)) + margin_px)
        return box.clip(self.box)

    def axes(self, box: Box) -> tuple[np.ndarray, np.ndarray]:
        """Normalised pixel-centre coordinates of a box: u as (1, w), v as (h, 1)."""
        u = (np.arange(box.c0, box.c1, dtype=f32) + f32(0.5 - self.width / 2.0)) / f32(self.height)
        v = (np.arange(box.r0, box.r1, dtype=f32) + f32(0.5)) / f32(self.height)
        return u[None, :], v[:, None]


@dataclass(frozen=True)
class Placement:
    """A similarity transform from image space to a local shape space (centre, rotation, unit size)."""

    cx: float
    cy: float
    angle: float
    unit: float

    def to_image(self, x: float, y: float) -> tuple[float, float]:
        c, s = math.cos(self.angle), math.sin(self.angle)
        return self.cx + self.unit * (c * x - s * y), self.cy + self.unit * (s * x + c * y)

    def box(self, frame: Frame, x0: float, y0: float, x1: float, y1: float, margin_px: int = 3) -> Box:
        """Pixel box of a local axis-aligned rectangle."""
        corners = [self.to_image(x, y) for x in (x0, x1) for y in (y0, y1)]
        return frame.box_around(corners, margin_px)

    def grid(self, frame: Frame, box: Box) -> tuple[np.ndarray, np.ndarray]:
        """Local (x, y) coordinates of every pixel centre in ``box``, each (h, w)."""
        u, v = frame.axes(box)
        c, s = f32(math.cos(self.angle) / self.unit), f32(math.sin(self.angle) / self.unit)
        du, dv = u - f32(self.cx), v - f32(self.cy)
        return du * c + dv * s, dv * c - du * s


def ellipse_sd(x: np.ndarray, y: np.ndarray, a: float, b: float) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipse (exact on circles, close on ellipses).

    First-order estimate ``f / |grad f|`` with ``f = |p/r| - 1``: what antialiased coverage needs.
    """
    px, py = x * f32(1.0 / a), y * f32(1.0 / b)
    k0 = np.sqrt(px * px + py * py)
    px *= f32(1.0 / a)
    py *= f32(1.0 / b)
    k1 = np.sqrt(px * px + py * py)
    np.maximum(k1, EPS, out=k1)
    out = k0 - f32(1.0)
    out *= k0
    out /= k1
    return out


def circle_sd(x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    return np.sqrt(x * x + y * y) - f32(r)


def capsule_sd(x: np.ndarray, y: np.ndarray, ax: float, ay: float, bx: float, by: float,
               ra: float, rb: float) -> np.ndarray:
    """Signed distance to a segment with linearly varying radius (a tapered capsule)."""
    dx, dy = bx - ax, by - ay
    length2 = max(dx * dx + dy * dy, EPS)
    px, py = x - f32(ax), y - f32(ay)
    t = clamp((px * f32(dx / length2) + py * f32(dy / length2)), 0.0, 1.0)
    ex, ey = px - t * f32(dx), py - t * f32(dy)
    return np.sqrt(ex * ex + ey * ey) - (f32(ra) + f32(rb - ra) * t)


def coverage(sd: np.ndarray, width: float) -> np.ndarray:
    """Box-filtered coverage of the inside (sd < 0) for an edge ``width`` local units wide."""
    out = f32(0.5) - sd * f32(1.0 / width)
    return clamp(out, 0.0, 1.0, out=out)


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = (x - f32(e0)) * f32(1.0 / (e1 - e0))
    clamp(t, 0.0, 1.0, out=t)
    return t * t * (f32(3.0) - f32(2.0) * t)


def soft_blob(x: np.ndarray, y: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """A smooth bump (1 at the centre, ~0 beyond the radii): shading, blush, shadows."""
    dx = (x - f32(cx)) * f32(1.0 / rx)
    dy = (y - f32(cy)) * f32(1.0 / ry)
    out = dx * dx + dy * dy
    out *= f32(-2.0)
    return np.exp(out, out=out)


def band_limit(period_px: float) -> float:
    """Amplitude of a sinusoid with this period that survives box filtering without aliasing."""
    return min(max((period_px - 2.0) / 2.0, 0.0), 1.0)


def box_blur(x: np.ndarray, radius: int, passes: int = 1) -> np.ndarray:
    """Separable box blur of (h, w) with zero padding, by running sums: cost independent of radius."""
    k = 2 * radius + 1
    out = x
    for _ in range(passes):
        for axis in (0, 1):
            c = np.cumsum(out, axis=axis, dtype=f32)
            src = np.moveaxis(c, axis, 0)
            n = src.shape[0]
            blurred = np.empty_like(src)
            if n > k:
                np.subtract(src[k:], src[:n - k], out=blurred[radius + 1:n - radius])
            head = min(radius + 1, n)
            blurred[:head] = src[np.minimum(np.arange(head) + radius, n - 1)]
            tail = np.arange(max(n - radius, head), n)
            blurred[tail] = src[n - 1] - src[tail - radius - 1]
            out = np.moveaxis(blurred, 0, axis) * f32(1.0 / k)
    return out


def downsample(x: np.ndarray, factor: int) -> np.ndarray:
    """Average-pool (h, w) by ``factor``; a partial last block averages what it has."""
    if factor == 1:
        return x
    t = torch.from_numpy(np.ascontiguousarray(x))[None, None]
    return F.avg_pool2d(t, factor, ceil_mode=True, count_include_pad=False)[0, 0].numpy()


def upsample(x: np.ndarray, factor: int) -> np.ndarray:
    """Bilinear upsampling of (h, w) by an integer factor (pixel centres aligned)."""
    if factor == 1:
        return x
    t = torch.from_numpy(np.ascontiguousarray(x))[None, None]
    return F.interpolate(t, scale_factor=factor, mode="bilinear", align_corners=False)[0, 0].numpy()


def blur_lowres(x: np.ndarray, factor: int, radius: int) -> np.ndarray:
    """Wide, cheap blur of (h, w): average-pool by ``factor``, box-blur ``radius`` twice, upsample."""
    h, w = x.shape
    small = downsample(x, factor)
    small = np.pad(small, radius, mode="edge")
    small = box_blur(small, radius, passes=2)[radius:-radius, radius:-radius]
    return upsample(small, factor)[:h, :w]


def splat(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear splat of weighted points (pixel coordinates of the patch) into an (h, w) density map."""
    r, c = rows - 0.5, cols - 0.5
    r0, c0 = np.floor(r), np.floor(c)
    fr, fc = r - r0, c - c0
    r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
    index, mass = [], []
    for dr, dc, wt in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc), (1, 0, fr * (1 - fc)), (1, 1, fr * fc)):
        rr, cc = r0 + dr, c0 + dc
        ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        index.append((rr * w + cc)[ok])
        mass.append((weights * wt)[ok])
    density = np.bincount(np.concatenate(index), np.concatenate(mass), minlength=h * w)
    return density.astype(f32).reshape(h, w)
