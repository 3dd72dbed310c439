"""`changer ofx build|install` without a compiler: one line naming what is missing, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from changer.plugin.commands.main import main
from changer.plugin.ofx import build


def test_build_without_a_compiler_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    assert main(["ofx", "build", "--out", str(tmp_path)]) == 2
    assert "no C++ compiler" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_cmake_asked_for_but_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(build.shutil, "which", lambda name: None if name == "cmake" else f"/usr/bin/{name}")
    assert main(["ofx", "install", "--dest", str(tmp_path), "--tool", "cmake"]) == 2
    assert "cmake not found" in capsys.readouterr().err
