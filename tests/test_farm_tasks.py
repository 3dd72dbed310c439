"""A farm task is `changer render --frames A-B`: the print engine writes what `--print-chunks` prints, a task
terminated mid-frame exits 143 and its rerun leaves frames identical to a plain render, and without the farm
extra `changer farm` says which extra to install."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from changer.plugin.commands.main import main
from changer.plugin.terminate import EXIT_TERMINATED
from farm_shot import OUT, assert_same_frames, farm_argv, shot_and_reference
from node_shot import Shot


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Shot, Path]:
    return shot_and_reference(tmp_path_factory.mktemp("tasks"))


def _task(line: str) -> list[str]:
    """A commands.txt line run by this Python (the `changer` console script is the same entry point)."""
    argv = shlex.split(line)
    assert argv[:2] == ["changer", "render"], line
    return [sys.executable, "-m", "changer.plugin.commands", *argv[1:]]


def test_a_task_terminated_mid_frame_then_rerun_leaves_identical_frames(shot: tuple[Shot, Path], tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    source, reference = shot
    out = tmp_path / "out"
    assert main(farm_argv(source, out / OUT, "print", 4, tmp_path / "job")) == 0
    lines = (tmp_path / "job" / "commands.txt").read_text().splitlines()
    capsys.readouterr()
    assert main([*source.argv(out / OUT), "--print-chunks", "4"]) == 0
    assert capsys.readouterr().out.splitlines() == lines, "the print engine is --print-chunks"
    assert len(lines) == 1 and "--frames 1-4" in lines[0]

    task = subprocess.Popen(_task(lines[0]), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "comp.0001.exr").exists() and task.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    task.send_signal(signal.SIGTERM)  # frame 1 is written: the task is inside frame 2
    _, stderr = task.communicate(timeout=120)
    assert task.returncode == EXIT_TERMINATED, stderr
    done = sorted(p.name for p in out.glob("comp.*.exr"))
    assert 1 <= len(done) < 4 and not [p for p in out.iterdir() if p.name.startswith(".")], done

    rerun = subprocess.run(_task(lines[0]), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"skipped {len(done)} complete" in rerun.stdout
    assert_same_frames(out, reference)


def test_without_the_farm_extra_the_message_names_it(shot: tuple[Shot, Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "openjd.model", None)  # what `import openjd.model` meets when absent
    monkeypatch.delitem(sys.modules, "changer.plugin.hosts.farm_openjd", raising=False)
    source, _ = shot
    assert main(farm_argv(source, tmp_path / "out" / OUT, "openjd", 2, tmp_path / "job")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install -e ".[farm]"' in err and "Traceback" not in err, err
    assert not (tmp_path / "job").exists()
