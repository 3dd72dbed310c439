"""An OCIO transform baked into a 1D -> 3D -> 1D LUT and applied with torch on any device.

Layout: ``x --pre--> u in [0,1]^3 --trilinear 3D LUT--> z --post--> y``.

* **pre** maps the source values to grid coordinates. For a scene-linear source it is the identity
  on :data:`LINEAR_DOMAIN` (a plain affine map, analytic in torch). For a non-linear source (e.g.
  the sRGB-encoded network space, or ACEScct) it is the source's own linearisation: the grey-axis
  response of ``src -> scene_linear`` computed by OCIO and tabulated (:class:`Curve`), normalised
  over :data:`ENCODED_DOMAIN`.
* **3D LUT** holds OCIO's CPU processor evaluated at the grid nodes ``x = pre^-1(grid)``, mapped
  through ``post^-1``. Interpolated with ``torch.nn.functional.grid_sample`` (5D volume laid out
  ``[C, B, G, R]`` because ``grid[..., 0]`` indexes the last dimension, ``align_corners=True``).
  Outside the domain it extrapolates linearly (no silent clamping) with a per-axis slope fitted
  by least squares over the whole axis: exact for linear content and far less sensitive to
  OCIO's float32 noise than the edge cell (HDR error 2.4e-2 -> 1.7e-4 on [0,64]^3).
* **post** is the destination's encoding: the grey-axis response of ``scene_linear -> dst``
  (tabulated on a log-spaced grid covering +-65504), identity for a linear destination.

Why not the textbook "log shaper + 3D LUT": measured on ACEScg -> sRGB-encoded Rec.709 over
working-space inputs whose network value lies in [0,1]^3 (200k random points plus grey and
saturated sweeps), max abs error at 65^3 was 0.31 with an ACEScct shaper [-0.007, 222], 0.27 with
asinh, 0.44 with lin/log hybrid, 0.47 with a 1/2.4 power shaper (and 0.6-1.1 at 33^3). The sRGB
curve is applied *after* a 3x3 matrix, so for saturated colours one output channel sits near zero
(slope 12.92 then a steep power) while the input cell is wide: no per-channel input shaper can fix
that. Pulling the output curve out of the LUT leaves a content that is linear in the inputs for
every config space built as "matrix + per-channel curve" (all of the CG config's scene spaces);
trilinear interpolation of a linear function on an affine grid is exact, so the remaining error is
float32 rounding: see the tolerances in :mod:`changer.core.color` and ``benchmarks/color.py``. For
transforms that are not of that form (e.g. a display/view with a tone curve) the LUT is still
built; its error on a validation set is measured at bake time (:attr:`BakedLut.max_error`) and a
warning is issued when it exceeds the tolerance.

Choices, by measurement (float32 torch path vs OCIO, in-range validation set):

* :data:`LINEAR_DOMAIN` [-0.125, 16]: 7.0e-6; [-0.25, 64]: 2.8e-5; [-1, 256]: 1.1e-4 (float32
  rounding of the grid coordinate grows with the span; HDR beyond is extrapolated exactly).
* :data:`LUT_SIZE` 65: for matrix content 33^3 is as good (8.2e-6 vs 7.9e-6); 65 leaves headroom
  for transforms that are not matrix + curve. :data:`CURVE_SIZE` 65536: saturated HDR error on
  [0,64]^3 1.7e-4 (4096: 6.2e-4, 8192: 4.8e-4, 16384: 2.8e-4), in-range 7.0e-6 (4096: 1.5e-5).
* Other pairs of the CG config (``convert``): Linear Rec.709 -> sRGB 3.6e-6, ACES2065-1 -> sRGB
  1.1e-5, ACEScct -> sRGB 2.3e-4, ACEScg -> ACEScct 3.0e-6, ACEScg -> Linear Rec.2020 4.8e-7,
  ACEScg -> Gamma 2.2 AdobeRGB 6.7e-4 (a pure power has infinite slope at black), ACEScg ->
  sRGB - Display 6.8e-6. sRGB -> ACEScct warns (2.3e-2): its validation set maps ACEScct [0,1]
  back to sRGB values of +-1e3, far outside the [0,1] grid.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from changer.core.color import config as _cfg
from changer.core.errors import ParamError

#: Max abs difference LUT path vs OCIO CPU path allowed on in-range values (float32 compute),
#: i.e. working-space inputs whose network-space value lies in [0,1]^3. Enforced by the tests.
LUT_TOLERANCE = 2e-3
#: Same, for scene-linear HDR working values anywhere in [-1, 64]^3 (beyond the grid domain the
#: LUT extrapolates linearly): absolute error below 1, relative above. Enforced by the tests.
LUT_HDR_TOLERANCE = 1e-3
#: Default 3D LUT size (nodes per axis).
LUT_SIZE = 65
#: Allowed LUT sizes.
LUT_SIZE_RANGE = (9, 129)
#: Grid domain for a scene-linear source (extrapolated linearly beyond, exact for matrix content).
LINEAR_DOMAIN = (-0.125, 16.0)
#: Grid domain for a non-linear (encoded) source, in its encoded units.
ENCODED_DOMAIN = (0.0, 1.0)
#: Nodes of the tabulated 1D curves.
CURVE_SIZE = 65536
#: Half-range of the post curve's table, in linear units (float16 max).
CURVE_RANGE = 65504.0
#: Curve-table parameter: nodes are uniform below ~eps and log-spaced above.
CURVE_EPS = 1e-3


def run_cpu(cpu, rgb: np.ndarray) -> np.ndarray:
    """OCIO CPU processor on a copy of an (..., 3) array, float64 out."""
    a = np.ascontiguousarray(rgb, dtype=np.float32).copy()
    cpu.applyRGB(a)
    return a.astype(np.float64)


def _increasing(y: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(y)) and np.all(np.diff(y, axis=-1) > 0))


def _t(x: np.ndarray, eps: float) -> np.ndarray:
    """Curve-table coordinate: linear below ~eps, log above, odd (cheap in torch: log1p)."""
    return np.copysign(np.log1p(np.abs(x) / eps), x)


def _t_inv(t: np.ndarray, eps: float) -> np.ndarray:
    return np.copysign(eps * np.expm1(np.abs(t)), t)


@dataclass
class Curve:
    """Per-channel monotonic curve ``y_c = f_c(x)``, tabulated uniformly in ``t = _t(x)``.

    Interpolation (and extrapolation past the ends) is linear in ``t``: log-spaced nodes keep
    the relative error of power/log encodings ~1e-8 with 64k nodes, and ``log1p`` is cheap in
    torch (``asinh`` is 7x slower on CPU).
    """

    t0: float
    dt: float
    y: np.ndarray  # [3, K]
    eps: float

    @property
    def size(self) -> int:
        return self.y.shape[1]

    @classmethod
    def grey_response(cls, cpu, lo: float, hi: float, eps: float = CURVE_EPS,
                      size: int = CURVE_SIZE, limit: float = math.inf) -> Curve | None:
        """OCIO's response on the grey axis ``(x, x, x)`` for x in [lo, hi].

        The range is first narrowed to where the response stays finite and within +-``limit``
        (a log decoding explodes quickly). None when the response is not strictly increasing.
        """
        def sample(t0: float, t1: float, k: int) -> tuple[np.ndarray, np.ndarray]:
            t = np.linspace(t0, t1, k)
            x = _t_inv(t, eps)
            return t, run_cpu(cpu, np.repeat(x[:, None], 3, axis=1)).T

        t, y = sample(float(_t(np.float64(lo), eps)), float(_t(np.float64(hi), eps)), 4096)
        ok = np.all(np.isfinite(y) & (np.abs(y) <= limit), axis=0)
        if ok.sum() < 2:
            return None
        first, last = np.flatnonzero(ok)[[0, -1]]
        t, y = sample(t[first], t[last], size)
        if not _increasing(y):
            return None
        return cls(t0=float(t[0]), dt=float(t[1] - t[0]), y=np.ascontiguousarray(y), eps=eps)

    def _grid(self) -> np.ndarray:
        return self.t0 + self.dt * np.arange(self.size)

    @staticmethod
    def _interp(v: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
        """np.interp with linear extrapolation from the end segments."""
        v = np.asarray(v, dtype=np.float64)
        out = np.interp(v, xp, fp)
        lo, hi = v < xp[0], v > xp[-1]
        out[lo] = fp[0] + (v[lo] - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0])
        out[hi] = fp[-1] + (v[hi] - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
        return out

    def __call__(self, v: np.ndarray, c: int) -> np.ndarray:
        return self._interp(_t(np.asarray(v, np.float64), self.eps), self._grid(), self.y[c])

    def inverse(self, v: np.ndarray, c: int) -> np.ndarray:
        return _t_inv(self._interp(v, self.y[c], self._grid()), self.eps)

    def to_torch(self, device: torch.device, dtype: torch.dtype) -> _TorchCurve:
        return _TorchCurve(self, device, dtype)


class _TorchCurve:
    def __init__(self, curve: Curve, device: torch.device, dtype: torch.dtype):
        self.inv_eps = 1.0 / curve.eps
        self.k = curve.size
        self.t0, self.inv_dt = curve.t0, 1.0 / curve.dt
        self.y = torch.as_tensor(curve.y.reshape(-1), device=device, dtype=dtype)
        self.off = (torch.arange(3, device=device) * self.k).view(1, 3, 1, 1)

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        """Apply per channel to ``v`` (N, 3, H, W)."""
        k = (torch.log1p(v.abs() * self.inv_eps).copysign(v) - self.t0) * self.inv_dt
        i = k.floor().clamp_(0, self.k - 2)
        f = k - i
        i = i.long() + self.off
        y0 = torch.take(self.y, i)
        return y0 + f * (torch.take(self.y, i + 1) - y0)


class _TorchLut:
    """Device tensors of a :class:`BakedLut`."""

    def __init__(self, lut: BakedLut, device: torch.device, dtype: torch.dtype):
        kw = dict(device=device, dtype=dtype)
        # table[r, g, b, c] -> volume[c, b, g, r]: grid[..., 0] (= r) indexes the last dim.
        self.vol = torch.as_tensor(lut.table.transpose(3, 2, 1, 0).copy(), **kw).unsqueeze(0)
        g = np.concatenate([lut.grads[a].transpose(3, 2, 1, 0) for a in range(3)], axis=0)
        self.grad = torch.as_tensor(g.copy(), **kw).unsqueeze(0)  # [1, 9(a*3+c), B, G, R]
        self.lo, self.hi = lut.domain
        self.pre = lut.pre.to_torch(device, dtype) if lut.pre is not None else None
        if lut.pre is not None:
            self.plo = torch.as_tensor(lut.pre_lo, **kw).view(1, 3, 1, 1)
            self.prange = torch.as_tensor(lut.pre_hi - lut.pre_lo, **kw).view(1, 3, 1, 1)
        self.post = lut.post.to_torch(device, dtype) if lut.post is not None else None


@dataclass
class BakedLut:
    """``src -> dst`` of one config baked into a pre curve, a 3D LUT and a post curve (numpy)."""

    source: str
    src: str
    dst: str
    size: int
    domain: tuple[float, float]
    pre: Curve | None
    pre_lo: np.ndarray | None  # pre(domain[0]) per channel
    pre_hi: np.ndarray | None
    table: np.ndarray  # [R, G, B, 3] float32, content before the post curve
    grads: np.ndarray  # [3(axis), R, G, B, 3] d table / d u (u in [0,1]) for extrapolation
    post: Curve | None
    #: error against OCIO on the bake-time validation set, absolute up to 1 and relative above
    max_error: float = float("nan")
    _torch: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on(self, device: torch.device, dtype: torch.dtype) -> _TorchLut:
        key = (str(device), dtype)
        with self._lock:
            t = self._torch.get(key)
            if t is None:
                t = self._torch[key] = _TorchLut(self, device, dtype)
        return t

    def apply(self, rgb: torch.Tensor) -> torch.Tensor:
        """Apply to ``rgb`` (N, 3, H, W) on its own device and dtype (float32 or float64)."""
        return apply_lut(self.on(rgb.device, rgb.dtype), rgb)


def apply_lut(t: _TorchLut, rgb: torch.Tensor) -> torch.Tensor:
    n, _, h, w = rgb.shape
    if t.pre is not None:
        u = (t.pre(rgb) - t.plo) / t.prange
    else:
        u = (rgb - t.lo) / (t.hi - t.lo)
    uc = u.clamp(0.0, 1.0)
    grid = (uc * 2.0 - 1.0).permute(0, 2, 3, 1).reshape(1, 1, n * h, w, 3)
    out = F.grid_sample(t.vol, grid, mode="bilinear", padding_mode="border", align_corners=True)
    out = out.reshape(3, n, h, w).permute(1, 2, 3, 0)  # (N, H, W, 3) view
    lo, hi = torch.aminmax(u)
    if bool((lo < 0) | (hi > 1)):  # some pixels outside the domain: extrapolate linearly
        excess = u - uc
        mask = excess.ne(0).any(1)  # (N, H, W)
        pts = grid.reshape(n, h, w, 3)[mask]  # (P, 3) clamped grid coords
        d = F.grid_sample(t.grad, pts.view(1, 1, 1, -1, 3), mode="bilinear",
                          padding_mode="border", align_corners=True).reshape(3, 3, -1)
        e = excess.permute(0, 2, 3, 1)[mask]  # (P, 3 axes)
        out[mask] = out[mask] + torch.einsum("acp,pa->pc", d, e)
    out = out.permute(0, 3, 1, 2)
    if t.post is not None:
        out = t.post(out)
    return out


def check_lut_size(size: int) -> int:
    lo, hi = LUT_SIZE_RANGE
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not lo <= size <= hi:
        raise ParamError(f"lut_size must be an integer in [{lo}, {hi}], got {size!r}")
    return int(size)


def _linear_reference(cfg) -> str | None:
    if not cfg.hasRole("scene_linear"):
        return None
    name = cfg.getColorSpace("scene_linear").getName()
    return name if _cfg.is_linear(cfg, name) else None


def bake(source: str, src: str, dst: str, size: int = LUT_SIZE,
         domain: tuple[float, float] | None = None) -> BakedLut:
    """Bake ``src -> dst`` (canonical names of the config at ``source``); cached.

    ``domain``: grid domain in ``src`` units; default :data:`LINEAR_DOMAIN` for a scene-linear
    source, :data:`ENCODED_DOMAIN` otherwise.
    """
    size = check_lut_size(size)
    if domain is not None:
        domain = (float(domain[0]), float(domain[1]))
    return _bake(source, src, dst, size, domain)


@functools.lru_cache(maxsize=16)
def _bake(source: str, src: str, dst: str, size: int,
          domain: tuple[float, float] | None) -> BakedLut:
    cfg = _cfg.load_ocio_config(source)
    fwd = _cfg.cpu_processor(source, src, dst)
    ref = _linear_reference(cfg)
    src_linear = _cfg.is_linear(cfg, src)
    if domain is None:
        domain = LINEAR_DOMAIN if src_linear else ENCODED_DOMAIN
    lo, hi = float(domain[0]), float(domain[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ParamError(f"LUT domain must be finite with lo < hi, got {domain!r}")

    pre = post = None
    if ref is not None and not src_linear:
        span = hi - lo
        pre = Curve.grey_response(_cfg.cpu_processor(source, src, ref), lo - 1e3 * span,
                                  hi + 1e3 * span, eps=CURVE_EPS * span, limit=CURVE_RANGE)
    if ref is not None and not _cfg.is_linear(cfg, dst):
        post = Curve.grey_response(_cfg.cpu_processor(source, ref, dst), -CURVE_RANGE, CURVE_RANGE)

    u = np.linspace(0.0, 1.0, size)
    if pre is not None:
        pre_lo = np.array([pre(np.array([lo]), c)[0] for c in range(3)])
        pre_hi = np.array([pre(np.array([hi]), c)[0] for c in range(3)])
        axes = [pre.inverse(pre_lo[c] + u * (pre_hi[c] - pre_lo[c]), c) for c in range(3)]
    else:
        pre_lo = pre_hi = None
        axes = [lo + u * (hi - lo)] * 3
    r, g, b = np.meshgrid(*axes, indexing="ij")
    out = run_cpu(fwd, np.stack([r, g, b], -1).reshape(-1, 3))
    if post is not None:
        out = np.stack([post.inverse(out[:, c], c) for c in range(3)], axis=1)
    table = out.reshape(size, size, size, 3)
    grads = np.empty((3,) + table.shape)
    # Extrapolation slope per axis: least-squares fit over the whole axis (d table / d u). Exact
    # for linear content and ~10x less sensitive to OCIO's float32 noise than the edge cell.
    du = (u - u.mean()).reshape(-1, 1, 1, 1)
    for a in range(3):
        t = np.moveaxis(out.reshape(size, size, size, 3), a, 0)
        slope = (du * (t - t.mean(axis=0))).sum(axis=0) / (du ** 2).sum()
        grads[a] = np.broadcast_to(np.expand_dims(slope, a), table.shape)
    lut = BakedLut(source=source, src=src, dst=dst, size=size, domain=(lo, hi), pre=pre,
                   pre_lo=pre_lo, pre_hi=pre_hi, table=table.astype(np.float32),
                   grads=grads.astype(np.float32), post=post)
    lut.max_error = _validate(lut, fwd, src_linear)
    return lut


def _validate(lut: BakedLut, fwd, src_linear: bool) -> float:
    """Max error of the float32 torch CPU path against OCIO on in-range points.

    In-range: destination values in [0,1]^3 mapped back to the source, plus (for an encoded
    source) source values in its domain. Error is absolute up to 1 and relative above.
    """
    rng = np.random.default_rng(0)
    unit = np.concatenate([rng.random((4096, 3)),
                           np.repeat(np.linspace(0.0, 1.0, 257)[:, None], 3, axis=1)])
    sets = []
    with contextlib.suppress(Exception):  # no inverse: fall back on the source domain
        sets.append(run_cpu(_cfg.cpu_processor(lut.source, lut.dst, lut.src), unit))
    if not src_linear or not sets:
        lo, hi = lut.domain
        sets.append(lo + unit * (hi - lo))
    pts = np.concatenate(sets)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    ref = run_cpu(fwd, pts)
    x = torch.as_tensor(pts.T.astype(np.float32)).reshape(1, 3, 1, -1)
    got = lut.apply(x).reshape(3, -1).T.double().numpy()
    err = float(np.nanmax(np.abs(got - ref) / np.maximum(np.abs(ref), 1.0)))
    if not err <= LUT_TOLERANCE:
        warnings.warn(f"colour LUT {lut.src!r} -> {lut.dst!r} ({lut.source}) differs from OCIO by "
                      f"up to {err:.3g} (> {LUT_TOLERANCE:g}) on in-range values; use "
                      f"method='ocio' for exact results", RuntimeWarning, stacklevel=3)
    return err
