"""The param controls, generated from the node's param list (:data:`changer.plugin.params.PARAMS`).

Nothing here names a param: every page, group, label, range, default and tooltip comes from the
:class:`~changer.plugin.params.Param` records, so a knob added to the node (or to the keyer, whose
knobs the node wraps) appears in the panel by itself. Floats and ints get a slider over the display
range beside a spin box that accepts the whole hard range; choices get a combo box, bools a check
box, colours a text field ("auto" or "r, g, b"), paths a field with a browse button. Every row has a
reset-to-default button and a tooltip with the param's hint, range and default. A dot marks the
params whose change re-runs the network (stages "prepare" and "infer"); the others only re-composite.
An edit is reported once, through ``changed``; the window validates it and never writes it back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSlider,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from changer.core.errors import ParamError
from changer.plugin.params import PAGES, PARAMS, Param

log = logging.getLogger(__name__)

SLIDER_STEPS = 1000
UNBOUNDED = 1e9
NETWORK_MARK = "\u25cf"  # a dot before the labels of params that re-run the network
#: What a change of a param of each stage re-runs (the tooltip's last line).
STAGE_HINTS = {
    "prepare": "Changing it prepares the network's inputs again and re-runs the network.",
    "infer": "Changing it re-runs the network on the prepared inputs.",
    "comp": "Changing it re-composites the cached network output (fast).",
}
CHANGED_STYLE = "color: #8cc8ff;"
ERROR_STYLE = "border: 1px solid #e05050;"


def _decimals(param: Param) -> int:
    span = (param.display_max if param.display_max is not None else 1.0) - (param.display_min or 0.0)
    return 3 if span <= 10 else 2


def tooltip(param: Param) -> str:
    """The row's tooltip: label, script name, hint, default, range and what a change re-runs."""
    if param.default is None:
        default = "auto"
    else:
        default = repr(param.default) if param.type in ("string", "path") else param.default
    lines = [f"<b>{param.label}</b> <code>{param.name}</code>", param.hint, f"Default: {default}"]
    if param.type in ("float", "int", "rgb") and (param.minimum is not None or param.maximum is not None):
        lines.append(f"Range: {param.range_text()}")
    if param.type == "choice":
        lines.append(f"Choices: {', '.join(param.choices)}")
    lines.append(STAGE_HINTS[param.stage])
    if param.spatial:
        lines.append("In pixels at full resolution (scaled with the proxy).")
    return "<br>".join(lines)


class ParamEditor(QWidget):
    """Base of the editors: ``edited(value)`` when the user changes it; :meth:`set_value` is silent."""

    edited = Signal(object)
    invalid = Signal(str)

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.param = param
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(6)

    def set_value(self, value: Any) -> None:
        """Show ``value`` without emitting ``edited``."""
        raise NotImplementedError


class NumberEditor(ParamEditor):
    """A slider over the display range and a spin box over the hard range (floats and ints)."""

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(param, parent)
        self.is_int = param.type == "int"
        self.spin = QSpinBox() if self.is_int else QDoubleSpinBox()
        low = param.minimum if param.minimum is not None else -UNBOUNDED
        high = param.maximum if param.maximum is not None else UNBOUNDED
        if self.is_int:
            self.spin.setRange(int(low), int(min(high, 2**31 - 1)))
        else:
            self.spin.setDecimals(_decimals(param))
            self.spin.setRange(low, high)
        self.d_low = param.display_min if param.display_min is not None else low
        self.d_high = param.display_max if param.display_max is not None else high
        if not self.is_int:
            self.spin.setSingleStep((self.d_high - self.d_low) / 100.0)
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(78)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        steps = int(self.d_high - self.d_low) if self.is_int else SLIDER_STEPS
        self.slider.setRange(0, max(steps, 1))
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # arrow keys stay with the viewer (frame step)
        self.layout_.addWidget(self.slider, 1)
        self.layout_.addWidget(self.spin)
        self.set_value(param.default)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)

    def _to_slider(self, value: float) -> int:
        span = self.d_high - self.d_low
        fraction = 0.0 if span <= 0 else (value - self.d_low) / span
        return round(min(max(fraction, 0.0), 1.0) * self.slider.maximum())

    def _from_slider(self, position: int) -> None:
        value = self.d_low + (self.d_high - self.d_low) * position / self.slider.maximum()
        value = round(value) if self.is_int else round(value, self.spin.decimals())
        self.spin.blockSignals(True)
        self.spin.setValue(value)
        self.spin.blockSignals(False)
        self.edited.emit(self.value())

    def _from_spin(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_slider(value))
        self.slider.blockSignals(False)
        self.edited.emit(self.value())

    def value(self) -> float | int:
        return int(self.spin.value()) if self.is_int else float(self.spin.value())

    def set_value(self, value: Any) -> None:
        for widget in (self.spin, self.slider):
            widget.blockSignals(True)
        self.spin.setValue(value)
        self.slider.setValue(self._to_slider(float(value)))
        for widget in (self.spin, self.slider):
            widget.blockSignals(False)


class BoolEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(param, parent)
        self.box = QCheckBox()
        self.layout_.addWidget(self.box)
        self.layout_.addStretch(1)
        self.set_value(param.default)
        self.box.toggled.connect(lambda checked: self.edited.emit(bool(checked)))

    def set_value(self, value: Any) -> None:
        self.box.blockSignals(True)
        self.box.setChecked(bool(value))
        self.box.blockSignals(False)


class ChoiceEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(param, parent)
        self.combo = QComboBox()
        self.combo.addItems(list(param.choices))
        self.layout_.addWidget(self.combo, 1)
        self.set_value(param.default)
        self.combo.currentTextChanged.connect(lambda text: self.edited.emit(text))

    def set_value(self, value: Any) -> None:
        self.combo.blockSignals(True)
        self.combo.setCurrentText(str(value))
        self.combo.blockSignals(False)


