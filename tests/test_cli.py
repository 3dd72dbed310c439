"""The `changer` entry point, in-process and as a real subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from changer.plugin.commands.main import COMMANDS, EXIT_USER_ERROR, command_module, main
from changer.plugin.params import PARAMS, markdown_table

INFO_LABELS = ["changer", "torch", "cuda", "cupy", "device", "ocio config", "ocio colourspaces", "oiio", "oiio formats",
               "weights"]
#: What `changer info` has no use for: Qt, CUDA kernels, the network, training code and the other commands.
NOT_FOR_INFO = ("PySide6", "cupy", "safetensors", "changer.ui", "changer.training", "changer.core.model",
                "changer.plugin.hosts", "changer.plugin.params")


def test_info_prints_every_item(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    labels = {line.split("  ")[0].strip() for line in out.splitlines()}
    assert set(INFO_LABELS) <= labels
    assert "cg-config-v2.2.0_aces-v1.3_ocio-v2.4" in out
    assert "ocio colourspaces  23" in " ".join(out.split("\n"))
    assert "openexr" in out


def test_info_with_bad_ocio_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OCIO", str(tmp_path / "missing.ocio"))
    assert main(["info"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "missing.ocio" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_explicit_config_wins_over_env(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OCIO", "/does/not/exist.ocio")
    assert main(["info", "--ocio-config", "ocio://studio-config-v2.2.0_aces-v1.3_ocio-v2.4"]) == 0
    assert "studio-config-v2.2.0" in capsys.readouterr().out


def _imported_by(argv: list[str], run: bool = False) -> set[str]:
    """Modules a fresh Python has imported after parsing (and, with ``run``, running) ``changer argv``."""
    call = "rc = main(argv)" if run else "parse_args(argv); rc = 0"
    code = ("import json, sys; from changer.plugin.commands.main import main, parse_args; argv = sys.argv[1:]; "
            f"{call}; sys.stderr.write(json.dumps(sorted(sys.modules))); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stderr.splitlines()[-1]))


def _leaked(modules: set[str], unwanted: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == u or m.startswith(f"{u}.") for u in unwanted))


def test_info_imports_no_qt_cuda_network_or_training() -> None:
    assert _leaked(_imported_by(["info"], run=True), NOT_FOR_INFO) == []


def test_only_the_chosen_command_module_is_imported() -> None:
    commands = {m for m in _imported_by(["render", "--target", "x"]) if m.startswith("changer.plugin.commands.")}
    assert commands == {"changer.plugin.commands.main", "changer.plugin.commands.stdout",
                        "changer.plugin.commands.render"}


def test_console_script_runs_info() -> None:
    exe = shutil.which("changer", path=str(Path(sys.executable).parent))
    assert exe, "the `changer` console script is not installed next to this Python"
    real = subprocess.run([exe, "info"], capture_output=True, text=True, timeout=120)
    assert real.returncode == 0 and "ocio config" in real.stdout


def test_python_dash_m_runs_the_shell() -> None:
    proc = subprocess.run([sys.executable, "-m", "changer.plugin.commands", "params"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == PARAMS[0].name


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name, (_, help_text) in COMMANDS.items():
        assert name in out and help_text[:30] in " ".join(out.split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: changer {name}") and COMMANDS[name][1][:30] in " ".join(out.split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_module_has_the_contract(name: str) -> None:
    module = command_module(name)
    assert module.__name__ == COMMANDS[name][0] == f"changer.plugin.commands.{name}"
    assert callable(module.add_arguments) and callable(module.run)


def test_params_command_prints_the_table_json_and_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown_table()
    assert main(["params", "--json"]) == 0
    assert [p["name"] for p in json.loads(capsys.readouterr().out)] == [p.name for p in PARAMS]
    assert main(["params"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == [p.name for p in PARAMS]
    with pytest.raises(SystemExit):
        main(["params", "--json", "--markdown"])


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
