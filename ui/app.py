"""Starting the review panel: the Qt application (a dark Fusion theme, as compositing tools use) and
the window over a session; optionally a screenshot of the first finished frame for docs and smoke tests."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from .qtcompat import protect_none
from .session import ReviewSession
from .window import ReviewWindow

log = logging.getLogger(__name__)

#: Screenshots wait at most this long for the first frame.
SCREENSHOT_TIMEOUT_MS = 300_000


def dark_palette() -> QPalette:
    """Neutral dark greys: a viewer surrounded by bright chrome misleads the eye about the image."""
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: QColor(45, 45, 48), QPalette.ColorRole.WindowText: QColor(215, 215, 215),
        QPalette.ColorRole.Base: QColor(32, 32, 34), QPalette.ColorRole.AlternateBase: QColor(50, 50, 54),
        QPalette.ColorRole.Text: QColor(220, 220, 220), QPalette.ColorRole.Button: QColor(58, 58, 62),
        QPalette.ColorRole.ButtonText: QColor(220, 220, 220), QPalette.ColorRole.Highlight: QColor(214, 150, 40),
        QPalette.ColorRole.HighlightedText: QColor(20, 20, 20), QPalette.ColorRole.ToolTipBase: QColor(30, 30, 32),
        QPalette.ColorRole.ToolTipText: QColor(225, 225, 225), QPalette.ColorRole.PlaceholderText: QColor(130, 130, 130),
    }
    for role, color in roles.items():
        palette.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(110, 110, 110))
    return palette


def application() -> QApplication:
    """The process's QApplication (created with the dark theme if there is none yet)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("CHANGER review")
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    protect_none()
    return app


def grab(window: ReviewWindow, path: str | Path) -> Path:
    """Save the window as it is on screen (PNG)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(path))
    log.info("screenshot %s", path)
    return path


def run_review(session: ReviewSession, proxy: float = 1.0, display: str | None = None, view: str | None = None,
               frame: int | None = None, layer: str = "output", screenshot: str | Path | None = None) -> int:
    """Show the panel until it is closed; with ``screenshot``, save it once the first frame is shown and quit."""
    app = application()
    window = ReviewWindow(session, proxy=proxy, display=display, view=view, frame=frame)
    window.set_layer(layer)
    window.show()
    if screenshot is not None:
        def shoot(generation: int) -> None:
            if generation == window.worker.generation:
                grab(window, screenshot)
                window.close()

        window.image_shown.connect(lambda generation: QTimer.singleShot(100, lambda: shoot(generation)))
        window.error_shown.connect(lambda message: QTimer.singleShot(100, lambda: (grab(window, screenshot), window.close())))
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, window.close)
    return int(app.exec())
