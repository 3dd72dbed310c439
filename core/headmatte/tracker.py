"""Following one head through a shot: the crop follows the last frame's face, and its landmarks are smoothed.

Each frame's landmarks are fitted on a crop placed from the previous frame's smoothed face (so the
crop itself does not jitter with the detector), then One-Euro filtered (:mod:`.smoothing`) in units of
the first frame's face height. Frames must come in order; the tracker's whole state is JSON
(:meth:`HeadTracker.state`), which a matte file carries so that a resumed job continues exactly as an
uninterrupted one would.
"""

from __future__ import annotations

import numpy as np

from .landmarks import FaceLandmarks
from .smoothing import OneEuroFilter, OneEuroSettings


class HeadTracker:
    """One head from frame to frame. ``smooth`` False: landmarks as fitted (the crop still follows them);
    ``settings``: the One-Euro filter's (default :class:`.OneEuroSettings`)."""

    def __init__(self, smooth: bool = True, settings: OneEuroSettings | None = None) -> None:
        self.filter = OneEuroFilter(settings) if smooth else None
        self.scale = 0.0
        self.previous: FaceLandmarks | None = None

    def reset(self) -> None:
        """Forget the shot so far: the next frame is found from scratch."""
        self.scale, self.previous = 0.0, None
        if self.filter is not None:
            self.filter = OneEuroFilter(self.filter.settings)

    def follow(self, fitted: FaceLandmarks, frame: float) -> FaceLandmarks:
        """The landmarks to use at ``frame`` given the ones fitted there."""
        if self.filter is None:
            self.previous = fitted
            return fitted
        if self.previous is None or self.scale <= 0.0:
            self.scale = fitted.height
        oval = self.filter(fitted.oval / self.scale, frame) * self.scale
        self.previous = FaceLandmarks(oval, fitted.score)
        return self.previous

    def state(self) -> dict[str, object]:
        """The tracker as plain values (see :meth:`restore`)."""
        previous = None if self.previous is None else {"oval": self.previous.oval.tolist(),
                                                       "score": self.previous.score}
        return {"scale": self.scale, "previous": previous,
                "filter": None if self.filter is None else self.filter.state()}

    def restore(self, state: dict[str, object]) -> None:
        """Continue from a :meth:`state` taken after an earlier frame."""
        self.scale = float(state["scale"])
        previous = state["previous"]
        self.previous = None if previous is None else FaceLandmarks(np.asarray(previous["oval"], dtype=np.float64),
                                                                    float(previous["score"]))
        if self.filter is not None and state["filter"] is not None:
            self.filter.restore(state["filter"])
