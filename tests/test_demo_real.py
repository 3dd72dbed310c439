"""`changer demo --real DIR`: pairs found by name, refusals naming the folder, and (when the real frames and the
auto extra are here) the whole chain from two real photographs to the contact sheet."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import real_shot
from changer.core.io import read_meta
from changer.plugin.commands.demo_real import METHODS, PANEL, find_pairs
from changer.plugin.commands.main import EXIT_USER_ERROR, main
from changer.plugin.commands.previews import GAP


def _touch(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


def test_each_double_gets_an_actor_who_is_someone_else(tmp_path: Path) -> None:
    folder = _touch(tmp_path, "lincoln2_green.png", "sejong1_green.png", "source_portrait_lincoln.png",
                    "source_portrait_sejong.jpg", "SOURCES.md")
    pairs = {p.double.name: p.actor.name for p in find_pairs(folder)}
    assert pairs == {"lincoln2_green.png": "source_portrait_sejong.jpg",
                     "sejong1_green.png": "source_portrait_lincoln.png"}


@pytest.mark.parametrize(("names", "message"), [
    ((), "found 0 double frame(s) and 0 actor portrait(s)"),
    (("double.png",), "found 1 double frame(s) and 0 actor portrait(s)"),
])
def test_a_folder_without_doubles_or_actors_is_refused_naming_it(tmp_path: Path, names: tuple[str, ...],
                                                                 message: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = _touch(tmp_path / "real", *names)
    assert main(["demo", "--real", str(folder), "--out", str(tmp_path / "out")]) == EXIT_USER_ERROR
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"--real {folder}: {message}" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(real_shot.skip_reason() is not None, reason=str(real_shot.skip_reason()))
def test_a_real_pair_renders_with_both_methods_into_a_contact_sheet(tmp_path: Path) -> None:
    pytest.importorskip("mediapipe", reason="automatic head mattes need the auto extra (pip install -e '.[auto]')")
    actor, double = real_shot.PAIRS[0]
    folder = tmp_path / "real"
    folder.mkdir()
    for name in (actor, double):
        shutil.copy(real_shot.REAL_FRAMES / name, folder / name)
    out = tmp_path / "out"
    assert main(["demo", "--real", str(folder), "--out", str(out), "--no-progress"]) == 0
    stem = Path(double).stem
    for method in METHODS:
        meta = read_meta(out / "real" / stem / method / "comp.0001.exr")
        assert meta.channel_names[:4] == ["R", "G", "B", "A"] and "M.A" in meta.channel_names
    sheet = read_meta(out / "real_contact_sheet.png")
    assert (sheet.data_window.width, sheet.data_window.height) == (4 * PANEL + 5 * GAP, PANEL + 2 * GAP)
