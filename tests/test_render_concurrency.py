"""Renders that meet other renders, farm chunks, signals and full disks, through the real `changer` CLI
(issue 11): two renders never write one frame, chunks of one sequence run side by side, a terminated
render leaves no temp, lock or worker behind, and one host never sweeps another host's temp files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from changer.core.io import host_tag, read_image, remove_stale_temp_files
from changer.core.io.locks import FrameLocks, LockedError, lock_path
from changer.plugin.commands.main import EXIT_USER_ERROR, main
from changer.plugin.terminate import EXIT_TERMINATED
from node_shot import Shot, write_shot

OUT = "comp.####.exr"


@pytest.fixture(scope="module")
def long_shot(tmp_path_factory: pytest.TempPathFactory) -> Shot:
    return write_shot(tmp_path_factory.mktemp("conc") / "shot", frames=8, size=(96, 96))


def _changer(*argv: str) -> list[str]:
    return [sys.executable, "-m", "changer.plugin.commands", *argv]


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 240.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def _locks(folder: Path) -> list[Path]:
    return sorted(folder.glob(".comp.*.exr.lock"))


def test_a_second_render_into_the_same_frames_is_refused_naming_the_first(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    shot = write_shot(tmp_path / "shot", frames=24, size=(96, 96))
    out = tmp_path / "out"
    first = subprocess.Popen(_changer(*shot.argv(out / OUT)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait_for(lambda: len(_locks(out)) == 24, first), "the first render never locked its frames"
    capsys.readouterr()
    assert main(shot.argv(out / OUT)) == EXIT_USER_ERROR  # started while the first runs (torch already loaded here)
    err = capsys.readouterr().err
    assert "locked by another render" in err and f"pid {first.pid} on host {host_tag()}" in err, err
    stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert "rendered 24 frame(s)" in stdout, "the refused render must not have taken frames from the first"
    assert sorted(p.name for p in out.iterdir()) == [f"comp.{f:04d}.exr" for f in range(1, 25)], "locks left behind"


def test_farm_chunks_of_one_sequence_run_side_by_side(long_shot: Shot, tmp_path: Path) -> None:
    out = tmp_path / "out"
    chunks = [subprocess.Popen(_changer(*long_shot.argv(out / OUT, "--frames", frames)), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for frames in ("1-4", "5-8")]
    results = [c.communicate(timeout=300) for c in chunks]
    assert [c.returncode for c in chunks] == [0, 0], results
    assert all("rendered 4 frame(s)" in stdout for stdout, _ in results)
    assert sorted(p.name for p in out.iterdir()) == [f"comp.{f:04d}.exr" for f in range(1, 9)]


def test_a_stale_lock_of_a_dead_render_on_this_host_is_taken_over(long_shot: Shot, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    lock_path(out / "comp.0002.exr").write_text(json.dumps(
        {"host": host_tag(), "pid": pid, "started": "2026-11-30T09:00:00+00:00", "token": "0123"}))
    assert main(long_shot.argv(out / OUT, "--frames", "1-3")) == 0
    assert "rendered 3 frame(s)" in capsys.readouterr().out
    assert not _locks(out)


def test_locks_are_all_or_nothing(tmp_path: Path) -> None:
    files = [tmp_path / f"comp.{f:04d}.exr" for f in range(1, 6)]
    with FrameLocks(files[2:3], tmp_path / ".breaker"):
        with pytest.raises(LockedError, match="comp.0003.exr"):
            FrameLocks(files, tmp_path / ".breaker").acquire()
        assert _locks(tmp_path) == [lock_path(files[2])], "a refused render must release what it took"
    assert not _locks(tmp_path)


def test_sigterm_with_two_workers_stops_everything_and_leaves_no_temp_or_lock(long_shot: Shot, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(_changer(*long_shot.argv(out / OUT, "--workers", "2")), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert _wait_for(lambda: any(out.glob("comp.*.exr")), proc), "no frame was rendered before the render ended"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_TERMINATED, stderr
    assert "terminated" in stderr and "Traceback" not in stderr and "BrokenPipe" not in stderr
    written = sorted(out.iterdir())
    time.sleep(2.0)
    assert sorted(out.iterdir()) == written, "workers kept writing after the render ended"
    assert all(not p.name.startswith(".") for p in written), written
    for path in written:
        assert torch.isfinite(read_image(path)[0]).all()


def test_stdout_on_a_full_device_is_one_line_and_exit_2(long_shot: Shot, tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(_changer(*long_shot.argv(tmp_path / OUT, "--frames", "1")), stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode == EXIT_USER_ERROR, proc.stderr
    assert proc.stderr.strip() == "changer render: error: cannot write to standard output (No space left on device)"
    assert (tmp_path / "comp.0001.exr").is_file()


def _temp(folder: Path, host: str, pid: int, age_s: float) -> Path:
    path = folder / f".comp.0001.exr.tmp-{host}-{pid}-0a1b2c3d.exr"
    path.write_bytes(b"partial")
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


def test_the_temp_sweep_removes_only_this_hosts_old_temps_of_dead_writers(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    old_dead_here = _temp(tmp_path, host_tag(), pid, 3600)
    keep = [
        _temp(tmp_path, "farm07", pid, 3600),  # another host's writer: its pid means nothing here
        _temp(tmp_path, host_tag(), os.getppid(), 3600),  # a live writer
    ]
    young = tmp_path / f".comp.0002.exr.tmp-{host_tag()}-{pid}-0a1b2c3d.exr"
    young.write_bytes(b"partial")
    assert remove_stale_temp_files(tmp_path, "comp.") == [old_dead_here]
    assert all(p.exists() for p in [*keep, young])


def test_a_render_leaves_another_hosts_temp_files_alone(long_shot: Shot, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    other = _temp(out, "farm07", 1, 3600)
    assert main(long_shot.argv(out / OUT, "--frames", "1")) == 0
    assert other.read_bytes() == b"partial"
