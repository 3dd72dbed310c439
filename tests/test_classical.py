"""``method = classical`` and a source of any size (issue 16), on a studio pair through the pipeline's stages."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from changer.core import masks
from changer.core.color import from_network, to_network
from changer.core.color.lab import srgb_to_lab
from changer.core.errors import ImageReadError, ParamError
from changer.core.model import build_model
from changer.core.pipeline import FrameInputs, FrameResult, classical_output, composite, infer, network_neck, prepare
from changer.core.pipeline.classical import classical_y, skin_bridge
from changer.core.pipeline.crop import resize
from changer.core.pipeline.place import place
from changer.plugin.params import resolve_params
from changer.training.studio import make_pair

RES = 128


@pytest.fixture(scope="module")
def frame() -> FrameInputs:
    source, target = make_pair(11, (160, 128))
    plates = from_network(torch.stack([target.plate, source.plate]))
    return FrameInputs(plates[0], plates[1], target.mask("head", soft=True), source.mask("head", soft=True))


def _render(frame: FrameInputs, **changes: object) -> FrameResult:
    settings = resolve_params({"network_resolution": RES, "output": "aovs", **changes}).frame_settings()
    job = prepare(frame, settings)
    assert job is not None
    if settings.method == "classical":
        output = classical_output(job)
    else:
        torch.manual_seed(0)
        output = infer(build_model("small").eval(), job, settings)
    return composite(frame, job, output, settings)


def test_classical_gives_the_same_outputs_layers_and_alpha_as_the_network(frame: FrameInputs) -> None:
    """The alpha is made of the mattes and the plate's key whatever makes the colour, so both methods
    give the same alpha to the bit, and the same layers."""
    network, classical = _render(frame, method="changer"), _render(frame, method="classical")
    assert classical.layers.keys() == network.layers.keys()
    assert torch.equal(classical.rgba[3], network.rgba[3])
    assert classical.intermediates["Y"].shape == network.intermediates["Y"].shape


def test_classical_pastes_the_source_head(frame: FrameInputs) -> None:
    """Ungraded, the new head inside the source matte is the source plate (mean |Δ| in network space
    below 0.03: chroma comes back from network resolution, luma detail at full resolution)."""
    result = _render(frame, method="classical", grade_strength=0.0)
    inner = masks.grow_shrink(frame.source_matte[None], -3.0)[0] > 0.5
    alpha = result.rgba[3:4].clamp_min(1e-6)
    comp = to_network(result.rgba[:3] / alpha)
    error = (comp - to_network(frame.source)).abs()[:, inner[0]].mean()
    assert float(error) < 0.03


def test_the_uncovered_neck_is_filled_with_body_colour_not_screen() -> None:
    """Pair 6: the double's chin reaches below the actor's, so a neck bridge is uncovered; the fill there
    continues the body (no canonical screen green left in it)."""
    source, target = make_pair(6, (160, 128))
    plates = from_network(torch.stack([target.plate, source.plate]))
    frame = FrameInputs(plates[0], plates[1], target.mask("head", soft=True), source.mask("head", soft=True))
    settings = resolve_params({"network_resolution": RES, "method": "classical"}).frame_settings()
    job = prepare(frame, settings)
    output = classical_output(job)
    bridge = (output.mask > 0.5) & (job.inputs.inpaint > 0.5)
    assert int(bridge.sum()) >= 100
    y = output.y
    green = (y[:, 1:2] > y[:, 0:1] + 0.3) & bridge
    assert float(green.sum() / bridge.sum()) < 0.05


def test_the_neck_bridge_is_filled_from_the_lit_neck_not_the_shadow_under_the_jaw() -> None:
    """On a real frame the first rows under the double's head matte were its jaw's shadow and the last of its beard
    (L* 30-64 against the lit neck's 75); filled from them, the bridge under the new jaw came out as a dark strip
    (band ΔE76 8.0 from the neck). Skin far darker than the body skin's median is left out of the fill: the
    bridge lands within ΔE76 1 of the lit neck."""
    size = 128
    target_head = torch.zeros(1, 1, size, size)
    target_head[..., 10:70, 40:88] = 1.0
    source_head = torch.zeros_like(target_head)
    source_head[..., 10:60, 40:88] = 1.0  # the actor's jaw ends 10 rows higher
    body = torch.zeros_like(target_head)
    body[..., 70:, 50:78] = 1.0
    lit, shadow = torch.tensor([0.85, 0.62, 0.5]), torch.tensor([0.45, 0.3, 0.22])
    background = torch.zeros(1, 3, size, size)
    background[..., 70:, 50:78] = lit.view(1, 3, 1, 1)
    background[..., 70:74, 50:78] = shadow.view(1, 3, 1, 1)
    inpaint = masks.difference(target_head, source_head)
    y, bridge = classical_y(background, body, inpaint, background, source_head, target_head)
    filled = (bridge > 0.5)[0, 0]
    assert int(filled.sum()) >= 100
    fill = srgb_to_lab(y[0][:, filled], dim=0).median(dim=1).values
    assert float((fill - srgb_to_lab(lit, dim=0)).norm()) < 1.0


def test_with_neck_fill_skin_the_networks_neck_bridge_is_the_classical_fill() -> None:
    """neck_fill=skin (the default): in the neck bridge outside the new head, the network's Y is replaced by the
    classical fill from the double's neck skin; everywhere else it is the network's to the bit. neck_fill=network
    keeps the network's Y whole."""
    source, target = make_pair(6, (160, 128))
    plates = from_network(torch.stack([target.plate, source.plate]))
    frame = FrameInputs(plates[0], plates[1], target.mask("head", soft=True), source.mask("head", soft=True))
    settings = resolve_params({"network_resolution": RES}).frame_settings()
    assert settings.neck_fill == "skin"
    job = prepare(frame, settings)
    torch.manual_seed(0)
    network = infer(build_model("small").eval(), job, settings)
    filled = network_neck(network, job, settings)
    classical = classical_output(job)
    source_head = F.interpolate(job.source_head, size=(RES, RES), mode="area")
    bridge = ((classical.mask > 0.5) & (job.inputs.inpaint > 0.5) & (source_head < 1e-6)).expand_as(network.y)
    assert int(bridge.sum()) >= 300
    torch.testing.assert_close(filled.y[bridge], classical.y[bridge], rtol=0, atol=1e-6)
    untouched = (classical.mask < 0.5).expand_as(network.y)
    assert torch.equal(filled.y[untouched], network.y[untouched])
    keep = resolve_params({"network_resolution": RES, "neck_fill": "network"}).frame_settings()
    assert torch.equal(network_neck(network, job, keep).y, network.y)


def test_the_grade_after_the_network_leaves_the_skin_filled_neck_bridge_as_it_is() -> None:
    """The neck bridge filled from the double's neck skin is already its skin: the grade after the network (whose
    offset brings the network's face to the neck) must not move it. It lifted the bridge 10 ΔE76 past the neck
    on a real frame. With neck_fill=network the network's neck is graded with its face."""
    source, target = make_pair(6, (160, 128))
    plates = from_network(torch.stack([target.plate, source.plate]))
    frame = FrameInputs(plates[0], plates[1], target.mask("head", soft=True), source.mask("head", soft=True))
    settings = resolve_params({"network_resolution": RES}).frame_settings()
    job = prepare(frame, settings)
    torch.manual_seed(0)
    network = infer(build_model("small").eval(), job, settings)
    filled = network_neck(network, job, settings)
    bridge = skin_bridge(job, settings)
    assert bridge is not None and float((bridge > 1 - 1e-6).sum()) >= 300
    graded_y = place(frame, job, filled, settings).y
    ungraded_y = place(frame, job, filled, replace(settings, grade=replace(settings.grade, strength=0.0))).y
    solid = (resize(bridge, tuple(graded_y.shape[-2:])) > 1 - 1e-6).expand_as(graded_y)
    torch.testing.assert_close(graded_y[solid], ungraded_y[solid], rtol=0, atol=1e-6)
    assert float((graded_y - ungraded_y).abs().amax()) > 0.01, "the network's head is graded"
    keep = resolve_params({"network_resolution": RES, "neck_fill": "network"}).frame_settings()
    assert skin_bridge(job, keep) is None


def test_a_source_of_another_size_is_placed_by_the_alignment(frame: FrameInputs) -> None:
    """The source plate and its matte scaled 1.5x (another size and aspect than the target's): with the default
    alignment (auto) the new head lands where a same-size render puts it (alpha IoU >= 0.9)."""
    big = FrameInputs(frame.target, F.interpolate(frame.source[None], scale_factor=1.5, mode="bilinear")[0],
                      frame.target_matte,
                      F.interpolate(frame.source_matte[None], scale_factor=1.5, mode="bilinear")[0])
    same = _render(frame, method="classical", alignment="similarity")
    other = _render(big, method="classical")
    a, b = same.rgba[3] > 0.5, other.rgba[3] > 0.5
    assert float((a & b).sum() / (a | b).sum()) >= 0.9


def test_alignment_none_refuses_a_source_of_another_size(frame: FrameInputs) -> None:
    small = FrameInputs(frame.target, frame.source[:, :100], frame.target_matte, frame.source_matte[:, :100])
    with pytest.raises(ParamError, match=r"alignment=none: clip Source is 160x100 and Target is 160x128"):
        _render(small, method="classical", alignment="none")


def test_a_source_matte_of_another_size_than_its_source_is_refused(frame: FrameInputs) -> None:
    bad = FrameInputs(frame.target, frame.source[:, :100], frame.target_matte, frame.source_matte)
    with pytest.raises(ImageReadError, match="clip SourceHeadMatte: is 160x128, the Source is 160x100"):
        _render(bad, method="classical")
