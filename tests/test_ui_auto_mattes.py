"""The review panel on plates alone: the node's per-frame automatic head mattes, the matte overlay layers, the face
ovals of the Landmarks toggle, and the status line saying which matte is automatic and which given."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import Qt

from auto_shot import FACE_SIZE, needs_models
from changer.plugin.commands.main import main
from changer.plugin.models import MODELS
from changer.ui.layers import LAYER_BY_NAME
from changer.ui.session import ReviewSession
from changer.ui.window import ReviewWindow
from ui_shot import UiShot, shown, write_ui_shot

pytestmark = needs_models


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> UiShot:
    return write_ui_shot(tmp_path_factory.mktemp("ui_auto"), frames=2, size=FACE_SIZE)


@pytest.fixture(autouse=True)
def _fresh_models():
    MODELS.clear()
    yield
    MODELS.clear()


def test_plates_alone_open_with_automatic_mattes_overlay_and_landmarks(qtbot, shot: UiShot) -> None:
    window = ReviewWindow(ReviewSession(shot.options(mattes=False)))
    qtbot.addWidget(window)
    window.show()
    shown(qtbot, window)
    rendered = window.reply.rendered
    assert rendered.job is not None and rendered.matte_sources() == {"target": "auto", "source": "auto"}
    assert "mattes: target auto, source auto" in window.status_label.text()
    shown(qtbot, window, lambda: window.set_layer("target_overlay"))
    overlay = LAYER_BY_NAME["target_overlay"].extract(rendered)
    plate, matte = rendered.inputs.target, rendered.inputs.target_matte
    assert overlay.shape == plate.shape and torch.equal(overlay[:, matte[0] == 0], plate[:, matte[0] == 0])
    assert window.face_ovals() == []
    qtbot.keyClick(window, Qt.Key.Key_L)
    (oval,) = window.face_ovals()
    width, height = FACE_SIZE
    assert oval.size() == 36 and all(0 <= p.x() <= width and 0 <= p.y() <= height for p in oval)
    head = matte[0] >= 0.5
    centre = oval.boundingRect().center()
    assert head[int(centre.y()), int(centre.x())], "the oval is on the head the matte holds"


def test_a_given_matte_is_shown_as_given(qtbot, shot: UiShot) -> None:
    options = replace(shot.options(mattes=False), target_matte=shot.pattern("tmatte"))
    window = ReviewWindow(ReviewSession(options))
    qtbot.addWidget(window)
    window.show()
    shown(qtbot, window)
    assert window.reply.rendered.matte_sources() == {"target": "given", "source": "auto"}
    assert "mattes: target given, source auto" in window.status_label.text()


def test_review_command_opens_on_plates_alone(qtbot, shot: UiShot, tmp_path: Path) -> None:
    png = tmp_path / "review.png"
    argv = [a for a in shot.argv() if "matte" not in a]
    assert main(["review", *argv, "--frames", "1", "--layer", "target_overlay", "--screenshot", str(png)]) == 0
    assert png.is_file() and png.stat().st_size > 1000
