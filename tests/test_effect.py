"""The OpenFX-shaped effect: description, contexts, regions, preferences, identity, render scale, models,
and its render driver's stage cache."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from auto_shot import FACE_SIZE, needs_models, no_mediapipe
from changer.core.color import from_network
from changer.core.errors import ImageReadError, MissingExtraError, ParamError
from changer.core.headmatte.face_models import face_models
from changer.core.masks import Box
from changer.plugin.descriptor import IDENTIFIER
from changer.plugin.effect import HeadBlendEffect, Identity, RenderAborted
from changer.plugin.models import ModelCache
from changer.plugin.params import resolve_params
from changer.plugin.render_cache import MISSING, LruCache, RenderCache
from changer.training.studio import make_pair
from node_shot import save_tiny_weights


class MemorySource:
    """An in-memory host: clip name -> (C,H,W) pixels at full scale; render scale resamples them."""

    def __init__(self, clips: dict[str, torch.Tensor]) -> None:
        self.clips = clips
        self.fetched: list[tuple[str, float]] = []

    def connected(self, clip: str) -> bool:
        return clip in self.clips

    def region_of_definition(self, clip: str, time: float) -> Box:
        _, h, w = self.clips[clip].shape
        return Box(0, 0, w, h)

    def fetch(self, clip: str, time: float, render_scale: float) -> torch.Tensor:
        self.fetched.append((clip, render_scale))
        image = self.clips[clip]
        if render_scale == 1.0:
            return image
        return torch.nn.functional.interpolate(image[None], scale_factor=render_scale, mode="area")[0]


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_weights(tmp_path_factory.mktemp("effect"))


@pytest.fixture(scope="module")
def clips() -> dict[str, torch.Tensor]:
    source, target = make_pair(4, (128, 96))
    return {"Target": from_network(target.plate), "Source": from_network(source.plate),
            "TargetHeadMatte": target.mask("head", soft=True), "SourceHeadMatte": source.mask("head", soft=True)}


def _effect(weights: Path, context: str = "general", **values: object) -> HeadBlendEffect:
    params = resolve_params({"weights": str(weights), "network_resolution": 64, **values})
    return HeadBlendEffect(context, params, ModelCache())


def test_describe() -> None:
    desc = HeadBlendEffect.describe()
    assert desc.identifier == IDENTIFIER == "org.changer.HeadBlend"
    assert desc.contexts == ("general", "filter") and not desc.supports_tiles and desc.version >= (0, 1)


def test_contexts_declare_clips_with_components_and_flags() -> None:
    general = HeadBlendEffect.describe_in_context("general")
    assert list(general.names.values()) == ["Target", "Source", "TargetHeadMatte", "SourceHeadMatte",
                                            "Background", "CleanScreen"]
    assert [c.name for c in general.clips if c.optional] == ["TargetHeadMatte", "SourceHeadMatte", "Background",
                                                            "CleanScreen"]
    assert [c.name for c in general.clips if c.is_mask] == ["TargetHeadMatte", "SourceHeadMatte"]
    assert "Alpha" in general.clip("target_matte").components
    filt = HeadBlendEffect.describe_in_context("filter")
    assert filt.names["target"] == "Source" and filt.names["source"] == "Actor"
    assert not filt.clip("target").optional and filt.clip("source_matte").optional
    assert general.params is filt.params
    with pytest.raises(ParamError, match="context"):
        HeadBlendEffect.describe_in_context("transition")


def test_regions_and_clip_preferences(weights: Path, clips: dict) -> None:
    effect = _effect(weights)
    host = MemorySource(clips)
    assert effect.get_region_of_definition(host, 1) == Box(0, 0, 128, 96)
    rois = effect.get_regions_of_interest(host, 1, Box(10, 10, 20, 20))
    assert rois == {name: Box(0, 0, 128, 96) for name in clips}
    prefs = effect.get_clip_preferences()
    assert prefs.output_premultiplication == "premultiplied"
    assert dict(prefs.colour_managed) == {"Target": True, "Source": True, "TargetHeadMatte": False,
                                          "SourceHeadMatte": False, "Background": True, "CleanScreen": True}
    effect.set_params(output="green")
    assert effect.get_clip_preferences().output_premultiplication == "opaque"


def test_is_identity_for_an_unconnected_source_or_empty_mattes(weights: Path, clips: dict) -> None:
    effect = _effect(weights)
    partial = MemorySource({k: v for k, v in clips.items() if k != "Source"})
    assert effect.is_identity(partial, 1) == Identity("Target", 1, "not connected: Source")
    result = effect.render(partial, 1)
    assert result.passthrough and torch.equal(result.rgba[:3], clips["Target"])
    empty = MemorySource({**clips, "SourceHeadMatte": torch.zeros_like(clips["SourceHeadMatte"])})
    assert effect.is_identity(empty, 1) is None  # on_empty_matte=error: render raises instead
    effect.set_params(on_empty_matte="passthrough")
    assert "SourceHeadMatte" in effect.is_identity(empty, 1).reason
    assert effect.is_identity(MemorySource(clips), 1) is None


def test_render_full_frame_window_and_render_scale(weights: Path, clips: dict) -> None:
    effect = _effect(weights, seam_feather=6.0)
    host = MemorySource(clips)
    effect.begin_sequence_render()
    full = effect.render(host, 1)
    assert full.rgba.shape == (4, 96, 128) and {"matte", "M", "ip"} <= set(full.layers)
    window = effect.render(host, 1, Box(10, 20, 50, 60))
    assert torch.equal(window.rgba, full.rgba[:, 20:60, 10:50])
    half = effect.render(host, 1, render_scale=0.5)
    assert half.rgba.shape == (4, 48, 64) and ("Target", 0.5) in host.fetched
    effect.end_sequence_render()
    with pytest.raises(ParamError, match="render scale"):
        effect.render(host, 1, render_scale=0.0)


def test_one_model_per_device_behind_a_lock(weights: Path) -> None:
    cache = ModelCache()
    first = cache.get(weights, "cpu")
    assert cache.get(str(weights), "auto" if not torch.cuda.is_available() else "cpu") is first
    assert isinstance(first.lock, type(threading.Lock()))


def test_each_change_reruns_only_the_stage_it_invalidates(weights: Path, clips: dict) -> None:
    host, cache = MemorySource(clips), RenderCache()
    effect = _effect(weights, device="cpu")
    calls: list[int] = []
    effect.models.get(str(weights), "cpu").model.register_forward_hook(lambda *_: calls.append(1))
    first = effect.render_stages(host, 1, cache=cache)
    assert first.stage == "prepare" and len(calls) == 1 and {"inputs", "prepare", "infer", "comp"} <= set(first.seconds)
    assert effect.render_stages(host, 1, cache=cache).stage == "cached" and len(calls) == 1
    expected = {"clip_black": ("comp", {"plate", "comp"}), "despill": ("comp", {"plate", "comp"}),
                "seam_feather": ("comp", {"place", "comp"}), "tau": ("infer", {"infer", "place", "comp"}),
                "target_matte_grow": ("prepare", {"prepare", "infer", "place", "comp"}),
                "screen_type": ("prepare", {"prepare", "infer", "place", "screen", "plate", "comp"})}
    values = {"clip_black": 0.2, "despill": 0.3, "seam_feather": 3.0, "tau": 0.3, "target_matte_grow": 4.0,
              "screen_type": "green"}
    for name, (stage, made) in expected.items():
        effect.set_params(**{name: values[name]})
        if name == "screen_type":  # a prepare-stage keyer param: new network inputs and a new screen
            effect.set_params(screen_color=(0.02, 0.3, 0.03))
        staged = effect.render_stages(host, 1, cache=cache)
        assert staged.stage == stage and set(staged.seconds) == made, name
    assert len(calls) == 4  # the first render, tau, the matte, the screen
    assert effect.render_stages(host, 1, cache=cache).stage == "cached"


def test_a_cached_render_is_the_uncached_render(weights: Path, clips: dict) -> None:
    host, cache = MemorySource(clips), RenderCache()
    effect = _effect(weights, device="cpu")
    effect.render(host, 1, cache=cache)
    applied: dict = {}
    for change in ({"clip_black": 0.25, "despill": 0.5}, {"tau": 0.2}, {"output": "aovs"}):
        applied |= change
        effect.set_params(**change)
        cached = effect.render(host, 1, cache=cache)
        fresh = _effect(weights, device="cpu", **applied).render(host, 1)
        assert torch.equal(cached.rgba, fresh.rgba), change
        assert all(torch.equal(cached.layers[k], fresh.layers[k]) for k in fresh.layers), change


def test_an_aborted_render_keeps_what_it_made(weights: Path, clips: dict) -> None:
    host, cache = MemorySource(clips), RenderCache()
    effect = _effect(weights, device="cpu")
    asked: list[int] = []

    def abort_before_infer() -> bool:
        asked.append(1)
        return len(asked) > 2  # inputs and prepare run, infer is refused

    with pytest.raises(RenderAborted):
        effect.render_stages(host, 1, cache=cache, abort=abort_before_infer)
    again = effect.render_stages(host, 1, cache=cache)
    assert again.stage == "infer" and "prepare" not in again.seconds and "inputs" not in again.seconds


def test_render_cache_budgets_bytes_per_stage() -> None:
    cache: LruCache[torch.Tensor] = LruCache("test", max_bytes=3 * 400)
    for key in range(5):
        cache.put(key, torch.zeros(100))  # 400 bytes each
    assert cache.keys() == [2, 3, 4] and cache.bytes == 1200
    assert cache.get(2) is not MISSING and cache.get(0) is MISSING
    cache.put(5, torch.zeros(100))
    assert cache.keys() == [4, 2, 5]
    stages = RenderCache(max_bytes=16 * 2**20)
    stages.put("prepare", (1, 1.0, "d"), None)  # a pass-through frame's job is a product too
    assert stages.get("prepare", (1, 1.0, "d")) is None and stages.keys("comp") == []



def test_in_the_filter_context_errors_name_that_contexts_clips(weights: Path, clips: dict) -> None:
    """The plate is `Source` and the actor `Actor` there: a bad actor plate must not be called `Source`."""
    filt = {"Source": clips["Target"], "Actor": clips["Source"].clone(),
            "TargetHeadMatte": clips["TargetHeadMatte"], "SourceHeadMatte": clips["SourceHeadMatte"]}
    filt["Actor"][:, 3, 4] = float("nan")
    with pytest.raises(ImageReadError, match=r"^clip Actor: 3 NaN or infinite values"):
        _effect(weights, "filter").render(MemorySource(filt), 1)
    empty = {**filt, "Actor": clips["Source"], "SourceHeadMatte": torch.zeros_like(clips["SourceHeadMatte"])}
    with pytest.raises(ImageReadError, match=r"^clip SourceHeadMatte: the head matte is empty"):
        _effect(weights, "filter").render(MemorySource(empty), 1)


@pytest.fixture(scope="module")
def faces() -> dict[str, torch.Tensor]:
    """A studio pair big enough for the face models (their faces about 40 px high), with the exact head mattes."""
    source, target = make_pair(7, FACE_SIZE)
    return {"Target": from_network(target.plate), "Source": from_network(source.plate),
            "TargetHeadMatte": target.mask("head", soft=True), "SourceHeadMatte": source.mask("head", soft=True)}


def _iou(matte: torch.Tensor, truth: torch.Tensor) -> float:
    pred, want = matte[0] >= 0.5, truth[0] > 0.5
    return float((pred & want).sum() / (pred | want).sum())


@needs_models
def test_an_unconnected_head_matte_is_made_from_its_plate(weights: Path, faces: dict) -> None:
    """Plates alone render: each head matte is found on the frame (IoU ≥ 0.94 against the studio's exact one,
    measured 0.96-0.97), the panel learns which are automatic and from which face oval."""
    plates = MemorySource({k: faces[k] for k in ("Target", "Source")})
    effect = _effect(weights, device="cpu")
    assert effect.is_identity(plates, 1) is None
    staged = effect.render_stages(plates, 1)
    assert not staged.result.passthrough and staged.job is not None
    for head, clip in (("target", "TargetHeadMatte"), ("source", "SourceHeadMatte")):
        assert _iou(getattr(staged.inputs, f"{head}_matte"), faces[clip]) >= 0.94
        auto = staged.auto[head]
        assert auto.clip == clip and auto.mode == "auto" and auto.landmarks.oval.shape[1] == 2
    one = MemorySource({k: faces[k] for k in ("Target", "Source", "SourceHeadMatte")})
    assert set(effect.render_stages(one, 1).auto) == {"target"}, "a connected matte replaces the automatic one"


@needs_models
def test_matte_combine_replaces_adds_or_subtracts(weights: Path, faces: dict) -> None:
    auto = _effect(weights).frame_inputs(MemorySource({k: faces[k] for k in ("Target", "Source")}), 1)
    roto = torch.zeros(1, *FACE_SIZE[::-1])
    roto[:, 100:, :] = 0.5  # a hand-made matte of the lower frame, half on
    host = MemorySource({**faces, "TargetHeadMatte": roto, "SourceHeadMatte": roto})
    expected = {"replace": roto, "add": torch.maximum(roto, auto.target_matte),
                "subtract": (auto.target_matte - roto).clamp(0.0, 1.0)}
    for mode, want in expected.items():
        effect = _effect(weights, matte_combine=mode)
        staged = effect.render_stages(host, 1)
        assert torch.equal(staged.inputs.target_matte, want), mode
        assert set(staged.auto) == (set() if mode == "replace" else {"target", "source"}), mode


@needs_models
def test_with_an_automatic_matte_a_keyer_knob_reaches_back_to_the_matte(weights: Path, faces: dict) -> None:
    """The automatic matte is keyed with the artist's keyer, so its comp-stage knobs change it: the cache must
    make the frame again, and the result is a fresh render's."""
    host, cache = MemorySource({k: faces[k] for k in ("Target", "Source")}), RenderCache()
    effect = _effect(weights, device="cpu")
    effect.render_stages(host, 1, cache=cache)
    effect.set_params(clip_black=0.2)
    assert effect.render_stages(host, 1, cache=cache).stage == "prepare"
    fresh = _effect(weights, device="cpu", clip_black=0.2).render(host, 1)
    assert torch.equal(effect.render(host, 1, cache=cache).rgba, fresh.rgba)


def test_without_the_extra_an_unconnected_matte_names_clip_and_extra(weights: Path, faces: dict,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    no_mediapipe(monkeypatch)
    host = MemorySource({k: faces[k] for k in ("Target", "Source", "SourceHeadMatte")})
    with pytest.raises(MissingExtraError, match=r"^clip TargetHeadMatte \(automatic head matte\): .*"
                                                r'pip install -e "\.\[auto\]"') as info:
        _effect(weights).render(host, 1)
    assert "\n" not in str(info.value)
    face_models.cache_clear()
