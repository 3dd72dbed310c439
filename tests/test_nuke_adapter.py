"""The Nuke adapter's plain-Python parts (Nuke itself is not available: the gizmo is untested)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from changer.plugin.commands.main import main, parse_args
from changer.plugin.hosts.nuke import commands, knobs
from changer.plugin.hosts.options import RenderOptions
from changer.plugin.params import PARAMS, params_json, parse_assignments, resolve_params
from node_shot import save_tiny_weights


@pytest.fixture
def params() -> list[dict]:
    return json.loads(params_json())


def test_knobs_are_generated_from_the_param_list(params: list[dict]) -> None:
    specs = knobs.knob_specs(params)
    param_knobs = [k for k in specs if not k.name.startswith("changer_")]
    assert [k.name for k in param_knobs] == [p.name for p in PARAMS]  # PARAMS lists each page's params together
    by_name = {k.name: k for k in param_knobs}
    assert set(by_name) == {p.name for p in PARAMS}
    for p in PARAMS:
        knob = by_name[p.name]
        assert knob.knob_class == knobs.KNOB_CLASSES[p.type] and knob.label == p.label and knob.tab == p.page
        if p.type == "choice":
            assert knob.values == p.choices
    assert by_name["tau"].range == (0.0, 1.0) and by_name["tau"].default == 0.5
    assert by_name["screen_color"].default == "auto"
    assert {k.name for k in specs if k.name.startswith("changer_")} >= {"changer_out", "changer_render", "changer_mode"}


def test_knob_values_become_a_command_line_that_changer_render_reads(params: list[dict]) -> None:
    values = {"tau": 0.35, "output": "green", "auto_clean_plate": False, "network_resolution": 128,
              "screen_color": "0.1,0.6,0.2", "despill": 1.0}
    sets = knobs.param_assignments(params, values)
    assert "despill=1.0" not in sets and "tau=0.35" in sets
    inputs = {"Target": "/p/t.####.exr", "Source": "/p/s.####.exr", "TargetHeadMatte": "/p/tm.%04d.exr",
              "SourceHeadMatte": "/p/sm.####.exr", "Background": "/p/bg.exr"}
    argv = commands.render_argv("changer", inputs, "/o/comp.####.exr", "1001-1010", sets, workers=2)
    options = RenderOptions.from_args(parse_args(argv[1:]))
    assert (options.target, options.target_matte, options.background, options.frames, options.workers) == (
        "/p/t.####.exr", "/p/tm.%04d.exr", "/p/bg.exr", "1001-1010", 2)

    parsed = resolve_params(parse_assignments(list(options.sets)))
    assert (parsed["tau"], parsed["output"], parsed["auto_clean_plate"], parsed["screen_color"]) == (
        0.35, "green", False, (0.1, 0.6, 0.2))
    assert shlex.split(shlex.join(argv)) == argv


def test_missing_inputs_are_an_artist_message_and_mattes_are_optional() -> None:
    with pytest.raises(commands.AdapterError, match="input.s.: Source$"):
        commands.render_argv("changer", {"Target": "t.####.exr"}, "o.####.exr", None, [])
    argv = commands.render_argv("changer", {"Target": "t.####.exr", "Source": "s.####.exr"}, "o.####.exr", None, [])
    options = RenderOptions.from_args(parse_args(argv[1:]))
    assert options.target_matte is None and options.source_matte is None


def test_params_come_from_changers_own_python(monkeypatch: pytest.MonkeyPatch) -> None:
    exe = shutil.which("changer", path=str(Path(sys.executable).parent))
    assert exe
    monkeypatch.setenv(commands.CHANGER_EXE_ENV, exe)
    assert [p["name"] for p in commands.params_from_changer()] == [p.name for p in PARAMS]


def test_nuke_side_modules_do_not_import_torch() -> None:
    code = ("import sys; from changer.plugin.hosts.nuke import knobs, commands; "
            "print([m for m in ('torch', 'OpenImageIO', 'PyOpenColorIO') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr


def test_changer_export_writes_the_inference_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weights = save_tiny_weights(tmp_path)
    assert main(["export", "--out", str(tmp_path / "changer.pt"), "--weights", str(weights), "--tau", "0.3"]) == 0
    assert (tmp_path / "changer.pt").stat().st_size > 0 and "wrote" in capsys.readouterr().out
    assert main(["export", "--out", str(tmp_path / "bad.pt"), "--weights", str(weights), "--tau", "1.5"]) == 2
