"""Weights on disk: .safetensors + JSON card, checked on load, never unpickled."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from changer.core import weights as weights_mod
from changer.core.errors import WeightsError
from changer.core.model import ChangerConfig, ChangerNet
from changer.core.model.config import ARCHITECTURE_VERSION, NEW_TENSORS
from changer.core.model.weights_io import init_from, load_weights, save_weights
from changer.core.weights import card_path, find_weights, read_card, tensors_sha256

TINY = ChangerConfig(
    name="tiny", resolution=32, enc_widths=(8, 16, 16), enc_blocks=(0, 1, 1), dec_blocks=(0, 0, 1),
    cond_widths=(8, 16), colorizer_depth=1, colorizer_heads=2, colorizer_kv_pool=1, fpat_dim=16,
    fpat_depth=1, fpat_heads=2, patch_size=2, mlp_ratio=2.0, norm_groups=4,
)


@pytest.fixture
def saved(tmp_path: Path) -> tuple[ChangerNet, Path]:
    torch.manual_seed(0)
    net = ChangerNet(TINY)
    path = save_weights(net, tmp_path / "tiny", training_data="unit test: random init", metrics={"psnr": 12.5})
    return net, path


def test_roundtrip(saved: tuple[ChangerNet, Path]) -> None:
    net, path = saved
    assert path.name == "tiny.safetensors" and card_path(path).name == "tiny.json"
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny.json", "tiny.safetensors"], "no temp files left"
    loaded = load_weights(path)
    assert loaded.config == TINY
    for (k, a), (k2, b) in zip(net.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(a, b)
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(net(x, x, x, 0.3).y, loaded(x, x, x, 0.3).y)


def test_card_contents(saved: tuple[ChangerNet, Path]) -> None:
    net, path = saved
    card = read_card(path)
    assert card["architecture"] == "changer" and card["architecture_version"] == ARCHITECTURE_VERSION
    assert card["config"] == TINY.to_dict()
    assert card["training_data"] == "unit test: random init"
    assert card["metrics"] == {"psnr": 12.5}
    assert card["tensors_sha256"] == tensors_sha256(load_file(path)) == tensors_sha256(net.state_dict())


def test_sha256_scheme() -> None:
    a = {"b": torch.arange(6, dtype=torch.float32).reshape(2, 3), "a": torch.zeros(2)}
    h = tensors_sha256(a)
    assert h == tensors_sha256(dict(reversed(list(a.items())))), "independent of insertion order"
    assert h != tensors_sha256({**a, "b": a["b"].reshape(3, 2)}), "shape is part of the hash"
    assert h != tensors_sha256({"c": a["b"], "a": a["a"]}), "names are part of the hash"
    flipped = a["b"].clone()
    flipped[1, 2] = torch.nextafter(flipped[1, 2], torch.tensor(100.0))
    assert h != tensors_sha256({**a, "b": flipped})


def test_nothing_is_unpickled(saved: tuple[ChangerNet, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, path = saved

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("weights loading must never unpickle")

    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    load_weights(path)


def test_truncated_file(saved: tuple[ChangerNet, Path]) -> None:
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match=r"tiny\.safetensors: not a complete \.safetensors file"):
        load_weights(path)


@pytest.mark.parametrize("content", [b"", b"hello, not tensors", pickle.dumps({"w": [1.0, 2.0]})])
def test_not_a_safetensors_file(saved: tuple[ChangerNet, Path], content: bytes) -> None:
    _, path = saved
    path.write_bytes(content)
    with pytest.raises(WeightsError, match="not a complete .safetensors file"):
        load_weights(path)


def test_changed_tensor_fails_the_hash(saved: tuple[ChangerNet, Path]) -> None:
    _, path = saved
    tensors = load_file(path)
    name = sorted(tensors)[0]
    tensors[name] = tensors[name] + 1e-3
    save_file(tensors, path)
    with pytest.raises(WeightsError, match="hash does not match"):
        load_weights(path)


def test_missing_unexpected_and_reshaped_tensors_are_listed(saved: tuple[ChangerNet, Path]) -> None:
    _, path = saved
    tensors = load_file(path)
    names = sorted(tensors)
    del tensors[names[0]]
    tensors["extra.weight"] = torch.zeros(3)
    tensors[names[1]] = torch.zeros(7, 7)
    save_file(tensors, path)
    with pytest.raises(WeightsError) as info:
        load_weights(path)
    message = str(info.value)
    assert f"missing: {names[0]}" in message
    assert "unexpected: extra.weight" in message
    assert f"wrong shape: {names[1]} [7, 7]" in message


def _as_version_1(path: Path, drop_also: str = "") -> None:
    """Rewrite ``path`` as a v1 file would be: without the tensors later versions added, card v1."""
    tensors = {k: v for k, v in load_file(path).items()
               if not k.startswith(NEW_TENSORS[2]) and k != drop_also}
    save_file(tensors, path)
    card = json.loads(card_path(path).read_text())
    card.update(architecture_version=1, tensors_sha256=tensors_sha256(tensors))
    card_path(path).write_text(json.dumps(card))


def test_a_v1_file_is_refused_for_inference_but_starts_a_fine_tune(saved: tuple[ChangerNet, Path]) -> None:
    net, path = saved
    _as_version_1(path)
    with pytest.raises(WeightsError, match=f"v1, this CHANGER builds 'changer' v{ARCHITECTURE_VERSION}"):
        load_weights(path)
    fresh = ChangerNet(TINY)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    init_from(fresh, path)
    for name, value in fresh.state_dict().items():
        expected = before[name] if name.startswith(NEW_TENSORS[2]) else net.state_dict()[name]
        assert torch.equal(value, expected), name


def test_a_fine_tune_refuses_an_old_file_missing_more_than_the_new_tensors(saved: tuple[ChangerNet, Path]) -> None:
    _, path = saved
    _as_version_1(path, drop_also="decoder.head.bias")
    with pytest.raises(WeightsError, match="missing: decoder.head.bias"):
        init_from(ChangerNet(TINY), path)


def test_card_config_that_does_not_match_the_tensors(saved: tuple[ChangerNet, Path]) -> None:
    _, path = saved
    card = json.loads(card_path(path).read_text())
    card["config"]["fpat_dim"] = 32
    card_path(path).write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="tensors do not match the config.*wrong shape"):
        load_weights(path)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda c: c.pop("tensors_sha256"), "card lacks tensors_sha256"),
        (lambda c: c.update(format="something-else"), "not a CHANGER weights card"),
        (lambda c: c.update(format_version=99), "card format version 99"),
        (lambda c: c.update(architecture_version=99), "architecture 'changer' v99"),
        (lambda c: c["config"].update(depth=2), "invalid model config: .*unknown keys \\['depth'\\]"),
        (lambda c: c["config"].update(fpat_heads=3), "invalid model config: .*not divisible"),
    ],
)
def test_bad_cards_are_refused(saved: tuple[ChangerNet, Path], edit, match: str) -> None:
    _, path = saved
    card = json.loads(card_path(path).read_text())
    edit(card)
    card_path(path).write_text(json.dumps(card))
    with pytest.raises(WeightsError, match=match):
        load_weights(path)


def test_missing_or_unreadable_card_and_file(saved: tuple[ChangerNet, Path], tmp_path: Path) -> None:
    _, path = saved
    with pytest.raises(WeightsError, match="no such weights file"):
        load_weights(tmp_path / "nope.safetensors")
    card_path(path).write_text("{not json")
    with pytest.raises(WeightsError, match="not a readable JSON weights card"):
        load_weights(path)
    card_path(path).unlink()
    with pytest.raises(WeightsError, match="tiny.json: missing"):
        load_weights(path)
    other = tmp_path / "weights.pt"
    other.write_bytes(b"x")
    with pytest.raises(WeightsError, match="expected a .safetensors file"):
        load_weights(other)


def test_search_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, saved: tuple[ChangerNet, Path]) -> None:
    _, path = saved
    monkeypatch.setenv(weights_mod.WEIGHTS_ENV, str(path.parent))
    assert find_weights()[0] == path
