"""`changer render` on bad input: a clear one-line error naming the clip/frame/param, exit 2, and every
frame already on disk left byte for byte as it was (a table of cases through the real CLI)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from changer.core.io import host_tag, read_image, write_image
from changer.plugin.commands.main import EXIT_USER_ERROR, main
from node_shot import Shot, write_shot

OUT = "comp.####.exr"


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Shot:
    return write_shot(tmp_path_factory.mktemp("shot") / "shot")


@pytest.fixture(scope="module")
def good_frames(shot: Shot, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Frames 1-2 of a good render: the 'earlier output' every bad run must leave untouched."""
    out = tmp_path_factory.mktemp("good")
    assert main(shot.argv(out / OUT, "--frames", "1-2")) == 0
    return out


def _setup(shot: Shot, good: Path, tmp_path: Path) -> tuple[Shot, Path]:
    case_shot = Shot(shutil.copytree(shot.folder, tmp_path / "shot", ignore=shutil.ignore_patterns("tiny.*")),
                     shot.frames, shot.weights)
    return case_shot, shutil.copytree(good, tmp_path / "out")


def _on_disk(folder: Path) -> dict[str, bytes]:
    """Every file in ``folder`` (hidden ones included) and its bytes."""
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _plate(shot: Shot, stem: str, frame: int) -> torch.Tensor:
    return read_image(shot.path(stem, frame))[0]


def _poke(shot: Shot, stem: str, frame: int, value: float) -> None:
    image = _plate(shot, stem, frame)
    image[:, 5, 7] = value
    write_image(shot.path(stem, frame), image)


def _fill(shot: Shot, stem: str, frame: int, value: float) -> None:
    write_image(shot.path(stem, frame), torch.full_like(_plate(shot, stem, frame), value))


def _resize_all(shot: Shot, stem: str, size: tuple[int, int], frames: range) -> None:
    for frame in frames:
        write_image(shot.path(stem, frame), torch.rand(1 if stem.endswith("matte") else 3, size[1], size[0]))


def _weights_copy(shot: Shot, tmp: Path, damage: Callable[[Path], None] | None = None, card: bool = True) -> str:
    target = tmp / "w" / "copy.safetensors"
    target.parent.mkdir()
    shutil.copy(shot.weights, target)
    if card:
        shutil.copy(shot.weights.with_suffix(".json"), target.with_suffix(".json"))
    if damage:
        damage(target)
    return str(target)


def _truncate(path: Path, share: float = 0.6) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])


def _toml(tmp: Path, text: str) -> str:
    path = tmp / "shot.toml"
    path.write_text(text)
    return str(path)


def _drop(argv: list[str], flag: str) -> list[str]:
    i = argv.index(flag)
    return argv[:i] + argv[i + 2:]


def _foreign_frame(out: Path, frame: int) -> None:
    """A valid RGBA EXR at the shot's size, written by 'another program' (no CHANGER params hash)."""
    write_image(out / f"comp.{frame:04d}.exr", torch.rand(4, 64, 64), channel_names=["R", "G", "B", "A"])


def _shrink_plates(shot: Shot) -> None:
    """A proxy shot: every plate and matte at half size."""
    for stem in ("target", "source", "tmatte", "smatte"):
        for frame in range(1, shot.frames + 1):
            image = _plate(shot, stem, frame)
            write_image(shot.path(stem, frame), torch.nn.functional.avg_pool2d(image[None], 2)[0])


def _lock(out: Path, frame: int, host: str, pid: int) -> None:
    (out / f".comp.{frame:04d}.exr.lock").write_text(json.dumps(
        {"host": host, "pid": pid, "started": "2026-11-30T09:00:00+00:00", "token": "feedc0de"}))


def _card_edit(**config: object) -> Callable[[Path], None]:
    def edit(weights: Path) -> None:
        card = weights.with_suffix(".json")
        data = json.loads(card.read_text())
        data["config"].update(config)
        card.write_text(json.dumps(data))
    return edit


