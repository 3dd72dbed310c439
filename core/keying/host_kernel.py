"""The keyer's per-pixel passes as one fused C++ loop on the CPU, compiled on first use.

Eager torch runs each of the ~60 operations of a pass over the whole frame, so a pass costs tens of
frame-sized memory round trips; the fused body (:mod:`.kernel_source`, the same source the CUDA
kernel is built from) reads each pixel once and writes its outputs once. It is compiled with the
host C++ compiler (``$CXX``, else ``c++``/``g++``/``clang++``) into a shared library cached under
``$XDG_CACHE_HOME/changer`` (``~/.cache/changer``), named by a hash of the source, the compiler, its flags and
the machine, and called through ctypes (which releases the GIL) on ``torch.get_num_threads()``
threads: torch's own OpenMP threads where the compiler has OpenMP (see ``changer_key_host``).
Pixels are independent, so the result does not depend on the thread count. Where no compiler
works, :func:`status` says why and the keyer runs the same passes in torch.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
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

SOURCE = ("#include <cmath>\n#include <cstring>\n#include <thread>\n#include <vector>\n"
          "#ifdef _OPENMP\n#include <omp.h>\n#endif\n"
          "#define __device__\n#define __forceinline__ inline __attribute__((always_inline))\n" + KERNEL_BODY + r"""
/* The grid values of one row of pixels: the tapped grid rows r0 and r1, each already blended between
   its columns for every pixel (blend_cols), are blended per pixel (blend_rows) -- the bits of
   PixelTaps, with contiguous loads instead of sixteen-odd gathers a pixel. Planes of w floats: the
   grid's channels, then the prior's. */
struct RowTaps {
    const float *top, *bot, *prior_top, *prior_bot;
    long long w;
    float a0, a1;
    __forceinline__ float grid_at(int c, long long x) const {
        return blend_rows(top[c * w + x], bot[c * w + x], a0, a1);
    }
    __forceinline__ float prior_at(int c, long long x) const {
        return blend_rows(prior_top[c * w + x], prior_bot[c * w + x], a0, a1);
    }
};

/* GCC's vector extension: the column blends of 8 pixels from one 8-float window of a grid row,
   permuted (vpermps, AVX2 and AVX-512), instead of 16 scalar loads a block (the loop does not
   vectorise without gathers, which GCC's tuning avoids): the passes' column blends were a third of
   their time. x86-64 with AVX2 only (checked at run time): elsewhere the permute is emulated, slower
   than the scalar loop. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define VECTOR_COLUMNS 8
typedef float vcols_f __attribute__((vector_size(4 * VECTOR_COLUMNS)));
typedef int vcols_i __attribute__((vector_size(4 * VECTOR_COLUMNS)));
#endif

/* The column blends of grid rows, two held at a time: rows of pixels step through the grid rows in
   order, so each is blended once per image and thread, not once per pixel row. */
struct RowCache {
    int grids, priors;  /* channels an image of the grid (screen estimate 3, level 1, none 0) and of the prior */
    std::vector<float> rows;
    long long held[2] = {-1, -1};  /* image * gh + grid row held by each slot */
    std::vector<int> c0, c1;  /* the column taps, one array each (kernel_args interleaves them) */
    std::vector<float> b0, b1;
    long long vector_end = 0;  /* pixels below this are blended VECTOR_COLUMNS at a time */

    RowCache(int grids_, int priors_, long long w, long long gw, const int* col_i, const float* col_w)
        : grids(grids_), priors(priors_), rows(2 * (grids_ + priors_) * w), c0(w), c1(w), b0(w), b1(w) {
        for (long long x = 0; x < w; ++x) {
            c0[x] = col_i[2 * x], c1[x] = col_i[2 * x + 1], b0[x] = col_w[2 * x], b1[x] = col_w[2 * x + 1];
        }
#ifdef VECTOR_COLUMNS
        /* a block's taps lie in the VECTOR_COLUMNS grid columns from its first tap, inside the row */
        const int k = VECTOR_COLUMNS;
        if (__builtin_cpu_supports("avx2"))
            while (vector_end + k <= w && c0[vector_end] + k <= gw && c1[vector_end + k - 1] - c0[vector_end] < k)
                vector_end += k;
#endif
    }

