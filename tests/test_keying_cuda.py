"""The fused keyer kernel against its torch twin.

On CUDA with CuPy the real kernel is compared with the torch path (skipped with a reason otherwise).
Everywhere, the kernel's per-pixel body (plain C++) is compiled with the host compiler and compared
with torch through the same argument list the CUDA launch uses, and the full CUDA source is compiled
with NVRTC when it is importable, so a CPU-only machine still checks the kernel's math and syntax.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest
import torch

from changer.core.device import cupy_status
from changer.core.keying import KeyerParams, finish, key, screen_matte
from changer.core.keying import cuda_kernel as ck

CASES = [
    KeyerParams(screen_color=(0.15, 0.62, 0.2)),
    KeyerParams(screen_color=(0.15, 0.62, 0.2), balance_mode="fixed", screen_balance=0.3, screen_gain=1.2,
                clip_black=0.1, clip_white=0.8, despill_mode="luminance", despill_bias=(0.8, 0.6, 0.5)),
    KeyerParams(screen_type="blue", screen_color=(0.1, 0.22, 0.7), despill=0.5),
]


def _inputs(params: KeyerParams, per_pixel: bool, n: int = 2, h: int = 24, w: int = 40):
    g = torch.Generator().manual_seed(11)
    screen = torch.tensor(params.screen_color).view(1, 3, 1, 1).expand(n, 3, 1, 1).contiguous()
    plate = (0.6 * screen + 0.5 * torch.rand(n, 3, h, w, generator=g)).clamp(0, 1)
    plate[..., :4, :] = screen  # some pure screen
    if per_pixel:
        screen = (screen[:1] * (0.8 + 0.4 * torch.rand(1, 1, h, w, generator=g))).expand(n, 3, h, w)  # batch stride 0
    core = (torch.rand(1, 1, h, w, generator=g) > 0.9).float().expand(n, 1, h, w)
    garbage = (torch.rand(n, 1, h, w, generator=g) > 0.9).float()
    return plate, screen, core, garbage


def _torch_twin(plate, screen, params, core, garbage):
    return finish(plate, screen, screen_matte(plate, screen, params), params, core, garbage)


@pytest.fixture(scope="module")
def host_kernel(tmp_path_factory: pytest.TempPathFactory):
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.skip("no host C++ compiler to check the kernel body with")
    folder = tmp_path_factory.mktemp("kernel")
    src = folder / "key_cpu.cpp"
    src.write_text("#include <cmath>\n#define __device__\n#define __forceinline__ inline\n" + ck.KERNEL_BODY +
                   '\nextern "C" void key_cpu(KEY_ARGS(float)) {\n'
                   "    for (long long p = 0; p < n_pix; ++p) key_pixel<float>(p, KEY_PASS);\n}\n")
    lib = folder / "key_cpu.so"
    proc = subprocess.run([compiler, "-O1", "-ffp-contract=off", "-shared", "-fPIC", "-o", str(lib), str(src)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return ctypes.CDLL(str(lib)).key_cpu


def _ctypes_args(args: list) -> list:
    out = []
    for x in args:
        if isinstance(x, torch.Tensor):
            out.append(ctypes.c_void_p(x.data_ptr()))
        elif isinstance(x, np.int64):
            out.append(ctypes.c_longlong(int(x)))
        elif isinstance(x, np.int32):
            out.append(ctypes.c_int(int(x)))
        else:
            assert isinstance(x, np.float32), type(x)
            out.append(ctypes.c_float(float(x)))
    return out


@pytest.mark.parametrize("params", CASES)
@pytest.mark.parametrize("per_pixel", [False, True], ids=["flat", "clean-plate"])
@pytest.mark.parametrize("two_stage", [False, True], ids=["fused", "two-stage"])
def test_kernel_body_matches_torch_on_host(host_kernel, params: KeyerParams, per_pixel: bool, two_stage: bool) -> None:
    plate, screen, core, garbage = _inputs(params, per_pixel)
    expect = _torch_twin(plate, screen, params, core, garbage)
    alpha = plate.new_empty(plate.shape[0], 1, *plate.shape[-2:])
    fg, premult, green = torch.empty_like(plate), torch.empty_like(plate), torch.empty_like(plate)
    if two_stage:
        host_kernel(*_ctypes_args(ck.kernel_args(plate, screen, alpha, alpha, alpha, alpha, params, ck.COMPUTE_ALPHA)))
        assert torch.allclose(alpha, screen_matte(plate, screen, params), atol=1e-5)
        flags = ck.WRITE_OUTPUTS
    else:
        flags = ck.COMPUTE_ALPHA | ck.WRITE_OUTPUTS
    host_kernel(*_ctypes_args(ck.kernel_args(plate, screen, alpha, fg, premult, green, params, flags, core, garbage)))
    for name, got, want in zip(("alpha", "fg", "premult", "green"), (alpha, fg, premult, green), expect):
        assert torch.allclose(got, want, atol=1e-4, rtol=1e-5), f"{name}: max diff {float((got - want).abs().max())}"


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
@pytest.mark.parametrize("params", [*(c.replace(core_depth=0.0) for c in CASES),  # one fused launch
                                    CASES[0].replace(matte_grow=1.5, edge_softness=1.0, core_depth=3.0)])  # two
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("per_pixel", [False, True], ids=["flat", "clean-plate"])
def test_cupy_kernel_matches_torch_on_cuda(params: KeyerParams, dtype: torch.dtype, per_pixel: bool) -> None:
    plate, screen, core, garbage = (t.cuda() for t in _inputs(params, per_pixel, h=67, w=129))
    clean = screen if per_pixel else None
    core = core[:1]  # one matte for the whole batch: broadcast
    ours = key(plate.to(dtype), params, clean_plate=clean, core_matte=core, garbage_matte=garbage, backend="cupy")
    ref = key(plate.to(dtype), params, clean_plate=clean, core_matte=core, garbage_matte=garbage, backend="torch")
    tol = 1e-4 if dtype == torch.float32 else 4e-3
    for name in ("alpha", "fg", "fg_premult", "green"):
        a, b = getattr(ours, name), getattr(ref, name)
        assert a.dtype == dtype and a.is_cuda
        assert torch.allclose(a.float(), b.float(), atol=tol, rtol=tol), f"{name}: {float((a.float() - b.float()).abs().max())}"


@needs_cupy
@pytest.mark.cuda
def test_auto_backend_picks_the_kernel_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = ck.key_fused
    monkeypatch.setattr(ck, "key_fused", lambda *a, **k: calls.append(1) or real(*a, **k))
    plate, _, _, _ = _inputs(CASES[0], False)
    key(plate.cuda(), CASES[0])
    assert calls == [1]

