"""The matte-review window: viewer, layer and channel modes, OCIO display, controls, scrubber, status.

Every change (a param, the frame, the layer, the channel, the display, the proxy, the FPAT query)
schedules one render request on the render thread (:mod:`.render_worker`); the window itself never
renders, so it never freezes. Param edits are validated with the node's own rules before anything is
scheduled: a refused value is marked in the panel and explained in the banner, and the last good
image stays. Render errors (a bad frame on disk, an empty matte) show in the banner too; scrubbing to
another frame or fixing a param carries on. "Save Settings" writes the params as a shot file that
``changer render --config`` reads, and "Copy Render Command" puts that command line on the clipboard.
"""

from __future__ import annotations

import logging
import shlex
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QFont, QGuiApplication, QKeySequence, QPolygonF
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSpinBox,
    QSplitter,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from changer.core.errors import ChangerError
from changer.plugin.shotfile import write_shot

from .controls import ParamPanel
from .display import CHANNELS, DisplaySettings, displays, views
from .layers import LAYER_BY_NAME, LAYERS
from .qtcompat import protect_none
from .render_worker import RenderWorker, Reply, ViewRequest
from .scrubber import FrameScrubber
from .session import PROXY_SCALES, RenderRequest, ReviewSession
from .viewer import ImageViewer, to_qimage

log = logging.getLogger(__name__)

PROXY_LABELS = {1.0: "Full", 0.5: "1/2", 0.25: "1/4"}
#: Params whose change swaps the OCIO config or working space (the viewer's display list follows).
COLOR_PARAMS = ("ocio_config", "working_space")
BANNER_STYLE = "background: #5a2326; color: #ffd9d9; padding: 6px 10px; border-radius: 3px;"
SHORTCUTS = (
    ("F", "fit the frame in the view"), ("1", "1:1 zoom"), ("+ / -", "zoom in / out (wheel: about the cursor)"),
    ("R, G, B, A", "show one channel; again for RGB"), ("W", "A/B wipe: plate | layer"), ("C", "show the network crop"),
    ("L", "face ovals of automatic head mattes"), ("Left / Right", "previous / next frame"),
    ("Home / End", "first / last frame"),
    ("Ctrl+S", "save settings (shot TOML)"), ("Ctrl+Shift+C", "copy the changer render command"),
    ("F5", "reload the inputs from disk"),
)


