"""`changer train` with a config `name` that is not one plain folder name (the default run folder is
runs/<name>, so `../..` would put checkpoints anywhere): one line naming the config file and the key,
exit 2, nothing trained and nothing written (a table through the real CLI, one case as a subprocess)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from changer.plugin.commands import train as train_command
from changer.plugin.commands.main import EXIT_USER_ERROR, main

SMOKE = Path(__file__).resolve().parents[1] / "training" / "configs" / "smoke.toml"

#: (id, the TOML value of `name`) — every one refused.
CASES: list[tuple[str, str]] = [
    ("parent_of_parent", '"../.."'),
    ("escape_into_a_sibling", '"../escaped"'),
    ("absolute", '"/tmp/changer-run"'),
    ("two_components", '"runs/inner"'),
    ("backslash", '"a\\\\b"'),
    ("hidden", '".hidden"'),
    ("dot", '"."'),
    ("empty", '""'),
    ("space", '"my run"'),
    ("too_long", '"' + "x" * 101 + '"'),
    ("newline", '"a\\nb"'),
]


def _config(tmp: Path, name_toml: str) -> Path:
    text = SMOKE.read_text().replace('name = "smoke"', f"name = {name_toml}")
    assert f"name = {name_toml}" in text
    path = tmp / "train.toml"
    path.write_text(text)
    return path


@pytest.fixture
def trained(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Run folders `train` was called with (the loop itself is stubbed: a refused config must not reach it)."""
    calls: list[Path] = []
    monkeypatch.setattr(train_command, "train", lambda cfg, out, **kwargs: calls.append(out))
    return calls


@pytest.mark.parametrize("name_toml", [pytest.param(n, id=i) for i, n in CASES])
def test_bad_run_name_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trained: list[Path],
                                        capsys: pytest.CaptureFixture[str], name_toml: str) -> None:
    work = tmp_path / "a" / "b" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    config = _config(work, name_toml)
    capsys.readouterr()
    assert main(["train", "--config", str(config)]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("changer train: error: ") and "train.toml" in err and "config.name" in err
    assert "letters, digits" in err
    assert trained == [], "training started"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == [
        Path("a"), Path("a/b"), Path("a/b/work"), Path("a/b/work/train.toml")], "something was written"


def test_table_has_enough_cases() -> None:
    assert len(CASES) >= 8


@pytest.mark.parametrize("name", ["smoke", "small-stage1", "run_2.v3", "x" * 100])
def test_good_names_reach_the_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trained: list[Path],
                                   name: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--config", str(_config(tmp_path, f'"{name}"'))]) == 0
    assert trained == [Path("runs") / name]


def test_bad_run_name_as_a_real_subprocess(tmp_path: Path) -> None:
    exe = shutil.which("changer", path=str(Path(sys.executable).parent))
    assert exe
    work = tmp_path / "a" / "work"
    work.mkdir(parents=True)
    config = _config(work, '"../../escaped"')
    # --resume of a missing folder: were the name accepted, the run would stop there, before training
    proc = subprocess.run([exe, "train", "--config", str(config), "--resume", str(work / "none")],
                          cwd=work, capture_output=True, text=True, timeout=300)
    assert proc.returncode == EXIT_USER_ERROR, proc.stderr
    assert "config.name '../../escaped'" in proc.stderr and "train.toml" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "train.toml", "work"]
