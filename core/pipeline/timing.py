"""Per-stage wall-clock timings of a render, for the batch summary and ``benchmarks/render.py``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch


class StageTimer:
    """Accumulates seconds per named section; CUDA work is synchronised so it lands in its section."""

    def __init__(self, device: torch.device | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self._sync = device is not None and device.type == "cuda"

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        if self._sync:
            torch.cuda.synchronize()
        start = time.perf_counter()
        try:
            yield
        finally:
            if self._sync:
                torch.cuda.synchronize()
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def merge(self, other: dict[str, float]) -> None:
        for name, value in other.items():
            self.seconds[name] = self.seconds.get(name, 0.0) + value
