"""`changer render` doing its job: output layers, bit-identity outside the crop, resume after SIGKILL,
farm chunks, worker processes."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from changer.core.color import from_network, to_network
from changer.core.io import host_tag, read_image, read_meta, remove_stale_temp_files, write_image
from changer.plugin.commands.main import main, parse_args
from changer.plugin.hosts.batch import CROP_ATTRIBUTE, PARAMS_ATTRIBUTE, resolve_render_params
from changer.plugin.hosts.options import RenderOptions
from node_shot import Shot, write_shot

OUT = "comp.####.exr"


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Shot:
    return write_shot(tmp_path_factory.mktemp("render") / "shot")


def _pixels(path: Path) -> torch.Tensor:
    return read_image(path)[0]


def test_output_has_rgba_and_layers_and_resumes(shot: Shot, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / OUT
    assert main(shot.argv(out)) == 0
    assert "rendered 3 frame(s)" in capsys.readouterr().out
    meta = read_meta(tmp_path / "comp.0001.exr")
    assert meta.channel_names[:4] == ["R", "G", "B", "A"]
    assert {"matte.A", "M.A", "ip.A"} <= set(meta.channel_names)
    assert meta.pixel_type == "half" and meta.attributes.get(PARAMS_ATTRIBUTE)
    before = (tmp_path / "comp.0002.exr").stat().st_mtime_ns
    assert main(shot.argv(out)) == 0
    assert "nothing to render" in capsys.readouterr().out
    assert (tmp_path / "comp.0002.exr").stat().st_mtime_ns == before
    assert main(shot.argv(out, "--overwrite", "--frames", "2", "--pixel-type", "float")) == 0
    assert read_meta(tmp_path / "comp.0002.exr").pixel_type == "float"


def test_pixels_outside_the_crop_are_the_plates_bits_hdr_included(shot: Shot, tmp_path: Path) -> None:
    hdr = shot.copy(tmp_path / "shot")
    plate = read_image(hdr.path("target", 1))[0]
    plate[:, 60:64, 0:4] = torch.tensor([4.0, 17.5, 250.0]).view(3, 1, 1)  # HDR highlights in a corner
    write_image(hdr.path("target", 1), plate)
    out = tmp_path / "out" / OUT
    assert main(hdr.argv(out, "--frames", "1", "--set", "output=green", "--set", "crop_padding=0")) == 0
    result, meta = read_image(tmp_path / "out" / "comp.0001.exr")
    x0, y0, x1, y1 = (int(v) for v in meta.attributes[CROP_ATTRIBUTE].split())
    outside = torch.ones(64, 64, dtype=torch.bool)
    outside[max(y0, 0):y1, max(x0, 0):x1] = False
    assert outside[60:64, 0:4].all(), "the HDR patch must lie outside the crop for this test"
    source = read_image(hdr.path("target", 1))[0]
    assert torch.equal(result[:3][:, outside], source[:, outside])
    assert torch.equal(result[:3, 60:64, 0:4], source[:, 60:64, 0:4])


def test_print_chunks_gives_one_parsable_command_per_chunk(shot: Shot, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "shot.toml"
    config.write_text('output = "green"\ntau = 0.1\n')
    argv = shot.argv(tmp_path / "out" / OUT, "--config", str(config), "--set", "tau=0.25", "--print-chunks", "2")
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert not any((tmp_path / "out").glob("*.exr")), "--print-chunks renders nothing"
    options = [RenderOptions.from_args(parse_args(shlex.split(line)[1:])) for line in lines]
    assert [o.frames for o in options] == ["1-2", "3"]
    assert all(o.target == shot.pattern("target") and o.config == str(config) for o in options)
    params = resolve_render_params(options[0])
    assert (params["tau"], params["output"]) == (0.25, "green")  # --set wins over --config


def test_two_worker_processes_render_bit_for_bit_what_one_does(shot: Shot, tmp_path: Path) -> None:
    """The worker count is not in the params hash, so it must not change a pixel (issue 11, data loss 5)."""
    big = write_shot(tmp_path / "shot", frames=2, size=(192, 160))
    assert main(big.argv(tmp_path / "one" / OUT, "--pixel-type", "float")) == 0
    assert main(big.argv(tmp_path / "two" / OUT, "--pixel-type", "float", "--workers", "2")) == 0
    for frame in (1, 2):
        one, two = (_pixels(tmp_path / d / f"comp.{frame:04d}.exr") for d in ("one", "two"))
        assert torch.equal(one, two)
    # and a resume with another worker count takes the frames as its own
    assert main(big.argv(tmp_path / "two" / OUT, "--pixel-type", "float")) == 0


def test_sigkill_mid_sequence_then_rerun_matches_an_uninterrupted_render(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    long_shot = write_shot(tmp_path / "shot", frames=8, size=(96, 96))
    extra: tuple[str, ...] = ()
    assert main(long_shot.argv(tmp_path / "ref" / OUT, *extra)) == 0
    out_dir = tmp_path / "killed"
    argv = [sys.executable, "-m", "changer.plugin.commands", *long_shot.argv(out_dir / OUT, *extra)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    done: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        done = sorted(out_dir.glob("comp.*.exr")) if out_dir.is_dir() else []
        if len(done) >= 2:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the render was not killed mid-sequence: {proc.stderr.read()}"
    assert 2 <= len(done) < 8
    capsys.readouterr()
    assert main(long_shot.argv(out_dir / OUT, *extra)) == 0
    skipped = int(re.search(r"skipped (\d+) complete", capsys.readouterr().out).group(1))
    assert len(done) <= skipped < 8
    for frame in range(1, 9):
        name = f"comp.{frame:04d}.exr"
        assert torch.equal(_pixels(out_dir / name), _pixels(tmp_path / "ref" / name))
    # Only the killed writer's temp file may remain (too young to sweep); no lock of it is left.
    hidden = [p for p in out_dir.iterdir() if p.name.startswith(".")]
    assert all(f".tmp-{host_tag()}-{proc.pid}-" in p.name for p in hidden), hidden
    assert remove_stale_temp_files(out_dir, "comp.", min_age_s=0) == hidden


def test_display_referred_png_plates_are_converted_into_the_working_space(shot: Shot, tmp_path: Path) -> None:
    """An integer-format plate (here 16-bit PNG) is sRGB-encoded Rec.709 by convention: it is converted into the
    working space on read, so it renders as the scene-linear EXR of the same picture does (to 16-bit quantisation
    and the half output), not as if its encoded values were linear."""
    pngs = tmp_path / "png"
    pngs.mkdir()
    linear = tmp_path / "linear"
    linear.mkdir()
    for stem in ("target", "source"):
        encoded = to_network(read_image(shot.path(stem, 1))[0]).clamp(0.0, 1.0)
        write_image(pngs / f"{stem}.0001.png", encoded, pixel_type="uint16")
        decoded = from_network(read_image(pngs / f"{stem}.0001.png")[0])
        write_image(linear / f"{stem}.0001.exr", decoded, pixel_type="float")
    mattes = ["--target-matte", shot.pattern("tmatte"), "--source-matte", shot.pattern("smatte"), "--frames", "1",
              "--set", f"weights={shot.weights}"]
    assert main(["render", "--target", str(pngs / "target.####.png"), "--source", str(pngs / "source.####.png"),
                 "--out", str(tmp_path / "a" / OUT), *mattes]) == 0
    assert main(["render", "--target", str(linear / "target.####.exr"), "--source", str(linear / "source.####.exr"),
                 "--out", str(tmp_path / "b" / OUT), *mattes]) == 0
    from_png, from_exr = _pixels(tmp_path / "a" / "comp.0001.exr"), _pixels(tmp_path / "b" / "comp.0001.exr")
    assert float((from_png - from_exr).abs().max()) <= 2e-3
    plate = read_image(pngs / "target.0001.png")[0]
    assert float((from_png[:3, :4, :4] - plate[:, :4, :4]).abs().max()) > 0.02, "encoded values are not linear"
