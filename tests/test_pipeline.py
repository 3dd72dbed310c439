"""One frame through core.pipeline: bit-identity outside the edit, stage purity, network cost, detail."""

from __future__ import annotations

import math

import pytest
import torch

from changer.core import masks
from changer.core.align import Similarity, fit_similarity, warp_into_box
from changer.core.color import from_network, to_network
from changer.core.errors import ImageReadError
from changer.core.keying import key
from changer.core.model import build_model
from changer.core.pipeline import (
    FrameInputs,
    FrameResult,
    MatteSettings,
    composite,
    infer,
    key_plate,
    keyer_in_network_space,
    place,
    plate_screen,
    prepare,
    stages,
)
from changer.core.pipeline.crop import blend_into, crop_box, crop_padded, inside
from changer.core.pipeline.detail import transfer_detail
from changer.core.pipeline.mattes import shape_matte
from changer.plugin.params import resolve_params
from changer.training.studio import make_pair

RES = 64


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("small").eval()


@pytest.fixture(scope="module")
def frame() -> FrameInputs:
    """A 128x96 studio pair in ACEScg with HDR highlights (> 1) in a corner away from the head."""
    source, target = make_pair(11, (128, 96))
    plates = from_network(torch.stack([target.plate, source.plate]))
    plates[0, :, 88:96, 0:6] = torch.tensor([3.0, 12.5, 300.0]).view(3, 1, 1)
    return FrameInputs(plates[0], plates[1], target.mask("head", soft=True), source.mask("head", soft=True))


def _settings(**changes: object):
    return resolve_params({"network_resolution": RES, **changes}).frame_settings()


def render_frame(model: torch.nn.Module, frame: FrameInputs, settings) -> FrameResult:
    """The three stages in a row, without a cache (what the effect does for the batch host)."""
    job = prepare(frame, settings)
    return composite(frame, job, None if job is None else infer(model, job, settings), settings)


def _untouched(result, frame) -> torch.Tensor:
    """Frame pixels outside the crop box or where the edit weight is 0."""
    part, (rows, cols) = inside(result.box, frame.size)
    untouched = torch.ones(frame.size, dtype=torch.bool)
    untouched[part.y0:part.y1, part.x0:part.x1] = result.intermediates["edit"][0, 0][rows, cols] == 0
    return untouched


def test_green_output_keeps_the_plates_bits_wherever_the_edit_weight_is_zero(model, frame) -> None:
    result = render_frame(model, frame, _settings(output="green"))
    untouched = _untouched(result, frame)
    assert untouched[88:96, 0:6].all() and untouched.float().mean() > 0.2
    assert torch.equal(result.rgba[:3][:, untouched], frame.target[:, untouched])
    assert (result.rgba[:3][:, 88:96, 0:6] > 1).all()
    assert not torch.equal(result.rgba[:3], frame.target), "the edit changed nothing"
    assert torch.equal(result.rgba[3], torch.ones_like(result.rgba[3])) and not result.premultiplied


def test_comp_output_outside_the_edit_is_the_key_of_the_plate(model, frame) -> None:
    settings = _settings(output="comp")
    result = render_frame(model, frame, settings)
    keyed = key(to_network(frame.target[None], settings.color), keyer_in_network_space(settings.keyer, settings.color))
    expected = from_network(keyed.fg, settings.color)[0] * keyed.alpha[0]
    untouched = _untouched(result, frame)
    assert torch.equal(result.rgba[:3][:, untouched], expected[:, untouched])
    assert torch.equal(result.rgba[3][untouched], keyed.alpha[0, 0][untouched])
    assert result.premultiplied and set(result.layers) == {"matte", "M", "ip"}


