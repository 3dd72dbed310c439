"""Each loss term on hand-made tensors with exact expected values."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import save_file

from changer.core.compose import NetInputs
from changer.core.errors import WeightsError
from changer.core.model import ChangerOutput
from changer.training.batch import Batch
from changer.training.losses import (
    GeneratorLoss,
    LossWeights,
    discriminator_loss,
    fill_colour_loss,
    generator_adversarial_loss,
    head_colour_loss,
    mask_loss,
    masked_l1,
    reconstruction_loss,
)
from changer.training.perceptual import (
    VGG19_LAYOUT,
    LaplacianPyramidLoss,
    VGG19Loss,
    laplacian_pyramid,
    perceptual_loss,
)
from changer.training.vgg import vgg_features


def _left_half(h: int = 4, w: int = 4) -> torch.Tensor:
    m = torch.zeros(1, 1, h, w)
    m[..., : w // 2] = 1.0
    return m


def test_masked_l1_counts_only_inside() -> None:
    a = torch.zeros(1, 3, 4, 4)
    b = torch.zeros(1, 3, 4, 4)
    b[..., :2] = 0.5
    b[..., 2:] = 9.0
    assert masked_l1(a, b, _left_half()).item() == pytest.approx(0.5)
    assert masked_l1(a, b, torch.zeros(1, 1, 4, 4)).item() == 0.0


def test_reconstruction_loss_is_full_plus_head_plus_inpaint() -> None:
    y = torch.zeros(1, 3, 4, 4)
    t = torch.zeros(1, 3, 4, 4)
    t[..., :2] = 0.4  # error 0.4 on the left half (the head)
    t[..., 2:] = 0.2  # error 0.2 on the right half
    head = _left_half()
    inpaint = torch.zeros(1, 1, 4, 4)
    inpaint[..., 3] = 1.0  # one column on the right
    expected = 0.3 + 0.4 + 0.2
    assert reconstruction_loss(y, t, head, inpaint).item() == pytest.approx(expected)


def test_head_colour_and_mask_losses_are_mean_l1() -> None:
    assert head_colour_loss(torch.full((1, 3, 2, 2), 0.25), torch.zeros(1, 3, 2, 2)).item() == pytest.approx(0.25)
    m = torch.tensor([[[[1.0, 0.0], [0.5, 0.5]]]])
    assert mask_loss(m, torch.ones(1, 1, 2, 2)).item() == pytest.approx((0 + 1 + 0.5 + 0.5) / 4)


def test_adversarial_losses_on_logits() -> None:
    zero = torch.zeros(1, 1, 2, 2)
    assert generator_adversarial_loss(zero).item() == pytest.approx(math.log(2))
    assert discriminator_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    big = torch.full((1, 1, 2, 2), 30.0)
    assert discriminator_loss(big, -big).item() == pytest.approx(0.0, abs=1e-12)
    assert generator_adversarial_loss(big).item() == pytest.approx(0.0, abs=1e-12)


def test_laplacian_pyramid_sums_back_and_loss_values() -> None:
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    bands = laplacian_pyramid(x, 3)
    assert [b.shape[-1] for b in bands] == [16, 8, 4]
    loss = LaplacianPyramidLoss(levels=3)
    assert loss(x, x).item() == 0.0
    # A constant offset lives only in the low-pass residual: the loss is the offset.
    assert loss(x, x + 0.1).item() == pytest.approx(0.1, abs=1e-6)


def test_perceptual_fallback_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        module = perceptual_loss(None)
    assert isinstance(module, LaplacianPyramidLoss)
    assert "NO VGG19 WEIGHTS" in caplog.text


def test_vgg19_refuses_pickles(tmp_path) -> None:
    bad = tmp_path / "vgg19.pth"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(WeightsError, match="safetensors"):
        VGG19Loss(bad)


def test_vgg19_loads_torchvision_names(tmp_path) -> None:
    torch.manual_seed(0)
    features = torch.nn.Sequential(*vgg_features(VGG19_LAYOUT))
    save_file({f"features.{k}": v for k, v in features.state_dict().items()}, str(tmp_path / "vgg19.safetensors"))
    loss = VGG19Loss(tmp_path / "vgg19.safetensors")
    x = torch.rand(1, 3, 32, 32)
    assert loss(x, x).item() == 0.0
    assert loss(x, 1 - x).item() > 0.0


def test_generator_loss_weights_and_names() -> None:
    n, h, w = 1, 4, 4
    y = torch.zeros(n, 3, h, w)
    target = torch.full((n, 3, h, w), 0.5)
    out = ChangerOutput(y=y, mask=torch.zeros(n, 1, h, w), to_rgb=torch.zeros(n, 3, h, w), attention=None)
    zeros1 = torch.zeros(n, 1, h, w)
    inputs = NetInputs(x=y, head=y, body=y, union=zeros1, inpaint=zeros1)
    batch = Batch(inputs, target, torch.full((n, 3, h, w), 0.25), zeros1, torch.ones(n, 1, h, w))
    loss = GeneratorLoss(LaplacianPyramidLoss(levels=2), LossWeights())
    terms = loss(out, batch, torch.zeros(n, 1, 2, 2))
    assert set(terms) == {"rec", "hc", "mask", "per", "adv", "total"}
    assert terms["rec"].item() == pytest.approx(0.5)
    assert terms["hc"].item() == pytest.approx(0.25)
    assert terms["mask"].item() == pytest.approx(1.0)
    assert terms["per"].item() == pytest.approx(0.5)
    expected = 10 * 0.5 + 10 * 0.25 + 10 * 1.0 + 0.5 + math.log(2)
    assert terms["total"].item() == pytest.approx(expected, rel=1e-6)
    assert "adv" not in loss(out, batch, None)


def test_fill_colour_loss_compares_mean_colours_in_the_region_only() -> None:
    y = torch.zeros(2, 3, 4, 4)
    target = torch.zeros(2, 3, 4, 4)
    target[0, :, :, :2] = torch.tensor([0.3, 0.6, 0.9])[:, None, None]  # inside the region of image 0
    target[0, :, :, 2:] = 5.0  # outside: must not count
    y[0, :, 0, :2] = 0.6  # Y's mean in the 8-pixel region is 0.6·2/8 = 0.15
    region = torch.zeros(2, 1, 4, 4)
    region[0, :, :, :2] = 1.0  # image 1 has nothing to fill and counts zero
    per_image0 = (abs(0.15 - 0.3) + abs(0.15 - 0.6) + abs(0.15 - 0.9)) / 3
    assert fill_colour_loss(y, target, region).item() == pytest.approx(per_image0 / 2, rel=1e-5)
    assert fill_colour_loss(target, target, region).item() == 0.0


def test_fill_term_counts_only_when_weighted() -> None:
    n, h, w = 1, 4, 4
    y = torch.zeros(n, 3, h, w)
    target = torch.full((n, 3, h, w), 0.5)
    out = ChangerOutput(y=y, mask=torch.zeros(n, 1, h, w), to_rgb=y, attention=None)
    ones1 = torch.ones(n, 1, h, w)
    inputs = NetInputs(x=y, head=y, body=y, union=ones1, inpaint=ones1)
    batch = Batch(inputs, target, target, ones1, ones1)
    per = LaplacianPyramidLoss(levels=2)
    assert "fill" not in GeneratorLoss(per, LossWeights())(out, batch, None)
    weighted = GeneratorLoss(per, LossWeights(fill=2.0))(out, batch, None)
    assert weighted["fill"].item() == pytest.approx(0.5)
    without = GeneratorLoss(per, LossWeights())(out, batch, None)
    assert (weighted["total"] - without["total"]).item() == pytest.approx(1.0, rel=1e-6)
