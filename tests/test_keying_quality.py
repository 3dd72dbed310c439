"""Keyer quality on studio plates with exact truth, with one global default setting.

The plates and metrics come from ``benchmarks/keying_quality.py`` (which prints the same figures
per case, side by side with a ten-line colour-difference keyer). Two sets:

* the **hard set** (:mod:`changer.training.studio.hard`, 16 plates at 512x512 per split: fine and
  dark strands, long motion blur, wardrobe near the screen hue, grey wardrobe under strong bounce,
  saturated, dirty and compressed screens, green and blue). The ``tune`` split is what the keyer
  was developed against; the ``held_out`` split (other seeds and parameter ranges) never was, and
  is held to the same bars, so a keyer fitted to ``tune`` fails here;
* 20 **ordinary** studio plates covering every case the studio draws, against the naive HSV keyer:
  mean MSE <= 2e-3 (6.7e-4; before the edge-band fix of the screen estimate 1.0e-3), worst <= 3e-2
  (6.4e-3: an uneven blue screen).

Bars (the issue's), with what the defaults measured when they were set (tune / held-out):

* mean alpha MSE <= 2e-3 (5.0e-4 / 9.7e-4); Grad <= the ten-line keyer's (0.008 vs 0.033 /
  0.013 vs 0.083); no plate worse than the ten-line keyer in alpha MSE (0 of 16 / 0 of 16);
* foreground error (true-alpha weighted, against the spill-free truth) below the raw plate's
  (0.0139 vs 0.0161 / 0.0185 vs 0.0211);
* wardrobe near the screen hue keeps its colour: mean Delta E76 <= 5 after despill (3.6 / 4.3);
* no auto-core blocks in hair: in every case the error inside the hair is below the ten-line
  keyer's (closest: grey wardrobe 1.2e-3 vs 2.5e-3 / compressed 5.3e-3 vs 7.4e-3).
"""

from __future__ import annotations

import importlib
import statistics
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIZE = 512


def _load_quality_module():
    """benchmarks/ is not a package: put it on the path and import the script as a module."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    return importlib.import_module("keying_quality")


pytest.importorskip("changer.training.studio", reason="the procedural studio is not available")
kq = _load_quality_module()
SPLITS = ("tune", "held_out")


@pytest.fixture(scope="module", params=SPLITS)
def hard(request: pytest.FixtureRequest) -> dict:
    return kq.evaluate_samples(kq.hard_samples(request.param, SIZE, per_case=2), kq.default_keyers())


def test_the_hard_set_covers_every_case_on_both_screens() -> None:
    samples = kq.hard_samples("tune", 64, per_case=2)
    assert {case for case, _ in samples} == set(kq.HARD_CASES)
    for case in kq.HARD_CASES:
        assert {s.studio.screen_kind for c, s in samples if c == case} == {"green", "blue"}, case


def test_alpha_bars(hard: dict) -> None:
    ours, ten = hard["ours"], hard["ten-line"]
    assert ours.mean("mse") <= 2e-3, ours.mean("mse")
    assert ours.mean("grad") <= ten.mean("grad"), (ours.mean("grad"), ten.mean("grad"))
    lost = [(r["case"], r["seed"], r["mse"], t["mse"]) for r, t in zip(ours.rows, ten.rows, strict=True)
            if r["mse"] > t["mse"]]
    assert not lost, lost


def test_foreground_is_closer_to_the_truth_than_the_plate(hard: dict) -> None:
    ours = hard["ours"]
    assert ours.mean("fg_err") < ours.mean("plate_fg_err"), (ours.mean("fg_err"), ours.mean("plate_fg_err"))


def test_wardrobe_near_the_screen_hue_keeps_its_colour(hard: dict) -> None:
    de = hard["ours"].mean("wardrobe_de", "wardrobe near the screen hue")
    assert de <= 5.0, de
    assert hard["ours"].mean("solid_low", "wardrobe near the screen hue") <= 0.05  # and it is solid


@pytest.mark.parametrize("case", list(kq.HARD_CASES))
def test_no_core_blocks_in_hair(hard: dict, case: str) -> None:
    """Inside the hair (strands, gaps and flyaways) the error is below the ten-line keyer's in every
    case: the auto core and auto clip white add nothing there that the plain colour difference would
    not, and the screen estimate is not darkened by a dark, blurred hair edge."""
    ours, ten = hard["ours"].mean("hair_mse", case), hard["ten-line"].mean("hair_mse", case)
    assert ours < ten, (ours, ten)


def test_ordinary_studio_plates() -> None:
    """Ordinary studio plates (every case the studio draws, 3 times or more): still far better than
    the naive HSV keyer, and no plate worse than the ten-line keyer."""
    samples = kq.ordinary_samples(kq.pick_samples(20), SIZE)
    reports = kq.evaluate_samples(samples, kq.default_keyers() | {"naive HSV": kq.naive_hsv})
    ours = reports["ours"]
    assert ours.mean("mse") <= 2e-3 and ours.worst("mse") <= 3e-2, (ours.mean("mse"), ours.worst("mse"))
    assert ours.mean("mse") * 5 <= reports["naive HSV"].mean("mse")
    assert ours.mean("fg_err") < ours.mean("plate_fg_err")
    assert statistics.fmean(r["mse"] > t["mse"] for r, t in zip(ours.rows, reports["ten-line"].rows,
                                                                strict=True)) == 0.0
