"""The review panel's engine without Qt: stage caches, layers, display conversion, proxy, FPAT query."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from changer.core.color import get_config
from changer.core.errors import ImageReadError
from changer.plugin.models import MODELS
from changer.plugin.params import PARAMS
from changer.ui.cache import COMP_PARAMS, NETWORK_PARAMS, LruCache, network_key, prepare_key, result_key
from changer.ui.display import DisplaySettings, to_display
from changer.ui.layers import LAYERS, LayerUnavailable
from changer.ui.session import RenderCancelled, RenderRequest, ReviewSession
from ui_shot import SIZE, UiShot, write_ui_shot


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> UiShot:
    return write_ui_shot(tmp_path_factory.mktemp("ui_session"), frames=2)


@pytest.fixture
def session(shot: UiShot) -> ReviewSession:
    return ReviewSession(shot.options())


def count_forward(session: ReviewSession) -> list[int]:
    """A list that grows by one on every forward pass of the session's model (the hook goes with the
    model when ``_fresh_models`` clears the cache)."""
    calls: list[int] = []
    session.model(session.params).model.register_forward_hook(lambda *_: calls.append(1))
    return calls


@pytest.fixture(autouse=True)
def _fresh_models():
    MODELS.clear()
    yield
    MODELS.clear()


def test_every_param_has_one_stage_and_keys_follow_stages() -> None:
    assert set(NETWORK_PARAMS) | set(COMP_PARAMS) == {p.name for p in PARAMS}
    assert not set(NETWORK_PARAMS) & set(COMP_PARAMS)
    base = {p.name: p.default for p in PARAMS}
    keyer = next(p for p in PARAMS if p.stage == "comp" and p.type == "float")
    changed = {**base, keyer.name: keyer.maximum}
    assert network_key(changed) == network_key(base) and result_key(changed) != result_key(base)
    tau = {**base, "tau": 0.2}
    assert prepare_key(tau) == prepare_key(base) and network_key(tau) != network_key(base)


def test_keyer_change_recomposites_without_the_network_and_tau_reruns_only_the_model(session: ReviewSession) -> None:
    calls = count_forward(session)
    first = session.render(RenderRequest(1, session.params))
    assert len(calls) == 1 and first.network_ran
    jobs_before = session.jobs.misses
    keyed = session.render(RenderRequest(1, session.params.replace(clip_black=0.3, despill=0.2)))
    assert len(calls) == 1 and not keyed.network_ran
    assert "network" not in keyed.timings and "composite" in keyed.timings
    assert not torch.equal(keyed.result.rgba, first.result.rgba)
    tau = session.render(RenderRequest(1, session.params.replace(tau=0.1)))
    assert len(calls) == 2 and tau.network_ran and "prepare" not in tau.timings
    assert session.jobs.misses == jobs_before  # the prepared job was reused
    matte = session.render(RenderRequest(1, session.params.replace(target_matte_grow=3.0)))
    assert len(calls) == 3 and "prepare" in matte.timings
    again = session.render(RenderRequest(1, session.params.replace(tau=0.1)))
    assert again.from_cache and len(calls) == 3


def test_a_superseded_render_stops_between_stages_and_keeps_its_work(session: ReviewSession) -> None:
    calls = count_forward(session)
    with pytest.raises(RenderCancelled):
        session.render(RenderRequest(1, session.params), cancelled=lambda: True)
    assert calls == [] and (1, 1.0) in session.inputs and len(session.results) == 0


def test_every_layer_is_frame_sized_and_displays(session: ReviewSession) -> None:
    rendered = session.render(RenderRequest(1, session.params))
    color = session.params.color_config()
    width, height = SIZE
    for layer in LAYERS:
        pixels = layer.extract(rendered)
        assert pixels.shape[-2:] == (height, width), layer.name
        assert torch.isfinite(pixels).all(), layer.name
        for channel in ("rgb", "g", "a"):
            shown = to_display(pixels, layer.kind, DisplaySettings(channel=channel, exposure=1.0), color)
            assert shown.rgb8.shape == (height, width, 3) and shown.rgb8.dtype == np.uint8, layer.name
            assert shown.values.shape == (height, width, pixels.shape[0])
    attention = next(layer for layer in LAYERS if layer.name == "attention").extract(rendered)
    assert attention.sum() > 0


def test_display_transform_is_ocio_and_mattes_are_data(session: ReviewSession) -> None:
    color = get_config()
    grey = torch.full((3, 4, 4), 0.18)
    shown = to_display(grey, "color", DisplaySettings(), color).rgb8
    brighter = to_display(grey, "color", DisplaySettings(exposure=1.0), color).rgb8
    assert 0 < shown.mean() < brighter.mean() < 255
    matte = to_display(torch.full((1, 4, 4), 0.5), "matte", DisplaySettings(exposure=3.0), color)
    assert (matte.rgb8 == 128).all()  # no transform, no exposure on data
    red = to_display(torch.tensor([0.5, 0.0, 0.0]).view(3, 1, 1).expand(3, 2, 2), "color",
                     DisplaySettings(channel="r"), color).rgb8
    assert (red[..., 0] == red[..., 1]).all() and red.mean() > 0


def test_proxy_scale_renders_smaller(session: ReviewSession) -> None:
    rendered = session.render(RenderRequest(2, session.params, scale=0.5))
    width, height = SIZE
    assert rendered.result.rgba.shape[-2:] == (height // 2, width // 2)
    assert rendered.inputs.target.shape[-2:] == (height // 2, width // 2)


def test_query_patch_moves_the_attention(session: ReviewSession) -> None:
    a = session.render(RenderRequest(1, session.params, query=(0.1, 0.1)))
    b = session.render(RenderRequest(1, session.params, query=(0.9, 0.9)))
    assert a.query_patch != b.query_patch
    assert not torch.equal(a.output.attention, b.output.attention)
    box = a.job.box
    assert box.x0 <= a.query_box.x0 < a.query_box.x1 <= box.x1 and a.query_box.y0 < b.query_box.y0


def test_passthrough_frame_has_no_network_layers(shot: UiShot, tmp_path: Path) -> None:
    bad = write_ui_shot(tmp_path / "bad", frames=1, empty_matte_frame=1)
    session = ReviewSession(bad.options("on_empty_matte=passthrough"))
    rendered = session.render(RenderRequest(1, session.params))
    assert rendered.job is None
    with pytest.raises(LayerUnavailable):
        next(layer for layer in LAYERS if layer.name == "Y").extract(rendered)
    strict = ReviewSession(bad.options())
    with pytest.raises(ImageReadError, match=r"frame 1: clip TargetHeadMatte"):
        strict.render(RenderRequest(1, strict.params))


def test_lru_cache_evicts_by_bytes() -> None:
    cache: LruCache[torch.Tensor] = LruCache("test", max_bytes=3 * 400)
    for key in range(5):
        cache.put(key, torch.zeros(100))  # 400 bytes each
    assert cache.keys() == [2, 3, 4] and cache.bytes == 1200
    assert cache.get(2) is not None and cache.get(0) is None
    cache.put(5, torch.zeros(100))
    assert cache.keys() == [4, 2, 5]
