"""changer.core.color: config resolution, name validation, OCIO vs LUT agreement, shapes, dtypes.

The ``device`` fixture (tests/conftest.py) runs on the CPU and on CUDA when present.
"""

from __future__ import annotations

import numpy as np
import PyOpenColorIO as ocio
import pytest
import torch

from changer.core import color
from changer.core.errors import ChangerError, ColorError, ParamError

BUILTIN = "ocio://cg-config-v2.2.0_aces-v1.3_ocio-v2.4"
SRGB = "sRGB Encoded Rec.709 (sRGB)"

@pytest.fixture(autouse=True)
def no_ocio_env(monkeypatch):
    """Every test starts without $OCIO; tests that need it set it themselves."""
    monkeypatch.delenv("OCIO", raising=False)


def srgb_oetf(v: float) -> float:
    return 12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055


def img(rows: np.ndarray) -> torch.Tensor:
    """(P, 3) numpy -> (1, 3, 1, P) float32 tensor."""
    return torch.as_tensor(np.ascontiguousarray(rows.T), dtype=torch.float32).reshape(1, 3, 1, -1)


def sweeps() -> np.ndarray:
    """Greys plus saturated and secondary ramps in network space, [0,1]."""
    t = np.linspace(0.0, 1.0, 257)
    z, o = np.zeros_like(t), np.ones_like(t)
    ramps = [(t, t, t), (t, z, z), (z, t, z), (z, z, t), (t, t, z), (t, z, t), (z, t, t),
             (o, t, z), (o, z, t), (z, o, t), (t, o, z), (t, z, o), (z, t, o), (o, o, t)]
    return np.concatenate([np.stack(r, axis=1) for r in ramps])


@pytest.fixture(scope="module")
def in_range() -> tuple[torch.Tensor, torch.Tensor]:
    """(working, network): dense random network values in [0,1]^3 plus sweeps, mapped by OCIO."""
    rng = np.random.default_rng(1234)
    net = img(np.concatenate([rng.random((65536, 3)), sweeps()]))
    work = color.from_network(net, method="ocio")
    return work, net


# ---------------------------------------------------------------- config resolution


def test_default_config_is_the_versioned_builtin():
    assert color.DEFAULT_CONFIG == BUILTIN
    cc = color.get_config()
    assert (cc.source, cc.origin) == (BUILTIN, "default")
    assert cc.name == "cg-config-v2.2.0_aces-v1.3_ocio-v2.4"
    assert cc.num_colorspaces == len(cc.colorspaces) > 10
    assert (cc.working, cc.network) == ("ACEScg", SRGB)
    line = cc.describe()
    assert cc.name in line and f"{cc.num_colorspaces} colourspaces" in line


def test_never_ocios_current_config(monkeypatch):
    def boom(*_a, **_k):
        raise AssertionError("GetCurrentConfig must not be used (silent Raw fallback)")

    monkeypatch.setattr(ocio, "GetCurrentConfig", boom)
    color.clear_caches()
    cc = color.get_config()
    assert cc.source == BUILTIN and cc.num_colorspaces > 1
    assert cc.colorspace(cc.working) != "Raw"


@pytest.fixture
def file_config(tmp_path) -> str:
    cfg = ocio.Config.CreateFromFile(BUILTIN)  # fresh object, not the cached one
    cfg.setName("changer-test-file-config")
    path = tmp_path / "test.ocio"
    path.write_text(cfg.serialize())
    return str(path)


def test_env_ocio_is_honoured(monkeypatch, file_config):
    monkeypatch.setenv("OCIO", file_config)
    cc = color.get_config()
    assert (cc.source, cc.origin, cc.name) == (file_config, "$OCIO", "changer-test-file-config")


def test_empty_env_ocio_means_unset(monkeypatch):
    monkeypatch.setenv("OCIO", "  ")
    assert color.get_config().origin == "default"


def test_explicit_config_wins_over_env(monkeypatch, file_config):
    monkeypatch.setenv("OCIO", file_config)
    cc = color.get_config(BUILTIN)
    assert (cc.source, cc.origin) == (BUILTIN, "argument")
    monkeypatch.setenv("OCIO", BUILTIN)
    cc = color.get_config(file_config)
    assert (cc.source, cc.origin, cc.name) == (file_config, "argument", "changer-test-file-config")


def test_env_ocio_missing_file_is_an_error_naming_it(monkeypatch, tmp_path):
    missing = str(tmp_path / "nowhere" / "config.ocio")
    monkeypatch.setenv("OCIO", missing)
    with pytest.raises(ColorError, match=r"\$OCIO") as exc:
        color.get_config()
    assert missing in str(exc.value)


def test_explicit_missing_or_broken_config_is_an_error_naming_it(tmp_path):
    missing = str(tmp_path / "missing.ocio")
    with pytest.raises(ColorError) as exc:
        color.get_config(missing)
    assert missing in str(exc.value)
    broken = tmp_path / "broken.ocio"
    broken.write_text("ocio_profile_version: 2\ncolorspaces: [this is not: a config\n")
    with pytest.raises(ColorError) as exc:
        color.get_config(str(broken))
    assert str(broken) in str(exc.value)
    with pytest.raises(ColorError, match="ocio://no-such-builtin"):
        color.get_config("ocio://no-such-builtin")


