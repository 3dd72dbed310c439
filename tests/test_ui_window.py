"""The review window in offscreen Qt: live re-render, smart caching, shot.toml round trip, scrubbing,
bad input, shortcuts, generated controls, the probe and the `changer review` command."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt

from changer.core.io import read_image
from changer.core.model.fpat import body_share
from changer.plugin.commands.main import EXIT_USER_ERROR, main
from changer.plugin.hosts import batch
from changer.plugin.models import MODELS
from changer.plugin.params import PAGES, PARAMS
from changer.ui.qtcompat import RESERVE, binding_leaks_none
from changer.ui.session import ReviewSession
from changer.ui.window import ReviewWindow
from ui_shot import SIZE, TIMEOUT_MS, UiShot, shown, write_ui_shot


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> UiShot:
    return write_ui_shot(tmp_path_factory.mktemp("ui_window"), frames=3, empty_matte_frame=3)


@pytest.fixture(autouse=True)
def _fresh_models():
    MODELS.clear()
    yield
    MODELS.clear()


@pytest.fixture
def window(qtbot, shot: UiShot) -> ReviewWindow:
    win = ReviewWindow(ReviewSession(shot.options()))
    qtbot.addWidget(win)
    win.show()
    shown(qtbot, win)
    return win


def forward_calls(window: ReviewWindow) -> list[int]:
    calls: list[int] = []
    window.session.model(window.params).model.register_forward_hook(lambda *_: calls.append(1))
    return calls


def splitting_tau(window: ReviewWindow) -> float:
    """A τ (3 decimals, as the spin box holds it) that splits FPAT's patches into two groups of about
    equal size for the shown frame's predicted M (an untrained model predicts M close to 0.5 everywhere)."""
    rendered = window.reply.rendered
    model = window.session.model(window.params).model
    averages = body_share(rendered.output.mask, model.token_patch).flatten()
    candidates = np.round(np.arange(0.001, 1.0, 0.001), 3)
    body = (averages.numpy()[None, :] >= candidates[:, None]).sum(1)
    return float(candidates[np.argmin(np.abs(body - averages.numel() / 2))])


def test_tau_change_schedules_a_render_and_the_image_changes(qtbot, window: ReviewWindow) -> None:
    shown(qtbot, window, lambda: window.set_layer("attention"))
    before = window.reply.image.rgb8.copy()
    tau = splitting_tau(window)
    calls = forward_calls(window)
    with qtbot.waitSignal(window.render_scheduled, timeout=TIMEOUT_MS):
        window.panel.editors["tau"].spin.setValue(tau)
    shown(qtbot, window)
    assert window.params["tau"] == tau and window.reply.request.render.params["tau"] == tau
    assert len(calls) == 1 and window.reply.rendered.stage == "infer"
    assert not np.array_equal(before, window.reply.image.rgb8)
    assert "infer re-ran" in window.status_label.text() and "cpu" in window.device_label.text()


