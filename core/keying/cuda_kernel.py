"""The keyer's per-pixel stages as one fused CUDA kernel (CuPy RawModule), sharing memory with torch.

Twin of :func:`.keyer.screen_matte` and :func:`.keyer.finish`: one thread per pixel reads the plate
(and the clean plate, core and garbage mattes when given) once and writes alpha, fg, premultiplied fg
and ``I_T^green`` once, in float32 registers for float32 and float16 data. When the auto core,
grow/shrink or softness is on, the kernel runs twice (alpha, then the outputs) with those torch ops
between.

Tensors cross to CuPy through DLPack (no copies) and the kernel runs on torch's current stream.
This module imports cupy: import it only where :func:`changer.core.device.cupy_status` says yes.
The kernel body is plain C++ (CUDA only in the thin ``__global__`` wrappers), so the tests also
compile it with the host C++ compiler and compare it with torch on machines without a GPU.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .keyer import DARK_BOUND_SHARE, FG_EPS, LUMA, MIN_HEADROOM, MIN_SCREEN_DIFF
from .params import CANONICAL_GREEN, KeyerParams, despill_bias_factor, key_channels

log = logging.getLogger(__name__)

COMPUTE_ALPHA, WRITE_OUTPUTS, HAS_CORE, HAS_GARBAGE, LUMINANCE, AUTO_BALANCE = 1, 2, 4, 8, 16, 32
_BLOCK = 256

KERNEL_BODY = r"""
#define COMPUTE_ALPHA 1
#define WRITE_OUTPUTS 2
#define HAS_CORE 4
#define HAS_GARBAGE 8
#define LUMINANCE 16
#define AUTO_BALANCE 32

#define KEY_ARGS(T) \
    const T* plate, const T* screen, long long sn, long long sc, long long si, \
    T* alpha, const T* core, long long cn, const T* garbage, long long gn, \
    T* fg, T* premult, T* green, \
    int kc, int ca, int cb, float wa, float wb, float scale, float offset, float min_ds, \
    float min_headroom, float dark_share, float clip_black, float inv_span, \
    float despill, float wa_bias, float wb_bias, float luma, float eps, \
    float g0, float g1, float g2, int flags, long long hw, long long n_pix
#define KEY_PASS \
    plate, screen, sn, sc, si, alpha, core, cn, garbage, gn, fg, premult, green, \
    kc, ca, cb, wa, wb, scale, offset, min_ds, min_headroom, dark_share, clip_black, inv_span, \
    despill, wa_bias, wb_bias, luma, eps, \
    g0, g1, g2, flags, hw, n_pix

