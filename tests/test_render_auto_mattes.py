"""`changer render` from plates alone: the head mattes made by a tracked pre-pass (`changer mattes` into a hidden
folder beside the output), resumed by their own digest; the refusals (no `auto` extra, no face) in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from auto_shot import FACE_SIZE, needs_models, no_mediapipe
from changer.core.color import from_network
from changer.core.headmatte import EXTRA_INSTALL
from changer.core.headmatte.face_models import face_models
from changer.core.io import read_image, write_image
from changer.plugin.commands.main import EXIT_USER_ERROR, main
from changer.plugin.hosts.auto_mattes import AUTO_FOLDER
from node_shot import Shot, write_shot


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Shot:
    """Three 160x160 studio frames whose faces (about 40 px high) the face models find."""
    return write_shot(tmp_path_factory.mktemp("auto") / "shot", size=FACE_SIZE)


def _frames(pattern: Path, count: int = 3) -> list[torch.Tensor]:
    return [read_image(str(pattern).replace("####", f"{f:04d}"))[0] for f in range(1, count + 1)]


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "changer.plugin.commands", *argv], capture_output=True, text=True,
                          timeout=300)


@needs_models
def test_plates_alone_render_what_changer_mattes_mattes_render(shot: Shot, tmp_path: Path) -> None:
    """The render without mattes is bit-identical (tolerance 0) to the render with the mattes `changer mattes`
    writes: the pre-pass is that job, tracker and all. Its mattes are the studio's heads (IoU ≥ 0.94)."""
    auto = tmp_path / "auto" / "comp.####.exr"
    proc = _run(*shot.argv(auto, mattes=False))
    assert proc.returncode == 0, proc.stderr
    assert "rendered 3 frame(s)" in proc.stdout
    assert "TargetHeadMatte (automatic): wrote 3 head matte frame(s)" in proc.stdout
    for head, plate in (("target", "target"), ("source", "source")):
        out = tmp_path / "mattes" / f"{head}.####.exr"
        assert main(["mattes", "--plate", shot.pattern(plate), "--role", head, "--out", str(out),
                     "--no-progress"]) == 0
    given = tmp_path / "given" / "comp.####.exr"
    assert main([*shot.argv(given, mattes=False), "--target-matte", str(tmp_path / "mattes" / "target.####.exr"),
                 "--source-matte", str(tmp_path / "mattes" / "source.####.exr")]) == 0
    for a, b in zip(_frames(auto), _frames(given), strict=True):
        assert torch.equal(a, b)
    (made,) = (auto.parent / AUTO_FOLDER).glob("comp.target-*")
    matte = read_image(made / "target.0002.exr")[0]
    truth = read_image(shot.path("tmatte", 2))[0]
    pred, want = matte[0] >= 0.5, truth[0] > 0.5
    assert float((pred & want).sum() / (pred | want).sum()) >= 0.94


@needs_models
def test_a_rerun_resumes_and_other_auto_settings_render_again(shot: Shot, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "comp.####.exr"
    assert main(shot.argv(out, "--frames", "1-2", mattes=False)) == 0
    assert main(shot.argv(out, "--frames", "1-2", mattes=False)) == 0
    assert "nothing to render" in capsys.readouterr().out
    assert main(shot.argv(out, "--frames", "1-2", "--set", "auto_matte_neck_offset=3", mattes=False)) == \
        EXIT_USER_ERROR, "frames rendered with other automatic mattes are not silently replaced"
    assert "--overwrite" in capsys.readouterr().err
    assert len(list((tmp_path / AUTO_FOLDER).iterdir())) == 2, "one folder per head; another setting, another"


@needs_models
def test_other_plates_into_the_same_output_make_their_own_mattes(shot: Shot, tmp_path: Path) -> None:
    """The mattes' folder is keyed by the plate too: another shot rendered into the same output folder does not
    resume the first shot's mattes."""
    out = tmp_path / "comp.####.exr"
    assert main(shot.argv(out, "--frames", "1", mattes=False)) == 0
    other = shot.copy(tmp_path / "other")
    assert main(other.argv(out, "--frames", "1", "--overwrite", mattes=False)) == 0
    assert len(list((tmp_path / AUTO_FOLDER).iterdir())) == 4, "two heads, two shots"


def test_without_the_extra_plates_alone_are_refused_naming_clips_and_extra(
        shot: Shot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    no_mediapipe(monkeypatch)
    out = tmp_path / "out" / "comp.####.exr"
    assert main(shot.argv(out, "--target-matte", shot.pattern("tmatte"), mattes=False)) == EXIT_USER_ERROR
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("changer render: error: clip SourceHeadMatte (no --source-matte given): automatic head "
                           f"mattes need the optional face models: {EXTRA_INSTALL}")
    assert not out.parent.exists(), "nothing is written"
    face_models.cache_clear()


@needs_models
def test_a_plate_without_a_face_is_refused_in_one_line_naming_clip_and_frame(shot: Shot, tmp_path: Path) -> None:
    bare = shot.copy(tmp_path / "shot")
    green = from_network(torch.tensor([0.1, 0.6, 0.1]).view(3, 1, 1).expand(3, *FACE_SIZE[::-1]).contiguous())
    write_image(bare.path("source", 2), green)
    out = tmp_path / "out" / "comp.####.exr"
    proc = _run(*bare.argv(out, "--set", "matte_combine=add"))
    assert proc.returncode == EXIT_USER_ERROR
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"changer render: error: SourceHeadMatte (automatic): frame 2 ({bare.path('source', 2)}): "
                           "no face found in the plate")
    assert not list(out.parent.glob("comp.*.exr")), "no frame is rendered before every matte is made"