def test_in_the_seam_the_doubles_body_keeps_the_plates_own_key(model, frame) -> None:
    """Where the edit weight fades out around the union (the seam) and nothing changes (no new head, nothing to
    fill, no double's head), the comp's colour is the plate's key, not the network's softer copy of the double's
    body blended into it (to the float rounding of the paste)."""
    settings = _settings(output="comp")
    job = prepare(frame, settings)
    result = composite(frame, job, infer(model, job, settings), settings)
    keyed = key(to_network(frame.target[None], settings.color), keyer_in_network_space(settings.keyer, settings.color))
    expected = from_network(keyed.fg, settings.color)[0] * keyed.alpha[0]
    part, (rows, cols) = inside(job.box, frame.size)
    seam = ((result.intermediates["edit"] > 0) & (torch.maximum(job.source_head, job.inpaint) == 0)
            & (job.target_head == 0))
    kept = torch.zeros(frame.size, dtype=torch.bool)
    kept[part.y0:part.y1, part.x0:part.x1] = seam[0, 0][rows, cols]
    kept &= keyed.alpha[0, 0] > 0.5
    assert int(kept.sum()) >= 20, "the studio pair has body pixels in the seam"
    torch.testing.assert_close(result.rgba[:3][:, kept], expected[:, kept], rtol=0, atol=1e-5)


def test_aovs_output_has_every_layer(model, frame) -> None:
    staged = render_frame(model, frame, _settings(output="aovs"))
    assert set(staged.layers) == {"matte", "M", "ip", "X", "Y", "ToRGB", "alpha", "union", "edit"}
    assert {"X", "Y", "ToRGB", "M", "alpha", "union", "ip", "edit", "comp"} <= set(staged.intermediates)


@pytest.mark.parametrize("changes", [{}, {"auto_clean_plate": False}, {"screen_color": (0.02, 0.3, 0.03)}])
def test_a_kept_plate_screen_keys_as_the_keyer_alone(frame, changes: dict) -> None:
    """The comp stage's key of the plate against a cached screen is the keyer's own key, bit for bit,
    whichever artist knobs changed since the screen was found."""
    screen = plate_screen(frame, _settings(**changes))
    for knobs in ({}, {"clip_black": 0.2, "despill": 0.4, "screen_balance": 0.3}):
        settings = _settings(**changes, **knobs)
        ours = key_plate(screen, settings)
        plate = to_network(frame.target[None], settings.color)
        keyed = key(plate, keyer_in_network_space(settings.keyer, settings.color))
        assert torch.equal(ours.alpha, keyed.alpha) and torch.equal(ours.fg, keyed.fg)
        assert torch.equal(ours.screen, keyed.screen)


def test_composite_from_given_parts_is_the_composite(model, frame) -> None:
    """What a host caches of the comp stage (the plate's key, the placed result) changes nothing."""
    settings = _settings(output="aovs")
    job = prepare(frame, settings)
    out = infer(model, job, settings)
    given = composite(frame, job, out, settings, key_plate(plate_screen(frame, settings), settings),
                      place(frame, job, out, settings))
    made = composite(frame, job, out, settings)
    assert torch.equal(given.rgba, made.rgba)
    assert all(torch.equal(given.layers[name], made.layers[name]) for name in made.layers)


@pytest.mark.parametrize("output", ["comp", "green"])
def test_the_head_is_made_in_the_edit_window_only(model, frame, monkeypatch, output: str) -> None:
    """The head's alpha and colour are made where the result is used: the same as when the whole crop is
    used. (Y is no longer keyed: its alpha comes from the mattes and the plate's key, issue 16.)"""
    settings = _settings(output=output, matte_grow=2.0, edge_softness=1.5, seam_feather=2.0)
    job = prepare(frame, settings)
    out = infer(model, job, settings)
    windowed = composite(frame, job, out, settings)
    weight = windowed.intermediates["edit"]
    window = stages.edit_window(weight, job.box, frame.size, 0)
    assert window.width * window.height < job.box.width * job.box.height / 2
    part, (rows, cols) = inside(job.box, frame.size)
    used = (weight[0, 0][rows, cols] > 0).nonzero() + torch.tensor([part.y0, part.x0])
    assert (used.min(0).values >= torch.tensor([window.y0, window.x0])).all()
    assert (used.max(0).values < torch.tensor([window.y1, window.x1])).all()
    monkeypatch.setattr(stages, "edit_window", lambda weight, box, size, reach: box)
    whole = composite(frame, job, out, settings)
    assert torch.allclose(windowed.layers["matte"], whole.layers["matte"], atol=1e-6, rtol=0)
    assert torch.allclose(windowed.rgba, whole.rgba, atol=5e-3, rtol=0)