class ReviewWindow(QMainWindow):
    """The panel over one :class:`~changer.ui.session.ReviewSession`."""

    render_scheduled = Signal(int)  #: generation of a request handed to the render thread
    image_shown = Signal(int)  #: generation of the reply now painted
    error_shown = Signal(str)

    def __init__(self, session: ReviewSession, proxy: float = 1.0, display: str | None = None,
                 view: str | None = None, frame: int | None = None) -> None:
        super().__init__()
        protect_none()
        self.session = session
        self.params = session.params
        self.frame = frame if frame is not None else session.frames[0]
        self.scale = proxy
        self.layer = "output"
        color = self.params.color_config()
        self.display = DisplaySettings(display=display or color.default_display, view=view)
        self.query = (0.5, 0.5)
        self.wipe = False
        self.show_box = True
        self.show_landmarks = False
        self.reply: Reply | None = None
        self.error = ""
        self.saved_path: Path | None = session.config_path
        self._shown_generation = 0
        self._submitted: dict[int, float] = {}
        self.latency_ms: float | None = None  #: from the request to its image on screen, last update
        self.worker = RenderWorker(session, self)
        self.worker.rendered.connect(self._on_rendered)
        self.worker.failed.connect(self._on_failed)
        self.worker.busy.connect(self._on_busy)
        self._schedule = QTimer(self)
        self._schedule.setSingleShot(True)
        self._schedule.setInterval(0)
        self._schedule.timeout.connect(self._submit)
        self.setWindowTitle(f"CHANGER review \u2014 {Path(session.options.target).name}")
        self._build()
        self._sync_display_views()
        self.viewer.setFocus()
        QGuiApplication.instance().aboutToQuit.connect(self.worker.stop)
        self.worker.start()
        self.request_render()

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.viewer = ImageViewer()
        width, height = self.session.frame_size
        self.viewer.set_frame_size(width, height)
        self.viewer.hovered.connect(self._probe)
        self.viewer.left.connect(lambda: self.probe_label.setText(""))
        self.viewer.clicked.connect(self._clicked)
        self.banner = QLabel()
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()
        self.panel = ParamPanel()
        self.panel.set_values(self.params)
        self.panel.changed.connect(self._edited)
        self.panel.invalid.connect(lambda name, message: self._show_error(message))
        self.panel.setMinimumWidth(400)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(4)
        left_layout.addWidget(self.banner)
        left_layout.addWidget(self.viewer, 1)
        left_layout.addWidget(self._frame_bar())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([1100, 420])
        self.setCentralWidget(splitter)
        self._toolbar()
        self._menus()
        self.status_label = QLabel("starting\u2026")
        self.probe_label = QLabel()
        self.probe_label.setFont(QFont("monospace", 9))
        self.probe_label.setMinimumWidth(420)
        self.device_label = QLabel()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.probe_label)
        self.statusBar().addPermanentWidget(self.device_label)
        self.resize(1500, 900)

    def _toolbar(self) -> None:
        bar = QToolBar("View")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.layer_combo = QComboBox()
        for layer in LAYERS:
            self.layer_combo.addItem(layer.label, layer.name)
            self.layer_combo.setItemData(self.layer_combo.count() - 1, layer.hint, Qt.ItemDataRole.ToolTipRole)
        self.layer_combo.currentIndexChanged.connect(lambda _: self.set_layer(self.layer_combo.currentData()))
        bar.addWidget(QLabel(" Layer "))
        bar.addWidget(self.layer_combo)
        bar.addSeparator()
        self.channel_buttons: dict[str, QToolButton] = {}
        for channel in CHANNELS:
            button = QToolButton()
            button.setText(channel.upper())
            button.setCheckable(True)
            button.setAutoExclusive(True)
            name = channel.upper()
            button.setToolTip("Show all colour channels" if channel == "rgb" else f"Show {name} only ({name})")
            button.clicked.connect(lambda _=False, c=channel: self.set_channel(c))
            bar.addWidget(button)
            self.channel_buttons[channel] = button
        self.channel_buttons["rgb"].setChecked(True)
        bar.addSeparator()
        self.display_combo = QComboBox()
        self.view_combo = QComboBox()
        self.view_combo.setMinimumWidth(180)
        self.display_combo.currentTextChanged.connect(self._display_picked)
        self.view_combo.currentTextChanged.connect(self._view_picked)
        bar.addWidget(QLabel(" Display "))
        bar.addWidget(self.display_combo)
        bar.addWidget(QLabel(" View "))
        bar.addWidget(self.view_combo)
        self.exposure_spin = QDoubleSpinBox()
        self.exposure_spin.setRange(-16.0, 16.0)
        self.exposure_spin.setSingleStep(0.5)
        self.exposure_spin.setDecimals(1)
        self.exposure_spin.setToolTip("Viewer exposure in stops, applied in scene-linear before the display transform")
        self.exposure_spin.valueChanged.connect(lambda v: self._set_display(exposure=float(v)))
        self.gamma_spin = QDoubleSpinBox()
        self.gamma_spin.setRange(0.2, 5.0)
        self.gamma_spin.setSingleStep(0.1)
        self.gamma_spin.setValue(1.0)
        self.gamma_spin.setToolTip("Viewer gamma, applied after the display transform")
        self.gamma_spin.valueChanged.connect(lambda v: self._set_display(gamma=float(v)))
        bar.addWidget(QLabel(" Exp "))
        bar.addWidget(self.exposure_spin)
        bar.addWidget(QLabel(" \u03b3 "))
        bar.addWidget(self.gamma_spin)
        bar.addSeparator()
        self.proxy_combo = QComboBox()
        for scale in PROXY_SCALES:
            self.proxy_combo.addItem(PROXY_LABELS[scale], scale)
        self.proxy_combo.setCurrentIndex(PROXY_SCALES.index(self.scale) if self.scale in PROXY_SCALES else 0)
        self.proxy_combo.setToolTip("Render at a proxy scale (spatial params scale with it) for faster interaction")
        self.proxy_combo.currentIndexChanged.connect(lambda _: self.set_proxy(self.proxy_combo.currentData()))
        bar.addWidget(QLabel(" Proxy "))
        bar.addWidget(self.proxy_combo)

    def _frame_bar(self) -> QWidget:
        bar = QWidget()
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(6, 0, 6, 2)
        self.scrubber = FrameScrubber(self.session.frames)
        self.scrubber.frame_changed.connect(self.set_frame)
        self.frame_spin = QSpinBox()
        self.frame_spin.setRange(self.session.frames[0], self.session.frames[-1])
        self.frame_spin.setValue(self.frame)
        self.frame_spin.setKeyboardTracking(False)
        self.frame_spin.setToolTip("Current frame")
        self.frame_spin.valueChanged.connect(self._frame_typed)
        for text, tip, step in (("|\u25c0", "First frame (Home)", "first"), ("\u25c0", "Previous frame (Left)", -1)):
            layout.addWidget(self._step_button(text, tip, step))
        layout.addWidget(self.frame_spin)
        for text, tip, step in (("\u25b6", "Next frame (Right)", 1), ("\u25b6|", "Last frame (End)", "last")):
            layout.addWidget(self._step_button(text, tip, step))
        layout.addWidget(self.scrubber, 1)
        return bar

    def _step_button(self, text: str, tip: str, step: int | str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(lambda: self.step(step))
        return button

    def _action(self, menu, text: str, shortcuts: tuple, slot, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(key) for key in shortcuts])
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Save Settings", ("Ctrl+S",), lambda: self.save_settings())
        self._action(file_menu, "Save Settings &As\u2026", ("Ctrl+Shift+S",), lambda: self.save_settings(ask=True))
        self._action(file_menu, "&Copy Render Command", ("Ctrl+Shift+C",), self.copy_render_command)
        file_menu.addSeparator()
        self._action(file_menu, "&Reload Inputs", ("F5",), self.reload)
        self._action(file_menu, "&Quit", ("Ctrl+Q",), self.close)
        view = self.menuBar().addMenu("&View")
        self._action(view, "&Fit", ("F",), self.viewer.fit)
        self._action(view, "1:1", ("1",), self.viewer.one_to_one)
        self._action(view, "Zoom &In", ("+", "="), lambda: self.viewer.zoom_by(1.25))
        self._action(view, "Zoom &Out", ("-",), lambda: self.viewer.zoom_by(0.8))
        view.addSeparator()
        self.channel_actions: dict[str, QAction] = {}
        for channel in CHANNELS[1:]:
            self.channel_actions[channel] = self._action(
                view, f"Channel {channel.upper()}", (channel.upper(),),
                lambda _=False, c=channel: self.toggle_channel(c), checkable=True)
        view.addSeparator()
        self.wipe_action = self._action(view, "A/B &Wipe (plate | layer)", ("W",), self.toggle_wipe, checkable=True)
        self.box_action = self._action(view, "Show Network &Crop", ("C",), self._toggle_box, checkable=True)
        self.box_action.setChecked(True)
        self.landmarks_action = self._action(view, "Show Face &Landmarks (automatic mattes)", ("L",),
                                             self._toggle_landmarks, checkable=True)
        frame_menu = self.menuBar().addMenu("F&rame")
        self._action(frame_menu, "&Next", (Qt.Key.Key_Right,), lambda: self.step(1))
        self._action(frame_menu, "&Previous", (Qt.Key.Key_Left,), lambda: self.step(-1))
        self._action(frame_menu, "&First", (Qt.Key.Key_Home,), lambda: self.step("first"))
        self._action(frame_menu, "&Last", (Qt.Key.Key_End,), lambda: self.step("last"))
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Shortcuts", (), self._show_shortcuts)

    def _show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{keys}</b></td><td>{what}</td></tr>" for keys, what in SHORTCUTS)
        QMessageBox.information(self, "Shortcuts", f"<table cellspacing=6>{rows}</table>")

    # -- state changes -----------------------------------------------------------------------------
    def request_render(self) -> None:
        """Schedule one render request for the current state (changes in one event-loop turn merge)."""
        self._schedule.start()

    def _request(self) -> ViewRequest:
        render = RenderRequest(self.frame, self.params, self.scale, self.query)
        return ViewRequest(render, self.layer, self.display, self.wipe)

    def _submit(self) -> None:
        generation = self.worker.submit(self._request())
        self._submitted[generation] = time.perf_counter()
        self.status_label.setText(f"rendering frame {self.frame}\u2026")
        self.render_scheduled.emit(generation)

    def set_param(self, name: str, value: Any) -> None:
        """Set a param from code: its control shows the value if the node's rules accept it."""
        if self._edited(name, value):
            self.panel.set_values({name: value})

    def _edited(self, name: str, value: Any) -> bool:
        """Accept an edit if the node's rules do (validated here, once), else explain it and keep the
        last good values; the control that sent it already shows it."""
        try:
            params = self.params.replace(**{name: value})
            if name in COLOR_PARAMS:
                params.color_config()
        except ChangerError as exc:
            self.panel.set_error(name, str(exc))
            self._show_error(str(exc))
            return False
        stage = params.invalidated_stage(self.params)
        if stage is not None:
            self.params = params
            log.debug("%s=%r (%s stage)", name, value, stage)
            if name in COLOR_PARAMS:
                self._sync_display_views()
            self.request_render()
        return True

    def set_frame(self, frame: int) -> None:
        if frame == self.frame or frame not in self.session.frames:
            return
        self.frame = frame
        self.scrubber.set_frame(frame)
        self.frame_spin.blockSignals(True)
        self.frame_spin.setValue(frame)
        self.frame_spin.blockSignals(False)
        self.request_render()

    def _frame_typed(self, value: int) -> None:
        frames = self.session.frames
        self.set_frame(min(frames, key=lambda f: abs(f - value)))

    def step(self, step: int | str) -> None:
        """Move by ``step`` frames of the shot (or to the "first"/"last")."""
        frames = self.session.frames
        if step == "first":
            self.set_frame(frames[0])
        elif step == "last":
            self.set_frame(frames[-1])
        else:
            index = min(max(frames.index(self.frame) + int(step), 0), len(frames) - 1)
            self.set_frame(frames[index])

    def set_layer(self, name: str) -> None:
        if name == self.layer:
            return
        self.layer = name
        self.layer_combo.blockSignals(True)
        self.layer_combo.setCurrentIndex(self.layer_combo.findData(name))
        self.layer_combo.blockSignals(False)
        self.request_render()

    def set_channel(self, channel: str) -> None:
        self.channel_buttons[channel].setChecked(True)
        for name, action in self.channel_actions.items():
            action.setChecked(name == channel)
        self._set_display(channel=channel)

    def toggle_channel(self, channel: str) -> None:
        """R/G/B/A: show that channel; the same key again goes back to RGB."""
        self.set_channel("rgb" if self.display.channel == channel else channel)

    def toggle_wipe(self) -> None:
        self.wipe = not self.wipe
        self.wipe_action.setChecked(self.wipe)
        self.viewer.set_wipe(self.wipe)
        self.request_render()

    def _toggle_box(self) -> None:
        self.show_box = self.box_action.isChecked()
        self._overlays()

    def _toggle_landmarks(self) -> None:
        self.show_landmarks = self.landmarks_action.isChecked()
        self._overlays()

    def set_proxy(self, scale: float) -> None:
        if scale != self.scale:
            self.scale = scale
            self.request_render()

    def _set_display(self, **changes: Any) -> None:
        display = replace(self.display, **changes)
        if display != self.display:
            self.display = display
            self.request_render()

    def _sync_display_views(self) -> None:
        """Fill the display and view combos from the current OCIO config."""
        color = self.params.color_config()
        names = displays(color)
        self.display_combo.blockSignals(True)
        self.display_combo.clear()
        self.display_combo.addItems(names)
        current = self.display.display if self.display.display in names else color.default_display
        self.display_combo.setCurrentText(current)
        self.display_combo.blockSignals(False)
        self._fill_views(current, self.display.view)

    def _fill_views(self, display: str, view: str | None) -> None:
        color = self.params.color_config()
        names = views(color, display)
        view = view if view in names else color.config.getDefaultView(display)
        self.view_combo.blockSignals(True)
        self.view_combo.clear()
        self.view_combo.addItems(names)
        self.view_combo.setCurrentText(view)
        self.view_combo.blockSignals(False)
        self._set_display(display=display, view=view)

    def _display_picked(self, display: str) -> None:
        if display:
            self._fill_views(display, self.display.view)

    def _view_picked(self, view: str) -> None:
        if view:
            self._set_display(view=view)

    def _clicked(self, x: float, y: float) -> None:
        """In the attention layer, a click on the crop moves FPAT's query patch there."""
        rendered = self.reply.rendered if self.reply else None
        if self.layer != "attention" or rendered is None or rendered.job is None:
            return
        box, scale = rendered.job.box, rendered.request.scale
        u = (x * scale - box.x0) / box.width
        v = (y * scale - box.y0) / box.height
        if 0.0 <= u < 1.0 and 0.0 <= v < 1.0:
            self.query = (u, v)
            self.request_render()

    def reload(self) -> None:
        """Forget every cached frame and read the inputs again (after they changed on disk)."""
        self.session.reload()
        self.request_render()

    # -- settings ----------------------------------------------------------------------------------
    def save_settings(self, path: str | Path | None = None, ask: bool = False) -> Path | None:
        """Write the params as a shot file (``changer render --config`` reads it); returns its path."""
        target = Path(path) if path is not None else (None if ask else self.saved_path)
        if target is None:
            start = str(self.saved_path or Path.cwd() / "shot.toml")
            chosen, _ = QFileDialog.getSaveFileName(self, "Save Settings", start, "Shot settings (*.toml)")
            if not chosen:
                return None
            target = Path(chosen)
        try:
            write_shot(target, self.params)
        except (ChangerError, OSError) as exc:
            self._show_error(f"cannot save settings to {target}: {exc}")
            return None
        self.saved_path = target
        self.status_label.setText(f"saved {target} \u2014 {self.render_command()}")
        log.info("saved settings to %s", target)
        return target

    def render_command(self) -> str:
        """The ``changer render`` command line for this shot with the saved settings."""
        options = self.session.options
        out = options.out or "render/comp.####.exr"
        config = str(self.saved_path) if self.saved_path else "shot.toml"
        command = replace(options, out=out, config=config, sets=(), ocio_config=None, working_space=None)
        return shlex.join(command.to_argv())

    def copy_render_command(self) -> None:
        if self.saved_path is None and self.save_settings() is None:
            return
        QGuiApplication.clipboard().setText(self.render_command())
        self.status_label.setText(f"copied: {self.render_command()}")

    # -- replies -----------------------------------------------------------------------------------
    def _on_busy(self, busy: bool) -> None:
        if busy:
            self.status_label.setText(f"rendering frame {self.frame}\u2026")

    def _on_rendered(self, reply: Reply) -> None:
        if reply.generation < self._shown_generation:
            return
        self._shown_generation = reply.generation
        self.reply = reply
        current = reply.generation == self.worker.generation
        if current:
            self._hide_error()
        self.viewer.set_images(None if reply.image is None else to_qimage(reply.image.rgb8),
                               None if reply.plate is None else to_qimage(reply.plate.rgb8))
        self.viewer.set_message(reply.note if reply.image is None else "")
        self._overlays()
        layer = LAYER_BY_NAME[reply.request.layer]
        channel = reply.request.display.channel
        hud = f"frame {reply.rendered.request.frame}   {layer.label}"
        if channel != "rgb":
            hud += f"   [{channel.upper()}]"
        if reply.note and reply.image is not None:
            hud += f"   ({reply.note})"
        self.viewer.set_hud(hud)
        submitted = self._submitted.pop(reply.generation, None)
        self._submitted = {g: t for g, t in self._submitted.items() if g > reply.generation}
        if submitted is not None:
            self.latency_ms = 1e3 * (time.perf_counter() - submitted)
        self.status_label.setText(self._status_text(reply, current))
        self.device_label.setText(f"  {reply.rendered.device}  ")
        self.scrubber.set_cached(self.session.cached_frames(reply.request.render))
        self.image_shown.emit(reply.generation)

    def _status_text(self, reply: Reply, current: bool) -> str:
        rendered = reply.rendered
        height, width = rendered.inputs.size
        scale = rendered.request.scale
        size = f"{width}\u00d7{height}" + ("" if scale == 1.0 else f" (proxy {PROXY_LABELS.get(scale, '')})")
        parts = [f"frame {rendered.request.frame}", size]
        if rendered.inputs is not None:
            parts.append("mattes: " + ", ".join(f"{head} {how}" for head, how in rendered.matte_sources().items()))
        if rendered.stage == "cached":
            parts.append("cached")
        else:
            times = ", ".join(f"{name} {1e3 * s:.0f} ms" for name, s in rendered.seconds.items())
            parts.append(f"{rendered.stage} re-ran ({times})")
        if self.latency_ms is not None:
            parts.append(f"updated in {self.latency_ms:.0f} ms")
        parts.append(f"cache {len(self.session.cached_frames(reply.request.render))}/{len(self.session.frames)} frames")
        text = " \u00b7 ".join(parts)
        return text if current else f"{text} \u00b7 rendering newer settings\u2026"

    def _overlays(self) -> None:
        rendered = self.reply.rendered if self.reply else None
        self.viewer.set_landmarks(self.face_ovals())
        if rendered is None or rendered.job is None:
            self.viewer.set_overlays(None, None)
            return
        inverse = 1.0 / rendered.request.scale

        def rect(box) -> QRectF:
            return QRectF(box.x0 * inverse, box.y0 * inverse, box.width * inverse, box.height * inverse)

        patch = rect(rendered.query_box) if self.layer == "attention" and rendered.query_box else None
        self.viewer.set_overlays(rect(rendered.job.box) if self.show_box else None, patch)

    def face_ovals(self) -> list[QPolygonF]:
        """With Landmarks on, the face oval the shown head's automatic matte was built from (the actor's on the
        source layers, else the double's), in full-frame pixels; none for a given matte."""
        rendered = self.reply.rendered if self.reply else None
        if not self.show_landmarks or rendered is None:
            return []
        auto = rendered.staged.auto.get("source" if self.layer.startswith("source") else "target")
        if auto is None or auto.landmarks is None:
            return []
        inverse = 1.0 / rendered.request.scale
        return [QPolygonF([QPointF(x * inverse, y * inverse) for x, y in auto.landmarks.oval])]

    def _on_failed(self, generation: int, message: str) -> None:
        if generation < self._shown_generation:
            return
        self._shown_generation = generation
        self._submitted.pop(generation, None)
        self.reply = None
        self.viewer.set_images(None)
        self.viewer.set_overlays(None, None)
        self.viewer.set_hud(f"frame {self.frame}")
        self.viewer.set_message(message)
        self._show_error(message)
        self.status_label.setText(f"frame {self.frame}: render failed")

    def _show_error(self, message: str) -> None:
        self.error = message
        self.banner.setText(message)
        self.banner.show()
        self.error_shown.emit(message)

    def _hide_error(self) -> None:
        self.error = ""
        self.banner.hide()

    # -- probe -------------------------------------------------------------------------------------
    def probe_values(self, x: float, y: float) -> tuple[int, int, list[tuple[str, float]]] | None:
        """(frame x, frame y, [(channel, working-space value)]) of the shown layer at a frame pixel."""
        if self.reply is None or self.reply.image is None:
            return None
        width, height = self.session.frame_size
        if not (0 <= x < width and 0 <= y < height):
            return None
        values = self.reply.image.values
        px = min(int(x * values.shape[1] / width), values.shape[1] - 1)
        py = min(int(y * values.shape[0] / height), values.shape[0] - 1)
        probed = [float(v) for v in values[py, px]]
        return int(x), int(y), list(zip(self.reply.image.channel_names, probed, strict=True))

    def _probe(self, x: float, y: float) -> None:
        probed = self.probe_values(x, y)
        if probed is None:
            self.probe_label.setText("")
            return
        fx, fy, channels = probed
        text = "  ".join(f"{name} {value:8.4f}" for name, value in channels)
        self.probe_label.setText(f"x {fx:5d}  y {fy:5d}   {text}")

    # -- lifetime ----------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        self.worker.stop()
        super().closeEvent(event)
