r"""A colour-difference keyer (the Keylight/IBK/Natron PIK family), in torch, for any device.

The key is built from three parts that are kept apart, so that no setting serves one by hurting
another:

* **screen** -- the screen behind every pixel: a given clean plate, a flat colour, or (default) an
  estimate worked out on a coarse cell grid (:mod:`.clean_plate`) that dark strands do not darken;
* **edge/detail** -- ``alpha_0``, the colour difference and brightness bounds of every pixel
  against that screen (:func:`.pixel.screen_matte`): fine strands, motion blur and soft edges keep
  exactly the partial alpha their colour says;
* **core** -- what is solid although it keys below 1: wide flat areas are divided by their level
  (auto clip white, :mod:`.levels`), and a hard key eroded by the structure size lifts the last
  noise out of solid areas (:mod:`.neighbourhood`). Neither fills a gap.

Then the foreground comes from the compositing equation with a prior for small alpha, and despill
subtracts screen light against the local screen, protecting the subject's own colours near the
screen hue (:mod:`.pixel`, where the maths is written out).

Stages, for a frame of N images: cell grid of the plate; the screen estimate, once per frame on the
grid; pass A per pixel (``alpha_0``); the matte's cell grid; auto clip white and the foreground
prior on the grid; the matte stage (band by band); pass B per pixel (foreground, despill). The
premultiplied foreground, ``I_T^green`` and a per-pixel screen are derived when read (:class:`KeyResult`).
Per-pixel passes run as one fused kernel each where one is available -- CUDA with CuPy
(:mod:`.cuda_kernel`), or the CPU with a C++ compiler (:mod:`.host_kernel`) -- and in torch
otherwise; all three compute the same maths (the tests compare them). Frames are keyed in
horizontal bands (:mod:`.bands`): the result is the whole-frame result bit for bit, and working
memory follows the band. float16 inputs are keyed in float32 and returned as float16.

The keyer is colour-space agnostic: it keys the values it is given (the pipeline gives it the
network space, sRGB-encoded, unclamped: negative channels of wide-gamut screens and values above 1
are keyed as they are).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from ..checks import check_shape
from ..device import cupy_status
from ..errors import ContractError, ParamError
from .bands import Band, band_height, bands, compute_dtype
from .cells import pool_banded, read_rows
from .clean_plate import ScreenGrid, screen_grid
from .fg_prior import prior_grid
from .levels import alpha_cells, level_grid
from .neighbourhood import divide_level, matte
from .params import KeyerParams
from .pixel import finish, over_green, premultiply, screen_matte
from .screen import check_screen_color, pick_screen_color

log = logging.getLogger(__name__)

Backend = Literal["auto", "torch", "host", "cupy"]


class KeyResult:
    """What the keyer returns; every image is (N,C,H,W) on the plate's device and dtype.

    The passes compute ``alpha``, ``fg`` and ``detail``; ``fg_premult``, ``green`` and a per-pixel
    ``screen`` follow from them and are computed on first access, then kept. Writing all of them
    every frame was most of the per-pixel passes' memory traffic (14 planes instead of 5), and the
    full-frame key of a render reads none of them (it premultiplies in the working space; only the
    network-resolution key of the prepare stage reads ``green``). They are derived from ``alpha``
    and ``fg`` as those are when first read (so do not change those in place before). Each derived
    tensor is new, never a buffer shared with another frame (a given clean plate is returned as
    ``screen`` itself). Until ``screen`` is read an estimated screen holds on to the plate and the
    cell grid it is read back from.
    """

    def __init__(self, alpha: torch.Tensor, fg: torch.Tensor, screen: torch.Tensor | Callable[[], torch.Tensor],
                 detail: torch.Tensor | None = None) -> None:
        self.alpha = alpha  #: (N,1,H,W) matte
        self.fg = fg  #: (N,3,H,W) despilled foreground, unpremultiplied
        self.detail = detail  #: (N,1,H,W) ``alpha_0``, the edge/detail key before the core
        self._screen = screen

    @property
    def screen(self) -> torch.Tensor:
        """(N,3,1,1) or (N,3,H,W): the screen that was keyed against (a given clean plate itself, not
        a copy)."""
        if callable(self._screen):
            self._screen = self._screen()
        return self._screen

    @functools.cached_property
    def fg_premult(self) -> torch.Tensor:
        """(N,3,H,W) ``alpha * fg``."""
        return premultiply(self.fg, self.alpha)

    @functools.cached_property
    def green(self) -> torch.Tensor:
        """(N,3,H,W) ``I_T^green``: fg over :data:`CANONICAL_GREEN`."""
        return over_green(self.fg, self.alpha)


@dataclass
class ScreenSource:
    """The screen behind the plate: one colour per image, a given clean plate, or an estimate."""

    flat: torch.Tensor | None = None  #: (N,3,1,1)
    given: torch.Tensor | None = None  #: (N or 1,3,H,W)
    estimate: ScreenGrid | None = None

    def rows(self, plate_rows: torch.Tensor, band: Band) -> torch.Tensor:
        """The screen behind ``band``'s rows ((N,3,1,1) when flat), given those rows of the plate."""
        if self.flat is not None:
            return self.flat
        if self.given is not None:
            return self.given[..., band.rows, :].to(plate_rows.dtype)
        return self.estimate.rows(plate_rows, band.index(plate_rows.device))


