"""Colour transforms on torch tensors: OCIO CPU processor or baked LUT, one entry point."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from changer.core.color import config as _cfg
from changer.core.color import lut as _lut
from changer.core.errors import ParamError

METHODS = ("auto", "ocio", "lut")
#: Pixels per chunk when OCIO's CPU processor runs on several threads (it releases the GIL).
_CHUNK = 1 << 16
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1),
                                   thread_name_prefix="changer-ocio")
    return _pool


def _check_image(x, what: str = "x") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise ParamError(f"{what} must be a torch.Tensor (C,H,W) or (N,C,H,W), "
                         f"got {type(x).__name__}")
    if x.dim() not in (3, 4):
        raise ParamError(f"{what} must be (C,H,W) or (N,C,H,W), got shape {tuple(x.shape)}")
    if x.shape[-3] < 3:
        raise ParamError(f"{what} needs at least 3 colour channels, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ParamError(f"{what} must be a floating-point tensor, got {x.dtype}")
    return x


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float16/bfloat16 are computed in float32 (grid coordinates need > 11 bits), float64 stays."""
    return torch.promote_types(dtype, torch.float32)


def apply_ocio(cpu, rgb: torch.Tensor) -> torch.Tensor:
    """OCIO CPU processor on ``rgb`` (N, 3, H, W) of any device/dtype -> (N, H, W, 3) float32 CPU.

    Copies into a fresh buffer (never in place on the input) and applies ``applyRGB`` on row
    chunks across threads (it releases the GIL).
    """
    n, _, h, w = rgb.shape
    buf = torch.empty((n, h, w, 3), dtype=torch.float32)
    buf.copy_(rgb.detach().permute(0, 2, 3, 1))
    flat = buf.numpy().reshape(-1, 3)
    if flat.shape[0] > 2 * _CHUNK and (os.cpu_count() or 1) > 1:
        chunks = np.array_split(flat, -(-flat.shape[0] // _CHUNK))
        list(_executor().map(cpu.applyRGB, chunks))
    else:
        cpu.applyRGB(flat)
    return buf


def convert(x: torch.Tensor, src: str, dst: str, config: _cfg.ConfigLike = None, *,
            method: str = "auto", lut_size: int = _lut.LUT_SIZE,
            domain: tuple[float, float] | None = None) -> torch.Tensor:
    """Transform the first 3 channels of ``x`` from colourspace ``src`` to ``dst``.

    ``x``: float tensor (C,H,W) or (N,C,H,W), C >= 3, on any device; channels after the third
    (alpha, ...) are returned untouched. Output has ``x``'s shape, device and dtype. Nothing is
    clamped. ``method``: ``"ocio"`` OCIO's CPU processor (exact reference; a non-CPU tensor is
    copied to the CPU and back), ``"lut"`` the baked LUT in torch on ``x.device`` (float16 and
    bfloat16 computed in float32), ``"auto"`` = ``"ocio"`` for CPU tensors, ``"lut"`` otherwise.
    ``domain``: LUT grid domain in ``src`` units (default by source kind, see :mod:`.lut`).
    Not differentiable on the ``"ocio"`` path.
    """
    _check_image(x)
    if method not in METHODS:
        raise ParamError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    cc = _cfg.get_config(config)
    src, dst = cc.colorspace(src), cc.colorspace(dst)
    if method == "auto":
        method = "ocio" if x.device.type == "cpu" else "lut"
    if method == "lut":
        _lut.check_lut_size(lut_size)
    if src == dst:
        return x.clone()
    batched = x.dim() == 4
    xb = x if batched else x.unsqueeze(0)
    rgb = xb[:, :3]
    if method == "ocio":
        res = apply_ocio(_cfg.cpu_processor(cc.source, src, dst), rgb).permute(0, 3, 1, 2)
    else:
        baked = _lut.bake(cc.source, src, dst, lut_size, domain)
        res = baked.apply(rgb.to(_compute_dtype(x.dtype)))
    out = torch.empty_like(xb, memory_format=torch.contiguous_format)
    out[:, :3].copy_(res)  # casts to x's dtype and device
    out[:, 3:].copy_(xb[:, 3:])
    return out if batched else out[0]


def to_network(x: torch.Tensor, config: _cfg.ConfigLike = None, *, working: str | None = None,
               network: str | None = None, method: str = "auto",
               lut_size: int = _lut.LUT_SIZE) -> torch.Tensor:
    """Working space (default ACEScg, scene-linear) -> network space (sRGB-encoded Rec.709).

    No clamping: HDR values map above 1 and out-of-gamut colours below 0; use
    :func:`clamp_network` explicitly before feeding the network. See :func:`convert`.
    """
    cc = _cfg.get_config(config, working=working, network=network)
    return convert(x, cc.working, cc.network, cc, method=method, lut_size=lut_size)


def from_network(x: torch.Tensor, config: _cfg.ConfigLike = None, *, working: str | None = None,
                 network: str | None = None, method: str = "auto",
                 lut_size: int = _lut.LUT_SIZE) -> torch.Tensor:
    """Network space (sRGB-encoded Rec.709, [0,1]) -> working space. See :func:`convert`."""
    cc = _cfg.get_config(config, working=working, network=network)
    return convert(x, cc.network, cc.working, cc, method=method, lut_size=lut_size)


def clamp_network(x: torch.Tensor, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    """Explicitly clamp the 3 colour channels to the network range [lo, hi]; others untouched."""
    _check_image(x)
    if not (isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo < hi):
        raise ParamError(f"clamp range must be numbers with lo < hi, got ({lo!r}, {hi!r})")
    out = x.clone()
    out[..., :3, :, :].clamp_(lo, hi)
    return out
