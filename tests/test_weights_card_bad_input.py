"""A weights card whose config is mistyped, absurd or does not match its tensors: refused with one line naming
the card (or the weights file), the key and what was expected, before any network is built for real,
through `changer export --weights` (in-process and as a real subprocess) and through the Python loader."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from changer.core.errors import WeightsError
from changer.core.model import weights_io
from changer.core.model.weights_io import load_weights
from changer.plugin.commands.main import EXIT_USER_ERROR, main
from node_shot import save_tiny_weights

Edit = Callable[[dict[str, Any]], object]


def _set(key: str, value: object) -> Edit:
    return lambda config: config.__setitem__(key, value)


def _set_entry(key: str, index: int, value: int) -> Edit:
    return lambda config: config[key].__setitem__(index, value)


#: (id, edit of the card's "config", texts the error must hold). Config errors name the card and the key;
#: a config that is valid but not the file's names the weights file and the tensors expected vs found.
CASES: list[tuple[str, Edit, list[str]]] = [
    ("fpat_depth_float", _set("fpat_depth", 2.5), ["copy.json", "fpat_depth 2.5", "expected an integer"]),
    ("fpat_depth_string", _set("fpat_depth", "2"), ["copy.json", "fpat_depth '2'", "expected an integer"]),
    ("depth_bool", _set("colorizer_depth", True), ["copy.json", "colorizer_depth True", "expected an integer"]),
    ("width_a_million", _set_entry("enc_widths", 0, 1_000_000), ["copy.json", "enc_widths", "1000000",
                                                                 "expected every entry in [1, 4096]"]),
    ("negative_width", _set_entry("cond_widths", 1, -32), ["copy.json", "cond_widths", "-32", "expected every entry"]),
    ("fpat_dim_huge", _set("fpat_dim", 10**9),
     ["copy.json", "fpat_dim 1000000000", "expected an integer in [1, 4096]"]),
    ("widths_not_a_list", _set("enc_widths", 128), ["copy.json", "enc_widths 128", "expected a list of integers"]),
    ("mlp_ratio_nan", _set("mlp_ratio", float("nan")), ["copy.json", "mlp_ratio nan", "expected a number"]),
    ("missing_key", lambda c: c.pop("fpat_heads"), ["copy.json", "missing keys ['fpat_heads']"]),
    ("config_not_an_object", None, ["copy.json", "model config", "expected a JSON object"]),
    ("deeper_than_the_file", _set("fpat_depth", 3), ["copy.safetensors", "do not match the config in copy.json",
                                                     "missing: blender.fpat.blocks.2"]),
    ("wider_than_the_file", _set("fpat_dim", 256), ["copy.safetensors", "wrong shape", "(expected [256"]),
    ("huge_but_in_bounds", lambda c: c.update(enc_widths=[4096] * 4, cond_widths=[4096] * 3, fpat_dim=4096),
     ["copy.safetensors", "do not match the config", "the file holds"]),
]


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_weights(tmp_path_factory.mktemp("weights"))


def _bad_copy(weights: Path, tmp: Path, edit: Edit | None) -> Path:
    target = tmp / "copy.safetensors"
    shutil.copy(weights, target)
    card = json.loads(weights.with_suffix(".json").read_text())
    if edit is None:
        card["config"] = "small"
    else:
        edit(card["config"])
    target.with_suffix(".json").write_text(json.dumps(card))
    return target


@pytest.fixture
def no_real_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a network is built anywhere but on the meta device (shapes only, no memory)."""
    real = weights_io.ChangerNet

    def meta_only(config: object) -> object:
        if torch.empty(()).device.type != "meta":
            raise AssertionError("a network was built for a card that does not match its weights")
        return real(config)

    monkeypatch.setattr(weights_io, "ChangerNet", meta_only)


@pytest.mark.usefixtures("no_real_network")
@pytest.mark.parametrize(("edit", "expected"), [pytest.param(e, x, id=i) for i, e, x in CASES])
def test_export_refuses_the_card_in_one_line(weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             edit: Edit | None, expected: list[str]) -> None:
    bad = _bad_copy(weights, tmp_path, edit)
    out = tmp_path / "out" / "x.pt"
    capsys.readouterr()
    assert main(["export", "--weights", str(bad), "--out", str(out)]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("changer export: error: ")
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    assert not out.exists()


@pytest.mark.usefixtures("no_real_network")
@pytest.mark.parametrize(("edit", "expected"), [pytest.param(e, x, id=i) for i, e, x in CASES])
def test_the_python_loader_refuses_the_card(weights: Path, tmp_path: Path, edit: Edit | None,
                                            expected: list[str]) -> None:
    bad = _bad_copy(weights, tmp_path, edit)
    with pytest.raises(WeightsError) as info:
        load_weights(bad)
    for text in expected:
        assert text in str(info.value)


def test_the_mismatch_message_counts_parameters(weights: Path, tmp_path: Path) -> None:
    bad = _bad_copy(weights, tmp_path, _set("fpat_depth", 3))
    counts = r"it implies [\d,]+ parameters in \d+ tensors, the file holds [\d,]+ in \d+"
    with pytest.raises(WeightsError, match=counts):
        load_weights(bad)


def test_the_good_card_still_loads(weights: Path) -> None:
    assert load_weights(weights).config.name == "small"


@pytest.mark.parametrize(("case", "expected"), [("fpat_depth_float", "fpat_depth 2.5"),
                                                ("width_a_million", "expected every entry in [1, 4096]")])
def test_bad_card_as_a_real_subprocess(weights: Path, tmp_path: Path, case: str, expected: str) -> None:
    exe = shutil.which("changer", path=str(Path(sys.executable).parent))
    assert exe
    bad = _bad_copy(weights, tmp_path, next(e for i, e, _ in CASES if i == case))
    proc = subprocess.run([exe, "export", "--weights", str(bad), "--out", str(tmp_path / "x.pt")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == EXIT_USER_ERROR, proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