    /* Columns x of one grid row ``src`` into ``dst``: blend_cols, the same products and sums. */
    __forceinline__ void blend_row(const float* src, float* dst, long long w) const {
        long long x = 0;
#ifdef VECTOR_COLUMNS
        for (; x < vector_end; x += VECTOR_COLUMNS) {
            const int base = c0[x];
            vcols_f window, w0, w1;
            vcols_i i0, i1;
            memcpy(&window, src + base, sizeof window);
            memcpy(&i0, c0.data() + x, sizeof i0);
            memcpy(&i1, c1.data() + x, sizeof i1);
            memcpy(&w0, b0.data() + x, sizeof w0);
            memcpy(&w1, b1.data() + x, sizeof w1);
            const vcols_f out = __builtin_shuffle(window, i0 - base) * w0 + __builtin_shuffle(window, i1 - base) * w1;
            memcpy(dst + x, &out, sizeof out);
        }
#endif
        for (; x < w; ++x) dst[x] = blend_cols(src, c0[x], c1[x], b0[x], b1[x]);
    }

    /* Grid row r of image n, column-blended; ``pin`` (image * gh + row) is the other tap of the same
       pixel row, already looked up, whose slot is kept (-2: none). */
    __forceinline__ const float* slot(long long n, int r, long long pin, KEY_ARGS(float)) {
        const long long want = n * gh + r;
        if (held[0] == want) return rows.data();
        if (held[1] == want) return rows.data() + (grids + priors) * w;
        const int s = held[0] == pin ? 1 : held[1] == pin ? 0 : held[0] < held[1] ? 0 : 1;
        held[s] = want;
        float* out = rows.data() + s * (grids + priors) * w;
        for (int c = 0; c < grids + priors; ++c) {
            const float* plane = c < grids ? grid + (n * grids + c) * gh * gw
                                           : prior + (n * priors + c - grids) * gh * gw;
            blend_row(plane + r * gw, out + c * w, w);
        }
        return out;
    }
};

/* Rows lo..hi of all images stacked, each row one SIMD loop of one pass (PASS 0: alpha, 1: level,
   2: outputs) and one screen source; VARIANT: AUTO of pass A, MATTES of pass B. */
template <int MODE, int PASS, int VARIANT>
__forceinline__ void key_rows(long long lo, long long hi, KEY_ARGS(float)) {
    RowCache cache(PASS == 1 ? 1 : MODE == 2 ? 3 : 0, PASS == 2 ? 3 : 0, w, gw, col_i, col_w);
    const bool tapped = cache.grids + cache.priors > 0;
    for (long long r = lo; r < hi; ++r) {
        const long long n = r / h, y = r - n * h;
        const float* top = tapped ? cache.slot(n, row_i[2 * y], -2, KEY_PASS) : nullptr;
        const float* bot = tapped ? cache.slot(n, row_i[2 * y + 1], n * gh + row_i[2 * y], KEY_PASS) : nullptr;
        const long long skip = cache.grids * w;
        const RowTaps taps{top, bot, top + skip, bot + skip, w, row_w[2 * y], row_w[2 * y + 1]};
        _Pragma("omp simd")
        for (long long x = 0; x < w; ++x) {
            if (PASS == 0) key_alpha<float, MODE, VARIANT>(n, y, x, taps, KEY_PASS);
            else if (PASS == 1) key_level<float>(n, y, x, taps, KEY_PASS);
            else key_outputs<float, MODE, VARIANT>(n, y, x, taps, KEY_PASS);
        }
    }
}

template <int MODE>
__forceinline__ void key_mode(int pass, int variant, long long lo, long long hi, KEY_ARGS(float)) {
    if (pass == 0) variant ? key_rows<MODE, 0, 1>(lo, hi, KEY_PASS) : key_rows<MODE, 0, 0>(lo, hi, KEY_PASS);
    else variant ? key_rows<MODE, 2, 1>(lo, hi, KEY_PASS) : key_rows<MODE, 2, 0>(lo, hi, KEY_PASS);
}

/* The dispatch, outside the loops. On x86-64 Linux it is also built for AVX-512 and AVX2 (gathers,
   masks and blends make the loops vectorise) and picked at load time by the CPU. */
#if defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void run_rows(long long lo, long long hi, KEY_ARGS(float)) {
    if (flags & DIVIDE_LEVEL) { key_rows<0, 1, 0>(lo, hi, KEY_PASS); return; }
    const int pass = (flags & COMPUTE_ALPHA) ? 0 : 2;
    const int variant = pass == 0 ? ((flags & AUTO_BALANCE) ? 1 : 0) : ((flags & (HAS_CORE | HAS_GARBAGE)) ? 1 : 0);
    if (screen_mode == 0) key_mode<0>(pass, variant, lo, hi, KEY_PASS);
    else if (screen_mode == 1) key_mode<1>(pass, variant, lo, hi, KEY_PASS);
    else key_mode<2>(pass, variant, lo, hi, KEY_PASS);
}