def test_network_cost_does_not_grow_with_plate_size(frame) -> None:
    big = FrameInputs(*(torch.nn.functional.interpolate(t[None], scale_factor=3, mode="bilinear")[0]
                        for t in (frame.target, frame.source, frame.target_matte, frame.source_matte)))
    small_job, big_job = prepare(frame, _settings()), prepare(big, _settings())
    assert small_job.inputs.x.shape == big_job.inputs.x.shape == (1, 3, RES, RES)
    assert big_job.box.width > 2 * small_job.box.width


def test_empty_matte_errors_or_passes_through(model, frame) -> None:
    empty = FrameInputs(frame.target, frame.source, frame.target_matte, torch.zeros_like(frame.source_matte))
    with pytest.raises(ImageReadError, match="SourceHeadMatte.*empty"):
        render_frame(model, empty, _settings())
    result = render_frame(model, empty, _settings(on_empty_matte="passthrough"))
    assert result.passthrough and torch.equal(result.rgba[:3], frame.target)


def test_bad_frames_name_the_clip(model, frame) -> None:
    nan = frame.source.clone()
    nan[0, 3, 3] = math.nan
    with pytest.raises(ImageReadError, match="clip Source: 1 NaN"):
        prepare(FrameInputs(frame.target, nan, frame.target_matte, frame.source_matte), _settings())
    with pytest.raises(ImageReadError, match="clip Background: has 2 channels"):
        prepare(FrameInputs(frame.target, frame.source, frame.target_matte, frame.source_matte,
                            background=frame.target[:2]), _settings())


def test_background_is_composited_under_the_result(model, frame) -> None:
    bg = torch.full_like(frame.target, 0.25)
    result = render_frame(model, FrameInputs(frame.target, frame.source, frame.target_matte, frame.source_matte, bg),
                          _settings())
    assert torch.allclose(result.rgba[3], torch.ones_like(result.rgba[3]))


def test_spatial_params_follow_the_render_scale() -> None:
    values = resolve_params({"seam_feather": 10.0, "target_matte_grow": 4.0, "matte_grow": 2.0, "tau": 0.3})
    half = values.frame_settings(0.5)
    assert half.seam_feather == 5.0 and half.target_matte.grow == 2.0 and half.keyer.matte_grow == 1.0
    assert half.tau == 0.3 and half.network_resolution == 256 and half.crop_padding == values["crop_padding"]


def test_matte_shaping_on_a_window_equals_the_whole_frame() -> None:
    matte = torch.zeros(1, 1, 80, 90)
    matte[..., 30:50, 40:55] = 1.0
    shaping = MatteSettings(threshold=0.5, grow=3.5, feather=2.0)
    expected = masks.feather(masks.grow_shrink(masks.threshold(matte, 0.5), 3.5), 2.0).clamp(0, 1)
    assert torch.allclose(shape_matte(matte, shaping, "T"), expected, atol=1e-6)
    with pytest.raises(ImageReadError, match="covers 100.0%"):
        shape_matte(torch.ones(1, 1, 8, 8), shaping, "T")


def test_crop_box_is_square_padded_and_inside_the_frame_when_it_fits() -> None:
    union = torch.zeros(1, 1, 200, 300)
    union[..., 80:120, 140:160] = 1
    box = crop_box(union, 0.5)
    assert box.width == box.height == 80 and box.x0 >= 0 and box.x1 <= 300  # 40 tall + 2 x 20 padding
    assert box.x0 <= 140 and box.x1 >= 160 and box.y0 <= 80 and box.y1 >= 120
    top = torch.zeros(1, 1, 200, 300)
    top[..., 5:15, 140:160] = 1  # near the top: moved down into the frame
    assert crop_box(top, 0.5) == masks.Box(130, 0, 170, 40)


