"""The node's one param list: keyer params wrapped not re-typed, strict validation, TOML, stages."""

from __future__ import annotations

from pathlib import Path

import pytest

from changer.core.errors import ParamError
from changer.core.keying import param_specs
from changer.plugin.commands.main import main
from changer.plugin.params import (
    PAGES,
    PARAMS,
    STAGES,
    get_param,
    markdown_table,
    parse_assignments,
    resolve_params,
)
from changer.plugin.shotfile import read_shot, write_shot


def test_names_are_unique_and_every_param_is_complete() -> None:
    names = [p.name for p in PARAMS]
    assert len(names) == len(set(names))
    for p in PARAMS:
        assert p.label and p.hint and p.page in PAGES and p.stage in STAGES
        assert p.validate(p.default) == p.default or p.default is None


def test_keyer_params_are_wrapped_from_the_keyer() -> None:
    for spec in param_specs():
        p = get_param(spec.name)
        assert (p.default, p.minimum, p.maximum, p.choices, p.label, p.page) == (
            spec.default, spec.minimum, spec.maximum, tuple(spec.choices), spec.label, "Keyer")
    assert {p.name for p in PARAMS if p.page == "Keyer" and p.stage == "prepare"} == {
        "screen_type", "screen_color", "auto_clean_plate"}
    assert {p.name for p in PARAMS if p.page == "Keyer" and p.spatial} == {"matte_grow", "edge_softness", "core_depth"}


def test_issue_params_exist() -> None:
    names = {p.name for p in PARAMS}
    assert {"tau", "neck_margin", "crop_padding", "network_resolution", "alignment", "output", "seam_feather",
            "device", "weights", "working_space", "target_matte_threshold", "target_matte_grow",
            "target_matte_feather", "source_matte_threshold", "source_matte_grow", "source_matte_feather"} <= names


@pytest.mark.parametrize(("values", "message"), [
    ({"tua": 0.5}, "unknown param 'tua'; did you mean tau"),
    ({"tau": 1.01}, r"tau=1.01: out of range; expected a value in \[0, 1\]"),
    ({"tau": "0.5"}, "expected a finite number"),
    ({"network_resolution": 250}, "multiple of 16"),
    ({"network_resolution": 64.5}, "whole number"),
    ({"output": "beauty"}, "expected one of comp, green, mattes, aovs"),
    ({"auto_clean_plate": 1}, "expected true or false"),
    ({"screen_color": [0.1, 0.2]}, "three finite numbers"),
    ({"clip_black": 0.9, "clip_white": 0.1}, "must be below"),
])
def test_invalid_values_are_refused_never_clamped(values: dict, message: str) -> None:
    with pytest.raises(ParamError, match=message):
        resolve_params(values)


def test_command_line_values_are_typed() -> None:
    values = parse_assignments(["tau=0.25", "auto_clean_plate=off", "screen_color=0.1,0.7,0.2", "despill_bias=auto",
                                "network_resolution=128", "output=green"])
    assert values == {"tau": 0.25, "auto_clean_plate": False, "screen_color": (0.1, 0.7, 0.2), "despill_bias": None,
                      "network_resolution": 128, "output": "green"}
    with pytest.raises(ParamError, match="expected name=value"):
        parse_assignments(["tau"])


def test_stage_of_a_change() -> None:
    assert STAGES == ("prepare", "infer", "comp")
    assert {p.name for p in PARAMS if p.stage == "infer"} == {"tau", "weights", "method", "neck_fill"}
    base = resolve_params()
    assert base.replace(despill=0.5).invalidated_stage(base) == "comp"
    assert base.replace(tau=0.2, despill=0.5).invalidated_stage(base) == "infer"
    assert base.replace(screen_type="blue", tau=0.2).invalidated_stage(base) == "prepare"
    assert base.invalidated_stage(base) is None
    assert base.replace(device="cpu").digest() == base.digest() != base.replace(tau=0.1).digest()


def test_stage_digests_cover_their_stage_and_the_earlier_ones() -> None:
    base = resolve_params()
    keyer, tau, matte = base.replace(clip_black=0.2), base.replace(tau=0.2), base.replace(target_matte_grow=5.0)
    same = lambda a, b, stage: a.stage_digest(stage) == b.stage_digest(stage)  # noqa: E731
    assert same(keyer, base, "prepare") and same(keyer, base, "infer") and not same(keyer, base, "comp")
    assert same(tau, base, "prepare") and not same(tau, base, "infer") and not same(tau, base, "comp")
    assert not any(same(matte, base, stage) for stage in STAGES)
    assert resolve_params({"tau": 0.2}).stage_digest("infer") == tau.stage_digest("infer")


def test_replace_validates_the_changed_values_and_the_cross_param_rules() -> None:
    base = resolve_params({"clip_black": 0.2})
    assert base.replace(tau=0.3)["clip_black"] == 0.2
    with pytest.raises(ParamError, match="must be below"):
        base.replace(clip_white=0.1)
    with pytest.raises(ParamError, match="multiple of 16"):
        base.replace(network_resolution=100)
    assert base.frame_settings() is base.frame_settings() and base.frame_settings().keyer.clip_black == 0.2


def test_shot_file_round_trip(tmp_path: Path) -> None:
    values = resolve_params({"tau": 0.3, "screen_color": (0.1, 0.6, 0.2), "output": "green"})
    write_shot(tmp_path / "shot.toml", values, only_changed=True)
    assert "tau = 0.3" in (tmp_path / "shot.toml").read_text()
    assert resolve_params(read_shot(tmp_path / "shot.toml")) == values
    write_shot(tmp_path / "all.toml", values)
    assert resolve_params(read_shot(tmp_path / "all.toml")) == values


def test_shot_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[keyer]\ntau = 0.3\n")
    with pytest.raises(ParamError, match="bad.toml.*top-level"):
        read_shot(bad)
    with pytest.raises(ParamError, match="no such file"):
        read_shot(tmp_path / "none.toml")


def test_markdown_table_lists_every_param(capsys: pytest.CaptureFixture[str]) -> None:
    table = markdown_table()
    assert all(f"| `{p.name}` |" in table for p in PARAMS)
    assert main(["params", "--markdown"]) == 0 and capsys.readouterr().out == table
    assert main(["params", "--json"]) == 0 and '"name": "tau"' in capsys.readouterr().out
