"""`changer export --out` on bad input: one clear line naming --out, exit 2, the weights and every earlier
file left byte for byte as they were, no temp file left, and the model never loaded (a table of cases
through the real CLI, two of them as a real subprocess); and the export itself written atomically."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest
import torch

from changer.plugin.commands import export as export_command
from changer.plugin.commands.main import EXIT_USER_ERROR, main
from node_shot import save_tiny_weights

pytestmark = pytest.mark.filterwarnings(r"ignore:.*torch\.jit.*:FutureWarning")


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_weights(tmp_path_factory.mktemp("weights"))


def _folder(weights: Path, tmp: Path) -> Path:
    """A fresh copy of the weights pair and an earlier export, in ``tmp/w``: what no bad run may change."""
    folder = tmp / "w"
    folder.mkdir()
    shutil.copy(weights, folder / "w.safetensors")
    shutil.copy(weights.with_suffix(".json"), folder / "w.json")
    (folder / "earlier.pt").write_bytes(b"an earlier export")
    return folder


def _argv(folder: Path, out: str | Path, *extra: str) -> list[str]:
    return ["export", "--format", "torchscript", "--weights", str(folder / "w.safetensors"), "--out", str(out), *extra]


def _symlink(folder: Path, name: str, target: str) -> Path:
    (folder / name).symlink_to(target)
    return folder / name


def _file_in_the_way(tmp: Path) -> Path:
    (tmp / "plain").write_text("a file, not a folder")
    return tmp / "plain" / "sub" / "x.pt"


Case = Callable[[Path, Path], list[str]]
CASES: list[tuple[str, Case, list[str]]] = [
    ("out_is_the_weights", lambda w, t: _argv(w, w / "w.safetensors"),
     ["--out", "w.safetensors", "is the weights file"]),
    ("out_is_the_weights_with_overwrite", lambda w, t: _argv(w, w / "w.safetensors", "--overwrite"),
     ["is the weights file", "never replaces an input"]),
    ("out_is_the_card", lambda w, t: _argv(w, w / "w.json", "--overwrite"), ["--out", "w.json", "is the weights card"]),
    ("out_is_the_weights_by_another_spelling", lambda w, t: _argv(w, w / ".." / "w" / "." / "w.safetensors"),
     ["is the weights file"]),
    ("out_is_a_symlink_to_the_weights", lambda w, t: _argv(w, _symlink(w, "link.pt", "w.safetensors"), "--overwrite"),
     ["link.pt", "is the weights file"]),
    ("out_is_a_hard_link_to_the_card", lambda w, t: _argv(w, (os.link(w / "w.json", w / "hard.pt"), w / "hard.pt")[1],
                                                          "--overwrite"), ["hard.pt", "is the weights card"]),
    ("out_exists", lambda w, t: _argv(w, w / "earlier.pt"), ["--out", "earlier.pt", "already exists", "--overwrite"]),
    ("out_is_a_folder", lambda w, t: _argv(w, w, "--overwrite"), ["--out", "is a folder"]),
    ("out_in_proc", lambda w, t: _argv(w, "/proc/no-such-changer-folder/x.pt"),
     ["--out /proc/no-such-changer-folder/x.pt", "cannot write into folder"]),
    ("out_under_a_file", lambda w, t: _argv(w, _file_in_the_way(t)),
     ["cannot write into folder", "is a file, not a folder"]),
    ("out_name_too_long", lambda w, t: _argv(w, t / ("x" * 240 + ".pt")), ["--out", "bytes long", "expected at most"]),
]


def _state(tmp: Path) -> dict[str, bytes]:
    files = (p for p in sorted(tmp.rglob("*")) if p.is_file() and not p.is_symlink())
    return {str(p.relative_to(tmp)): p.read_bytes() for p in files}


@pytest.mark.parametrize(("make_argv", "expected"), [pytest.param(f, e, id=i) for i, f, e in CASES])
def test_bad_out_is_one_clear_line_before_the_model_loads(
    weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    make_argv: Case, expected: list[str],
) -> None:
    folder = _folder(weights, tmp_path)
    argv = make_argv(folder, tmp_path)
    before = _state(tmp_path)

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("--out must be checked before the weights are loaded")

    monkeypatch.setattr(export_command, "load_weights", no_loading)
    capsys.readouterr()
    assert main(argv) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("changer export: error: --out")
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    assert _state(tmp_path) == before, "an input or earlier file changed"
    assert not [p for p in tmp_path.rglob(".*tmp-*")], "temp file left behind"


def test_table_has_enough_cases() -> None:
    assert len(CASES) >= 10


def test_overwrite_replaces_an_earlier_export_atomically(weights: Path, tmp_path: Path) -> None:
    folder = _folder(weights, tmp_path)
    assert main(_argv(folder, folder / "earlier.pt", "--overwrite")) == 0
    graph = torch.jit.load(str(folder / "earlier.pt"))
    assert hasattr(graph, "forward")
    assert sorted(p.name for p in folder.iterdir()) == ["earlier.pt", "w.json", "w.safetensors"], "no temp file left"


def test_a_failed_write_keeps_the_earlier_file_and_leaves_no_temp(
    weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = _folder(weights, tmp_path)

    def disk_full(module: object, handle: BinaryIO) -> None:
        handle.write(b"half an export")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch.jit, "save", disk_full)
    capsys.readouterr()
    assert main(_argv(folder, folder / "earlier.pt", "--overwrite")) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "earlier.pt" in err and "No space left on device" in err and len(err.strip().splitlines()) == 1
    assert (folder / "earlier.pt").read_bytes() == b"an earlier export"
    assert sorted(p.name for p in folder.iterdir()) == ["earlier.pt", "w.json", "w.safetensors"]


@pytest.mark.parametrize(("case", "expected"), [("out_is_the_weights", "is the weights file"),
                                                ("out_in_proc", "cannot write into folder")])
def test_bad_out_as_a_real_subprocess(weights: Path, tmp_path: Path, case: str, expected: str) -> None:
    exe = shutil.which("changer", path=str(Path(sys.executable).parent))
    assert exe
    folder = _folder(weights, tmp_path)
    argv = next(f for i, f, _ in CASES if i == case)(folder, tmp_path)
    before = _state(tmp_path)
    proc = subprocess.run([exe, *argv], capture_output=True, text=True, timeout=300)
    assert proc.returncode == EXIT_USER_ERROR, proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert _state(tmp_path) == before