Case = Callable[[Shot, Path, Path], list[str]]
CASES: list[tuple[str, Case, list[str]]] = [
    ("missing_frame", lambda s, o, t: (s.path("target", 2).unlink(), s.argv(o / OUT))[1],
     ["clip Target", "missing frames 2"]),
    ("missing_matte_frame", lambda s, o, t: (s.path("smatte", 3).unlink(), s.argv(o / OUT))[1],
     ["clip SourceHeadMatte", "missing frames 3"]),
    ("corrupt_exr", lambda s, o, t: (s.path("source", 2).write_bytes(b"\x76\x2f\x31\x01" + b"garbage" * 40),
                                     s.argv(o / OUT))[1], ["clip Source", "source.0002.exr"]),
    ("truncated_exr", lambda s, o, t: (_truncate(s.path("target", 3)), s.argv(o / OUT))[1],
     ["Target", "frame 3", "target.0003.exr"]),
    ("clip_sizes_disagree", lambda s, o, t: (_resize_all(s, "tmatte", (96, 64), range(1, 4)), s.argv(o / OUT))[1],
     ["clip sizes disagree", "TargetHeadMatte is 96x64", "Target is 64x64"]),
    ("source_matte_size_is_not_the_sources", lambda s, o, t: (_resize_all(s, "smatte", (96, 64), range(1, 4)),
                                                              s.argv(o / OUT))[1],
     ["clip sizes disagree", "SourceHeadMatte is 96x64", "Source is 64x64"]),
    ("other_size_source_without_alignment", lambda s, o, t: ([_resize_all(s, c, (96, 64), range(1, 4))
                                                              for c in ("source", "smatte")],
                                                             s.argv(o / OUT, "--set", "alignment=none"))[1],
     ["alignment=none", "Source is 96x64", "Target is 64x64", "alignment=auto"]),
    ("resolution_changes", lambda s, o, t: (_resize_all(s, "target", (96, 64), range(2, 3)), s.argv(o / OUT))[1],
     ["clip Target", "resolution changes", "frame 2"]),
    ("one_channel_plate", lambda s, o, t: ([write_image(s.path("target", f), torch.rand(1, 64, 64)) for f in (1, 2, 3)],
                                           s.argv(o / OUT))[1], ["clip Target", "1 channel(s)", "expected R, G and B"]),
    ("two_channel_plate", lambda s, o, t: ([write_image(s.path("source", f), torch.rand(2, 64, 64),
                                                        channel_names=["R", "G"]) for f in (1, 2, 3)],
                                           s.argv(o / OUT))[1],
     ["clip Source", "2 channel(s)", "expected R, G and B"]),
    ("nan_pixels", lambda s, o, t: (_poke(s, "target", 3, float("nan")), s.argv(o / OUT))[1],
     ["frame 3", "clip Target", "NaN"]),
    ("inf_matte", lambda s, o, t: (_poke(s, "tmatte", 3, float("inf")), s.argv(o / OUT))[1],
     ["frame 3", "clip TargetHeadMatte", "infinite"]),
    ("empty_matte", lambda s, o, t: (_fill(s, "smatte", 3, 0.0), s.argv(o / OUT))[1],
     ["frame 3", "clip SourceHeadMatte", "empty", "on_empty_matte"]),
    ("full_frame_matte", lambda s, o, t: (_fill(s, "tmatte", 3, 1.0), s.argv(o / OUT))[1],
     ["frame 3", "clip TargetHeadMatte", "covers 100.0%"]),
    ("tau_out_of_range", lambda s, o, t: s.argv(o / OUT, "--set", "tau=1.5"), ["tau=1.5", "[0, 1]"]),
    ("tau_not_a_number", lambda s, o, t: s.argv(o / OUT, "--set", "tau=high"), ["tau='high'", "expected a number"]),
    ("unknown_param", lambda s, o, t: s.argv(o / OUT, "--set", "tua=0.4"), ["unknown param 'tua'", "did you mean tau"]),
    ("unknown_colourspace", lambda s, o, t: s.argv(o / OUT, "--working-space", "ACEScgg"), ["ACEScgg", "ACEScg"]),
    ("display_referred_working_space", lambda s, o, t: s.argv(o / OUT, "--working-space", "sRGB - Texture"),
     ["working space 'sRGB - Texture'", "not scene-linear", "ACEScg"]),
    ("missing_ocio_config", lambda s, o, t: s.argv(o / OUT, "--ocio-config", "/nope/config.ocio"),
     ["/nope/config.ocio", "not an existing file"]),
    ("unwritable_output_folder", lambda s, o, t: ((t / "file").write_text("x"), s.argv(t / "file" / "sub" / OUT))[1],
     ["cannot write into folder", "file/sub"]),
    ("output_equals_input", lambda s, o, t: s.argv(s.pattern("target")), ["would overwrite clip Target", "frame 1"]),
    ("truncated_weights", lambda s, o, t: s.argv(o / OUT, "--set", f"weights={_weights_copy(s, t, _truncate)}"),
     ["copy.safetensors", "not a complete .safetensors file"]),
    ("not_safetensors_weights", lambda s, o, t: s.argv(o / OUT, "--set", "weights=" + _weights_copy(
        s, t, lambda p: p.write_text(json.dumps({"not": "weights"})))),
     ["copy.safetensors", "not a complete .safetensors"]),
    ("weights_without_card", lambda s, o, t: s.argv(o / OUT, "--set", f"weights={_weights_copy(s, t, card=False)}"),
     ["copy.json", "JSON card"]),
    ("missing_weights_file", lambda s, o, t: s.argv(o / OUT, "--set", "weights=/nope/w.safetensors"),
     ["/nope/w.safetensors", "no such file"]),
    ("bad_frame_range", lambda s, o, t: s.argv(o / OUT, "--frames", "5-2"), ["'5-2'", "ends before it starts"]),
    ("frames_not_on_disk", lambda s, o, t: s.argv(o / OUT, "--frames", "1-5"), ["clip Target", "missing frames 4-5"]),
    ("bad_toml", lambda s, o, t: s.argv(o / OUT, "--config", _toml(t, "tau = \n")), ["shot.toml", "not valid TOML"]),
    ("toml_unknown_key", lambda s, o, t: s.argv(o / OUT, "--config", _toml(t, "tua = 0.4\n")),
     ["shot.toml", "unknown param 'tua'"]),
    ("toml_out_of_range", lambda s, o, t: s.argv(o / OUT, "--config", _toml(t, "seam_feather = -1\n")),
     ["shot.toml", "seam_feather=-1.0", "out of range"]),
    ("out_without_frame_token", lambda s, o, t: s.argv(o / "comp.exr"), ["comp.exr", "no frame token"]),
    ("earlier_output_other_params", lambda s, o, t: s.argv(o / OUT, "--set", "tau=0.3"),
     ["frames 1-2", "rendered with other params", "--overwrite"]),
    ("bad_compression", lambda s, o, t: s.argv(o / OUT, "--compression", "lzma"), ["--compression 'lzma'", "dwaa"]),
    ("matte_channel_missing", lambda s, o, t: s.argv(o / OUT, "--target-matte-channel", "head.A"),
     ["clip TargetHeadMatte", "no channel 'head.A'"]),
    ("missing_required_clip", lambda s, o, t: _drop(s.argv(o / OUT), "--source"),
     ["missing required option(s): --source"]),
    ("matte_channel_without_matte", lambda s, o, t: _drop(s.argv(o / OUT, "--target-matte-channel", "head.A"),
                                                            "--target-matte"),
     ["--target-matte-channel head.A: no --target-matte given"]),
    ("workers_zero", lambda s, o, t: s.argv(o / OUT, "--workers", "0"), ["--workers 0"]),
    ("clip_black_above_white", lambda s, o, t: s.argv(o / OUT, "--set", "clip_black=0.8", "--set", "clip_white=0.2"),
     ["clip_black=0.8", "clip_white=0.2"]),
    ("network_resolution_not_multiple", lambda s, o, t: s.argv(o / OUT, "--set", "network_resolution=100"),
     ["network_resolution=100", "multiple of 16"]),
    # Nothing on disk is replaced unless this render wrote it (issue 11: data loss 1, 3, 5).
    ("aovs_over_comp_frames", lambda s, o, t: s.argv(o / OUT, "--set", "output=aovs"),
     ["frames 1-2", "did not write", "--overwrite"]),
    ("proxy_plates_over_full_size_frames", lambda s, o, t: (_shrink_plates(s), s.argv(o / OUT))[1],
     ["frames 1-2", "another size", "comp.0001.exr", "--overwrite"]),
    ("frame_written_by_another_program", lambda s, o, t: (_foreign_frame(o, 3), s.argv(o / OUT))[1],
     ["frames 3", "by another program", "comp.0003.exr"]),
    ("frame_with_unreadable_header",
     lambda s, o, t: ((o / "comp.0003.exr").write_bytes(b"not an exr"), s.argv(o / OUT))[1],
     ["frames 3", "header unreadable", "--overwrite"]),
    ("other_pixel_type_than_earlier_frames", lambda s, o, t: s.argv(o / OUT, "--pixel-type", "float"),
     ["frames 1-2", "other params"]),
    ("weights_card_config_changed", lambda s, o, t: s.argv(o / OUT, "--set", "weights=" + _weights_copy(
        s, t, _card_edit(norm_groups=4))), ["frames 1-2", "other params"]),
    ("frame_locked_by_a_render_on_another_host", lambda s, o, t: (_lock(o, 3, "farm07", 4242), s.argv(o / OUT))[1],
     ["comp.0003.exr", "locked by another render", "pid 4242 on host farm07", ".comp.0003.exr.lock"]),
    ("frame_locked_by_a_live_render_here", lambda s, o, t: (_lock(o, 3, host_tag(), os.getppid()), s.argv(o / OUT))[1],
     ["comp.0003.exr", "locked by another render", f"pid {os.getppid()}"]),
    # Hangs and tracebacks turned into one line (issue 11).
    ("weights_card_fractional_depth", lambda s, o, t: s.argv(o / OUT, "--set", "weights=" + _weights_copy(
        s, t, _card_edit(fpat_depth=2.5))), ["copy.json", "fpat_depth", "2.5"]),
    ("weights_card_million_wide_layers", lambda s, o, t: s.argv(o / OUT, "--set", "weights=" + _weights_copy(
        s, t, _card_edit(fpat_dim=1_000_000))), ["copy.json", "fpat_dim", "1000000"]),
    ("two_billion_frames", lambda s, o, t: s.argv(o / OUT, "--frames", "1-2000000000"),
     ["1-2000000000", "up to 999999999"]),
    ("hundred_million_frames", lambda s, o, t: s.argv(o / OUT, "--frames", "1-100000000"),
     ["1-100000000", "more than 100000 frames"]),
    ("five_thousand_digit_frame", lambda s, o, t: s.argv(o / OUT, "--frames", "7" * 5000),
     ["invalid frame range", "(5002 characters)", "up to 999999999"]),
    ("missing_out", lambda s, o, t: _drop(s.argv(o / OUT), "--out"), ["missing required option(s): --out"]),
    ("output_name_too_long_for_its_temp_name", lambda s, o, t: s.argv(o / ("c" * 200 + ".####.exr")),
     ["--out", "bytes long", "expected at most", "255"]),
    ("five_megabyte_toml_value", lambda s, o, t: s.argv(o / OUT, "--config", _toml(t, f'tau = "{"x" * 5_000_000}"\n')),
     ["shot.toml", "tau='xxxx", "(5000002 characters)", "expected a finite number"]),
    ("five_megabyte_set_value", lambda s, o, t: s.argv(o / OUT, "--set", "working_space=" + "y" * 5_000_000),
     ["unknown colourspace", "(5000002 characters)"]),
]


