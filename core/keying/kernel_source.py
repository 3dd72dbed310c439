"""The two per-pixel passes of the keyer as one plain C++ body, compiled for CUDA and for the CPU.

Twin of :func:`.pixel.screen_matte` (pass A) and :func:`.pixel.finish` (pass B) with the screen of
:class:`.keyer.ScreenSource` (flat, given per pixel, or the estimated grid with the own-value rule
of :meth:`.clean_plate.ScreenGrid.rows`) and the bilinear read-back of the cell grids
(:func:`changer.core.masks.upsample_rows`). One thread per pixel reads the plate once and writes
its outputs once, in float32 registers: alpha_0 (pass A), alpha (the level step) and the despilled
fg (pass B); what follows from those (premultiplied fg, ``I_T^green``, the per-pixel screen) is
derived only when asked for (:class:`.keyer.KeyResult`), so a frame writes 5 planes, not 14. The
body is plain C++ (``__device__`` and ``__forceinline__`` are defined away on the host);
:mod:`.cuda_kernel` wraps it in ``__global__`` entries, :mod:`.host_kernel` in an OpenMP loop.
:func:`kernel_args` builds the argument list both launch with.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import masks
from .cells import grid_size
from .clean_plate import NOISE_SIGMAS
from .params import KeyerParams, despill_bias_factor, key_channels
from .pixel import DARK_BOUND_SHARE, FG_PRIOR, LUMA, MIN_HEADROOM, MIN_SCREEN_DIFF, SOLID_FROM, SOLID_TO

COMPUTE_ALPHA, WRITE_OUTPUTS, HAS_CORE, HAS_GARBAGE, AUTO_BALANCE, DIVIDE_LEVEL = 1, 2, 4, 8, 16, 64
SCREEN_FLAT, SCREEN_GIVEN, SCREEN_GRID = 0, 1, 2
DESPILL_SCREEN, DESPILL_LIMIT, DESPILL_LUMINANCE = 0, 1, 2
_DESPILL_MODES = {"screen": DESPILL_SCREEN, "limit": DESPILL_LIMIT, "luminance": DESPILL_LUMINANCE}

KERNEL_BODY = r"""
#define COMPUTE_ALPHA 1
#define WRITE_OUTPUTS 2
#define HAS_CORE 4
#define HAS_GARBAGE 8
#define AUTO_BALANCE 16
#define DIVIDE_LEVEL 64

#define KEY_ARGS(T) \
    const T* plate, const T* screen, long long sn, long long sc, int screen_mode, \
    const float* grid, const float* sigma, const float* prior, long long gh, long long gw, \
    const int* row_i, const float* row_w, const int* col_i, const float* col_w, \
    T* alpha, const T* core, long long cn, const T* garbage, long long gn, \
    T* fg, \
    int kc, int ca, int cb, float wa, float wb, float gain, float min_ds, float min_headroom, \
    float dark_share, float noise_sigmas, float despill, float bias, float protect, int despill_mode, \
    float luma, float fg_prior, float solid_from, float solid_to, \
    float clip_black, float clip_span, int flags, long long h, long long w, long long n_pix
#define KEY_PASS \
    plate, screen, sn, sc, screen_mode, grid, sigma, prior, gh, gw, row_i, row_w, col_i, col_w, \
    alpha, core, cn, garbage, gn, fg, kc, ca, cb, wa, wb, gain, min_ds, min_headroom, dark_share, \
    noise_sigmas, despill, bias, protect, despill_mode, luma, fg_prior, solid_from, solid_to, clip_black, \
    clip_span, flags, h, w, n_pix

/* The passes are straight-line code: uniform choices (balance and despill mode, protect, mattes)
   are blends with 0/1 weights and the key channel is picked by a weight, so the host compiler
   vectorises the pixel loop; only the screen's source is a template parameter. */

