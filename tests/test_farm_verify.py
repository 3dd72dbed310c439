"""`changer verify`: exit 0 on a complete render; exit 3 naming a missing frame, a frame rendered with other
params and an unreadable frame; exit 2 on a bad command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from changer.plugin.commands.main import main
from changer.plugin.commands.verify import EXIT_INCOMPLETE
from farm_shot import OUT, shot_and_reference


def test_verify_passes_a_complete_render_and_names_each_broken_frame(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    shot, reference = shot_and_reference(tmp_path)
    assert main(["verify", "--out", str(reference / OUT)]) == 0
    assert "verified 4 frame(s) (1-4)" in capsys.readouterr().out

    other = tmp_path / "other"
    assert main(shot.argv(other / OUT, "--frames", "3", "--set", "output=green")) == 0
    broken = tmp_path / "broken"
    shutil.copytree(reference, broken)
    (broken / "comp.0002.exr").unlink()
    shutil.copy(other / "comp.0003.exr", broken / "comp.0003.exr")
    whole = (reference / "comp.0004.exr").read_bytes()
    (broken / "comp.0004.exr").write_bytes(whole[: len(whole) // 2])
    capsys.readouterr()
    assert main(["verify", "--out", str(broken / OUT), "--frames", "1-5"]) == EXIT_INCOMPLETE
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("frames 2,5: missing"), lines
    assert lines[1].startswith("frame 3: rendered with other params"), lines
    assert lines[2].startswith("frame 4: unreadable"), lines
    assert len(lines) == 3 and "4 of 5 frame(s)" in captured.err


def test_verify_of_an_empty_folder_without_frames_is_a_user_error(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--out", str(tmp_path / OUT)]) == 2
    assert "pass --frames" in capsys.readouterr().err