/* Rows split in equal chunks over ``threads``. Built with OpenMP (-fopenmp), the chunks run on the
   OpenMP runtime already loaded in the process -- torch's own libgomp, found by its soname -- so
   they run on torch's intra-op threads, which spin for a while after each torch op and would
   otherwise hold the cores the kernel's threads wait for (on 2 cores a pass then ran on one).
   Without OpenMP, on std::threads. */
extern "C" void changer_key_host(KEY_ARGS(float), int threads) {
    const long long n_rows = (n_pix / (h * w)) * h;
    if (threads <= 1 || n_pix < 65536) { run_rows(0, n_rows, KEY_PASS); return; }
    /* chunk t of ``team`` equal chunks of rows */
    const auto rows_of = [=](long long t, long long team) {
        const long long chunk = (n_rows + team - 1) / team;
        const long long lo = t * chunk < n_rows ? t * chunk : n_rows, hi = lo + chunk < n_rows ? lo + chunk : n_rows;
        run_rows(lo, hi, KEY_PASS);
    };
#ifdef _OPENMP
    /* the runtime may give fewer threads than asked (nested or busy): chunk by the team it gave */
    _Pragma("omp parallel num_threads(threads)")
    rows_of(omp_get_thread_num(), omp_get_num_threads());
#else
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(rows_of, t, threads);
    rows_of(0, threads);
    for (auto& th : pool) th.join();
#endif
}

/* Every pixel through key_pixel, the CUDA kernel's path (PixelTaps: each grid value from its own
   four cells), on one thread: the tests check that it gives the bits of the row loops above, so
   the CUDA twin's maths is checked on machines without a GPU. */
extern "C" void changer_key_pixels(KEY_ARGS(float)) {
    for (long long p = 0; p < n_pix; ++p) {
        const long long n = p / (h * w), y = (p % (h * w)) / w, x = p % w;
        if (screen_mode == 0) key_pixel<float, 0>(n, y, x, KEY_PASS);
        else if (screen_mode == 1) key_pixel<float, 1>(n, y, x, KEY_PASS);
        else key_pixel<float, 2>(n, y, x, KEY_PASS);
    }
}
""")
#: No FMA contraction: the loop rounds like the torch ops it twins, the same with and without AVX2.
FLAGS = ("-O3", "-std=c++14", "-ffp-contract=off", "-fno-trapping-math", "-fopenmp-simd", "-fPIC", "-shared",
         "-pthread")
#: Threads from the process's OpenMP runtime (torch's), where the compiler supports it.
OPENMP = "-fopenmp"


def _compiler() -> str | None:
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "changer"


@functools.lru_cache(maxsize=1)
def _library() -> tuple[Any, str]:
    """(the compiled library or None, why not / where from): with OpenMP where the compiler has it."""
    compiler = _compiler()
    if compiler is None:
        return None, "no C++ compiler found (set $CXX)"
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30).stdout
        library, why = _build(compiler, version, (*FLAGS, OPENMP))
        if library is None:
            log.debug("keyer host kernel without OpenMP: %s", why)
            library, why = _build(compiler, version, FLAGS)
        return library, why
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"cannot build the host kernel: {exc}"


def _build(compiler: str, version: str, flags: tuple[str, ...]) -> tuple[Any, str]:
    """The library built with ``flags`` (cached by source, compiler, flags and machine), or None and why."""
    digest = hashlib.sha256("\0".join([SOURCE, version, *flags, platform.machine()]).encode()).hexdigest()[:16]
    folder = _cache_dir()
    lib = folder / f"keyer_{digest}.so"
    if not lib.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            src, out = Path(tmp) / "keyer.cpp", Path(tmp) / "keyer.so"
            src.write_text(SOURCE)
            proc = subprocess.run([compiler, *flags, "-o", str(out), str(src)], capture_output=True, text=True,
                                  timeout=300)
            if proc.returncode != 0:
                return None, f"{compiler} failed: {proc.stderr.strip()[-500:]}"
            os.replace(out, lib)  # atomic: concurrent workers compile the same file
        log.info("compiled the keyer's host kernel: %s", lib)
    library = ctypes.CDLL(str(lib))
    for fn in (library.changer_key_host, library.changer_key_pixels):
        fn.restype = None
    return library, f"{compiler} {' '.join(flags)} -> {lib}"


def status() -> tuple[bool, str]:
    """(usable, what / why not): the host kernel compiles and loads on this machine."""
    library, why = _library()
    if library is None:
        log.warning("keyer host kernel unavailable (%s); keying in torch", why)
    return library is not None, why


def _c_args(args: list[Any]) -> list[Any]:
    out = []
    for x in args:
        if isinstance(x, torch.Tensor):
            out.append(ctypes.c_void_p(x.data_ptr()))
        elif isinstance(x, np.int64):
            out.append(ctypes.c_longlong(int(x)))
        elif isinstance(x, np.int32):
            out.append(ctypes.c_int(int(x)))
        else:
            out.append(ctypes.c_float(float(x)))
    return out


def launch(args: list[Any], threads: int | None = None, pixelwise: bool = False) -> None:
    """Run the kernel over every pixel with ``args`` from :func:`.kernel_source.kernel_args`;
    ``pixelwise``: through the CUDA kernel's per-pixel path, on one thread (for the tests)."""
    library, why = _library()
    if library is None:
        raise RuntimeError(f"the keyer's host kernel is not available: {why}")
    if pixelwise:
        library.changer_key_pixels(*_c_args(args))
    else:
        library.changer_key_host(*_c_args(args), ctypes.c_int(threads or torch.get_num_threads()))


