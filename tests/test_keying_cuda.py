"""The fused keyer kernels against their torch twin.

The kernel body (:mod:`changer.core.keying.kernel_source`, plain C++) runs on the CPU as the host
kernel wherever a C++ compiler is: it is compared with the torch passes on every screen source
(flat, given clean plate, estimated grid), with and without core and garbage mattes, on every
despill mode. The full CUDA source is compiled with NVRTC when it is importable, so a CPU-only
machine still checks the CUDA entries' syntax; on CUDA with CuPy the real kernel is compared with
torch (skipped with a reason otherwise).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from changer.core.device import cupy_status
from changer.core.errors import ParamError
from changer.core.keying import KeyerParams, key
from changer.core.keying import cuda_kernel as ck
from changer.core.keying import host_kernel as hk
from changer.core.keying.cells import pool, pool_banded
from changer.core.keying.kernel_source import (
    COMPUTE_ALPHA,
    DIVIDE_LEVEL,
    SCREEN_FLAT,
    WRITE_OUTPUTS,
    kernel_args,
)
from changer.core.keying.keyer import TorchPasses, screen_source
from tolerance import TOLERANCE

CASES = [
    KeyerParams(screen_color=(0.15, 0.62, 0.2)),
    KeyerParams(screen_color=(0.15, 0.62, 0.2), auto_clean_plate=False, balance_mode="fixed", screen_balance=0.3,
                screen_gain=1.2, clip_black=0.1, clip_white=0.8, despill_mode="luminance",
                despill_bias=(0.8, 0.6, 0.5)),
    KeyerParams(screen_type="blue", screen_color=(0.1, 0.22, 0.7), despill=0.5, despill_mode="limit",
                despill_protect=0.0),
]
OUTPUTS = ("alpha", "fg", "fg_premult", "green", "screen")

needs_host = pytest.mark.skipif(not hk.status()[0], reason=f"no host kernel: {hk.status()[1]}")


def _inputs(params: KeyerParams, n: int = 2, h: int = 40, w: int = 56):
    """A noisy soft-edged plate over the params' screen, a clean plate, core and garbage mattes (seeded)."""
    g = torch.Generator().manual_seed(11)
    screen = torch.tensor(params.screen_color).view(1, 3, 1, 1)
    light = 0.8 + 0.4 * torch.rand(1, 1, h, w, generator=g)
    clean = (screen * light).expand(n, 3, h, w)  # batch stride 0
    fg = 0.2 + 0.6 * torch.rand(n, 3, h, w, generator=g)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    alpha = ((0.6 - (xx**2 + yy**2).sqrt()) * 5).clamp(0, 1)
    plate = (alpha * fg + (1 - alpha) * clean + 0.01 * torch.randn(n, 3, h, w, generator=g)).clamp(0, 1)
    core = (torch.rand(1, 1, h, w, generator=g) > 0.9).float()
    garbage = (torch.rand(n, 1, h, w, generator=g) > 0.9).float()
    return plate, clean, core, garbage


@needs_host
@pytest.mark.parametrize("params", CASES)
@pytest.mark.parametrize("screen", ["picked", "clean-plate"])
@pytest.mark.parametrize("mattes", [False, True], ids=["no-mattes", "mattes"])
def test_host_kernel_matches_torch(params: KeyerParams, screen: str, mattes: bool) -> None:
    plate, clean, core, garbage = _inputs(params)
    kwargs = {"clean_plate": clean if screen == "clean-plate" else None,
              "core_matte": core if mattes else None, "garbage_matte": garbage if mattes else None}
    ours = key(plate, params, backend="host", **kwargs)
    ref = key(plate, params, backend="torch", **kwargs)
    for name in OUTPUTS:
        a, b = getattr(ours, name), getattr(ref, name)
        assert a.shape == b.shape and a.dtype == b.dtype, name
        assert torch.allclose(a, b, atol=10 * TOLERANCE[torch.float32]), f"{name}: {float((a - b).abs().max())}"


