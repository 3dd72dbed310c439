"""`changer review` where it cannot work: no display (Qt's xcb plugin would abort the process) and a
`--screenshot` that cannot be written. One line, exit 2, no abort, nothing left behind; the display and
path cases as real subprocesses of the `changer` executable, the rest in-process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QPixmap

from auto_shot import no_mediapipe
from changer.core.headmatte import EXTRA_INSTALL
from changer.core.headmatte.face_models import face_models
from changer.plugin.commands.main import EXIT_USER_ERROR, main
from changer.plugin.models import MODELS
from node_shot import Shot, write_shot

QT_ENV = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Shot:
    return write_shot(tmp_path_factory.mktemp("review_shot") / "shot", frames=1)


def _argv(shot: Shot, *extra: str) -> list[str]:
    """``changer review`` argv of the shot (the render argv with its --out and --no-progress dropped)."""
    render = shot.argv("unused.####.exr")
    i = render.index("--out")
    return ["review", *render[1:i], *render[i + 2:-1], *extra]


def _review(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("changer", path=str(Path(sys.executable).parent))
    assert exe
    clean = {k: v for k, v in os.environ.items() if k not in QT_ENV}
    return subprocess.run([exe, *args], env={**clean, **env}, capture_output=True, text=True, timeout=300)


def _one_clear_line(proc: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert proc.returncode == EXIT_USER_ERROR, (proc.returncode, proc.stderr)
    err = proc.stderr
    assert "Traceback" not in err and "Aborted" not in err and "could not load the qt platform" not in err.lower()
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("changer review: error: ")
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the no-display check is for Linux (X11/Wayland)")
def test_no_display_is_one_line_not_an_abort(shot: Shot, tmp_path: Path) -> None:
    proc = _review(_argv(shot, "--screenshot", str(tmp_path / "shot.png")))
    _one_clear_line(proc, "no display", "QT_QPA_PLATFORM=offscreen", "--screenshot", "xvfb-run")
    assert not (tmp_path / "shot.png").exists()


@pytest.mark.parametrize(("where", "expected"), [
    ("/proc/no-such-changer-folder/shot.png", "cannot write into folder"),
    ("{tmp}/plain/shot.png", "is a file, not a folder"),
])
def test_unwritable_screenshot_offscreen_is_one_line(shot: Shot, tmp_path: Path, where: str, expected: str) -> None:
    (tmp_path / "plain").write_text("a file, not a folder")
    path = where.format(tmp=tmp_path)
    proc = _review(_argv(shot, "--screenshot", path), QT_QPA_PLATFORM="offscreen")
    _one_clear_line(proc, f"--screenshot {path}", expected)


@pytest.mark.parametrize(("name", "expected"), [
    ("shot.jpg", "expected a file name ending in .png"),
    ("shot", "expected a file name ending in .png"),
    ("x" * 240 + ".png", "bytes long"),
])
def test_bad_screenshot_name_is_refused_before_the_window(
    shot: Shot, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, expected: str,
) -> None:
    capsys.readouterr()
    assert main(_argv(shot, "--screenshot", str(tmp_path / name))) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.startswith("changer review: error: --screenshot") and expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_screenshot_qt_cannot_save_fails_and_leaves_nothing(
    qtbot, shot: Shot, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    MODELS.clear()
    monkeypatch.setattr(QPixmap, "save", lambda self, *args: False)
    png = tmp_path / "shots" / "review.png"
    capsys.readouterr()
    assert main(_argv(shot, "--screenshot", str(png))) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "--screenshot" in err and "review.png" in err and "could not write" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert list(png.parent.iterdir()) == [], "no screenshot and no temp file"
    MODELS.clear()


def test_a_good_screenshot_is_written_atomically_and_replaces_the_last(
    qtbot, shot: Shot, tmp_path: Path,
) -> None:
    MODELS.clear()
    png = tmp_path / "review.png"
    png.write_bytes(b"last time's screenshot")
    assert main(_argv(shot, "--screenshot", str(png))) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["review.png"], "no temp file left"
    MODELS.clear()


def test_plates_alone_without_the_extra_is_one_line_before_the_window(
        shot: Shot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    no_mediapipe(monkeypatch)
    png = tmp_path / "never.png"
    argv = [a for a in _argv(shot, "--screenshot", str(png)) if "matte" not in a]  # plates alone
    assert main(argv) == EXIT_USER_ERROR
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("changer review: error: clip TargetHeadMatte (no --target-matte given); clip "
                           "SourceHeadMatte (no --source-matte given): automatic head mattes need the optional face "
                           f"models: {EXTRA_INSTALL}")
    assert not png.exists()
    face_models.cache_clear()