class TextEditor(ParamEditor):
    """Strings, paths (with a browse button) and colours ("auto" or "r, g, b", parsed by the param)."""

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(param, parent)
        self.line = QLineEdit()
        if param.type == "rgb":
            self.line.setPlaceholderText("auto" if param.default is None else "r, g, b")
        self.layout_.addWidget(self.line, 1)
        if param.type == "path":
            browse = QToolButton()
            browse.setText("\u2026")
            browse.setToolTip(f"Choose the {param.label.lower()} file")
            browse.clicked.connect(self._browse)
            self.layout_.addWidget(browse)
        self.set_value(param.default)
        self.line.editingFinished.connect(self._commit)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.param.label, self.line.text())
        if path:
            self.line.setText(path)
            self._commit()

    def _commit(self) -> None:
        try:
            value = self.param.parse(self.line.text())
        except ParamError as exc:
            self.invalid.emit(str(exc))
            return
        self.edited.emit(value)

    def set_value(self, value: Any) -> None:
        if self.param.type == "rgb":
            text = "" if value is None else ", ".join(f"{v:g}" for v in value)
        else:
            text = str(value)
        self.line.blockSignals(True)
        self.line.setText(text)
        self.line.blockSignals(False)


EDITORS = {"float": NumberEditor, "int": NumberEditor, "bool": BoolEditor, "choice": ChoiceEditor,
           "string": TextEditor, "path": TextEditor, "rgb": TextEditor}


class ParamPanel(QWidget):
    """One tab per param page, one row per param: label, editor, reset. Emits ``changed(name, value)``."""

    changed = Signal(str, object)
    invalid = Signal(str, str)  #: name, message (text a param could not parse)

    def __init__(self, params: tuple[Param, ...] = PARAMS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.params = {p.name: p for p in params}
        self.editors: dict[str, ParamEditor] = {}
        self.labels: dict[str, QLabel] = {}
        self.resets: dict[str, QToolButton] = {}
        self._values: dict[str, Any] = {p.name: p.default for p in params}
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        pages = [page for page in PAGES if any(p.page == page for p in params)]
        pages += sorted({p.page for p in params} - set(pages))
        for page in pages:
            self.tabs.addTab(self._page([p for p in params if p.page == page]), page)
        legend = QLabel(f"<span style='color:#e0a040'>{NETWORK_MARK}</span> re-runs the network; "
                        "other params re-composite the cached network output.")
        legend.setStyleSheet("color: #9a9a9a; font-size: 11px;")
        legend.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(legend)

    def _page(self, params: list[Param]) -> QScrollArea:
        body = QWidget()
        grid = QGridLayout(body)
        grid.setContentsMargins(10, 8, 10, 8)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(5)
        grid.setColumnStretch(1, 1)
        row, group = 0, None
        for param in params:
            if param.group and param.group != group:
                header = QLabel(param.group)
                header.setStyleSheet("font-weight: 600; color: #c8c8c8; padding-top: 6px;")
                grid.addWidget(header, row, 0, 1, 3)
                row += 1
            group = param.group
            self._row(grid, row, param)
            row += 1
        grid.setRowStretch(row, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        return scroll

    def _row(self, grid: QGridLayout, row: int, param: Param) -> None:
        mark = f"<span style='color:#e0a040'>{NETWORK_MARK}</span> " if param.stage != "comp" else ""
        label = QLabel(f"{mark}{param.label}")
        label.setToolTip(tooltip(param))
        editor = EDITORS[param.type](param)
        editor.setToolTip(tooltip(param))
        editor.edited.connect(lambda value, name=param.name: self._edited(name, value))
        editor.invalid.connect(lambda message, name=param.name: self._invalid(name, message))
        reset = QToolButton()
        reset.setText("\u21ba")
        reset.setAutoRaise(True)
        reset.setToolTip(f"Reset {param.label} to its default")
        reset.clicked.connect(lambda _=False, name=param.name: self.reset(name))
        grid.addWidget(label, row, 0)
        grid.addWidget(editor, row, 1)
        grid.addWidget(reset, row, 2)
        self.editors[param.name], self.labels[param.name], self.resets[param.name] = editor, label, reset
        self._mark(param.name)

    def _edited(self, name: str, value: Any) -> None:
        self._values[name] = value
        self._mark(name)
        self.set_error(name, None)
        self.changed.emit(name, value)

    def _invalid(self, name: str, message: str) -> None:
        self.set_error(name, message)
        self.invalid.emit(name, message)

    def _mark(self, name: str) -> None:
        changed = self._values[name] != self.params[name].default
        self.labels[name].setStyleSheet(CHANGED_STYLE if changed else "")
        self.resets[name].setEnabled(changed)

    def reset(self, name: str) -> None:
        """Put ``name`` back to its default (and say so through ``changed``)."""
        default = self.params[name].default
        self.editors[name].set_value(default)
        self._edited(name, default)

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Show ``values`` (the window's accepted params) without emitting ``changed``."""
        for name, value in values.items():
            if name in self.editors:
                self._values[name] = value
                self.editors[name].set_value(value)
                self._mark(name)

    def set_error(self, name: str, message: str | None) -> None:
        """Mark (or clear) the editor of a param whose value was refused."""
        editor = self.editors[name]
        editor.setStyleSheet(f"QLineEdit, QAbstractSpinBox, QComboBox {{ {ERROR_STYLE} }}" if message else "")
        editor.setToolTip(f"<b style='color:#e05050'>{message}</b><br>{tooltip(self.params[name])}" if message
                          else tooltip(self.params[name]))
