"""The CHANGER network: configs, shapes, argument checks, gradients, and the review-panel outputs."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from changer.core.errors import ContractError, ParamError
from changer.core.model import (
    CONFIGS,
    ChangerConfig,
    ChangerNet,
    body_share,
    build_model,
    count_parameters,
    get_config,
)
from changer.core.model.colorizer import colour_statistics
from changer.core.model.fpat import additive_mask

TINY = ChangerConfig(
    name="tiny", resolution=32, enc_widths=(8, 16, 16), enc_blocks=(0, 1, 1), dec_blocks=(0, 0, 1),
    cond_widths=(8, 16), colorizer_depth=1, colorizer_heads=2, colorizer_kv_pool=2, fpat_dim=16,
    fpat_depth=2, fpat_heads=2, patch_size=2, mlp_ratio=2.0, norm_groups=4,
)


def _inputs(n: int, h: int, w: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.rand(n, 3, h, w, generator=g, dtype=dtype) for _ in range(3))


def _split_tau(net: ChangerNet, x: torch.Tensor, head: torch.Tensor, body: torch.Tensor) -> float:
    """A τ that puts patches in both groups, so that FPAT's mask actually restricts attention."""
    with torch.no_grad():
        m = net(x, head, body, 0.5).mask
    avg = body_share(m, net.token_patch).flatten()
    tau = avg.median().item()
    assert (avg >= tau).any() and (avg < tau).any()
    return tau


def test_small_forward_shapes_and_budget() -> None:
    net = build_model("small").eval()
    assert count_parameters(net) <= 5_000_000
    x, head, body = _inputs(1, 256, 256)
    with torch.no_grad():
        out = net(x, head, body, 0.5, query_patch=5)
    assert out.y.shape == (1, 3, 256, 256)
    assert out.mask.shape == (1, 1, 256, 256)
    assert out.to_rgb.shape == (1, 3, 256, 256)
    rows, cols = net.patch_grid(256, 256)
    assert (rows, cols) == (16, 16)
    assert out.attention is not None and out.attention.shape == (1, 1, 16, 16)
    for t in (out.y, out.mask, out.to_rgb):
        assert torch.isfinite(t).all() and t.min() >= 0 and t.max() <= 1


def test_named_configs() -> None:
    assert set(CONFIGS) == {"small", "base"}
    small, base = get_config("small"), get_config("base")
    assert small.size_multiple == 16 and base.size_multiple == 16
    assert base.dim > small.dim
    with pytest.raises(ParamError, match="expected one of small, base"):
        get_config("huge")


def test_config_roundtrip_and_refusals() -> None:
    for cfg in (*CONFIGS.values(), TINY):
        assert ChangerConfig.from_dict(cfg.to_dict()) == cfg
    data = TINY.to_dict()
    with pytest.raises(ParamError, match="unknown keys \\['depth'\\]"):
        ChangerConfig.from_dict({**data, "depth": 3})
    with pytest.raises(ParamError, match="missing keys \\['patch_size'\\]"):
        ChangerConfig.from_dict({k: v for k, v in data.items() if k != "patch_size"})
    with pytest.raises(ParamError, match="not divisible"):
        dataclasses.replace(TINY, fpat_heads=3)
    with pytest.raises(ParamError, match="one entry per encoder level"):
        dataclasses.replace(TINY, enc_blocks=(1, 1))


def test_output_range_batch_independence_and_statelessness() -> None:
    torch.manual_seed(1)
    net = ChangerNet(TINY)
    x, head, body = _inputs(3, 32, 48, seed=2)
    tau = _split_tau(net, x[:1], head[:1], body[:1])
    with torch.no_grad():
        batch = net(x, head, body, tau)
        again = net(x, head, body, tau)
        singles = [net(x[i : i + 1], head[i : i + 1], body[i : i + 1], tau) for i in range(3)]
    assert list(net.buffers()) == []
    for a, b in zip(batch[:3], again[:3], strict=True):
        assert torch.equal(a, b)
    for i, single in enumerate(singles):
        for a, b in zip(batch[:3], single[:3], strict=True):
            torch.testing.assert_close(a[i : i + 1], b, rtol=0, atol=1e-5)
    assert batch.y.min() >= 0 and batch.y.max() <= 1