__device__ __forceinline__ float ld(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ void st(float* p, long long i, float v) { p[i] = v; }
/* min/max/abs as compare-and-select (fminf/fmaxf's NaN rules cost a libm call per use on the host). */
__device__ __forceinline__ float kmax(float a, float b) { return a > b ? a : b; }
__device__ __forceinline__ float kmin(float a, float b) { return a < b ? a : b; }
__device__ __forceinline__ float kabs(float a) { return a < 0.0f ? -a : a; }
__device__ __forceinline__ float smooth01(float x) {
    x = kmin(kmax(x, 0.0f), 1.0f);
    return x * x * (3.0f - 2.0f * x);
}

/* The bilinear read-back of a cell grid, as masks.upsample_rows: each tapped grid row blended between
   its columns c0, c1 first, then the two rows r0, r1 (the same products and sums, so the same bits). */
__device__ __forceinline__ float blend_cols(const float* row, int c0, int c1, float b0, float b1) {
    return row[c0] * b0 + row[c1] * b1;
}
__device__ __forceinline__ float blend_rows(float top, float bot, float a0, float a1) { return top * a0 + bot * a1; }

/* The grid values of one pixel read from its four cells (the CUDA path, one thread a pixel):
   channel c of ``grid`` (screen estimate or level) and of ``prior`` for image plane k0 + c. The host
   caches the column blends of the tapped grid rows instead (host_kernel.RowTaps); both give the
   same value through blend_cols and blend_rows. */
struct PixelTaps {
    const float* grid; const float* prior; long long k0, plane; int w0, w1, c0, c1; float a0, a1, b0, b1;
    __device__ __forceinline__ float at(const float* g, int c) const {
        const float* p = g + (k0 + c) * plane;
        return blend_rows(blend_cols(p + w0, c0, c1, b0, b1), blend_cols(p + w1, c0, c1, b0, b1), a0, a1);
    }
    __device__ __forceinline__ float grid_at(int c, long long) const { return at(grid, c); }
    __device__ __forceinline__ float prior_at(int c, long long) const { return at(prior, c); }
};

/* The taps of pixel (y, x) of image n for grids of C channels an image. */
__device__ __forceinline__ PixelTaps pixel_taps(long long n, long long y, long long x, int C, const float* grid,
                                                const float* prior, long long gh, long long gw, const int* row_i,
                                                const float* row_w, const int* col_i, const float* col_w) {
    /* 32-bit offsets within a plane: a grid is far below 2^31 cells */
    return PixelTaps{grid, prior, n * C, gh * gw, row_i[2 * y] * (int)gw, row_i[2 * y + 1] * (int)gw,
                     col_i[2 * x], col_i[2 * x + 1], row_w[2 * y], row_w[2 * y + 1], col_w[2 * x], col_w[2 * x + 1]};
}

/* The plate and the screen behind pixel (y, x) of image n (MODE 0 flat, 1 given, 2 estimated grid
   with the own-value rule of clean_plate.ScreenGrid.rows, read through the taps G). */
template <typename T, int MODE, class Taps>
__device__ __forceinline__ void plate_and_screen(long long n, long long y, long long x, const Taps& taps, float* P,
                                                 float* S, KEY_ARGS(T)) {
    const long long hw = h * w, i = y * w + x, base = n * 3 * hw + i;
    for (int c = 0; c < 3; ++c) P[c] = ld(plate, base + c * hw);
    if (MODE == 0) {
        for (int c = 0; c < 3; ++c) S[c] = ld(screen, n * sn + c * sc);
    } else if (MODE == 1) {
        for (int c = 0; c < 3; ++c) S[c] = ld(screen, n * sn + c * sc + i);
    } else {
        /* screen itself within the noise: S = P (a select, as torch.where; a 0/1 blend cost 9 % of the passes) */
        bool own = true;
        for (int c = 0; c < 3; ++c) {
            S[c] = taps.grid_at(c, x);
            own &= kabs(P[c] - S[c]) <= noise_sigmas * sigma[n * 3 + c];
        }
        for (int c = 0; c < 3; ++c) S[c] = own ? P[c] : S[c];
    }
}

/* Pass A, the twin of pixel.screen_matte: alpha_0. Red is always channel a; green and blue swap
   the key and the third channel (kc = 1 or 2). AUTO: the balance mode (1 auto, 0 fixed). */
template <typename T, int MODE, int AUTO, class Taps>
__device__ __forceinline__ void key_alpha(long long n, long long y, long long x, const Taps& taps, KEY_ARGS(T)) {
    float P[3], S[3];
    plate_and_screen<T, MODE>(n, y, x, taps, P, S, KEY_PASS);
    const float g = kc == 1 ? 1.0f : 0.0f;
    const float Pk = g * P[1] + (1.0f - g) * P[2], Pb = g * P[2] + (1.0f - g) * P[1];
    const float Sk = g * S[1] + (1.0f - g) * S[2], Sb = g * S[2] + (1.0f - g) * S[1];
    const float ratio = AUTO ? kmin((Pk - P[0]) / kmax(Sk - S[0], min_ds), (Pk - Pb) / kmax(Sk - Sb, min_ds))
                             : (Pk - wa * P[0] - wb * Pb) / kmax(Sk - wa * S[0] - wb * Sb, min_ds);
    float a = 1.0f - gain * ratio;
    float bright = -3.0e38f, dark = -3.0e38f;
    for (int c = 0; c < 3; ++c) {
        bright = kmax(bright, (P[c] - S[c]) / kmax(1.0f - S[c], min_headroom));
        const float d = (S[c] - P[c]) / kmax(S[c], min_headroom);
        dark = kmax(dark, S[c] >= dark_share * Sk ? d : -3.0e38f);
    }
    st(alpha, n * h * w + y * w + x, kmin(kmax(kmax(kmax(a, bright), dark), 0.0f), 1.0f));
}

/* The matte stage's first step (neighbourhood.divide_level): alpha_0 (passed as ``plate``, one
   channel) divided by the auto clip white (``grid``: (N,1,h,w)), clipped, into ``alpha``. */
template <typename T, class Taps>
__device__ __forceinline__ void key_level(long long n, long long y, long long x, const Taps& taps, KEY_ARGS(T)) {
    const long long p = n * h * w + y * w + x;
    st(alpha, p, kmin(kmax((ld(plate, p) / taps.grid_at(0, x) - clip_black) / clip_span, 0.0f), 1.0f));
}

/* Pass B, the twin of pixel.finish: mattes, foreground with its prior, despill. It writes fg (and
   alpha where a matte changed it) only: the premultiplied fg, I_T^green and the per-pixel screen
   are derived from these on demand (keyer.KeyResult). MATTES: a core or garbage matte is given
   (else alpha is left as it is). */
template <typename T, int MODE, int MATTES, class Taps>
__device__ __forceinline__ void key_outputs(long long n, long long y, long long x, const Taps& taps, KEY_ARGS(T)) {
    const long long hw = h * w, i = y * w + x, p = n * hw + i, base = n * 3 * hw + i;
    float P[3], S[3];
    plate_and_screen<T, MODE>(n, y, x, taps, P, S, KEY_PASS);
    float a = ld(alpha, p);
    if (MATTES) {
        /* an absent matte is passed as alpha itself with the blend weight 0 */
        const float use_core = (flags & HAS_CORE) ? 1.0f : 0.0f, use_garbage = (flags & HAS_GARBAGE) ? 1.0f : 0.0f;
        a = kmax(a, use_core * ld(core, n * cn + i));
        a = a * (1.0f - use_garbage * ld(garbage, n * gn + i));
        st(alpha, p, a);
    }
    /* F = (a (P - (1 - a) S) + lam E) / (a^2 + lam), lam = fg_prior (1 - a) */
    const float lam = fg_prior * (1.0f - a);
    const float den = a * a + lam;
    float F[3];
    for (int c = 0; c < 3; ++c) F[c] = (a * (P[c] - (1.0f - a) * S[c]) + lam * taps.prior_at(c, x)) / den;
    const float g = kc == 1 ? 1.0f : 0.0f;
    const float Fk = g * F[1] + (1.0f - g) * F[2], Fb = g * F[2] + (1.0f - g) * F[1];
    const float Sk = g * S[1] + (1.0f - g) * S[2], Sb = g * S[2] + (1.0f - g) * S[1];
    const float excess = kmax(Fk - bias * (wa * F[0] + wb * Fb), 0.0f);
    const float share = excess / kmax(Sk - bias * (wa * S[0] + wb * Sb), min_ds);
    const float on = protect > 0.0f ? 1.0f : 0.0f, half = kmax(0.5f * protect, 1e-6f);
    const float keep = on * smooth01((share - half) / half) * smooth01((a - solid_from) / (solid_to - solid_from));
    const float strength = despill * (1.0f - keep);
    /* screen mode subtracts share x S; limit mode removes the excess from the key channel only,
       luminance mode adds it back to every channel as grey */
    const float along = despill_mode == 0 ? 1.0f : 0.0f, grey = despill_mode == 2 ? 1.0f : 0.0f;
    const float removed = (1.0f - along) * excess * strength, scaled = along * share * strength;
    const float key_w[3] = {0.0f, g, 1.0f - g};
    for (int c = 0; c < 3; ++c)
        st(fg, base + c * hw, kmax(F[c] - scaled * S[c] - removed * key_w[c] + grey * removed * luma, 0.0f));
}

/* One pixel of the pass ``flags`` asks for, its grids read from its own four cells. */
template <typename T, int MODE>
__device__ __forceinline__ void key_pixel(long long n, long long y, long long x, KEY_ARGS(T)) {
    const int level = (flags & DIVIDE_LEVEL) ? 1 : 0;
    const PixelTaps taps = pixel_taps(n, y, x, level ? 1 : 3, grid, prior, gh, gw, row_i, row_w, col_i, col_w);
    if (level) key_level<T>(n, y, x, taps, KEY_PASS);
    else if ((flags & COMPUTE_ALPHA) && (flags & AUTO_BALANCE)) key_alpha<T, MODE, 1>(n, y, x, taps, KEY_PASS);
    else if (flags & COMPUTE_ALPHA) key_alpha<T, MODE, 0>(n, y, x, taps, KEY_PASS);
    else key_outputs<T, MODE, 1>(n, y, x, taps, KEY_PASS);
}
"""


def grid_taps(h: int, w: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """(row indices, row weights, column indices, column weights) of the cell grid's bilinear read-back,
    two per row (column), interleaved: the taps :func:`changer.core.masks.upsample_rows` uses."""
    gh, gw = grid_size(h, w)
    out = []
    for size, cells in ((h, gh), (w, gw)):
        i0, i1, w0, w1 = masks.bilinear_taps(size, cells, torch.arange(size, device=device), torch.float32)
        out += [torch.stack([i0, i1], 1).flatten().to(torch.int32).contiguous(),
                torch.stack([w0, w1], 1).flatten().contiguous()]
    return tuple(out)


def kernel_args(plate: torch.Tensor, screen: torch.Tensor | None, screen_mode: int, grid: torch.Tensor | None,
                sigma: torch.Tensor | None, prior: torch.Tensor | None, alpha: torch.Tensor,
                fg: torch.Tensor | None, params: KeyerParams, flags: int,
                core: torch.Tensor | None = None, garbage: torch.Tensor | None = None) -> list[Any]:
    """The kernel's arguments in order: tensors as they are, scalars as numpy scalars of the C type.

    The grid taps are computed here (:func:`grid_taps`, small). With ``DIVIDE_LEVEL``, ``grid`` is
    the level grid (N,1,h,w) and ``alpha`` is divided by it and clipped in place. ``plate``, ``alpha``
    and ``fg`` (pass B's only output) are contiguous (N,3,H,W)/(N,1,H,W)/(N,3,H,W); ``screen`` (flat (N,3,1,1) or given
    (N,3,H,W) with contiguous rows, batch stride 0 when broadcast) is in the plate's dtype; ``grid``
    and ``prior`` are contiguous float32 (N,3,h,w) cell grids, ``sigma`` float32 (N,3). Unused
    pointers are passed as ``alpha`` (never read).
    """
    n, _, h, w = plate.shape
    k, a, b = key_channels(params.screen_type)
    wa, wb = params.screen_balance, 1.0 - params.screen_balance
    flags |= (HAS_CORE if core is not None else 0) | (HAS_GARBAGE if garbage is not None else 0)
    flags |= AUTO_BALANCE if params.balance_mode == "auto" else 0
    gh, gw = grid_size(h, w)
    i64, i32, f32 = np.int64, np.int32, np.float32
    return [
        plate, alpha if screen is None else screen,
        i64(0 if screen is None else screen.stride(0)), i64(0 if screen is None else screen.stride(1)),
        i32(screen_mode), alpha if grid is None else grid, alpha if sigma is None else sigma,
        alpha if prior is None else prior, i64(gh), i64(gw), *grid_taps(h, w, plate.device),
        alpha, alpha if core is None else core, i64(h * w if core is None else core.stride(0)),
        alpha if garbage is None else garbage, i64(h * w if garbage is None else garbage.stride(0)),
        alpha if fg is None else fg,
        i32(k), i32(a), i32(b), f32(wa), f32(wb), f32(params.screen_gain), f32(MIN_SCREEN_DIFF),
        f32(MIN_HEADROOM), f32(DARK_BOUND_SHARE), f32(NOISE_SIGMAS), f32(params.despill),
        f32(despill_bias_factor(params)), f32(params.despill_protect), i32(_DESPILL_MODES[params.despill_mode]),
        f32(LUMA[k]), f32(FG_PRIOR), f32(SOLID_FROM), f32(SOLID_TO),
        f32(params.clip_black), f32(params.clip_white - params.clip_black), i32(flags), i64(h), i64(w), i64(n * h * w),
    ]
