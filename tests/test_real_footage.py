"""Issue 16 on the real green-screen frames (not shipped: skipped with a reason when they are absent).

Each actor's portrait goes on the other actor's double (two frames each) with automatic mattes and the
shipped weights; the measures are in ``tests/real_shot.py``.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("mediapipe", reason="the automatic head mattes need the auto extra (pip install -e '.[auto]')")

import real_shot

pytestmark = pytest.mark.skipif(real_shot.skip_reason() is not None, reason=str(real_shot.skip_reason()))


IDS = [target.removesuffix(".png") for _, target in real_shot.PAIRS]


METHODS = ("changer", "classical")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("source", "target"), real_shot.PAIRS, ids=IDS)
def test_no_haze_in_the_alpha_near_the_head(source: str, target: str, method: str) -> None:
    """At most 0.5 % of the open screen within 100 px of the head has alpha above 0.05, for both methods: the
    alpha comes from the plate's key and the mattes, never from a key of generated pixels (measured 0.000-0.011 %)."""
    assert real_shot.haze(real_shot.render(source, target, method=method)) <= 0.005


@pytest.mark.parametrize(("source", "target"), real_shot.PAIRS, ids=IDS)
def test_the_skin_bar_is_measured_on_neck_the_grade_did_not_measure(source: str, target: str) -> None:
    """The issue's skin bar is taken on skin the grade match did not use for its statistics: the measure's neck
    shares no pixel with the neck bands the pipeline measured (in its crop, on its own key), and still holds
    over a thousand skin pixels at every depth of the neck (the shadow under the jaw, the bands between)."""
    rendered = real_shot.render(source, target, method="classical")
    measured = real_shot.double_neck(rendered)
    assert not bool((measured & real_shot.graded_neck(rendered)).any())
    assert int(measured.sum()) >= 1000


@pytest.mark.parametrize(("source", "target"), real_shot.PAIRS, ids=IDS)
def test_classical_skin_and_band_stay_near_the_doubles_neck(source: str, target: str) -> None:
    """The classical method's face and the strip under its jaw against the double's neck (skin the grade match did
    not measure), at the issue's bars: face ΔE76 ≤ 5 (measured 1.5-3.6) and band ≤ 8 (measured 2.1-6.3)."""
    rendered = real_shot.render(source, target, method="classical")
    assert real_shot.skin_delta_e(rendered) <= 5.0
    assert real_shot.band_delta_e(rendered) <= 8.0


@pytest.mark.parametrize(("source", "target"), real_shot.PAIRS, ids=IDS)
def test_network_band_and_skin_stay_near_the_doubles_neck(source: str, target: str) -> None:
    """The network with the default neck_fill=skin: the strip under the new jaw at the issue's bar (band ΔE76 ≤ 8,
    measured 2.1-6.2; the network's own fill there was 14-27 under a Lincoln double's jaw), and its face after the
    grade match at the bar (skin ΔE76 ≤ 5, measured 1.5-3.1)."""
    rendered = real_shot.render(source, target, method="changer")
    assert real_shot.band_delta_e(rendered) <= 8.0
    assert real_shot.skin_delta_e(rendered) <= 5.0


def test_a_portrait_of_another_size_is_placed_on_the_doubles_face() -> None:
    """The 1000x1000 portrait on the 1280x2176 plate with no manual placement (alignment auto: the similarity between
    the face ovals): the placed oval's centre is within a tenth of a face height of the double's."""
    source, target = real_shot.PAIRS[0]
    rendered = real_shot.render(source, target, method="classical")
    assert tuple(rendered.pair.source.shape[-2:]) != tuple(rendered.pair.target.shape[-2:])
    oval = torch.nonzero(rendered.source_matte[0] > real_shot.SOLID_MATTE).float().mean(0)
    face = rendered.pair.target_face
    centre = torch.tensor(face.oval.mean(0)[::-1].copy(), dtype=torch.float32)
    assert float((oval - centre).norm()) <= 0.1 * face.height