@needs_host
def test_host_kernel_passes_one_by_one() -> None:
    """Pass A, the level step and pass B each agree with torch (not only their composition)."""
    params = CASES[0]
    plate, _, _, _ = _inputs(params)
    source = screen_source(plate, *pool_banded(plate, plate.shape[-2]), params)
    rows = plate.shape[-2]
    a_host, a_torch = hk.HostPasses.alpha(plate, source, params, rows), TorchPasses.alpha(plate, source, params, rows)
    assert torch.allclose(a_host, a_torch, atol=1e-6)
    level = 0.5 + 0.5 * torch.rand(2, 1, 10, 14, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(hk.HostPasses.level(a_torch, level, params, rows),
                          TorchPasses.level(a_torch, level, params, rows), atol=1e-6)


@needs_host
def test_host_kernel_threads_do_not_change_a_bit() -> None:
    """The kernel splits rows between threads; pixels are independent, so the bits are the same."""
    params = CASES[0]
    plate, _, core, garbage = _inputs(params, n=1, h=300, w=256)  # > 65536 pixels: really threaded
    source = screen_source(plate, *pool_banded(plate, plate.shape[-2]), params)
    prior = pool(plate)
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):  # 3 rows of chunks on 2 cores, and a team of 3 threads
            torch.set_num_threads(threads)
            alpha = hk.HostPasses.alpha(plate, source, params, 300)
            results.append(hk.HostPasses.finish(plate, source, alpha, params, 300, core, garbage, prior))
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(getattr(results[0], n), getattr(r, n)) for r in results[1:] for n in OUTPUTS)


@needs_host
def test_host_kernel_falls_back_to_std_threads_where_openmp_does_not_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """A compiler without OpenMP (the flag fails) still builds the kernel, threaded with std::thread: same bits."""
    params = CASES[0]
    plate, _, _, _ = _inputs(params, n=1, h=300, w=256)
    source = screen_source(plate, *pool_banded(plate, plate.shape[-2]), params)
    with_openmp = hk.HostPasses.alpha(plate, source, params, 300)
    monkeypatch.setattr(hk, "OPENMP", "-fno-such-openmp-flag")
    hk._library.cache_clear()
    try:
        usable, how = hk.status()
        assert usable and "-fno-such-openmp-flag" not in how, how
        before = torch.get_num_threads()
        torch.set_num_threads(2)
        try:
            assert torch.equal(hk.HostPasses.alpha(plate, source, params, 300), with_openmp)
        finally:
            torch.set_num_threads(before)
    finally:
        hk._library.cache_clear()


@needs_host
@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="no /proc/self/maps (not Linux): cannot list libraries")
def test_host_kernel_threads_are_torchs_own_openmp_threads() -> None:
    """Built with OpenMP, the kernel binds to the OpenMP runtime torch loaded (one libgomp in the process):
    a second runtime's threads would wait on cores that torch's spinning threads hold."""
    if hk.OPENMP not in hk.status()[1]:
        pytest.skip(f"host kernel built without OpenMP: {hk.status()[1]}")
    runtimes = {line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines()
                if "libgomp" in line.rsplit("/", 1)[-1]}
    assert len(runtimes) == 1, runtimes


@needs_host
@pytest.mark.parametrize("params", CASES)
@pytest.mark.parametrize("screen", ["picked", "clean-plate"])
@pytest.mark.parametrize("w", [256, 203], ids=["4x-grid", "uneven-grid"])
def test_host_row_loops_give_the_bits_of_the_cuda_pixel_path(params: KeyerParams, screen: str, w: int) -> None:
    """The host's row loops read the cell grids from column-blended grid rows (8 columns at a time
    from a permuted window, the rest one by one), the CUDA kernel from each pixel's own four cells
    (its path, run here on the host): the same products, so the same bits, for every pass, with
    mattes, across images and threads -- the CUDA twin's maths is checked where there is no GPU. Widths
    of 4 pixels a cell and of cells a little wider (taps that do not repeat every 4 pixels)."""
    n, h = 3, 110  # 66990-84480 pixels: threaded, and a thread's rows cross an image boundary
    plate, clean, core, garbage = _inputs(params, n=n, h=h, w=w)
    source = screen_source(plate, *pool_banded(plate, h), params, clean if screen == "clean-plate" else None)
    screen_t, mode, grid, sigma = hk.screen_args(source, n)
    prior = pool(plate)
    level = 0.5 + 0.5 * torch.rand(n, 1, *prior.shape[-2:], generator=torch.Generator().manual_seed(3))
    core = core.expand(n, -1, -1, -1).contiguous()

    def passes(pixelwise: bool) -> tuple[torch.Tensor, ...]:
        alpha0, alpha, fg = torch.zeros(n, 1, h, w), torch.zeros(n, 1, h, w), torch.zeros_like(plate)
        for args in (kernel_args(plate, screen_t, mode, grid, sigma, None, alpha0, None, params, COMPUTE_ALPHA),
                     kernel_args(alpha0, None, SCREEN_FLAT, level, None, None, alpha, None, params, DIVIDE_LEVEL),
                     kernel_args(plate, screen_t, mode, grid, sigma, prior, alpha, fg, params, WRITE_OUTPUTS, core,
                                 garbage)):
            hk.launch(args, threads=2, pixelwise=pixelwise)
        return alpha0, alpha, fg

    rows, pixels = passes(False), passes(True)
    for name, a, b in zip(("alpha0", "alpha", "fg"), rows, pixels, strict=True):
        assert torch.equal(a, b), f"{name}: {float((a - b).abs().max())}"


