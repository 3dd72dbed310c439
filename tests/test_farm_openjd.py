"""`changer farm --engine openjd`: the template validates with openjd-model and `openjd check`, and `openjd run`
(every task, then the verify step) renders frames identical to a plain `changer render`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from changer.plugin.commands.main import main
from farm_shot import OUT, assert_same_frames, engine_tool, farm_argv, shot_and_reference

#: A --set beyond the shot's own, to show params reaching the tasks as job parameters.
TAU = ("--set", "tau=0.3")
model = pytest.importorskip("openjd.model", reason="openjd-model is not installed (the farm extra)")


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(job folder, output folder, reference folder) of a 4-frame shot in tasks of 2 frames."""
    folder = tmp_path_factory.mktemp("openjd")
    shot, reference = shot_and_reference(folder, *TAU)
    assert main(farm_argv(shot, folder / "out" / OUT, "openjd", 2, folder / "job", *TAU)) == 0
    return folder / "job", folder / "out", reference


def test_the_template_validates_and_chunks_the_frames(job: tuple[Path, Path, Path]) -> None:
    job_dir, _, _ = job
    template = json.loads((job_dir / "template.json").read_text())
    decoded = model.decode_job_template(template=template)
    assert [step.name for step in decoded.steps] == ["Render", "Verify"]
    frames = decoded.steps[0].parameterSpace.taskParameterDefinitions[0]
    assert (frames.name, list(frames.range)) == ("Frames", ["1-2", "3-4"])
    values = json.loads((job_dir / "params.json").read_text())
    assert values["tau"] == "0.3" and Path(values["Out"]).is_absolute() and Path(values["ChangerPython"]).is_file()
    deadline = json.loads((job_dir / "parameter_values.json").read_text())["parameterValues"]
    assert {item["name"]: item["value"] for item in deadline} == values
    assert "deadline bundle submit" in (job_dir / "submit.txt").read_text()
    check = subprocess.run([engine_tool("openjd"), "check", str(job_dir / "template.json")],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


def test_openjd_run_renders_what_changer_render_does(job: tuple[Path, Path, Path]) -> None:
    job_dir, out, reference = job
    run = subprocess.run([engine_tool("openjd"), "run", str(job_dir / "template.json"),
                          "-p", f"file://{job_dir / 'params.json'}"], capture_output=True, text=True, timeout=300)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]
    assert "Frames(STRING) = 1-2" in log and "Frames(STRING) = 3-4" in log
    assert "verified 4 frame(s) (1-4)" in log, "the Verify step did not run after the tasks"
    assert_same_frames(out, reference)
