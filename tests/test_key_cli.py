"""`changer key`: a plate keyed on its own through the node's keyer, with the batch host's rules
(resume by hash, --overwrite, other params refused, atomic writes), the render's key of the same plate,
and bad input as one line with exit code 2 (a table of cases through the real CLI)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from changer.core.color import from_network
from changer.core.io import read_image, read_meta, write_image
from changer.plugin.commands.main import EXIT_USER_ERROR, main
from changer.plugin.hosts.batch import PARAMS_ATTRIBUTE
from changer.training.studio import make_pair
from node_shot import TEST_RESOLUTION, Shot, write_shot

OUT = "key.####.exr"
CHANNELS = ["R", "G", "B", "A", "core.A", "edge.A", "spill.A"]
#: The render's plate alpha and the key's alpha are the same maths on the same pixels; both files are half.
ALPHA_TOLERANCE = 0.0


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Shot:
    return write_shot(tmp_path_factory.mktemp("key") / "shot")


def key_argv(shot: Shot, out: Path | str, *extra: str) -> list[str]:
    return ["key", "--plate", shot.pattern("target"), "--out", str(out), "--no-progress", *extra]


def _frame(out: Path, frame: int) -> Path:
    return out / f"key.{frame:04d}.exr"


def _check_key_frame(path: Path) -> torch.Tensor:
    """A key frame's pixels after checking its channels, alpha range, premultiplication and layers."""
    pixels, meta = read_image(path)
    assert meta.channel_names == CHANNELS
    assert meta.pixel_type == "half" and meta.attributes.get(PARAMS_ATTRIBUTE)
    rgb, alpha, core, edge, spill = pixels[:3], pixels[3], pixels[4], pixels[5], pixels[6]
    assert torch.isfinite(pixels).all()
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert 0.0 < alpha.mean() < 1.0, "a studio plate has both subject and screen"
    assert (rgb >= 0).all() and (rgb <= alpha * rgb.max()).all(), "RGB is premultiplied by alpha"
    assert (rgb[:, alpha == 0] == 0).all()
    for layer in (core, edge):
        assert layer.min() >= 0.0 and layer.max() <= 1.0
    assert ((edge > 0.0) & (edge < 1.0)).any(), "the detail key keeps partial alpha (hair, soft edges)"
    assert (alpha <= core + edge + 2e-3).all(), "alpha is the detail key plus what the core added (or less)"
    assert (core[alpha == 0] == 0).all()
    assert (spill >= 0).all() and spill.max() > 0, "the studio plate has spill on the subject"
    return pixels


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_real_subprocess_keys_the_sequence(shot: Shot, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "changer.plugin.commands", *key_argv(shot, out / OUT)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "rendered 3 frame(s)" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == [f"key.{f:04d}.exr" for f in (1, 2, 3)]
    for frame in (1, 2, 3):
        _check_key_frame(_frame(out, frame))


def test_resume_overwrite_and_other_params(shot: Shot, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(key_argv(shot, out / OUT, "--frames", "1-2")) == 0
    assert "rendered 2 frame(s)" in capsys.readouterr().out
    before = {f: _frame(out, f).stat().st_mtime_ns for f in (1, 2)}

    assert main(key_argv(shot, out / OUT)) == 0  # frames 1-2 are this key's: only 3 is keyed
    assert "rendered 1 frame(s) (3), skipped 2 complete" in capsys.readouterr().out
    assert main(key_argv(shot, out / OUT)) == 0
    assert "nothing to key: all 3 frame(s)" in capsys.readouterr().out
    assert {f: _frame(out, f).stat().st_mtime_ns for f in (1, 2)} == before

    assert main(key_argv(shot, out / OUT, "--set", "clip_white=0.8")) == EXIT_USER_ERROR
    assert "frames 1-3: rendered with other params" in capsys.readouterr().err
    assert {f: _frame(out, f).stat().st_mtime_ns for f in (1, 2)} == before

    assert main(key_argv(shot, out / OUT, "--set", "clip_white=0.8", "--overwrite", "--pixel-type", "float")) == 0
    assert "rendered 3 frame(s)" in capsys.readouterr().out
    assert read_meta(_frame(out, 2)).pixel_type == "float"
    assert _hidden(out) == [], "no temp file or lock is left behind"


def test_alpha_is_the_renders_plate_alpha(shot: Shot, tmp_path: Path) -> None:
    """The same plate, keyer params and colour give the render's `alpha` layer, bit for bit (ALPHA_TOLERANCE);
    the shot file's params that a key does not read are ignored."""
    config = tmp_path / "shot.toml"
    config.write_text(f'clip_white = 0.9\ndespill_protect = 0.4\noutput = "aovs"\ntau = 0.3\n'
                      f'weights = "{shot.weights}"\nnetwork_resolution = {TEST_RESOLUTION}\n')
    assert main(["render", *shot.argv(tmp_path / "render" / "comp.####.exr", "--frames", "2",
                                      "--config", str(config))[1:]]) == 0
    assert main(key_argv(shot, tmp_path / "key" / OUT, "--frames", "2", "--config", str(config))) == 0
    rendered, meta = read_image(tmp_path / "render" / "comp.0002.exr")
    alpha = rendered[meta.channel_names.index("alpha.A")]
    keyed = _check_key_frame(_frame(tmp_path / "key", 2))
    assert (keyed[3] - alpha).abs().max() <= ALPHA_TOLERANCE


def test_a_still_keys_to_one_file_and_a_clean_screen_is_used(shot: Shot, tmp_path: Path) -> None:
    _, target = make_pair(7, (64, 64))  # the shot's frames are this pair's target
    screen = tmp_path / "screen.exr"
    write_image(screen, from_network(target.screen[None])[0])
    still = str(shot.path("target", 1))
    assert main(["key", "--plate", still, "--out", str(tmp_path / "still.exr"), "--no-progress"]) == 0
    assert main(["key", "--plate", still, "--clean-screen", str(screen), "--out", str(tmp_path / "clean.exr"),
                 "--no-progress"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.exr", "screen.exr", "still.exr"]
    plain, clean = (_check_key_frame(tmp_path / name) for name in ("still.exr", "clean.exr"))
    assert not torch.equal(plain[3], clean[3]), "the clean screen changes the key"


def test_despill_off_means_no_spill(shot: Shot, tmp_path: Path) -> None:
    assert main(key_argv(shot, tmp_path / OUT, "--frames", "1", "--set", "despill=0")) == 0
    assert read_image(_frame(tmp_path, 1), channels=["spill.A"])[0].abs().max() == 0


def test_two_workers_key_what_one_does(shot: Shot, tmp_path: Path) -> None:
    assert main(key_argv(shot, tmp_path / "one" / OUT, "--frames", "1-2")) == 0
    assert main(key_argv(shot, tmp_path / "two" / OUT, "--frames", "1-2", "--workers", "2")) == 0
    for frame in (1, 2):
        one, two = (read_image(_frame(tmp_path / d, frame))[0] for d in ("one", "two"))
        assert torch.equal(one, two)


Case = Callable[[Shot, Path], list[str]]
CASES: list[tuple[str, Case, list[str]]] = [
    ("missing_plate", lambda s, o: ["key", "--plate", str(s.folder / "nope.####.exr"), "--out", str(o / OUT)],
     ["clip Target", "no frames of", "nope.####.exr"]),
    ("missing_still_plate", lambda s, o: ["key", "--plate", str(s.folder / "nope.exr"), "--out", str(o / "k.exr")],
     ["clip Target", "nope.exr", "missing frames 1"]),
    ("missing_plate_frame", lambda s, o: key_argv(s, o / OUT, "--frames", "1-5"),
     ["clip Target", "missing frames 4-5"]),
    ("no_plate", lambda s, o: ["key", "--out", str(o / OUT)], ["missing required option(s): --plate"]),
    ("bad_frame_range", lambda s, o: key_argv(s, o / OUT, "--frames", "5-2"), ["'5-2'", "ends before it starts"]),
    ("unknown_param", lambda s, o: key_argv(s, o / OUT, "--set", "clip_whit=0.9"),
     ["unknown param 'clip_whit'", "did you mean clip_white"]),
    ("non_keyer_param", lambda s, o: key_argv(s, o / OUT, "--set", "tau=0.4"),
     ["--set tau", "changer key reads only the keyer's params"]),
    ("out_of_range", lambda s, o: key_argv(s, o / OUT, "--set", "despill=2"), ["despill=2.0", "[0, 1]"]),
    ("out_without_frame_token", lambda s, o: key_argv(s, o / "key.exr"), ["key.exr", "no frame token"]),
    ("out_not_exr", lambda s, o: key_argv(s, o / "key.####.tif"), ["key.####.tif", "expected an .exr"]),
    ("out_is_the_plate", lambda s, o: key_argv(s, s.pattern("target")), ["would overwrite clip Target", "frame 1"]),
    ("still_with_many_frames", lambda s, o: ["key", "--plate", str(s.path("target", 1)), "--out", str(o / OUT),
                                             "--frames", "1-3"], ["--frames '1-3'", "is a still"]),
    ("earlier_frames_other_params", lambda s, o: key_argv(s, o / OUT, "--set", "screen_gain=1.2"),
     ["frames 1-2", "rendered with other params", "--overwrite"]),
    ("earlier_frames_other_pixel_type", lambda s, o: key_argv(s, o / OUT, "--pixel-type", "float"),
     ["frames 1-2", "other params"]),
    ("bad_toml", lambda s, o: key_argv(s, o / OUT, "--config", str(_toml(o, "clip_white = \n"))),
     ["shot.toml", "not valid TOML"]),
    ("unknown_colourspace", lambda s, o: key_argv(s, o / OUT, "--working-space", "ACEScgg"), ["ACEScgg", "ACEScg"]),
    ("bad_compression", lambda s, o: key_argv(s, o / OUT, "--compression", "lzma"), ["--compression 'lzma'"]),
]


def _toml(folder: Path, text: str) -> Path:
    path = folder.parent / "shot.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def good_key(shot: Shot, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Frames 1-2 of a good key: the 'earlier output' every bad run must leave untouched."""
    out = tmp_path_factory.mktemp("good") / "out"
    assert main(key_argv(shot, out / OUT, "--frames", "1-2")) == 0
    return out


@pytest.mark.parametrize(("make_argv", "expected"), [pytest.param(f, e, id=i) for i, f, e in CASES])
def test_bad_input_is_one_clear_line_and_loses_nothing(shot: Shot, good_key: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str], make_argv: Case,
                                                       expected: list[str]) -> None:
    before = {p.name: p.read_bytes() for p in good_key.iterdir()}
    capsys.readouterr()
    assert main(make_argv(shot, good_key)) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("changer key: error: ")
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    assert {p.name: p.read_bytes() for p in good_key.iterdir()} == before, "earlier output changed"