def test_tau_float_and_tensor_agree_and_tau_matters() -> None:
    torch.manual_seed(2)
    net = ChangerNet(TINY)
    x, head, body = _inputs(1, 32, 32, seed=3)
    tau = _split_tau(net, x, head, body)
    with torch.no_grad():
        a = net(x, head, body, tau)
        b = net(x, head, body, torch.tensor(tau))
        everything = net(x, head, body, 0.0)
    assert torch.equal(a.y, b.y)
    assert not torch.allclose(a.y, everything.y), "splitting the patches into groups must change Y"
    assert torch.equal(a.mask, everything.mask), "τ acts after Foreground-Prediction"


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), None, "0.5", torch.tensor([0.1, 0.2])])
def test_bad_tau_is_refused(bad: object) -> None:
    net = ChangerNet(TINY)
    with pytest.raises(ParamError, match="tau"):
        net(*_inputs(1, 32, 32), bad)


def test_bad_inputs_are_refused() -> None:
    net = ChangerNet(TINY)
    x, head, body = _inputs(1, 32, 32)
    with pytest.raises(ContractError, match=r"X: expected a float RGB batch of shape \(N,3,H,W\)"):
        net(x[:, :2], head, body)
    with pytest.raises(ContractError, match=r"I_T\^body: shape torch.Size\(\[1, 3, 32, 16\]\)"):
        net(x, head, body[..., :16])
    with pytest.raises(ContractError, match="I_T\\^head: expected a float RGB batch.*torch.uint8"):
        net(x, (head * 255).to(torch.uint8), body)
    x, head, body = _inputs(1, 36, 32)
    with pytest.raises(ContractError, match="multiples of 8.*40x32"):
        net(x, head, body)
    x, head, body = _inputs(1, 32, 32)
    with pytest.raises(ParamError, match=r"query_patch: expected an index in \[0, 16\)"):
        net(x, head, body, 0.5, query_patch=16)


def test_attention_of_a_query_patch() -> None:
    torch.manual_seed(4)
    net = ChangerNet(TINY)
    x, head, body = _inputs(2, 32, 48, seed=5)
    tau = _split_tau(net, x, head, body)
    rows, cols = net.patch_grid(32, 48)
    with torch.no_grad():
        for query in (0, 7, rows * cols - 1):
            out = net(x, head, body, tau, query_patch=query)
            att = out.attention
            assert att is not None and att.shape == (2, 1, rows, cols)
            torch.testing.assert_close(att.sum(dim=(1, 2, 3)), torch.ones(2))
            mask = additive_mask(body_share(out.mask, net.token_patch), torch.tensor(tau))
            other_group = torch.isinf(mask[:, query]).reshape(2, 1, rows, cols)
            assert torch.all(att[other_group] == 0.0)
            assert torch.all(att[~other_group] > 0.0)
        assert net(x, head, body, tau).attention is None


