"""Metrics against known values, the baselines, and the evaluation table."""

from __future__ import annotations

import argparse
import json
import math
from itertools import pairwise

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from changer.core.compose import NetInputs
from changer.core.errors import WeightsError
from changer.core.model import ChangerConfig, ChangerNet
from changer.core.model.weights_io import save_weights
from changer.plugin.commands import eval as eval_cmd
from changer.training.baselines import classical_inpaint, naive_paste, reinhard_transfer
from changer.training.evaluate import COLUMNS, baseline_methods, changer_methods, evaluate, markdown_table
from changer.training.lpips import LPIPS, SLICE_ENDS, VGG16_LAYOUT
from changer.training.metrics import psnr, ssim
from changer.training.vgg import vgg_features

TINY = ChangerConfig(name="tiny", resolution=64, enc_widths=(8, 16, 32), enc_blocks=(0, 0, 1), dec_blocks=(0, 0, 0),
                     cond_widths=(8, 16), colorizer_depth=1, colorizer_heads=2, colorizer_kv_pool=1, fpat_dim=16,
                     fpat_depth=1, fpat_heads=2, patch_size=2, mlp_ratio=2.0, norm_groups=4)


def test_psnr_known_values() -> None:
    a = torch.zeros(2, 3, 8, 8)
    b = torch.full((2, 3, 8, 8), 0.1)
    assert psnr(a, b).tolist() == pytest.approx([20.0, 20.0])
    assert psnr(a, a).tolist() == [100.0, 100.0]
    matte = torch.zeros(2, 1, 8, 8)
    matte[..., :4] = 1.0
    b[..., 4:] = 1.0  # outside the matte: ignored
    assert psnr(a, b, matte).tolist() == pytest.approx([20.0, 20.0])


def test_ssim_identity_is_one() -> None:
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert ssim(x, x).item() == pytest.approx(1.0, abs=1e-6)


def test_ssim_constant_images_hand_computed() -> None:
    # Flat images: variances and covariance vanish, so SSIM = (2·μa·μb + C1) / (μa² + μb² + C1).
    a = torch.full((1, 1, 16, 16), 0.2, dtype=torch.float64)
    b = torch.full((1, 1, 16, 16), 0.6, dtype=torch.float64)
    c1 = 0.01**2
    expected = (2 * 0.2 * 0.6 + c1) / (0.2**2 + 0.6**2 + c1)
    assert ssim(a, b).item() == pytest.approx(expected, rel=1e-9)


def test_ssim_contrast_inversion_of_a_step() -> None:
    # A step edge against its inverse: structure term is negative near the edge, so SSIM < 0.5.
    a = torch.zeros(1, 1, 32, 32)
    a[..., 16:] = 1.0
    assert ssim(a, 1 - a).item() < 0.5