@pytest.mark.parametrize(("make_argv", "expected"), [pytest.param(f, e, id=i) for i, f, e in CASES])
def test_bad_input_is_one_clear_line_and_loses_nothing(
    shot: Shot, good_frames: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    make_argv: Case, expected: list[str],
) -> None:
    case_shot, out = _setup(shot, good_frames, tmp_path)
    argv = make_argv(case_shot, out, tmp_path)
    before = _on_disk(out)
    capsys.readouterr()
    assert main(argv) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("changer render: error: ")
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    assert _on_disk(out) == before, "earlier output changed"


def test_table_has_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20


def test_no_error_line_is_longer_than_a_screenful(shot: Shot, good_frames: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("five_megabyte_toml_value", "five_megabyte_set_value", "five_thousand_digit_frame"):
        make_argv = next(f for i, f, _ in CASES if i == name)
        case_shot, out = _setup(shot, good_frames, tmp_path / name)
        capsys.readouterr()
        assert main(make_argv(case_shot, out, tmp_path / name)) == EXIT_USER_ERROR
        assert len(capsys.readouterr().err) < 1000, name


def test_a_failing_frame_keeps_the_frames_rendered_before_it(shot: Shot, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    case_shot = shot.copy(tmp_path / "shot")
    _poke(case_shot, "source", 3, float("nan"))
    out = tmp_path / "out"
    assert main(case_shot.argv(out / OUT)) == EXIT_USER_ERROR
    assert "frame 3" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["comp.0001.exr", "comp.0002.exr"]

    for frame in (1, 2):
        pixels, meta = read_image(out / f"comp.{frame:04d}.exr")
        assert {"R", "G", "B", "A", "matte.A", "M.A", "ip.A"} <= set(meta.channel_names)
        assert torch.isfinite(pixels).all()


@pytest.mark.parametrize(("case", "expected"), [("unknown_param", "did you mean tau"),
                                                ("missing_frame", "missing frames 2")])
def test_bad_input_as_a_real_subprocess(shot: Shot, good_frames: Path, tmp_path: Path, case: str,
                                        expected: str) -> None:
    exe = shutil.which("changer", path=str(Path(sys.executable).parent))
    assert exe
    make_argv = next(f for i, f, _ in CASES if i == case)
    case_shot, out = _setup(shot, good_frames, tmp_path)
    argv = make_argv(case_shot, out, tmp_path)
    before = _on_disk(out)
    proc = subprocess.run([exe, *argv], capture_output=True, text=True, timeout=300)
    assert proc.returncode == EXIT_USER_ERROR
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert _on_disk(out) == before