def test_a_crop_larger_than_the_frame_stays_square_and_extends_past_it() -> None:
    union = torch.zeros(1, 1, 100, 160)
    union[..., 10:90, 70:90] = 1
    box = crop_box(union, 0.5)
    assert box.width == box.height == 160 and box.y0 == 50 - 80 and (box.x0, box.x1) == (0, 160)
    plate = torch.arange(100 * 160, dtype=torch.float32).view(1, 1, 100, 160)
    padded = crop_padded(plate, box)
    assert padded.shape[-2:] == (160, 160)
    assert torch.equal(padded[..., 30:130, :], plate) and torch.equal(padded[..., 0, :], plate[..., 0, :])
    assert torch.equal(crop_padded(plate, box, "zeros")[..., :30, :], torch.zeros(1, 1, 30, 160))


def test_blend_into_keeps_bits_where_the_weight_is_zero() -> None:
    canvas = torch.tensor([[[[1e30, 5.0], [7.0, -3.0]]]])
    patch = torch.full((1, 1, 2, 2), math.inf)
    weight = torch.tensor([[[[0.0, 0.0], [0.0, 1.0]]]])
    out = blend_into(canvas, patch, weight, masks.Box(0, 0, 2, 2))
    assert torch.equal(out[..., 0, :], canvas[..., 0, :]) and out[0, 0, 1, 0] == 7.0


def test_similarity_fit_recovers_scale_and_shift() -> None:
    ys, xs = torch.meshgrid(torch.arange(120.0), torch.arange(160.0), indexing="ij")
    disc = lambda cx, cy, r: ((xs + 0.5 - cx) ** 2 + (ys + 0.5 - cy) ** 2 <= r * r).float()[None, None]  # noqa: E731
    fit = fit_similarity(disc(50, 60, 10), disc(100, 50, 20))
    assert fit.scale == pytest.approx(2.0, rel=0.03) and fit.angle == 0.0
    warped = warp_into_box(disc(50, 60, 10), fit, masks.Box(0, 0, 160, 120))
    assert (warped - disc(100, 50, 20)).abs().mean() < 0.01
    plate = torch.rand(1, 3, 20, 30)
    assert torch.equal(warp_into_box(plate, Similarity(), masks.Box(2, 3, 12, 9)), plate[..., 3:9, 2:12])


def test_detail_transfer_adds_only_the_sources_fine_detail_inside_its_matte() -> None:
    gen = torch.Generator().manual_seed(3)
    source = torch.rand(1, 3, 128, 128, generator=gen) * 0.5 + 0.25
    y = torch.nn.functional.interpolate(source, size=(32, 32), mode="bilinear", antialias=True)
    matte = torch.zeros(1, 1, 128, 128)
    matte[..., :, :64] = 1
    out = transfer_detail(y, source, matte)
    up = torch.nn.functional.interpolate(y, size=(128, 128), mode="bilinear")
    assert torch.allclose(out[..., 64:], up[..., 64:].clamp(0, 1))
    luma = lambda t: (t * torch.tensor([0.2126, 0.7152, 0.0722]).view(1, 3, 1, 1)).sum(1)  # noqa: E731
    assert (luma(out) - luma(source))[..., :64].abs().mean() < (luma(up) - luma(source))[..., :64].abs().mean() / 2


def test_similarity_alignment_moves_the_source_onto_the_target_head(frame) -> None:
    shifted = FrameInputs(frame.target, torch.roll(frame.source, 9, dims=-1), frame.target_matte,
                          torch.roll(frame.source_matte, 9, dims=-1))
    plain, aligned = prepare(shifted, _settings()), prepare(shifted, _settings(alignment="similarity"))
    assert plain.alignment.is_identity and not aligned.alignment.is_identity
    overlap = lambda job: float((job.source_head * job.target_head).sum() / job.target_head.sum())  # noqa: E731
    assert overlap(aligned) > overlap(plain)
