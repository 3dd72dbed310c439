"""The frame scrubber: a timeline over the shot's frames that shows which are cached, click or drag to scrub.

Frames may have gaps (``1001-1100x2``, lists): the timeline spaces the shot's frames evenly and a
drag snaps to the nearest one. Cached frames (rendered with the current settings) are drawn as a
green band, the way compositing viewers show their cache; the current frame is a marker with its
number.
"""

from __future__ import annotations

import bisect
import logging

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

log = logging.getLogger(__name__)

MARGIN_PX = 14
TRACK = QColor(58, 58, 62)
CACHED = QColor(80, 170, 90)
TICK = QColor(120, 120, 126)
MARKER = QColor(240, 190, 60)
LABEL = QColor(170, 170, 170)


class FrameScrubber(QWidget):
    """Timeline over ``frames``; emits ``frame_changed`` when the user picks another frame."""

    frame_changed = Signal(int)

    def __init__(self, frames: list[int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frames = sorted(frames)
        self.current = self.frames[0]
        self.cached: set[int] = set()
        self.setMinimumHeight(38)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setToolTip("Click or drag to scrub; Left/Right step a frame; Home/End jump to the ends. "
                        "Green: frames cached with the current settings.")

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(600, 38)

    def set_frame(self, frame: int) -> None:
        """Show ``frame`` as current (no signal)."""
        self.current = frame
        self.update()

    def set_cached(self, frames: set[int]) -> None:
        self.cached = set(frames)
        self.update()

    def _x(self, index: float) -> float:
        span = max(len(self.frames) - 1, 1)
        return MARGIN_PX + (self.width() - 2 * MARGIN_PX) * index / span

    def _slot(self) -> float:
        return (self.width() - 2 * MARGIN_PX) / max(len(self.frames) - 1, 1)

    def frame_at(self, x: float) -> int:
        """The shot frame nearest to widget x."""
        span = max(len(self.frames) - 1, 1)
        fraction = (x - MARGIN_PX) / max(self.width() - 2 * MARGIN_PX, 1)
        index = min(max(round(fraction * span), 0), len(self.frames) - 1)
        return self.frames[index]

    def _pick(self, event: QMouseEvent) -> None:
        frame = self.frame_at(event.position().x())
        if frame != self.current:
            self.current = frame
            self.update()
            self.frame_changed.emit(frame)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._pick(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._pick(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        track_y, track_h = 8.0, 8.0
        painter.fillRect(QRectF(MARGIN_PX - 4, track_y, self.width() - 2 * MARGIN_PX + 8, track_h), TRACK)
        half = max(self._slot() / 2, 1.5)
        for index, frame in enumerate(self.frames):
            if frame in self.cached:
                x = self._x(index)
                painter.fillRect(QRectF(x - half, track_y, 2 * half, track_h), CACHED)
        painter.setFont(QFont(self.font().family(), 8))
        label_every = max(1, round(len(self.frames) / max(self.width() / 70, 1)))
        for index, frame in enumerate(self.frames):
            x = self._x(index)
            if index % label_every == 0 or index == len(self.frames) - 1:
                painter.setPen(QPen(TICK, 1))
                painter.drawLine(QPointF(x, track_y + track_h), QPointF(x, track_y + track_h + 4))
                painter.setPen(LABEL)
                label = QRectF(x - 30, track_y + track_h + 4, 60, 14)
                painter.drawText(label, Qt.AlignmentFlag.AlignHCenter, str(frame))
        index = bisect.bisect_left(self.frames, self.current)
        if index < len(self.frames) and self.frames[index] == self.current:
            x = self._x(index)
            painter.setPen(QPen(MARKER, 2))
            painter.drawLine(QPointF(x, track_y - 4), QPointF(x, track_y + track_h + 4))
            painter.setBrush(MARKER)
            painter.drawEllipse(QPointF(x, track_y - 4), 3.5, 3.5)
        painter.end()