def test_gradients_reach_every_module() -> None:
    torch.manual_seed(6)
    net = ChangerNet(TINY)
    # The reference FiLM's last layer starts at zero (identity), which holds back its first layer's
    # gradient until one optimiser step has moved it: take it as after that step.
    torch.nn.init.normal_(net.colorizer.reference.embed[2].weight, std=0.01)
    x, head, body = _inputs(2, 32, 32, seed=7)
    tau = _split_tau(net, x, head, body)
    out = net(x, head, body, tau)
    (out.y.mean() + out.mask.mean() + out.to_rgb.mean()).backward()
    dead = [name for name, p in net.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert dead == []
    for top in ("encoder", "colorizer", "to_rgb", "foreground", "blender", "decoder"):
        assert any(name.startswith(top) for name, _ in net.named_parameters())


def test_dtype_and_device_follow_the_inputs(device: torch.device) -> None:
    torch.manual_seed(8)
    net = ChangerNet(TINY).to(device=device, dtype=torch.float64)
    x, head, body = (t.to(device) for t in _inputs(1, 32, 32, dtype=torch.float64))
    with torch.no_grad():
        out = net(x, head, body, 0.4, query_patch=1)
    for t in (out.y, out.mask, out.to_rgb, out.attention):
        assert t is not None and t.dtype == torch.float64 and t.device.type == device.type


def test_bfloat16_autocast_runs() -> None:
    torch.manual_seed(9)
    net = ChangerNet(TINY)
    x, head, body = _inputs(1, 32, 32)
    with torch.no_grad():
        ref = net(x, head, body, 0.0)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = net(x, head, body, 0.0)
    assert torch.isfinite(low.y).all()
    # bf16 moves M across 0.5 at a few borderline pixels, which flips the binary body mask there
    # (and so the decoder's input): Y must agree everywhere else.
    off = (low.y.float() - ref.y).abs()
    assert float((off > 0.05).float().mean()) <= 0.01
    assert float(off.mean()) <= 0.01


def test_inside_the_body_the_decoder_sees_only_fpat() -> None:
    """Where the binary M is 1, z_c and X's skips are zeroed: Y there follows FPAT's output (and τ),
    and only X passed through the gate can differ."""
    torch.manual_seed(11)
    net = ChangerNet(TINY).eval()
    x = torch.rand(1, 3, 32, 32)
    feats = net.encoder(x)
    z_c = torch.randn_like(feats[-1])
    blended = torch.randn_like(z_c)
    other_feats = [torch.randn_like(f) for f in feats]
    body = torch.ones(1, 1, 32, 32)
    code = torch.zeros(1, 3, 1, 1)
    with torch.no_grad():
        a = net.decoder(z_c, blended, feats, x, body, code)
        b = net.decoder(torch.randn_like(z_c), blended, other_feats, x, body, code)
        c = net.decoder(z_c, torch.randn_like(blended), feats, x, body, code)
        outside = net.decoder(torch.randn_like(z_c), blended, other_feats, x, torch.zeros_like(body), code)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c) and not torch.allclose(a, outside)


def test_reference_statistics_are_the_weighted_mean_the_mean_and_the_spread_of_the_head() -> None:
    head = torch.zeros(1, 3, 8, 8)
    head[:, :, 2:4, 2:6] = torch.tensor([0.8, 0.5, 0.3]).view(1, 3, 1, 1)
    head[:, :, 4:6, 2:6] = torch.tensor([0.4, 0.3, 0.1]).view(1, 3, 1, 1)
    weight = torch.zeros(1, 1, 8, 8)
    weight[:, :, 2:4] = 1.0
    stats = colour_statistics(head, weight)
    expected = torch.tensor([[0.8, 0.5, 0.3, 0.6, 0.4, 0.2, 0.2, 0.1, 0.1]])
    torch.testing.assert_close(stats, expected, rtol=0, atol=1e-6)


def test_the_reference_colour_code_starts_at_zero_and_steers_y_once_trained() -> None:
    """Zero at initialisation (a v1 fine-tune starts where v1 was); once its last layer moves, a
    brighter I_T^head changes Y, past every norm of the network."""
    torch.manual_seed(12)
    net = ChangerNet(TINY).eval()
    x, head, body = _inputs(1, 32, 32, seed=3)
    with torch.no_grad():
        assert torch.equal(net.colorizer.reference(head), torch.zeros(1, 3, 1, 1))
        torch.nn.init.normal_(net.colorizer.reference.embed[2].weight, std=0.5)
        a = net(x, head, body, 0.5).y
        b = net(x, (head * 0.5), body, 0.5).y
    assert float((a - b).abs().max()) > 1e-3