def test_host_kernel_falls_back_to_torch_without_a_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hk, "_library", lambda: (None, "no C++ compiler found (set $CXX)"))
    plate, _, _, _ = _inputs(CASES[0])
    with pytest.raises(ParamError, match=r"backend='host': .*no C\+\+ compiler"):
        key(plate, CASES[0], backend="host")
    assert torch.equal(key(plate, CASES[0]).alpha, key(plate, CASES[0], backend="torch").alpha)


def test_cuda_source_compiles_with_nvrtc() -> None:
    nvrtc = pytest.importorskip("cuda.bindings.nvrtc", reason="cuda-python (NVRTC bindings) not installed")
    err, prog = nvrtc.nvrtcCreateProgram(ck.CUDA_SOURCE.encode(), b"changer_key.cu", 0, [], [])
    assert err == nvrtc.nvrtcResult.NVRTC_SUCCESS
    try:
        (err,) = nvrtc.nvrtcCompileProgram(prog, 2, [b"--std=c++14", b"--gpu-architecture=compute_80"])
    except RuntimeError as exc:  # the NVRTC library itself is missing
        pytest.skip(f"NVRTC not loadable: {exc}")
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        _, size = nvrtc.nvrtcGetProgramLogSize(prog)
        log = b" " * size
        nvrtc.nvrtcGetProgramLog(prog, log)
        pytest.fail(log.decode(errors="replace"))


_CUPY_OK, _CUPY_WHY = cupy_status()
needs_cupy = pytest.mark.skipif(not _CUPY_OK, reason=f"fused CuPy kernel not usable: {_CUPY_WHY}")


@needs_cupy
@pytest.mark.cuda
@pytest.mark.parametrize("params", [*CASES, CASES[0].replace(matte_grow=1.5, edge_softness=1.0, core_depth=3.0)])
@pytest.mark.parametrize("screen", ["picked", "clean-plate"])
def test_cupy_kernel_matches_torch_on_cuda(params: KeyerParams, dtype: torch.dtype, screen: str) -> None:
    plate, clean, core, garbage = (t.cuda() for t in _inputs(params, h=67, w=129))
    clean = clean if screen == "clean-plate" else None
    ours = key(plate.to(dtype), params, clean_plate=clean, core_matte=core, garbage_matte=garbage, backend="cupy")
    ref = key(plate.to(dtype), params, clean_plate=clean, core_matte=core, garbage_matte=garbage, backend="torch")
    tol = 10 * TOLERANCE[dtype]  # a fused kernel reorders the keyer's ~10 chained ops
    for name in OUTPUTS:
        a, b = getattr(ours, name), getattr(ref, name)
        assert a.dtype == dtype and a.is_cuda
        assert torch.allclose(a.float(), b.float(), atol=tol, rtol=tol), f"{name}: {float((a.float() - b.float()).abs().max())}"


@needs_cupy
@pytest.mark.cuda
def test_auto_backend_picks_the_kernel_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = ck.CudaPasses.alpha
    monkeypatch.setattr(ck.CudaPasses, "alpha", staticmethod(lambda *a: calls.append(1) or real(*a)))
    plate, _, _, _ = _inputs(CASES[0])
    key(plate.cuda(), CASES[0])
    assert calls == [1]
