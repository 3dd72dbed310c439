"""Which torch device runs the engine, and whether the fused CuPy kernels can be used.

CPU is a first-class device; CUDA is the fast one. CuPy is imported lazily and only when CUDA is
present, so a machine without a GPU never imports it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Iterator

import torch

from .errors import ParamError

log = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda")
_THREADS_LOCK = threading.RLock()


def pick_device(preference: str = "auto") -> torch.device:
    """Resolve a device preference (`auto`, `cpu`, `cuda` or `cuda:N`) to a torch device."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference == "cpu":
        return torch.device("cpu")
    if preference == "cuda" or preference.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ParamError(f"device={preference!r}: CUDA is not available on this machine; use 'cpu' or 'auto'")
        return torch.device(preference)
    raise ParamError(f"device={preference!r}: expected one of {', '.join(DEVICE_CHOICES)} or 'cuda:N'")


@functools.lru_cache(maxsize=1)
def cupy_status() -> tuple[bool, str]:
    """(usable, reason): CuPy is usable when it imports and sees the CUDA device torch sees."""
    if not torch.cuda.is_available():
        return False, "no CUDA device"
    try:
        import cupy  # lazy on purpose: heavy, CUDA-only
    except ImportError:
        return False, "cupy not installed (pip install 'changer[cuda]')"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CuPy raises its own CUDA runtime errors
        return False, f"cupy {cupy.__version__} cannot reach CUDA: {exc}"
    return count > 0, f"cupy {cupy.__version__}, {count} device(s)"


@contextlib.contextmanager
def one_cpu_thread(device: torch.device) -> Iterator[None]:
    """Run torch CPU ops on one thread inside the block, so their results do not depend on the thread count.

    oneDNN/MKL and torch's parallel reductions split work by thread, so a frame's key and network
    output differed in the last bits between ``--workers 1`` and ``2`` (and between hosts with other
    core counts). One thread is bit-stable everywhere on one CPU instruction set; hosts that need
    throughput render frames in parallel processes instead. No effect for CUDA devices.
    """
    if device.type != "cpu":
        yield
        return
    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)
