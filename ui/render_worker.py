"""Renders off the GUI thread: one render thread, the newest request wins, errors come back as signals.

The window submits a :class:`ViewRequest` for every change (param, frame, layer, display). Requests
queue in a single slot, so a burst of slider moves collapses into the last one; each carries a
generation number, and a render whose generation is no longer the newest stops at the next stage
boundary (the effect's abort, :class:`~changer.plugin.effect.RenderAborted`). Work already done is
kept in the session's stage cache. The display conversion of a layer re-transforms only the pixels
that changed since that layer was last shown with the same display settings (:mod:`.display`). Once
a frame is composited it is shown even if a newer request arrived meanwhile: that keeps a dragged
slider visibly live. User mistakes (:class:`~changer.core.errors.ChangerError`) and bugs both arrive
as :attr:`RenderWorker.failed` with a one-line message; the thread never dies and the window never
blocks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from PySide6.QtCore import QThread, Signal

from changer.core.errors import ChangerError
from changer.plugin.effect import RenderAborted

from .display import DisplayImage, DisplaySettings, to_display
from .layers import HEAT, LAYER_BY_NAME, LayerUnavailable
from .session import RenderedFrame, RenderRequest, ReviewSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ViewRequest:
    """A render request plus how to show it: layer, display settings and whether the wipe needs the plate."""

    render: RenderRequest
    layer: str = "output"
    display: DisplaySettings = field(default_factory=DisplaySettings)
    wipe: bool = False


@dataclass
class Reply:
    """A finished request: the render, the images to paint (B: the layer, A: the plate for the wipe)."""

    generation: int
    request: ViewRequest
    rendered: RenderedFrame
    image: DisplayImage | None
    plate: DisplayImage | None
    note: str
    seconds: float  #: wall time from the worker taking the request to the images being ready


def present(session: ReviewSession, request: ViewRequest, cancelled: Callable[[], bool] = lambda: False,
            generation: int = 0, shown: dict[str, DisplayImage] | None = None) -> Reply:
    """Render ``request`` (through the stage cache) and convert its layer (and the plate) for display.

    ``shown`` maps layer names to their last display images: a layer shown again re-transforms only
    its changed pixels, and ``shown`` is updated.
    """
    start = time.perf_counter()
    rendered = session.render(request.render, cancelled)
    color = request.render.params.color_config()
    shown = {} if shown is None else shown
    layer = LAYER_BY_NAME[request.layer]
    note, image = "", None
    try:
        backdrop = LAYER_BY_NAME["plate"].extract(rendered) if layer.kind == HEAT else None
        image = to_display(layer.extract(rendered), layer.kind, request.display, color, backdrop,
                           shown.get(layer.name))
        shown[layer.name] = image
        note = image.note
    except LayerUnavailable as exc:
        note = f"{layer.label}: {exc}"
    plate = None
    if request.wipe:
        plate_layer = LAYER_BY_NAME["plate"]
        plate = to_display(plate_layer.extract(rendered), plate_layer.kind, request.display, color, None,
                           shown.get(plate_layer.name))
        shown[plate_layer.name] = plate
    return Reply(generation, request, rendered, image, plate, note, time.perf_counter() - start)


class RenderWorker(QThread):
    """The render thread. :meth:`submit` from the GUI thread; results arrive as queued signals."""

    rendered = Signal(object)  #: Reply
    failed = Signal(int, str)  #: generation, one-line message
    busy = Signal(bool)

    def __init__(self, session: ReviewSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self._cond = threading.Condition()
        self._pending: tuple[int, ViewRequest] | None = None
        self._generation = 0
        self._stopping = False
        self._shown: dict[str, DisplayImage] = {}  # only the render thread touches it
        self.setObjectName("changer-render")

    @property
    def generation(self) -> int:
        return self._generation

    def submit(self, request: ViewRequest) -> int:
        """Queue ``request`` in place of any waiting one; returns its generation."""
        with self._cond:
            self._generation += 1
            self._pending = (self._generation, request)
            self._cond.notify()
            return self._generation

    def stop(self) -> None:
        """Ask the thread to finish (the render in flight stops at its next stage) and wait for it."""
        with self._cond:
            self._stopping = True
            self._generation += 1
            self._cond.notify()
        self.wait()

    def _stale(self, generation: int) -> bool:
        return generation != self._generation

    def run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                generation, request = self._pending
                self._pending = None
            self.busy.emit(True)
            try:
                reply = present(self.session, request, partial(self._stale, generation), generation, self._shown)
            except RenderAborted:
                log.debug("request %d superseded", generation)
                continue
            except ChangerError as exc:
                self.failed.emit(generation, str(exc))
                continue
            except Exception as exc:  # a bug: keep the thread and the window alive, keep the traceback in the log
                log.exception("render of frame %d failed", request.render.frame)
                self.failed.emit(generation, f"internal error: {type(exc).__name__}: {exc} (details in the log)")
                continue
            finally:
                with self._cond:
                    idle = self._pending is None
                if idle:
                    self.busy.emit(False)
            self.rendered.emit(reply)
