"""The review panel's engine without Qt: renders through the effect and its stage cache, equal to the
batch render; layers, display conversion, proxy (render scale), FPAT query."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from changer.core.color import get_config
from changer.core.device import one_cpu_thread
from changer.core.errors import ImageReadError
from changer.core.io import read_image
from changer.plugin.effect import RenderAborted
from changer.plugin.hosts import batch
from changer.plugin.models import MODELS
from changer.ui.display import DisplaySettings, to_display
from changer.ui.layers import COLOR, LAYER_BY_NAME, LAYERS, LayerUnavailable
from changer.ui.session import RenderRequest, ReviewSession
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


def test_keyer_change_recomposites_without_the_network_and_tau_reruns_only_the_model(session: ReviewSession) -> None:
    calls = count_forward(session)
    first = session.render(RenderRequest(1, session.params))
    assert len(calls) == 1 and first.stage == "prepare"
    keyed = session.render(RenderRequest(1, session.params.replace(clip_black=0.3, despill=0.2)))
    assert len(calls) == 1 and keyed.stage == "comp" and set(keyed.seconds) == {"plate", "comp"}
    assert not torch.equal(keyed.result.rgba, first.result.rgba)
    tau = session.render(RenderRequest(1, session.params.replace(tau=0.1)))
    assert len(calls) == 2 and tau.stage == "infer" and set(tau.seconds) == {"infer", "place", "comp"}
    matte = session.render(RenderRequest(1, session.params.replace(target_matte_grow=3.0)))
    assert len(calls) == 3 and matte.stage == "prepare"
    again = session.render(RenderRequest(1, session.params.replace(tau=0.1)))
    assert again.stage == "cached" and len(calls) == 3


@pytest.mark.parametrize("change", [{"clip_black": 0.3, "despill": 0.2}, {"tau": 0.2}])
def test_a_cached_change_renders_what_changer_render_writes(shot: UiShot, tmp_path: Path, change: dict) -> None:
    """The panel's re-render from its stage cache is the batch render's frame, bit for bit (one CPU
    thread for both: the thread count changes the last bits, not the cache)."""
    session = ReviewSession(shot.options())
    with one_cpu_thread(torch.device("cpu")):
        session.render(RenderRequest(1, session.params))
        rendered = session.render(RenderRequest(1, session.params.replace(**change)))
    assert rendered.stage == ("comp" if "clip_black" in change else "infer")
    sets = tuple(f"{name}={value}" for name, value in change.items())
    options = replace(shot.options(*sets), frames="1", pixel_type="float", out=str(tmp_path / "comp.####.exr"))
    assert batch.render(batch.plan_render(options), progress=False).rendered == [1]
    written, _ = read_image(tmp_path / "comp.0001.exr", channels=["R", "G", "B", "A", "matte.A"])
    assert torch.equal(written[:4], rendered.result.rgba) and torch.equal(written[4:], rendered.result.layers["matte"])


def test_a_superseded_render_stops_between_stages_and_keeps_its_work(session: ReviewSession) -> None:
    calls = count_forward(session)
    with pytest.raises(RenderAborted):
        session.render(RenderRequest(1, session.params), cancelled=lambda: len(session.cache.keys("inputs")) > 0)
    assert calls == [] and len(session.cache.keys("inputs")) == 1 and session.cache.keys("comp") == []
    assert session.render(RenderRequest(1, session.params)).stage == "prepare" and len(calls) == 1


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


def test_proxy_is_the_render_scale_of_the_clip_source(session: ReviewSession) -> None:
    full = session.render(RenderRequest(2, session.params))
    rendered = session.render(RenderRequest(2, session.params, scale=0.5))
    width, height = SIZE
    assert rendered.result.rgba.shape[-2:] == (height // 2, width // 2)
    for name in ("target", "source", "target_matte", "source_matte"):  # area averages of the full frame
        small = getattr(rendered.inputs, name)
        assert torch.allclose(small, F.avg_pool2d(getattr(full.inputs, name)[None], 2)[0], atol=1e-6), name
    assert session.cached_frames(RenderRequest(1, session.params, scale=0.5)) == {2}


def test_query_patch_moves_the_attention(session: ReviewSession) -> None:
    a = session.render(RenderRequest(1, session.params, query=(0.1, 0.1)))
    b = session.render(RenderRequest(1, session.params, query=(0.9, 0.9)))
    assert a.query_patch != b.query_patch
    assert not torch.equal(a.output.attention, b.output.attention)
    box = a.job.box
    assert box.x0 <= a.query_box.x0 < a.query_box.x1 <= box.x1 and a.query_box.y0 < b.query_box.y0


def test_fpat_groups_layer_shows_which_patches_tau_puts_in_the_body_group(session: ReviewSession) -> None:
    low = session.render(RenderRequest(1, session.params.replace(tau=0.05)))
    high = session.render(RenderRequest(1, session.params.replace(tau=0.95)))
    a, b = (LAYER_BY_NAME["fpat_groups"].extract(r) for r in (low, high))
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    assert torch.all(b <= a), "raising τ only moves patches out of the body group (M does not depend on τ)"
    assert float(a.sum()) > float(b.sum()), "edge patches change group between τ = 0.05 and 0.95"


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


def test_a_colour_layer_shown_again_transforms_only_its_changed_pixels(session: ReviewSession) -> None:
    color = session.params.color_config()
    before = session.render(RenderRequest(1, session.params)).result.rgba
    after = session.render(RenderRequest(1, session.params.replace(clip_black=0.4))).result.rgba
    settings = DisplaySettings(exposure=0.5)
    shown = to_display(before, COLOR, settings, color)
    again = to_display(after, COLOR, settings, color, previous=shown)
    assert np.array_equal(again.rgb8, to_display(after, COLOR, settings, color).rgb8)
    assert not np.array_equal(again.rgb8, shown.rgb8)
    other = to_display(after, COLOR, DisplaySettings(), color, previous=shown)  # other settings: all converted
    assert np.array_equal(other.rgb8, to_display(after, COLOR, DisplaySettings(), color).rgb8)