def _check_image(x: torch.Tensor, name: str, channels: int, like: torch.Tensor | None = None) -> None:
    check_shape(x, f"* {channels} H W", name, floating=True)
    if like is not None:
        n, _, h, w = like.shape
        check_shape(x, f"* {channels} H W", f"{name} (like the plate)", {"H": h, "W": w})
        if x.shape[0] not in (1, n):
            raise ContractError(f"{name}: batch of {x.shape[0]}, expected 1 or the plate's {n}")
        if x.device != like.device:
            raise ContractError(f"{name}: on {x.device}, but the plate is on {like.device}")


def screen_source(plate: torch.Tensor, cells: torch.Tensor, texture: torch.Tensor, params: KeyerParams,
                  clean_plate: torch.Tensor | None = None) -> ScreenSource:
    """Where the screen comes from: the clean plate, else the given or picked colour, estimated
    per pixel when ``auto_clean_plate`` is on (from the plate's cell means and texture)."""
    n = plate.shape[0]
    if clean_plate is not None:
        _check_image(clean_plate, "clean_plate", 3, like=plate)
        return ScreenSource(given=clean_plate.expand(n, -1, -1, -1))
    if params.screen_color is not None:
        colour = cells.new_tensor(params.screen_color).view(1, 3, 1, 1).expand(n, -1, -1, -1)
        check_screen_color(colour, params.screen_type, params.screen_balance, "screen_color")
    else:
        colour = pick_screen_color(cells, params.screen_type)
        check_screen_color(colour, params.screen_type, params.screen_balance, "the picked screen colour")
    if params.auto_clean_plate:
        return ScreenSource(estimate=screen_grid(cells, texture, plate, colour, params.screen_type))
    return ScreenSource(flat=colour)


def _pick_backend(plate: torch.Tensor, backend: Backend) -> str:
    if backend not in ("auto", "torch", "host", "cupy"):
        raise ParamError(f"backend={backend!r}: expected auto, torch, host or cupy")
    if backend == "cupy":
        usable, reason = cupy_status()
        if plate.device.type != "cuda" or plate.dtype not in (torch.float32, torch.float16) or not usable:
            raise ParamError(f"backend='cupy': needs a float32/float16 CUDA plate and CuPy ({reason}); "
                             f"the plate is {plate.dtype} on {plate.device}")
        return backend
    if backend == "host":
        from . import host_kernel

        usable, reason = host_kernel.status()
        if plate.device.type != "cpu" or plate.dtype not in (torch.float32, torch.float16) or not usable:
            raise ParamError(f"backend='host': needs a float32/float16 CPU plate and a C++ compiler ({reason}); "
                             f"the plate is {plate.dtype} on {plate.device}")
        return backend
    if backend == "auto" and plate.dtype in (torch.float32, torch.float16):
        if plate.device.type == "cuda" and cupy_status()[0]:
            return "cupy"
        if plate.device.type == "cpu":
            from . import host_kernel

            if host_kernel.status()[0]:
                return "host"
    return "torch"


def key(plate: torch.Tensor, params: KeyerParams | None = None, *, clean_plate: torch.Tensor | None = None,
        core_matte: torch.Tensor | None = None, garbage_matte: torch.Tensor | None = None,
        backend: Backend = "auto", band_rows: int | None = None) -> KeyResult:
    """Key a green- or blue-screen plate (N,3,H,W) into alpha, despilled fg and ``I_T^green``.

    ``clean_plate`` (N or 1,3,H,W) is the empty screen shot under the same light; ``core_matte`` and
    ``garbage_matte`` (N or 1,1,H,W) force the matte to 1 inside / 0 outside, as in Natron's PIK.
    ``backend``: "auto" runs the per-pixel passes as fused kernels where one is available (CuPy on
    CUDA, the C++ host kernel on the CPU), else in torch. ``band_rows`` is the height of the bands
    the frame is keyed in (None: about :data:`.bands.BAND_PIXELS` pixels a band); it changes memory
    and speed, never the result.
    """
    params = params or KeyerParams()
    _check_image(plate, "plate", 3)
    for name, matte_in in (("core_matte", core_matte), ("garbage_matte", garbage_matte)):
        if matte_in is not None:
            _check_image(matte_in, name, 1, like=plate)
    chosen = _pick_backend(plate, backend)
    h, w = plate.shape[-2:]
    rows = band_height(h, w, band_rows)
    log.debug("keying %s %s on %s with the %s backend, bands of %d rows", tuple(plate.shape), plate.dtype,
              plate.device, chosen, rows)
    cells, texture = pool_banded(plate, rows)
    source = screen_source(plate, cells, texture, params, clean_plate)
    passes = _passes(chosen)
    alpha0 = passes.alpha(plate, source, params, rows)
    low, mean = alpha_cells(alpha0, rows)
    level = level_grid(low, params.auto_clip_white) if params.auto_clip_white < 1.0 else None
    prior = prior_grid(cells, mean, torch.ones_like(mean) if level is None else level)
    alpha = matte(passes.level(alpha0, level, params, rows), params, rows)
    result = passes.finish(plate, source, alpha, params, rows, core_matte, garbage_matte, prior)
    result.detail = alpha0.to(plate.dtype)
    return result