def test_keyer_only_change_does_not_run_the_network(qtbot, window: ReviewWindow) -> None:
    before = window.reply.image.rgb8.copy()
    calls = forward_calls(window)
    keyer = window.panel.editors["clip_black"]
    keyer.slider.setValue(keyer.slider.maximum() // 3)  # the user drags the slider
    shown(qtbot, window)
    assert window.params["clip_black"] > 0.3 and keyer.value() == window.params["clip_black"]
    assert calls == [] and window.reply.rendered.stage == "comp"
    assert "comp re-ran" in window.status_label.text()
    assert not np.array_equal(before, window.reply.image.rgb8)


def test_a_burst_of_requests_renders_only_the_newest(qtbot, window: ReviewWindow) -> None:
    calls = forward_calls(window)
    request = window._request()
    requests = [replace(request, render=replace(request.render, params=window.params.replace(tau=t)))
                for t in (0.11, 0.12, 0.13, 0.14, 0.15)]
    generations = [window.worker.submit(request) for request in requests]
    qtbot.waitUntil(lambda: window.reply.generation == generations[-1], timeout=TIMEOUT_MS)
    assert window.reply.request.render.params["tau"] == 0.15
    assert len(calls) <= 2  # the newest, and at most the one already running


def test_settings_round_trip_through_shot_toml_into_the_batch_renderer(qtbot, window: ReviewWindow, shot: UiShot,
                                                                       tmp_path: Path) -> None:
    for name, value in (("tau", 0.35), ("target_matte_grow", 2.0), ("despill", 0.5), ("despill_mode", "luminance"),
                        ("seam_feather", 4.0), ("auto_clean_plate", False)):
        window.set_param(name, value)
    shown(qtbot, window)
    path = window.save_settings(tmp_path / "shot.toml")
    assert path is not None and path.is_file()
    options = replace(shot.options(config=str(path)), sets=(), out=str(tmp_path / "out" / "comp.####.exr"),
                      frames="1")
    assert batch.resolve_render_params(options) == window.params
    assert "--config" in window.render_command() and str(path) in window.render_command()
    summary = batch.render(batch.plan_render(options), progress=False)
    assert summary.rendered == [1]
    rendered, _ = read_image(tmp_path / "out" / "comp.0001.exr")
    panel = window.reply.rendered.result.rgba
    assert torch.allclose(rendered[:4], panel, atol=2e-3, rtol=2e-3)  # the EXR is half float


def test_scrubbing_shows_the_right_frame(qtbot, window: ReviewWindow, shot: UiShot) -> None:
    window.set_layer("plate")
    shown(qtbot, window)
    scrubber = window.scrubber
    x = round(scrubber._x(1))
    shown(qtbot, window, lambda: qtbot.mouseClick(scrubber, Qt.MouseButton.LeftButton, pos=QPoint(x, 12)))
    assert window.frame == 2 and window.reply.rendered.request.frame == 2
    expected = window.reply.rendered.inputs.target.permute(1, 2, 0).numpy()
    assert np.array_equal(expected, read_image(shot.folder / "target.0002.exr")[0].permute(1, 2, 0).numpy())
    assert np.array_equal(window.reply.image.values, expected)
    assert window.frame_spin.value() == 2 and 1 in window.scrubber.cached and 2 in window.scrubber.cached
    shown(qtbot, window, lambda: qtbot.keyClick(window, Qt.Key.Key_Left))
    assert window.reply.rendered.request.frame == 1
    first = window.reply.rendered.inputs.target.permute(1, 2, 0).numpy()
    assert np.array_equal(window.reply.image.values, first) and not np.array_equal(first, expected)
    assert window.reply.rendered.stage == "cached" and "cached" in window.status_label.text()  # shown at opening


def test_bad_input_shows_a_message_and_the_window_stays_usable(qtbot, window: ReviewWindow) -> None:
    with qtbot.waitSignal(window.error_shown, timeout=TIMEOUT_MS) as error:
        window.set_frame(3)
    assert "frame 3" in error.args[0] and "TargetHeadMatte" in error.args[0]
    assert window.banner.isVisible() and window.isVisible()
    shown(qtbot, window, lambda: window.step(-1))
    assert window.reply.rendered.request.frame == 2 and not window.banner.isVisible()
    good = window.params
    with qtbot.waitSignal(window.error_shown, timeout=TIMEOUT_MS) as refused:
        window.panel.editors["clip_white"].spin.setValue(0.0)  # below clip black: the keyer refuses it
    assert "clip_black" in refused.args[0] and window.params == good
    window.panel.editors["screen_color"].line.setText("0.1, 0.2")
    with qtbot.waitSignal(window.error_shown, timeout=TIMEOUT_MS):
        window.panel.editors["screen_color"].line.editingFinished.emit()
    shown(qtbot, window, lambda: window.set_param("tau", 0.6))
    assert window.reply.request.render.params["tau"] == 0.6


def test_shortcuts(qtbot, window: ReviewWindow) -> None:
    window.viewer.one_to_one()
    assert window.viewer.zoom == 1.0
    qtbot.keyClick(window, Qt.Key.Key_F)
    width, height = SIZE
    assert window.viewer.zoom == pytest.approx(min((window.viewer.width() - 24) / width,
                                                   (window.viewer.height() - 24) / height))
    shown(qtbot, window, lambda: qtbot.keyClick(window, Qt.Key.Key_A))
    assert window.display.channel == "a" and window.reply.request.display.channel == "a"
    alpha = window.reply.rendered.result.rgba[3]
    assert np.array_equal(window.reply.image.rgb8[..., 0], (alpha.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy())
    qtbot.keyClick(window, Qt.Key.Key_A)
    assert window.display.channel == "rgb"
    for key, channel in ((Qt.Key.Key_R, "r"), (Qt.Key.Key_G, "g"), (Qt.Key.Key_B, "b")):
        qtbot.keyClick(window, key)
        assert window.display.channel == channel
    shown(qtbot, window, lambda: qtbot.keyClick(window, Qt.Key.Key_Right))
    assert window.frame == 2
    shown(qtbot, window, lambda: qtbot.keyClick(window, Qt.Key.Key_W))
    assert window.wipe and window.reply.plate is not None


def test_controls_are_generated_from_the_param_list(window: ReviewWindow) -> None:
    panel = window.panel
    assert set(panel.editors) == {p.name for p in PARAMS}
    tau = next(p for p in PARAMS if p.name == "tau")
    assert tau.hint in panel.labels["tau"].toolTip()
    assert [panel.tabs.tabText(i) for i in range(panel.tabs.count())] == [
        page for page in PAGES if any(p.page == page for p in PARAMS)]
    slider = panel.editors["crop_padding"].slider
    slider.setValue(slider.maximum())
    assert window.params["crop_padding"] == 2.0 and panel.resets["crop_padding"].isEnabled()
    panel.resets["crop_padding"].click()
    assert window.params["crop_padding"] == 0.6 and not panel.resets["crop_padding"].isEnabled()


def test_probe_reads_working_space_values_and_click_moves_the_fpat_query(qtbot, window: ReviewWindow) -> None:
    x, y, channels = window.probe_values(40.0, 30.0)
    rgba = window.reply.rendered.result.rgba[:, 30, 40]
    assert [name for name, _ in channels] == ["R", "G", "B", "A"]
    assert [value for _, value in channels] == pytest.approx(rgba.tolist())
    shown(qtbot, window, lambda: window.set_layer("attention"))
    patch = window.reply.rendered.query_patch
    box = window.reply.rendered.job.box
    shown(qtbot, window, lambda: window._clicked(box.x0 + 1.0, box.y0 + 1.0))
    assert window.reply.rendered.query_patch == 0 != patch


def test_none_keeps_its_references_through_many_qt_calls(qtbot, window: ReviewWindow) -> None:
    """PySide6 6.12.0 on CPython 3.11 drops a reference to None per void call; the window's guard
    (changer.ui.qtcompat) must keep None alive however long the panel runs."""
    for _ in range(2000):
        window.status_label.setText("x")
    if binding_leaks_none():
        assert sys.getrefcount(None) > RESERVE // 2
    assert sys.getrefcount(None) > 10_000


def test_review_command_opens_the_window_and_saves_a_screenshot(qtbot, shot: UiShot, tmp_path: Path) -> None:
    png = tmp_path / "review.png"
    assert main(["review", *shot.argv(), "--frames", "1-2", "--layer", "matte", "--screenshot", str(png)]) == 0
    assert png.is_file() and png.stat().st_size > 1000


def test_the_cli_imports_qt_only_for_review() -> None:
    code = ("import sys; from changer.plugin.commands.main import parse_args; "
            "parse_args(sys.argv[1:]); print('PySide6' in sys.modules)")

    def imports_qt(*argv: str) -> bool:
        out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True).stdout
        return out.strip() == "True"

    assert not imports_qt("render", "--target", "x")
    assert imports_qt("review", "--target", "x")


def test_review_command_bad_input_is_one_line(shot: UiShot, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "--target", str(tmp_path / "missing.####.exr"), "--source", shot.pattern("source"),
                 "--target-matte", shot.pattern("tmatte"), "--source-matte", shot.pattern("smatte"),
                 "--frames", "1"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "missing" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
