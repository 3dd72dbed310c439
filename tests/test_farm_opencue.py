"""`changer farm --engine opencue`: pyoutline serialises the job spec without a Cuebot, and its layers' commands,
run by a loop that does what Cuebot and RQD do (a chunk's frames for #FRAMESPEC#, a shell's word splitting),
render frames identical to a plain `changer render`, then verify them."""

from __future__ import annotations

import shlex
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from changer.plugin.commands.main import main
from farm_shot import OUT, assert_same_frames, farm_argv, shot_and_reference

FileSequence = pytest.importorskip("FileSequence", reason="opencue-pycue is not installed (the farm extra)")
pytest.importorskip("outline", reason="opencue-pyoutline is not installed (the farm extra)")


def _chunk_specs(frame_range: str, chunk: int) -> list[str]:
    """Cuebot's #FRAMESPEC# for each chunk of a layer (contiguous chunks: ``first-last``)."""
    frames = list(FileSequence.FrameSet(frame_range))
    chunks = [frames[i:i + chunk] for i in range(0, len(frames), chunk)]
    return [f"{c[0]}-{c[-1]}" if len(c) > 1 else str(c[0]) for c in chunks]


def test_the_spec_runs_like_cuebot_would_and_matches_changer_render(tmp_path: Path) -> None:
    shot, reference = shot_and_reference(tmp_path)
    job_dir = tmp_path / "job"
    assert main(farm_argv(shot, tmp_path / "out" / OUT, "opencue", 2, job_dir,
                          "--service", "changer", "--show", "testing", "--shot", "sh010")) == 0
    text = (job_dir / "job.xml").read_text()
    assert "cjsl-1.15.dtd" in text.split("<spec>")[0], "no OpenCue spec DOCTYPE"
    spec = ET.fromstring(text)
    assert [e.tag for e in spec][:6] == ["facility", "show", "shot", "user", "email", "uid"]
    assert (spec.findtext("show"), spec.findtext("shot")) == ("testing", "sh010")
    job = spec.find("job")
    assert job is not None and job.findtext("maxretries") == "2"
    layers = {layer.get("name"): layer for layer in job.iter("layer")}
    assert list(layers) == ["render", "verify"]
    render = layers["render"]
    assert (render.findtext("range"), render.findtext("chunk"), render.findtext("cores")) == ("1-4", "2", "1.0")
    assert render.findtext("memory").endswith("g") and render.findtext("services/service") == "changer"
    depend = spec.find("depends/depend")
    assert (depend.findtext("deplayer"), depend.findtext("onlayer")) == ("verify", "render")

    for name in ("render", "verify"):  # the dependency's order
        layer = layers[name]
        for frames in _chunk_specs(layer.findtext("range"), int(layer.findtext("chunk"))):
            argv = shlex.split(layer.findtext("cmd").replace("#FRAMESPEC#", frames))
            done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"{name} {frames}: {done.stderr[-3000:]}"
    assert "verified 4 frame(s)" in done.stdout
    assert_same_frames(tmp_path / "out", reference)