def test_configs_are_cached():
    assert color.get_config() is color.get_config()
    cc = color.get_config()
    assert color.get_config(cc) is cc


# ---------------------------------------------------------------- names


def test_unknown_colourspace_lists_close_names():
    with pytest.raises(ColorError) as exc:
        color.get_config(working="ACEScgg")
    msg = str(exc.value)
    assert "'ACEScgg'" in msg and "'ACEScg'" in msg
    with pytest.raises(ColorError, match="scene_linear"):
        color.get_config().colorspace("Scene_Lin")
    x = torch.zeros(3, 2, 2)
    with pytest.raises(ChangerError, match="ACEScgg"):
        color.to_network(x, working="ACEScgg")
    with pytest.raises(ColorError, match="sRGB Encoded Rec.709"):
        color.convert(x, "ACEScg", "sRGB")


def test_roles_and_aliases_resolve_to_canonical_names():
    cc = color.get_config(working="scene_linear", network="srgb_tx")
    assert (cc.working, cc.network) == ("ACEScg", SRGB)
    assert cc.colorspace("acescg") == "ACEScg"


def test_display_view_helpers():
    cc = color.get_config()
    display, view = color.default_display_view()
    assert display == cc.config.getDefaultDisplay() and view == cc.config.getDefaultView(display)
    proc = color.display_view_processor()
    grey = np.full((1, 3), 0.18, np.float32)
    proc.getDefaultCPUProcessor().applyRGB(grey)
    assert 0.0 < grey[0, 0] < 1.0
    assert color.display_view_processor() is proc
    with pytest.raises(ColorError, match="closest"):
        color.display_view_processor(view=view + "x")
    with pytest.raises(ColorError, match="unknown display"):
        color.display_view_processor(display="No Such Display")


# ---------------------------------------------------------------- known values


@pytest.mark.parametrize("method", ["ocio", "lut"])
def test_aces_grey_to_srgb_matches_formula(method):
    # ACEScg (0.18, 0.18, 0.18) is D60 grey; the D60 -> D65 adaptation maps it to Rec.709 grey
    # 0.18, so the network value is the sRGB OETF of 0.18 (~0.4613) on every channel.
    expected = srgb_oetf(0.18)
    assert abs(expected - 0.4613) < 1e-4
    out = color.to_network(torch.full((3, 4, 4), 0.18), method=method)
    assert torch.allclose(out, torch.full_like(out, expected), atol=1e-3)
    white = color.to_network(torch.ones(3, 1, 1), method=method)
    assert torch.allclose(white, torch.ones_like(white), atol=1e-3)
    back = color.from_network(torch.full((3, 1, 1), expected), method=method)
    assert torch.allclose(back, torch.full_like(back, 0.18), atol=1e-4)


# ---------------------------------------------------------------- OCIO vs LUT


def test_lut_matches_ocio_on_in_range_values(device, in_range):
    work, net = in_range
    ref = color.to_network(work, method="ocio")
    assert (ref - net).abs().max().item() < 1e-4  # the in-range set really is [0,1] network values
    got = color.to_network(work.to(device), method="lut").cpu()
    err = (got - ref).abs().max().item()
    assert err <= color.LUT_TOLERANCE
    assert err <= 1e-4, f"regression: measured ~1e-5, got {err:.2e}"
    ref_w = color.from_network(net, method="ocio")
    err_w = (color.from_network(net.to(device), method="lut").cpu() - ref_w).abs().max().item()
    assert err_w <= color.LUT_TOLERANCE and err_w <= 1e-4


def test_lut_covers_hdr_and_negatives(device):
    rng = np.random.default_rng(7)
    hdr = np.concatenate([
        rng.random((20000, 3)) ** 3 * 64,  # scene-linear up to 64, saturated
        rng.random((20000, 3)) * 1.5 - 1.0,  # negatives down to -1
        np.repeat(np.geomspace(1e-4, 65504.0, 2000)[:, None], 3, axis=1),  # greys to fp16 max
    ])
    x = img(hdr)
    ref = color.to_network(x, method="ocio")
    got = color.to_network(x.to(device), method="lut").cpu()
    err = ((got - ref).abs() / ref.abs().clamp(min=1.0)).max().item()
    assert err <= color.LUT_HDR_TOLERANCE
    assert ref.max() > 5.0 and ref.min() < -1.0  # nothing was clamped


@pytest.mark.parametrize("method", ["ocio", "lut"])
def test_round_trip_working_network_working(device, in_range, method):
    work, _ = in_range
    work = work.to(device)
    back = color.from_network(color.to_network(work, method=method), method=method)
    assert (back - work).abs().max().item() <= color.ROUND_TRIP_TOLERANCE