def _passes(backend: str) -> type:
    if backend == "cupy":
        from .cuda_kernel import CudaPasses

        return CudaPasses
    if backend == "host":
        from .host_kernel import HostPasses

        return HostPasses
    return TorchPasses


def _rows_of(x: torch.Tensor | None, band: Band, dtype: torch.dtype) -> torch.Tensor | None:
    return None if x is None else x[..., band.rows, :].to(dtype)


class TorchPasses:
    """The two per-pixel passes in torch, band by band (the reference the kernels are checked against)."""

    @staticmethod
    def alpha(plate: torch.Tensor, source: ScreenSource, params: KeyerParams, rows: int) -> torch.Tensor:
        """Pass A: ``alpha_0`` (N,1,H,W) in the keying precision."""
        n, _, h, w = plate.shape
        dtype = compute_dtype(plate.dtype)
        out = plate.new_empty((n, 1, h, w), dtype=dtype)
        for band in bands(h, rows):
            p = plate[..., band.rows, :].to(dtype)
            out[..., band.rows, :] = screen_matte(p, source.rows(p, band), params)
        return out

    @staticmethod
    def level(alpha0: torch.Tensor, level: torch.Tensor | None, params: KeyerParams, rows: int) -> torch.Tensor:
        """The matte stage's per-pixel step: auto clip white and clip (:func:`.neighbourhood.divide_level`)."""
        return divide_level(alpha0, level, params, rows)

    @staticmethod
    def finish(plate: torch.Tensor, source: ScreenSource, alpha: torch.Tensor, params: KeyerParams, rows: int,
               core: torch.Tensor | None, garbage: torch.Tensor | None, prior: torch.Tensor) -> KeyResult:
        """Pass B: mattes, foreground and despill, in the plate's dtype."""
        n, _, h, w = plate.shape
        dtype = compute_dtype(plate.dtype)
        out_alpha, out_fg = plate.new_empty((n, 1, h, w)), torch.empty_like(plate)
        for band in bands(h, rows):
            p = plate[..., band.rows, :].to(dtype)
            f = read_rows(prior, (h, w), band.index(plate.device))
            a, fg = finish(p, source.rows(p, band), alpha[..., band.rows, :], params, _rows_of(core, band, dtype),
                           _rows_of(garbage, band, dtype), f)
            out_alpha[..., band.rows, :], out_fg[..., band.rows, :] = a, fg
        return KeyResult(out_alpha, out_fg, screen_of(plate, source, rows))


def screen_of(plate: torch.Tensor, source: ScreenSource, rows: int) -> torch.Tensor | Callable[[], torch.Tensor]:
    """The screen keyed against, as :class:`KeyResult` takes it: a flat colour now (N,3,1,1); per
    pixel, a function that gives it on first use (the given clean plate, or the estimate read back
    band by band, its rows as the passes read them) in the plate's dtype."""
    n, _, h, _ = plate.shape
    if source.flat is not None:
        return source.flat.to(plate.dtype)
    if source.given is not None:
        given = source.given
        return lambda: given.to(plate.dtype).expand(n, -1, -1, -1)

    def estimate() -> torch.Tensor:
        out = torch.empty_like(plate)
        dtype = compute_dtype(plate.dtype)
        for band in bands(h, rows):
            out[..., band.rows, :] = source.rows(plate[..., band.rows, :].to(dtype), band)
        return out

    return estimate


class Keyer(nn.Module):
    """:func:`key` as a module holding its params, for models and pipelines that compose modules."""

    def __init__(self, params: KeyerParams | None = None, backend: Backend = "auto") -> None:
        super().__init__()
        self.params = params or KeyerParams()
        self.backend = backend

    def forward(self, plate: torch.Tensor, clean_plate: torch.Tensor | None = None,
                core_matte: torch.Tensor | None = None, garbage_matte: torch.Tensor | None = None) -> KeyResult:
        return key(plate, self.params, clean_plate=clean_plate, core_matte=core_matte,
                   garbage_matte=garbage_matte, backend=self.backend)
