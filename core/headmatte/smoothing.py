"""The One-Euro filter (Casiez et al., CHI 2012) on landmark coordinates: still heads stay still, fast ones follow.

A per-frame landmark fit wobbles by a pixel or more (a 1-3 px shift of the frame moves the chin landmark
up to 3 px), which a matte shows as a neck line that shimmers. A fixed low-pass would trade that for lag
on fast moves; the One-Euro filter lowers its cutoff when a coordinate is still and raises it with the
coordinate's speed. Times are frame numbers, so the cutoffs are in cycles per frame; coordinates are
divided by a length (the face height) first, so the settings do not depend on the resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroSettings:
    """``min_cutoff``: cutoff (cycles per frame) of a still coordinate; ``beta``: how fast the cutoff rises with
    speed (per face height per frame); ``d_cutoff``: cutoff of the speed estimate itself."""

    min_cutoff: float = 0.03
    beta: float = 4.0
    d_cutoff: float = 0.2


def smoothing_factor(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    """Weight of a new sample in an exponential low-pass at ``cutoff`` for a step of ``dt`` frames."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filters arrays of one shape, sample by sample; its whole state is three plain values (:meth:`state`)."""

    def __init__(self, settings: OneEuroSettings | None = None) -> None:
        self.settings = settings or OneEuroSettings()
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None
        self.t = 0.0

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        """The filtered ``x`` at time ``t`` (frames; increasing)."""
        x = np.asarray(x, dtype=np.float64)
        if self.x is None or self.dx is None or self.x.shape != x.shape or t <= self.t:
            self.x, self.dx, self.t = x.copy(), np.zeros_like(x), float(t)
            return self.x.copy()
        s = self.settings
        dt = float(t) - self.t
        self.dx = self.dx + smoothing_factor(s.d_cutoff, dt) * ((x - self.x) / dt - self.dx)
        cutoff = s.min_cutoff + s.beta * np.abs(self.dx)
        self.x = self.x + smoothing_factor(cutoff, dt) * (x - self.x)
        self.t = float(t)
        return self.x.copy()

    def state(self) -> dict[str, object]:
        """Everything needed to continue filtering elsewhere (JSON-ready; floats round-trip exactly)."""
        return {"x": None if self.x is None else self.x.tolist(), "dx": None if self.dx is None else self.dx.tolist(),
                "t": self.t}

    def restore(self, state: dict[str, object]) -> None:
        """Continue from a :meth:`state`."""
        self.x = None if state["x"] is None else np.asarray(state["x"], dtype=np.float64)
        self.dx = None if state["dx"] is None else np.asarray(state["dx"], dtype=np.float64)
        self.t = float(state["t"])