def _inputs(n: int = 2, size: int = 32) -> tuple[NetInputs, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(n, 3, size, size, generator=gen)
    head_matte = torch.zeros(n, 1, size, size)
    head_matte[..., 8:20, 8:20] = 1.0
    inpaint = torch.zeros(n, 1, size, size)
    inpaint[..., 20:24, 8:20] = 1.0
    grey = x.mean(1, keepdim=True).expand(-1, 3, -1, -1)
    x = head_matte * grey + (1 - head_matte) * x
    head = torch.zeros(n, 3, size, size)
    head[..., 8:20, 8:20] = torch.tensor([0.8, 0.5, 0.4]).view(1, 3, 1, 1)
    return NetInputs(x=x, head=head, body=x, union=head_matte + inpaint, inpaint=inpaint), head_matte


def test_naive_paste_takes_the_reference_colour() -> None:
    inputs, matte = _inputs()
    out = naive_paste(inputs, matte)
    inside = out[..., 8:20, 8:20]
    # The reference is flat: its std is 0, so the head becomes exactly its mean colour.
    assert torch.allclose(inside.mean((2, 3)), torch.tensor([0.8, 0.5, 0.4]).expand(2, 3), atol=1e-5)
    assert torch.equal(out[..., 20:24, 8:20], inputs.x[..., 20:24, 8:20])


def test_classical_inpaint_fills_the_hole_and_colours_the_head() -> None:
    inputs, matte = _inputs()
    out = classical_inpaint(inputs, matte, "telea")
    assert out.shape == inputs.x.shape
    assert not torch.allclose(out[..., 20:24, 8:20], inputs.x[..., 20:24, 8:20])
    assert torch.equal(out[..., :8, :], inputs.x[..., :8, :])
    head = out[..., 9:19, 9:19].mean((0, 2, 3))
    assert head[0] > head[1] > head[2]  # the reference's warm hue


def test_reinhard_matches_reference_mean() -> None:
    image = np.full((8, 8, 3), 0.5, np.float32)
    ref = np.zeros((8, 8, 3), np.float32)
    ref[...] = (0.7, 0.4, 0.3)
    out = reinhard_transfer(image, np.ones((8, 8), np.float32), ref, np.ones((8, 8), np.float32))
    assert np.allclose(out, ref, atol=2e-3)


def test_eval_table_has_changer_and_both_baselines() -> None:
    torch.manual_seed(0)
    model = ChangerNet(TINY).eval()
    methods = changer_methods([("CHANGER tiny", model), ("CHANGER no-H2", model)], [0.3, 0.7], 0.5, torch.device("cpu"))
    methods |= baseline_methods()
    scores = evaluate(methods, samples=2, size=64, batch_size=2)
    table = markdown_table(scores, [c for c in COLUMNS if c.key != "lpips"])
    rows = ("CHANGER tiny τ=0.3", "CHANGER tiny τ=0.7", "CHANGER no-H2 τ=0.5", "naive paste", "Telea inpaint",
            "NS inpaint")
    for row in rows:
        assert row in table
    assert "LPIPS" not in table
    lines = table.splitlines()
    assert len(lines) == 2 + len(methods)
    naive = scores["naive paste (mean/std colour, hole green)"]
    assert 10 < naive.mean("psnr") < 100 and 0 < naive.mean("ssim") <= 1
    assert not math.isnan(naive.mean("psnr_ip"))


def test_eval_command_prints_table_and_records(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(0)
    weights = save_weights(ChangerNet(TINY), tmp_path / "tiny.safetensors", training_data="test")
    parser = argparse.ArgumentParser()
    eval_cmd.add_arguments(parser)
    args = parser.parse_args(["--weights", str(weights), "--samples", "1", "--taus", "0.5", "--record",
                              "--device", "cpu"])
    assert eval_cmd.run(args) == 0
    out = capsys.readouterr().out
    assert "| CHANGER tiny τ=0.5 |" in out
    assert "naive paste" in out and "Telea inpaint + Reinhard Lab" in out
    assert "LPIPS: not computed (no weights)" in out
    assert "cross-skin pairs" in out and "face ΔE76" in out
    card = json.loads(weights.with_suffix(".json").read_text())
    assert "naive paste (mean/std colour, hole green)" in card["metrics"]["eval"]["rows"]
    cross = card["metrics"]["eval_cross"]["rows"]
    assert "face_de76" in cross["CHANGER tiny τ=0.5"] and "tau_ends_max" in cross["CHANGER tiny τ=0.5"]
    assert "tau_ends_max" not in cross["naive paste (mean/std colour, hole green)"]


def test_lpips_loads_the_lpips_layout(tmp_path) -> None:
    torch.manual_seed(0)
    layers = vgg_features(VGG16_LAYOUT)
    tensors = {}
    bounds = (0, *SLICE_ENDS)
    for k, (a, b) in enumerate(pairwise(bounds)):
        for i in range(a, b):
            if isinstance(layers[i], torch.nn.Conv2d):
                tensors[f"net.slice{k + 1}.{i}.weight"] = layers[i].weight.detach().clone()
                tensors[f"net.slice{k + 1}.{i}.bias"] = layers[i].bias.detach().clone()
    for k, w in enumerate((64, 128, 256, 512, 512)):
        tensors[f"lin{k}.model.1.weight"] = torch.rand(1, w, 1, 1)
    save_file(tensors, str(tmp_path / "lpips.safetensors"))
    metric = LPIPS(tmp_path / "lpips.safetensors")
    x = torch.rand(2, 3, 32, 32)
    assert metric(x, x).tolist() == [0.0, 0.0]
    assert torch.all(metric(x, 1 - x) > 0)
    del tensors["lin0.model.1.weight"]
    save_file(tensors, str(tmp_path / "bad.safetensors"))
    with pytest.raises(WeightsError):
        LPIPS(tmp_path / "bad.safetensors")
