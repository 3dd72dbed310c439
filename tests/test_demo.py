"""`changer demo`: refuses clearly without weights; with weights writes the shot, the render, a contact
sheet and a GIF (run here with a tiny random model; one test uses the shipped weights when present)."""

from __future__ import annotations

from pathlib import Path

import OpenImageIO as oiio
import pytest

import changer.core.weights as weights_module
from changer.core.io import read_meta
from changer.plugin.commands.main import EXIT_USER_ERROR, main
from changer.plugin.models import SHIPPED_WEIGHTS_NAME
from node_shot import save_tiny_weights


def test_demo_without_weights_exits_2_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(weights_module, "SHIPPED_WEIGHTS_DIR", tmp_path / "no-weights")
    monkeypatch.delenv(weights_module.WEIGHTS_ENV, raising=False)
    assert main(["demo", "--out", str(tmp_path / "demo"), "--frames", "2"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "shipped weights" in err and "missing" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "demo").exists()


def _subimages(path: Path) -> int:
    inp = oiio.ImageInput.open(str(path))
    count = 0
    while inp.seek_subimage(count, 0):
        count += 1
    inp.close()
    return count


def test_demo_writes_everything_it_promises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weights = save_tiny_weights(tmp_path)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--frames", "2", "--size", "128x96", "--weights", str(weights),
                 "--set", "network_resolution=64", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    for stem in ("target", "source", "target_matte", "source_matte"):
        assert sorted(p.name for p in (out / "shot").glob(f"{stem}.*.exr")) == [f"{stem}.0001.exr", f"{stem}.0002.exr"]
    assert (out / "shot" / "background.exr").is_file()
    channels = read_meta(out / "render" / "comp.0002.exr").channel_names
    assert {"R", "G", "B", "A", "matte.A", "M.A", "ip.A", "X.R", "Y.G", "ToRGB.B"} <= set(channels)
    sheet = read_meta(out / "contact_sheet.png")
    assert sheet.display_window.width > sheet.display_window.height > 0
    assert _subimages(out / "preview.gif") == 2
    assert str(out / "contact_sheet.png") in printed and "changer render" in printed


def test_demo_with_the_shipped_weights(tmp_path: Path) -> None:
    shipped = weights_module.SHIPPED_WEIGHTS_DIR / SHIPPED_WEIGHTS_NAME
    if not shipped.is_file():
        pytest.skip(f"the shipped weights {shipped} are not in this checkout yet")
    assert main(["demo", "--out", str(tmp_path / "demo"), "--frames", "2", "--size", "320x180", "--no-progress"]) == 0
    assert (tmp_path / "demo" / "contact_sheet.png").is_file()