_MADV_HUGEPAGE = 14
_HUGE = 1 << 21


@functools.lru_cache(maxsize=1)
def _madvise() -> Any:
    """libc's madvise on Linux, else None."""
    if platform.system() != "Linux":
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
    return fn


def fresh(shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """An empty float32 CPU tensor for an output, its pages advised huge before the kernel first
    touches them: faulting in four fresh 3-channel 1080p planes then cost ~5 ms instead of ~30
    (transparent huge pages in madvise mode; advice only, ignored where unsupported)."""
    out = torch.empty(shape, dtype=torch.float32, device=like.device)
    madvise = _madvise()
    start = out.data_ptr()
    lo, hi = -(-start // _HUGE) * _HUGE, (start + out.numel() * 4) // _HUGE * _HUGE
    if madvise is not None and hi > lo:
        madvise(lo, hi - lo, _MADV_HUGEPAGE)
    return out


def _f32(x: torch.Tensor | None) -> torch.Tensor | None:
    return None if x is None else x.to(torch.float32).contiguous()


def screen_args(source: Any, n: int) -> tuple[torch.Tensor | None, int, torch.Tensor | None, torch.Tensor | None]:
    """(screen, mode, grid, sigma) of a :class:`.keyer.ScreenSource` for the kernel, in float32."""
    if source.flat is not None:
        return _f32(source.flat.expand(n, -1, -1, -1)), SCREEN_FLAT, None, None
    if source.given is not None:
        given = source.given.to(torch.float32)
        return (given if given.is_contiguous() else given.contiguous()), SCREEN_GIVEN, None, None
    return None, SCREEN_GRID, _f32(source.estimate.grid), _f32(source.estimate.sigma.flatten(1))


class HostPasses:
    """Pass A and pass B of :mod:`.keyer` as host-kernel launches over the whole frame (no temporaries)."""

    @staticmethod
    def alpha(plate: torch.Tensor, source: Any, params: KeyerParams, rows: int) -> torch.Tensor:
        p = _f32(plate)
        n, _, h, w = p.shape
        screen, mode, grid, sigma = screen_args(source, n)
        alpha0 = fresh((n, 1, h, w), p)
        launch(kernel_args(p, screen, mode, grid, sigma, None, alpha0, None, params, COMPUTE_ALPHA))
        return alpha0

    @staticmethod
    def level(alpha0: torch.Tensor, level: torch.Tensor | None, params: KeyerParams, rows: int) -> torch.Tensor:
        if level is None:
            return divide_level(alpha0, None, params, rows)
        a0 = _f32(alpha0)
        a = fresh(tuple(a0.shape), a0)
        launch(kernel_args(a0, None, SCREEN_FLAT, _f32(level), None, None, a, None, params, DIVIDE_LEVEL))
        return a

    @staticmethod
    def finish(plate: torch.Tensor, source: Any, alpha: torch.Tensor, params: KeyerParams, rows: int,
               core: torch.Tensor | None, garbage: torch.Tensor | None, prior: torch.Tensor) -> Any:
        from .keyer import KeyResult, screen_of  # noqa: PLC0415  (keyer imports this module lazily)

        p = _f32(plate)
        n = p.shape[0]
        screen, mode, grid, sigma = screen_args(source, n)
        a = _f32(alpha)
        fg = fresh(tuple(p.shape), p)
        mattes = [None if m is None else _f32(m.expand(n, -1, -1, -1)) for m in (core, garbage)]
        launch(kernel_args(p, screen, mode, grid, sigma, _f32(prior), a, fg, params, WRITE_OUTPUTS, *mattes))
        return KeyResult(a.to(plate.dtype), fg.to(plate.dtype), screen_of(plate, source, rows))
