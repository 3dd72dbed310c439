"""The keyer's per-pixel passes as fused CUDA kernels (CuPy RawModule), sharing memory with torch.

The body is :data:`.kernel_source.KERNEL_BODY`, the same C++ the host kernel runs: one thread per
pixel, float32 registers for float32 and float16 data (float16 is stored as its bits and converted
with PTX, so no CUDA header is needed). Tensors cross to CuPy through DLPack (no copies) and the
kernels run on torch's current stream. This module imports cupy: import it only where
:func:`changer.core.device.cupy_status` says yes. The tests compile :data:`CUDA_SOURCE` with NVRTC
where it is installed, and the body with the host compiler everywhere.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import torch

from .kernel_source import (
    COMPUTE_ALPHA,
    DIVIDE_LEVEL,
    KERNEL_BODY,
    SCREEN_FLAT,
    SCREEN_GIVEN,
    SCREEN_GRID,
    WRITE_OUTPUTS,
    kernel_args,
)
from .neighbourhood import divide_level
from .params import KeyerParams

log = logging.getLogger(__name__)

_BLOCK = 256

# These overloads must be declared before the template that calls them.
_CUDA_HALF = r"""
__device__ __forceinline__ float ld(const unsigned short* p, long long i) {
    float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(p[i])); return f;
}
__device__ __forceinline__ void st(unsigned short* p, long long i, float v) {
    unsigned short h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v)); p[i] = h;
}
"""

_CUDA_ENTRIES = r"""
template <typename T>
__device__ __forceinline__ void key_thread(KEY_ARGS(T)) {
    const long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= n_pix) return;
    const long long n = p / (h * w), y = (p % (h * w)) / w, x = p % w;
    if (screen_mode == 0) key_pixel<T, 0>(n, y, x, KEY_PASS);
    else if (screen_mode == 1) key_pixel<T, 1>(n, y, x, KEY_PASS);
    else key_pixel<T, 2>(n, y, x, KEY_PASS);
}
extern "C" __global__ void changer_key_f32(KEY_ARGS(float)) { key_thread<float>(KEY_PASS); }
extern "C" __global__ void changer_key_f16(KEY_ARGS(unsigned short)) { key_thread<unsigned short>(KEY_PASS); }
"""

#: The complete CUDA source.
CUDA_SOURCE = _CUDA_HALF + KERNEL_BODY + _CUDA_ENTRIES


@functools.cache
def _functions(device_index: int) -> dict[torch.dtype, Any]:
    import cupy

    with cupy.cuda.Device(device_index):
        module = cupy.RawModule(code=CUDA_SOURCE, options=("--std=c++14",))
        funcs = {torch.float32: module.get_function("changer_key_f32"),
                 torch.float16: module.get_function("changer_key_f16")}
    log.debug("compiled the keyer kernel for cuda:%d", device_index)
    return funcs


def _launch(args: list[Any], dtype: torch.dtype, device: torch.device, n_pix: int) -> None:
    import cupy

    index = device.index if device.index is not None else torch.cuda.current_device()
    fn = _functions(index)[dtype]
    with cupy.cuda.Device(index), cupy.cuda.ExternalStream(torch.cuda.current_stream(device).cuda_stream):
        # A broadcast input (batch stride 0) goes over as its first image: the kernel only takes the
        # pointer and gets the strides as separate arguments.
        cargs = tuple(cupy.from_dlpack(x[:1] if x.dim() and x.stride(0) == 0 else x) if isinstance(x, torch.Tensor)
                      else x for x in args)
        fn(((n_pix + _BLOCK - 1) // _BLOCK,), (_BLOCK,), cargs)


def _compact(x: torch.Tensor) -> torch.Tensor:
    """Channels and rows packed (strides H*W, W, 1) or one pixel per channel; the batch stride may
    stay 0 (broadcast)."""
    h, w = x.shape[-2:]
    if (h, w) == (1, 1) or (x.stride(-1) == 1 and x.stride(-2) == w and x.stride(-3) == h * w):
        return x
    return x.contiguous()


def _screen(source: Any, plate: torch.Tensor) -> tuple[torch.Tensor | None, int, torch.Tensor | None,
                                                         torch.Tensor | None]:
    n = plate.shape[0]
    if source.flat is not None:
        return source.flat.to(plate.dtype).expand(n, -1, -1, -1).contiguous(), SCREEN_FLAT, None, None
    if source.given is not None:
        return _compact(source.given.to(plate.dtype).expand(n, -1, -1, -1)), SCREEN_GIVEN, None, None
    est = source.estimate
    return None, SCREEN_GRID, est.grid.float().contiguous(), est.sigma.float().flatten(1).contiguous()


class CudaPasses:
    """Pass A and pass B of :mod:`.keyer` as CUDA launches over the whole frame."""

    @staticmethod
    def alpha(plate: torch.Tensor, source: Any, params: KeyerParams, rows: int) -> torch.Tensor:
        plate = plate.contiguous()
        n, _, h, w = plate.shape
        screen, mode, grid, sigma = _screen(source, plate)
        alpha0 = plate.new_empty((n, 1, h, w))
        _launch(kernel_args(plate, screen, mode, grid, sigma, None, alpha0, None, params, COMPUTE_ALPHA),
                plate.dtype, plate.device, n * h * w)
        return alpha0.float()

    @staticmethod
    def level(alpha0: torch.Tensor, level: torch.Tensor | None, params: KeyerParams, rows: int) -> torch.Tensor:
        if level is None:
            return divide_level(alpha0, None, params, rows)
        a0 = alpha0.float().contiguous()
        a = torch.empty_like(a0)
        _launch(kernel_args(a0, None, SCREEN_FLAT, level.float().contiguous(), None, None, a, None, params,
                            DIVIDE_LEVEL), torch.float32, a.device, a.numel())
        return a

    @staticmethod
    def finish(plate: torch.Tensor, source: Any, alpha: torch.Tensor, params: KeyerParams, rows: int,
               core: torch.Tensor | None, garbage: torch.Tensor | None, prior: torch.Tensor) -> Any:
        from .keyer import KeyResult, screen_of

        plate = plate.contiguous()
        n, _, h, w = plate.shape
        screen, mode, grid, sigma = _screen(source, plate)
        a = alpha.to(plate.dtype).contiguous()
        fg = torch.empty_like(plate)
        mattes = [None if m is None else _compact(m.to(plate.dtype).expand(n, -1, -1, -1)) for m in (core, garbage)]
        _launch(kernel_args(plate, screen, mode, grid, sigma, prior.float().contiguous(), a, fg, params,
                            WRITE_OUTPUTS, *mattes), plate.dtype, plate.device, n * h * w)
        return KeyResult(a, fg, screen_of(plate, source, rows))
