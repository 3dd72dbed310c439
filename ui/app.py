"""Starting the review panel: the Qt application (a dark Fusion theme, as compositing tools use) and
the window over a session; optionally a screenshot of the first finished frame for docs and smoke tests."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from changer.core.errors import ChangerError, ParamError
from changer.core.io.output_file import check_output_file, write_output_file

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
        QPalette.ColorRole.ToolTipText: QColor(225, 225, 225),
        QPalette.ColorRole.PlaceholderText: QColor(130, 130, 130),
    }
    for role, color in roles.items():
        palette.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(110, 110, 110))
    return palette


def check_display() -> None:
    """Refuse to start Qt where it has no display: its xcb plugin would abort the process (SIGABRT)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    raise ChangerError(
        "no display: neither $DISPLAY nor $WAYLAND_DISPLAY is set and $QT_QPA_PLATFORM is unset; "
        "run offscreen with QT_QPA_PLATFORM=offscreen changer review ... --screenshot shot.png, or under xvfb-run"
    )


def application() -> QApplication:
    """The process's QApplication (created with the dark theme if there is none yet)."""
    app = QApplication.instance()
    if app is None:
        check_display()
        app = QApplication(sys.argv[:1])
        app.setApplicationName("CHANGER review")
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    protect_none()
    return app


def check_screenshot(path: str | Path) -> Path:
    """Refuse a screenshot path before the window opens: a PNG in a writable folder, with a name that fits.

    An existing file is replaced: a screenshot is this command's own product, remade for the docs.
    """
    return check_output_file(path, "--screenshot", overwrite=True, suffixes=(".png",))


def grab(window: ReviewWindow, path: str | Path) -> Path:
    """Save the window as it is on screen (PNG), atomically; a failed save is an error, not a silent exit."""
    path = Path(path)
    with write_output_file(path, "--screenshot") as tmp:
        if not window.grab().save(str(tmp), "PNG"):
            raise ParamError(f"--screenshot {path}: Qt could not write the PNG")
    log.info("screenshot %s", path)
    return path


def run_review(session: ReviewSession, proxy: float = 1.0, display: str | None = None, view: str | None = None,
               frame: int | None = None, layer: str = "output", screenshot: str | Path | None = None) -> int:
    """Show the panel until it is closed; with ``screenshot``, save it once the first frame is shown and quit.

    A screenshot that could not be saved raises once the event loop has ended (an exception inside a
    Qt slot would only be printed), so the command fails with one line instead of exiting 0.
    """
    app = application()
    window = ReviewWindow(session, proxy=proxy, display=display, view=view, frame=frame)
    window.set_layer(layer)
    window.show()
    outcome: list[ChangerError | Path] = []
    if screenshot is not None:
        def shoot() -> None:
            if not outcome:
                try:
                    outcome.append(grab(window, screenshot))
                except ChangerError as exc:
                    outcome.append(exc)
            window.close()

        def shoot_newest(generation: int) -> None:
            if generation == window.worker.generation:
                shoot()

        window.image_shown.connect(lambda generation: QTimer.singleShot(100, lambda: shoot_newest(generation)))
        window.error_shown.connect(lambda message: QTimer.singleShot(100, shoot))
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, window.close)
    code = int(app.exec())
    if screenshot is not None:
        if not outcome:
            raise ChangerError(f"--screenshot {screenshot}: not saved; the window closed before a frame was shown")
        if isinstance(outcome[0], ChangerError):
            raise outcome[0]
    return code
