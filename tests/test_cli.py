"""The `changer` entry point, in-process and as a real subprocess."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from changer.plugin.cli import EXIT_USER_ERROR, main

INFO_LABELS = ["changer", "torch", "cuda", "cupy", "device", "ocio config", "ocio colourspaces", "oiio", "oiio formats", "weights"]


def test_info_prints_every_item(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    labels = {line.split("  ")[0].strip() for line in out.splitlines()}
    assert set(INFO_LABELS) <= labels
    assert "cg-config-v2.2.0_aces-v1.3_ocio-v2.4" in out
    assert "ocio colourspaces  23" in " ".join(out.split("\n"))
    assert "openexr" in out


def test_info_with_bad_ocio_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OCIO", str(tmp_path / "missing.ocio"))
    assert main(["info"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "missing.ocio" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_explicit_config_wins_over_env(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OCIO", "/does/not/exist.ocio")
    assert main(["info", "--ocio-config", "ocio://studio-config-v2.2.0_aces-v1.3_ocio-v2.4"]) == 0
    assert "studio-config-v2.2.0" in capsys.readouterr().out


def test_info_subprocess_does_not_import_qt_or_cupy() -> None:
    exe = shutil.which("changer", path=str(Path(sys.executable).parent))
    assert exe, "the `changer` console script is not installed next to this Python"
    code = (
        "import sys; from changer.plugin.cli import main; rc = main(['info']);"
        "bad = [m for m in ('PySide6', 'cupy') if m in sys.modules]; print('LEAKED', bad) if bad else None; sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "LEAKED" not in proc.stdout
    real = subprocess.run([exe, "info"], capture_output=True, text=True, timeout=120)
    assert real.returncode == 0 and "ocio config" in real.stdout


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


def test_info_into_a_closed_pipe_is_quiet() -> None:
    exe = shutil.which("changer", path=str(Path(sys.executable).parent))
    proc = subprocess.Popen([exe, "info"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader goes away before the first line, like `| head -0`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err