def test_auto_method_picks_ocio_on_cpu_and_lut_elsewhere(device, in_range):
    work, _ = in_range
    x = work[..., :1024].to(device)
    auto = color.to_network(x)
    expected = "ocio" if device.type == "cpu" else "lut"
    assert torch.equal(auto, color.to_network(x, method=expected))


def test_float16_on_the_lut_path(device, in_range):
    work, _ = in_range
    x16 = work.to(device=device, dtype=torch.float16)
    out = color.to_network(x16, method="lut")
    assert out.dtype == torch.float16 and out.device.type == device.type
    ref = color.to_network(x16.float().cpu(), method="ocio")  # same fp16-rounded input
    assert (out.float().cpu() - ref).abs().max().item() <= color.LUT_TOLERANCE_FP16
    assert color.to_network(x16.cpu(), method="ocio").dtype == torch.float16


def test_lut_is_differentiable(device):
    x = torch.full((1, 3, 1, 1), 0.18, device=device, requires_grad=True)
    color.to_network(x, method="lut").sum().backward()
    # on the grey axis d(sum of outputs)/dx_c = sum_k M_kc * OETF'(0.18), OETF' = 1.055/2.4 *
    # 0.18**(1/2.4 - 1); the rows of M sum to 1 (white stays white), so sum over c = 3 * OETF'.
    slope = 1.055 / 2.4 * 0.18 ** (1 / 2.4 - 1)
    assert abs(x.grad.sum().item() - 3 * slope) < 1e-2 * slope


def test_lut_tables_are_cached_per_device(device):
    cc = color.get_config()
    baked = color.bake(cc.source, cc.working, cc.network)
    assert color.bake(cc.source, cc.working, cc.network) is baked
    assert baked.max_error <= color.LUT_TOLERANCE
    t = baked.on(device, torch.float32)
    assert baked.on(device, torch.float32) is t and t.vol.device.type == device.type


# ---------------------------------------------------------------- shapes and channels


@pytest.mark.parametrize("method", ["ocio", "lut"])
def test_batched_and_single_shapes_agree(device, method):
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(3, 4, 5, 6, generator=gen) * 2).to(device)
    out = color.to_network(x, method=method)
    assert out.shape == x.shape and out.device.type == device.type and out.is_contiguous()
    for i in range(3):
        single = color.to_network(x[i], method=method)
        assert single.shape == x[i].shape
        assert torch.allclose(single, out[i], atol=1e-6)


@pytest.mark.parametrize("method", ["ocio", "lut"])
@pytest.mark.parametrize("channels", [4, 5])
def test_extra_channels_untouched(device, method, channels):
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(2, channels, 8, 8, generator=gen) * 3 - 1).to(device)
    before = x.clone()
    out = color.to_network(x, method=method)
    assert torch.equal(out[:, 3:], x[:, 3:])
    assert not torch.equal(out[:, :3], x[:, :3])
    assert torch.equal(x, before)  # input never modified


def test_channels_last_input_is_not_modified():
    x = torch.rand(1, 3, 8, 8).to(memory_format=torch.channels_last)
    before = x.clone()
    out = color.to_network(x, method="ocio")
    assert torch.equal(x, before) and not torch.equal(out, x)


def test_same_space_is_a_copy():
    x = torch.rand(4, 2, 2)
    out = color.convert(x, "ACEScg", "scene_linear")
    assert torch.equal(out, x) and out.data_ptr() != x.data_ptr()


def test_convert_generic_pair_and_clamp_helper():
    x = torch.tensor([[[0.18]], [[0.18]], [[0.18]], [[2.0]]])
    lin709 = color.convert(x, "ACEScg", "Linear Rec.709 (sRGB)")
    assert torch.allclose(lin709[:3], torch.full((3, 1, 1), 0.18), atol=1e-4)
    hdr = color.to_network(torch.tensor([[[8.0]], [[-0.1]], [[0.5]], [[2.0]]]))
    assert hdr[0].item() > 1.0 and hdr[1].item() < 0.0  # transforms never clamp
    clamped = color.clamp_network(hdr)
    assert clamped[:3].min().item() >= 0.0 and clamped[:3].max().item() <= 1.0
    assert clamped[3].item() == 2.0  # only colour channels are clamped
    assert clamped[2].item() == hdr[2].item()


@pytest.mark.parametrize("bad", [
    torch.zeros(2, 4, 4),  # two channels
    torch.zeros(4, 4),  # 2D
    torch.zeros(1, 1, 3, 4, 4),  # 5D
    torch.zeros(3, 4, 4, dtype=torch.int32),
    np.zeros((3, 4, 4), np.float32),
])
def test_bad_inputs_raise_param_error(bad):
    with pytest.raises(ParamError):
        color.to_network(bad)


def test_bad_method_and_lut_size_raise_param_error():
    x = torch.zeros(3, 2, 2)
    with pytest.raises(ParamError, match="method"):
        color.to_network(x, method="gpu")
    with pytest.raises(ParamError, match="lut_size"):
        color.to_network(x, method="lut", lut_size=2)
    with pytest.raises(ParamError):
        color.clamp_network(x, 1.0, 0.0)