__device__ __forceinline__ float ld(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ void st(float* p, long long i, float v) { p[i] = v; }

/* One pixel p of the batch (p = n * hw + i): the twin of keyer.screen_matte and keyer.finish. */
template <typename T>
__device__ __forceinline__ void key_pixel(long long p, KEY_ARGS(T)) {
    const long long n = p / hw, i = p - n * hw, base = n * 3 * hw + i;
    float P[3], S[3];
    for (int c = 0; c < 3; ++c) {
        P[c] = ld(plate, base + c * hw);
        S[c] = ld(screen, n * sn + c * sc + i * si);
    }
    float a;
    if (flags & COMPUTE_ALPHA) {
        float ratio;
        if (flags & AUTO_BALANCE) {
            const float ra = (P[kc] - P[ca]) * (1.0f / fmaxf(S[kc] - S[ca], min_ds));
            const float rb = (P[kc] - P[cb]) * (1.0f / fmaxf(S[kc] - S[cb], min_ds));
            ratio = fminf(ra, rb);
        } else {
            const float ds = fmaxf(S[kc] - wa * S[ca] - wb * S[cb], min_ds);
            ratio = (P[kc] - wa * P[ca] - wb * P[cb]) * (1.0f / ds);
        }
        a = ratio * (-scale) + offset;
        for (int c = 0; c < 3; ++c) {
            const float bright = (P[c] - S[c]) * (1.0f / fmaxf(1.0f - S[c], min_headroom));
            a = fmaxf(a, (bright - clip_black) * inv_span);
            if (S[c] >= dark_share * S[kc]) {
                const float dark = (S[c] - P[c]) * (1.0f / fmaxf(S[c], min_headroom));
                a = fmaxf(a, (dark - clip_black) * inv_span);
            }
        }
        a = fminf(fmaxf(a, 0.0f), 1.0f);
        if (!(flags & WRITE_OUTPUTS)) { st(alpha, p, a); return; }
    } else {
        a = ld(alpha, p);
    }
    if (flags & HAS_CORE) a = fmaxf(a, ld(core, n * cn + i));
    if (flags & HAS_GARBAGE) a = a * (1.0f - ld(garbage, n * gn + i));
    float F[3];
    /* F = S + (P - S) / alpha (P itself where alpha <= eps), as torch.lerp(S, P, r) computes it for r >= 1 */
    const float r = a > eps ? 1.0f / a : 1.0f;
    for (int c = 0; c < 3; ++c) F[c] = fmaxf(P[c] - (P[c] - S[c]) * (1.0f - r), 0.0f);
    if (despill > 0.0f) {
        const float limit = F[ca] * wa_bias + F[cb] * wb_bias;
        const float s = fmaxf(F[kc] - limit, 0.0f) * despill;
        F[kc] -= s;
        if (flags & LUMINANCE) for (int c = 0; c < 3; ++c) F[c] += s * luma;
    }
    const float G[3] = {g0, g1, g2};
    st(alpha, p, a);
    for (int c = 0; c < 3; ++c) {
        st(fg, base + c * hw, F[c]);
        st(premult, base + c * hw, F[c] * a);
        /* torch.lerp(G, F, a) */
        st(green, base + c * hw, a < 0.5f ? G[c] + a * (F[c] - G[c]) : F[c] - (F[c] - G[c]) * (1.0f - a));
    }
}
"""

# float16 is stored as its bits (unsigned short) and converted with PTX, so no CUDA header is needed.
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
extern "C" __global__ void changer_key_f32(KEY_ARGS(float)) {
    const long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (p < n_pix) key_pixel<float>(p, KEY_PASS);
}
extern "C" __global__ void changer_key_f16(KEY_ARGS(unsigned short)) {
    const long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (p < n_pix) key_pixel<unsigned short>(p, KEY_PASS);
}
"""

#: The complete CUDA source.
CUDA_SOURCE = _CUDA_HALF + KERNEL_BODY + _CUDA_ENTRIES


def kernel_args(plate: torch.Tensor, screen: torch.Tensor, alpha: torch.Tensor, fg: torch.Tensor,
                premult: torch.Tensor, green: torch.Tensor, params: KeyerParams, flags: int,
                core: torch.Tensor | None = None, garbage: torch.Tensor | None = None) -> list[Any]:
    """The kernel's arguments in order: tensors as they are, scalars as numpy scalars of the C type.

    ``plate`` and the outputs are contiguous (N,3,H,W)/(N,1,H,W); ``screen`` is (N,3,1,1) or
    (N,3,H,W) with contiguous rows, its batch stride 0 when broadcast; likewise the mattes.
    """
    n, _, h, w = plate.shape
    hw = h * w
    k, a, b = key_channels(params.screen_type)
    wa, wb = params.screen_balance, 1.0 - params.screen_balance
    span = params.clip_white - params.clip_black
    bias = despill_bias_factor(params)
    per_pixel = screen.shape[-2:] != (1, 1)
    flags |= (HAS_CORE if core is not None else 0) | (HAS_GARBAGE if garbage is not None else 0)
    flags |= LUMINANCE if params.despill_mode == "luminance" else 0
    flags |= AUTO_BALANCE if params.balance_mode == "auto" else 0
    i64, i32, f32 = np.int64, np.int32, np.float32
    return [
        plate, screen, i64(screen.stride(0)), i64(screen.stride(1)), i64(1 if per_pixel else 0),
        alpha, plate if core is None else core, i64(0 if core is None else core.stride(0)),
        plate if garbage is None else garbage, i64(0 if garbage is None else garbage.stride(0)),
        fg, premult, green,
        i32(k), i32(a), i32(b), f32(wa), f32(wb), f32(params.screen_gain / span),
        f32((1.0 - params.clip_black) / span), f32(MIN_SCREEN_DIFF),
        f32(MIN_HEADROOM), f32(DARK_BOUND_SHARE), f32(params.clip_black), f32(1.0 / span),
        f32(params.despill), f32(wa * bias), f32(wb * bias), f32(LUMA[k]), f32(FG_EPS),
        *(f32(g) for g in CANONICAL_GREEN), i32(flags), i64(hw), i64(n * hw),
    ]


def _compact(x: torch.Tensor) -> torch.Tensor:
    """Channels and rows packed (strides H*W, W, 1) or one pixel per channel; the batch stride may
    stay 0 (broadcast)."""
    h, w = x.shape[-2:]
    if (h, w) == (1, 1) or (x.stride(-1) == 1 and x.stride(-2) == w and x.stride(-3) == h * w):
        return x
    return x.contiguous()


@functools.lru_cache(maxsize=None)
def _functions(device_index: int) -> dict[torch.dtype, Any]:
    import cupy  # noqa: PLC0415  (lazy: CUDA only)

    with cupy.cuda.Device(device_index):
        module = cupy.RawModule(code=CUDA_SOURCE, options=("--std=c++14",))
        funcs = {torch.float32: module.get_function("changer_key_f32"),
                 torch.float16: module.get_function("changer_key_f16")}
    log.debug("compiled the keyer kernel for cuda:%d", device_index)
    return funcs


def _launch(args: list[Any], dtype: torch.dtype, device: torch.device, n_pix: int) -> None:
    import cupy  # noqa: PLC0415

    index = device.index if device.index is not None else torch.cuda.current_device()
    fn = _functions(index)[dtype]
    with cupy.cuda.Device(index), cupy.cuda.ExternalStream(torch.cuda.current_stream(device).cuda_stream):
        # A broadcast input (batch stride 0) goes over as its first image: the kernel only takes the
        # pointer and gets the strides as separate arguments.
        cargs = tuple(cupy.from_dlpack(x[:1] if x.stride(0) == 0 else x) if isinstance(x, torch.Tensor) else x
                      for x in args)
        fn(((n_pix + _BLOCK - 1) // _BLOCK,), (_BLOCK,), cargs)


def key_fused(plate: torch.Tensor, screen: torch.Tensor, params: KeyerParams, core: torch.Tensor | None,
              garbage: torch.Tensor | None,
              neighbourhood: Callable[[torch.Tensor, KeyerParams], torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """(alpha, fg, premult, green) for a float32/float16 CUDA plate; mattes and screen as for key()."""
    plate = plate.contiguous()
    n, _, h, w = plate.shape
    # One image broadcast over the batch goes in with batch stride 0 (expand, no copy).
    screen = _compact(screen.to(plate.dtype).expand(n, -1, -1, -1))
    core = None if core is None else _compact(core.to(plate.dtype).expand(n, -1, -1, -1))
    garbage = None if garbage is None else _compact(garbage.to(plate.dtype).expand(n, -1, -1, -1))
    alpha = plate.new_empty((n, 1, h, w))
    fg, premult, green = torch.empty_like(plate), torch.empty_like(plate), torch.empty_like(plate)
    if params.core_depth > 0 or params.matte_grow != 0 or params.edge_softness > 0:
        _launch(kernel_args(plate, screen, alpha, alpha, alpha, alpha, params, COMPUTE_ALPHA),
                plate.dtype, plate.device, n * h * w)
        alpha = neighbourhood(alpha, params).contiguous()
        flags = WRITE_OUTPUTS
    else:
        flags = COMPUTE_ALPHA | WRITE_OUTPUTS
    _launch(kernel_args(plate, screen, alpha, fg, premult, green, params, flags, core, garbage),
            plate.dtype, plate.device, n * h * w)
    return alpha, fg, premult, green
