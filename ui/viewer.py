"""The image view: fit / 1:1 / wheel zoom about the cursor, pan, an A/B wipe, a pixel probe and overlays.

Everything is in full-resolution frame pixels (x right, y down), whatever the proxy scale of the
image being shown: a proxy image is drawn stretched over the full frame, so zoom, pan, the probe, the
crop box and the FPAT query patch stay put when the proxy changes. The view paints 8-bit images the
render thread has already converted (numpy -> QImage without per-pixel Python).

Mouse: wheel zooms about the cursor; middle-drag (or left-drag away from the wipe line) pans; a
left click without a drag reports the frame pixel (the window moves the FPAT query patch there);
dragging the wipe line moves it.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

log = logging.getLogger(__name__)

ZOOM_STEP = 1.25
ZOOM_RANGE = (1.0 / 64.0, 64.0)
WIPE_GRAB_PX = 6
DRAG_START_PX = 3
FIT_MARGIN_PX = 12
BACKGROUND = QColor(38, 38, 40)
FRAME_BORDER = QColor(90, 90, 96)
WIPE_COLOR = QColor(240, 190, 60)
BOX_COLOR = QColor(90, 200, 255, 170)
PATCH_COLOR = QColor(255, 80, 200)
LANDMARK_COLOR = QColor(255, 230, 40)  #: the face ovals automatic head mattes were built from


def to_qimage(rgb8: np.ndarray) -> QImage:
    """An 8-bit H x W x 3 array as a QImage that owns its own copy of the pixels."""
    rgb8 = np.ascontiguousarray(rgb8)
    height, width, _ = rgb8.shape
    return QImage(rgb8.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class ImageViewer(QWidget):
    """Shows one image (B) and optionally a wiped second one (A) over the same frame."""

    hovered = Signal(float, float)  #: frame pixel under the cursor
    left = Signal()  #: the cursor left the view
    clicked = Signal(float, float)  #: a left click without a drag, in frame pixels

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 200)
        self._image: QPixmap | None = None
        self._plate: QPixmap | None = None
        self._frame = QSize(0, 0)
        self._zoom = 1.0
        self._center = QPointF(0.0, 0.0)
        self._fitting = True
        self.wipe_enabled = False
        self.wipe_position = 0.5  #: fraction of the frame width
        self._box: QRectF | None = None
        self._patch: QRectF | None = None
        self._ovals: list[QPolygonF] = []
        self._hud = ""
        self._message = ""
        self._press: QPointF | None = None
        self._drag: str | None = None  # "pan" or "wipe"
        self._last = QPointF()

    # -- content -----------------------------------------------------------------------------------
    def set_frame_size(self, width: int, height: int) -> None:
        """The full-resolution frame the images cover; the first one also fits the view."""
        if QSize(width, height) != self._frame:
            self._frame = QSize(width, height)
            self._fitting = True
            self._refit()

    def set_images(self, image: QImage | None, plate: QImage | None = None) -> None:
        """Show ``image`` (B) and, for the wipe, ``plate`` (A); either may be proxy-sized."""
        self._image = None if image is None else QPixmap.fromImage(image)
        self._plate = None if plate is None else QPixmap.fromImage(plate)
        self.update()

    def set_overlays(self, box: QRectF | None, patch: QRectF | None) -> None:
        """The network crop box and the FPAT query patch, in frame pixels (None hides them)."""
        self._box, self._patch = box, patch
        self.update()

    def set_landmarks(self, ovals: list[QPolygonF]) -> None:
        """Face ovals to outline, in frame pixels (empty hides them)."""
        self._ovals = ovals
        self.update()

    def set_hud(self, text: str) -> None:
        self._hud = text
        self.update()

    def set_message(self, text: str) -> None:
        """A message painted over the view (an unavailable layer); empty hides it."""
        self._message = text
        self.update()

    def set_wipe(self, enabled: bool) -> None:
        self.wipe_enabled = enabled
        self.update()

    @property
    def zoom(self) -> float:
        return self._zoom

    # -- zoom and pan ------------------------------------------------------------------------------
    def fit(self) -> None:
        """Zoom so that the whole frame is visible, centred (F)."""
        self._fitting = True
        self._refit()

    def one_to_one(self) -> None:
        """One frame pixel per screen pixel, keeping the centre of the view."""
        self._fitting = False
        self._set_zoom(1.0)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the frame point under ``anchor`` (widget coordinates) in place."""
        self._fitting = False
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        before = self.to_frame(anchor)
        self._set_zoom(self._zoom * factor)
        after = self.to_frame(anchor)
        self._center += before - after
        self.update()

    def _set_zoom(self, zoom: float) -> None:
        self._zoom = min(max(zoom, ZOOM_RANGE[0]), ZOOM_RANGE[1])
        self.update()

    def _refit(self) -> None:
        if self._frame.isEmpty():
            return
        room_w = max(self.width() - 2 * FIT_MARGIN_PX, 1)
        room_h = max(self.height() - 2 * FIT_MARGIN_PX, 1)
        self._center = QPointF(self._frame.width() / 2, self._frame.height() / 2)
        self._set_zoom(min(room_w / self._frame.width(), room_h / self._frame.height()))

    def to_frame(self, point: QPointF) -> QPointF:
        """Widget coordinates -> frame pixels."""
        return (point - QPointF(self.width() / 2, self.height() / 2)) / self._zoom + self._center

    def to_widget(self, point: QPointF) -> QPointF:
        """Frame pixels -> widget coordinates."""
        return (point - self._center) * self._zoom + QPointF(self.width() / 2, self.height() / 2)

    def _frame_rect(self) -> QRectF:
        top_left = self.to_widget(QPointF(0, 0))
        return QRectF(top_left.x(), top_left.y(), self._frame.width() * self._zoom, self._frame.height() * self._zoom)

    def _wipe_x(self) -> float:
        return self.to_widget(QPointF(self.wipe_position * self._frame.width(), 0)).x()

    # -- events ------------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self._fitting:
            self._refit()
        super().resizeEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(ZOOM_STEP ** steps, event.position())

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._press = event.position()
        self._last = event.position()
        if event.button() == Qt.MouseButton.MiddleButton:
            self._drag = "pan"
        elif (event.button() == Qt.MouseButton.LeftButton and self.wipe_enabled
              and abs(event.position().x() - self._wipe_x()) <= WIPE_GRAB_PX):
            self._drag = "wipe"
        else:
            self._drag = None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self._press is not None:
            if self._drag is None and (pos - self._press).manhattanLength() > DRAG_START_PX:
                self._drag = "pan"
            if self._drag == "pan":
                self._fitting = False
                self._center -= (pos - self._last) / self._zoom
                self.update()
            elif self._drag == "wipe" and self._frame.width():
                self.wipe_position = min(max(self.to_frame(pos).x() / self._frame.width(), 0.0), 1.0)
                self.update()
        self._last = pos
        frame = self.to_frame(pos)
        self.hovered.emit(frame.x(), frame.y())
        cursor = Qt.CursorShape.SplitHCursor if (self.wipe_enabled and abs(pos.x() - self._wipe_x()) <= WIPE_GRAB_PX) \
            else Qt.CursorShape.CrossCursor
        self.setCursor(cursor)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._press is not None and self._drag is None and event.button() == Qt.MouseButton.LeftButton:
            frame = self.to_frame(event.position())
            self.clicked.emit(frame.x(), frame.y())
        self._press, self._drag = None, None

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.left.emit()
        super().leaveEvent(event)

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if not self._frame.isEmpty():
            target = self._frame_rect()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._zoom < 1.0)
            if self._image is not None:
                painter.drawPixmap(target, self._image, QRectF(self._image.rect()))
            if self.wipe_enabled and self._plate is not None:
                split = self._wipe_x()
                painter.save()
                left = max(split - target.left(), 0.0)
                painter.setClipRect(QRectF(target.left(), target.top(), left, target.height()))
                painter.drawPixmap(target, self._plate, QRectF(self._plate.rect()))
                painter.restore()
            painter.setPen(QPen(FRAME_BORDER, 1))
            painter.drawRect(target.adjusted(-0.5, -0.5, 0.5, 0.5))
            self._paint_overlays(painter, target)
        self._paint_text(painter)
        painter.end()

    def _paint_overlays(self, painter: QPainter, target: QRectF) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        outlines = ((self._box, BOX_COLOR, Qt.PenStyle.DashLine), (self._patch, PATCH_COLOR, Qt.PenStyle.SolidLine))
        for rect, color, style in outlines:
            if rect is not None:
                painter.setPen(QPen(color, 1.5, style))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(QRectF(self.to_widget(rect.topLeft()), self.to_widget(rect.bottomRight())))
        for oval in self._ovals:
            painter.setPen(QPen(LANDMARK_COLOR, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPolygon(QPolygonF([self.to_widget(point) for point in oval]))
        if self.wipe_enabled:
            x = self._wipe_x()
            painter.setPen(QPen(WIPE_COLOR, 1.5))
            painter.drawLine(QPointF(x, target.top()), QPointF(x, target.bottom()))
            handle = QRectF(x - 5, target.center().y() - 14, 10, 28)
            painter.setBrush(WIPE_COLOR)
            painter.drawRoundedRect(handle, 3, 3)
            painter.setFont(QFont(self.font().family(), 9, QFont.Weight.Bold))
            painter.drawText(QPointF(x - 22, target.top() + 16), "A")
            painter.drawText(QPointF(x + 12, target.top() + 16), "B")

    def _paint_text(self, painter: QPainter) -> None:
        painter.setFont(QFont(self.font().family(), 9))
        if self._hud:
            painter.setPen(QColor(220, 220, 220))
            painter.drawText(QRectF(10, 8, self.width() - 20, 20), Qt.AlignmentFlag.AlignLeft, self._hud)
        painter.setPen(QColor(160, 160, 160))
        painter.drawText(QRectF(10, self.height() - 24, self.width() - 20, 20), Qt.AlignmentFlag.AlignLeft,
                         f"{self._zoom * 100:.0f}%")
        if self._message:
            painter.setPen(QColor(255, 200, 120))
            painter.drawText(self.rect().adjusted(20, 20, -20, -20),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)
