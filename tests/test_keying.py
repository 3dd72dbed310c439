"""The keyer's maths, params, inputs and outputs on synthetic plates with exact answers.

Quality on the procedural studio is in test_keying_quality.py; the kernels in test_keying_cuda.py;
bands in test_keying_bands.py; screens of every kind in test_keying_screens.py.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from pathlib import Path

import pytest
import torch

from changer.core import masks
from changer.core.errors import ContractError, ParamError
from changer.core.keying import (
    CANONICAL_GREEN,
    Keyer,
    KeyerParams,
    estimate_clean_plate,
    estimate_screen_color,
    host_kernel,
    key,
    param_specs,
    screen_matte,
)
from changer.core.keying.keyer import TorchPasses
from changer.core.keying.params import key_channels
from changer.core.keying.pixel import FG_PRIOR
from changer.training.studio import hard_sample
from tolerance import TOLERANCE

#: The per-pixel maths alone: the given flat screen colour, no estimate, no auto core or clip white.
EXACT = {"auto_clean_plate": False, "core_depth": 0.0, "auto_clip_white": 1.0}
GREEN = (0.15, 0.62, 0.2)
BLUE = (0.1, 0.22, 0.7)


def _benchmark(name: str):
    """A script of benchmarks/ (not a package) as a module."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    return importlib.import_module(name)


def _scene(screen: tuple[float, float, float], screen_type: str = "green", n: int = 1, h: int = 48, w: int = 64,
           seed: int = 0, balance_mode: str = "auto", uniform: bool = False) -> tuple[torch.Tensor, ...]:
    """(plate, alpha, fg): a soft disc of colours a colour-difference key recovers exactly (key channel =
    the larger other one, or the others' mean for fixed balance 0.5); one colour when ``uniform``."""
    g = torch.Generator().manual_seed(seed)
    k, a, b = key_channels(screen_type)
    fg = torch.rand(n, 3, 1 if uniform else h, 1 if uniform else w, generator=g) * 0.8 + 0.1
    fg[:, k] = torch.maximum(fg[:, a], fg[:, b]) if balance_mode == "auto" else 0.5 * (fg[:, a] + fg[:, b])
    fg = fg.expand(n, 3, h, w)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    alpha = ((0.6 - (xx**2 + yy**2).sqrt()) * 6).clamp(0, 1).expand(n, 1, h, w).clone()
    s = torch.tensor(screen).view(1, 3, 1, 1)
    return alpha * fg + (1 - alpha) * s, alpha, fg


# --- params ---------------------------------------------------------------------------------------


def test_defaults_are_valid_and_specs_cover_every_field() -> None:
    params = KeyerParams()
    specs = param_specs()
    assert [s.name for s in specs] == [f.name for f in dataclasses.fields(KeyerParams)]
    assert {"auto_clip_white", "despill_protect"} <= {s.name for s in specs}
    for s in specs:
        assert s.label and s.hint, s.name
        assert getattr(params, s.name) == s.default
        if s.kind == "float":
            assert s.minimum <= s.default <= s.maximum


@pytest.mark.parametrize(("name", "value", "match"), [
    ("screen_gain", 3.0, r"screen_gain=3.0: out of range; expected a value in \[0.5, 2.0\]"),
    ("clip_black", -0.1, r"clip_black=-0.1: out of range; expected a value in \[0.0, 1.0\]"),
    ("edge_softness", float("nan"), r"edge_softness=nan: expected a finite number in \[0.0, 100.0\]"),
    ("screen_type", "red", r"screen_type='red': expected one of green, blue"),
    ("despill_mode", "avg", r"despill_mode='avg': expected one of screen, limit, luminance"),
    ("despill_protect", 1.5, r"despill_protect=1.5: out of range; expected a value in \[0.0, 1.0\]"),
    ("auto_clip_white", 0.0, r"auto_clip_white=0.0: out of range; expected a value in \[0.05, 1.0\]"),
    ("screen_color", (0.1, 0.2), r"screen_color=\(0.1, 0.2\): expected three finite values"),
    ("auto_clean_plate", 1, r"auto_clean_plate=1: expected true or false"),
])
def test_out_of_range_params_raise(name: str, value: object, match: str) -> None:
    with pytest.raises(ParamError, match=match):
        KeyerParams(**{name: value})


def test_clip_order_and_bias_checked() -> None:
    with pytest.raises(ParamError, match=r"clip_black=0.6 must be below clip_white=0.5"):
        KeyerParams(clip_black=0.6, clip_white=0.5)
    with pytest.raises(ParamError, match="despill_bias"):
        KeyerParams(despill_bias=(0.0, 0.5, 0.0))


def test_screen_colour_of_the_wrong_kind_raises() -> None:
    plate, _, _ = _scene(GREEN)
    with pytest.raises(ParamError, match=r"screen_color=\[0.1, 0.22, 0.7\]: not a green screen colour"):
        key(plate, KeyerParams(screen_color=BLUE))
    grey_on_green = plate.clone()
    grey_on_green[..., 10:30, 10:30] = 0.5
    grey_on_green[:, 2] = grey_on_green[:, 2].clamp(max=0.2)
    with pytest.raises(ParamError, match="image 0 of the plate has no blue-screen pixels"):
        key(grey_on_green, KeyerParams(screen_type="blue"))


@pytest.mark.parametrize(("plate", "match"), [
    (torch.zeros(3, 8, 8), r"plate: expected shape \(\*, 3, H, W\), got \(3, 8, 8\)"),
    (torch.zeros(1, 4, 8, 8), r"plate: expected shape \(\*, 3, H, W\), got \(1, 4, 8, 8\)"),
    (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), "plate: expected floating-point values, got torch.uint8"),
])
def test_plate_checks(plate: torch.Tensor, match: str) -> None:
    with pytest.raises(ContractError, match=match):
        key(plate)


def test_matte_clean_plate_and_backend_checks() -> None:
    plate, _, _ = _scene(GREEN, n=2)
    with pytest.raises(ContractError, match=r"garbage_matte \(like the plate\): expected shape \(\*, 1, H=48, W=64\), got \(2, 1, 24, 64\)"):
        key(plate, garbage_matte=torch.zeros(2, 1, 24, 64))
    with pytest.raises(ContractError, match=r"clean_plate: expected shape \(\*, 3, H, W\)"):
        key(plate, clean_plate=torch.zeros(2, 1, 48, 64))
    with pytest.raises(ParamError, match="backend='cupy'"):
        key(plate, backend="cupy")
    with pytest.raises(ParamError, match="backend='host'"):
        key(plate.double(), backend="host")
    with pytest.raises(ParamError, match="backend='gpu': expected auto, torch, host or cupy"):
        key(plate, backend="gpu")


# --- the per-pixel maths --------------------------------------------------------------------------


@pytest.mark.parametrize(("screen", "screen_type"), [(GREEN, "green"), (BLUE, "blue")])
@pytest.mark.parametrize("balance_mode", ["auto", "fixed"])
def test_exact_alpha_given_the_screen(screen: tuple, screen_type: str, balance_mode: str, dtype: torch.dtype,
                                      device: torch.device) -> None:
    """Spill-free colours over a known flat screen: alpha comes back exactly, and so does the
    foreground where it is one colour (the prior it leans on at low alpha is that colour)."""
    params = KeyerParams(**EXACT, screen_type=screen_type, screen_color=screen, balance_mode=balance_mode, despill=0.0)
    tol = TOLERANCE[dtype]
    plate, alpha, _ = _scene(screen, screen_type, n=2, balance_mode=balance_mode)
    res = key(plate.to(device, dtype), params)
    for name in ("alpha", "fg", "fg_premult", "green"):
        t = getattr(res, name)
        assert t.dtype == dtype and t.device.type == device.type, name
    assert torch.allclose(res.alpha.float().cpu(), alpha, atol=tol * 4)
    plate, alpha, fg = _scene(screen, screen_type, balance_mode=balance_mode, uniform=True)
    res = key(plate.to(device, dtype), params)
    seen = (alpha > 0.02).expand_as(fg)
    assert torch.allclose(res.fg.float().cpu()[seen], fg[seen], atol=tol * 200)
    assert torch.allclose(res.fg_premult.float().cpu(), alpha * fg, atol=tol * 10)


def test_foreground_leans_on_the_prior_only_where_alpha_is_small() -> None:
    """F = (a (P - (1-a) S) + l (1-a) E) / (a^2 + l (1-a)): the plate's colour where alpha is 1, the
    solid subject's colour (the prior E) where alpha is 0, the exact unmix in between up to that weight."""
    plate, alpha, fg = _scene(GREEN)  # a random colour per pixel: the prior (a smooth fill) differs from it
    res = key(plate, KeyerParams(**EXACT, screen_color=GREEN, despill=0.0))
    solid = (alpha == 1).expand_as(fg)
    assert torch.allclose(res.fg[solid], fg[solid], atol=1e-5)
    a = alpha.clamp_min(0.05)
    bound = FG_PRIOR * (1 - a) / (a * a + FG_PRIOR * (1 - a))  # share of the prior in F
    err = (res.fg - fg).abs().amax(1, keepdim=True)
    assert bool((err <= bound + 1e-4)[alpha >= 0.05].all())


def test_gain_thins_the_matte_down_to_the_brightness_bound() -> None:
    plate, alpha, fg = _scene(GREEN)
    res = key(plate, KeyerParams(**EXACT, screen_color=GREEN, screen_gain=1.5))
    s = torch.tensor(GREEN).view(1, 3, 1, 1)
    bright = alpha * ((fg - s) / (1 - s)).amax(1, keepdim=True)
    dark = alpha * (s[:, 1:2] - fg[:, 1:2]) / s[:, 1:2]  # only green is a bright channel of this screen
    bound = torch.maximum(bright, dark)
    assert torch.allclose(res.alpha, torch.maximum(1 - 1.5 * (1 - alpha), bound).clamp(0, 1), atol=1e-5)
    assert float((res.alpha < alpha - 0.01).float().mean()) > 0.05


def test_clip_black_white_remap() -> None:
    plate, alpha, _ = _scene(GREEN)
    res = key(plate, KeyerParams(**EXACT, screen_color=GREEN, clip_black=0.2, clip_white=0.6))
    assert torch.allclose(res.alpha, ((alpha - 0.2) / 0.4).clamp(0, 1), atol=1e-5)


def test_flat_and_per_pixel_screens_agree() -> None:
    params = KeyerParams(**EXACT, screen_color=GREEN)
    plate, _, _ = _scene(GREEN, n=2, seed=4)
    plate = (plate + 0.3 * torch.rand(plate.shape, generator=torch.Generator().manual_seed(5)) - 0.15).clamp(0, 1)
    screens = torch.tensor([GREEN, [c * 0.8 for c in GREEN]]).view(2, 3, 1, 1)
    assert torch.allclose(screen_matte(plate, screens, params), screen_matte(plate, screens.expand_as(plate), params),
                          atol=1e-6)
    flat = key(plate, params)
    given = key(plate, params, clean_plate=torch.tensor(GREEN).view(1, 3, 1, 1).expand(2, 3, 48, 64))
    for name in ("alpha", "fg", "green"):
        assert torch.allclose(getattr(flat, name), getattr(given, name), atol=1e-6), name
    assert flat.screen.shape == (2, 3, 1, 1) and given.screen.shape == (2, 3, 48, 64)


# --- mattes, grow, softness -----------------------------------------------------------------------


def test_core_and_garbage_mattes() -> None:
    plate, alpha, _ = _scene(GREEN)
    core = torch.zeros_like(alpha)
    core[..., 20:28, 28:36] = 1.0
    plate[..., 20:28, 28:36] = torch.tensor(GREEN).view(1, 3, 1, 1)  # a hole of screen colour in the subject
    garbage = torch.zeros_like(alpha)
    garbage[..., :, :8] = 1.0
    plate[..., 5:10, 2:6] = 0.5  # junk on the screen, inside the garbage matte
    res = key(plate, KeyerParams(**EXACT, screen_color=GREEN), core_matte=core, garbage_matte=garbage)
    assert torch.all(res.alpha[..., 20:28, 28:36] == 1)
    assert torch.all(res.alpha[..., :, :8] == 0)


def test_grow_and_softness_are_applied() -> None:
    plate, _, _ = _scene(GREEN)
    p = KeyerParams(**EXACT, screen_color=GREEN)
    base = key(plate, p).alpha
    grown = key(plate, p.replace(matte_grow=3)).alpha
    shrunk = key(plate, p.replace(matte_grow=-3)).alpha
    soft = key(plate, p.replace(edge_softness=2.0)).alpha
    assert shrunk.sum() < base.sum() < grown.sum()
    assert torch.all(grown >= base - 1e-6) and torch.all(shrunk <= base + 1e-6)
    assert not torch.allclose(soft, base) and abs(float(soft.sum() - base.sum())) < 0.01 * float(base.sum())


def _strands_block_and_ramp(noise: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """(plate, alpha) on a flat green screen, 96x160: a solid grey block (noisy), a comb of 1 px dark
    strands at alpha 0.55 with 1 px gaps beside it, and a 40 px motion-blur ramp 0 -> 1."""
    h, w = 96, 160
    alpha = torch.zeros(1, 1, h, w)
    alpha[..., 20:76, 10:50] = 1.0
    alpha[..., 20:76, 50:80:2] = 0.55  # strands touching the block, gaps of screen between them
    alpha[..., 20:76, 100:140] = torch.linspace(0, 1, 40)
    fg = torch.tensor((0.45, 0.45, 0.45)).view(1, 3, 1, 1)
    screen = torch.tensor(GREEN).view(1, 3, 1, 1)
    g = torch.Generator().manual_seed(3)
    plate = alpha * fg + (1 - alpha) * screen + noise * torch.randn(1, 3, h, w, generator=g)
    return plate, alpha


def test_auto_core_lifts_noise_in_solid_areas_and_never_fills_gaps() -> None:
    plate, alpha = _strands_block_and_ramp(noise=0.03)
    params = KeyerParams(screen_color=GREEN, auto_clean_plate=False, auto_clip_white=1.0)
    on, off = key(plate, params).alpha, key(plate, params.replace(core_depth=0.0)).alpha
    inner = (slice(None), slice(None), slice(24, 72), slice(14, 46))
    assert float(off[inner].min()) < 0.99 and float(on[inner].min()) == 1.0  # noise dips lifted inside the block
    gaps = alpha == 0
    gaps[..., :, :50] = False
    assert float((on - off)[gaps].abs().max()) == 0.0  # not one gap pixel changed
    assert torch.equal(on[..., 20:76, 50:80], off[..., 20:76, 50:80])  # nor a strand
    ramp = (slice(None), slice(None), slice(20, 76), slice(100, 128))  # the core stays off the blur ramp
    assert torch.equal(on[ramp], off[ramp])


def test_auto_clip_white_takes_wide_flat_areas_as_solid_only() -> None:
    """A garment keying to 0.6 all over becomes solid with its edge in proportion; strands keyed at
    0.55 with gaps and a blur ramp beside it are left as keyed."""
    h, w = 128, 224
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    alpha = ((30 - (((xx - 48.0) ** 2 + (yy - 64.0) ** 2).sqrt() - 10)).clamp(0, 3) / 3)[None, None]
    screen = torch.tensor(GREEN).view(1, 3, 1, 1)
    garment = 0.6 * torch.tensor((0.45, 0.45, 0.45)).view(1, 3, 1, 1) + 0.4 * screen  # keys to 0.6, solid
    plate = alpha * garment + (1 - alpha) * screen
    plate_s, alpha_s = _strands_block_and_ramp(noise=0.0)
    plate[..., 20:76, 110:200] = plate_s[..., 20:76, 50:140]
    params = KeyerParams(screen_color=GREEN, auto_clean_plate=False, core_depth=0.0)
    res = key(plate, params).alpha
    plain = key(plate, params.replace(auto_clip_white=1.0)).alpha
    left = (slice(None), slice(None), slice(None), slice(0, 96))
    inside = alpha[left] == 1
    deep = masks.grow_shrink(alpha, -8)[left] == 1
    assert float(plain[left][inside].mean()) == pytest.approx(0.6, abs=0.01)
    assert float(res[left][deep].min()) > 0.99 and float(res[left][inside].min()) > 0.9
    edge = (alpha[left] > 0.1) & (alpha[left] < 0.9)
    assert torch.allclose(res[left][edge], alpha[left][edge], atol=0.08)  # in proportion: no rim
    assert float((res[..., 20:76, 110:200] - alpha_s[..., 20:76, 50:140]).abs().max()) < 0.02


# --- despill --------------------------------------------------------------------------------------


def _solid(colour: tuple[float, float, float], params: KeyerParams, bounce: float = 0.0) -> torch.Tensor:
    """The despilled fg of a solid patch of ``colour`` lit by ``bounce`` x the screen colour."""
    screen = torch.tensor(params.screen_color).view(1, 3, 1, 1)
    plate = (torch.tensor(colour).view(1, 3, 1, 1) + bounce * screen).expand(1, 3, 8, 8)
    return key(plate, params, core_matte=torch.ones(1, 1, 8, 8)).fg[..., 0, 0].flatten()


def test_despill_subtracts_bounce_against_the_local_screen() -> None:
    base = KeyerParams(**EXACT, screen_color=GREEN)
    grey = (0.5, 0.5, 0.5)
    assert torch.allclose(_solid(grey, base, bounce=0.1), torch.tensor(grey), atol=1e-5)  # bounce gone exactly
    assert torch.allclose(_solid(grey, base.replace(despill=0.0), bounce=0.1),
                          torch.tensor(grey) + 0.1 * torch.tensor(GREEN), atol=1e-5)
    half = _solid(grey, base.replace(despill=0.5), bounce=0.1)
    assert torch.allclose(half, torch.tensor(grey) + 0.05 * torch.tensor(GREEN), atol=1e-5)


def test_despill_protect_keeps_wardrobe_near_the_screen_hue() -> None:
    delta_e76 = _benchmark("keying_quality").delta_e76
    base = KeyerParams(**EXACT, screen_color=GREEN)
    yellow_green = (0.6, 0.75, 0.2)
    kept = _solid(yellow_green, base)
    assert float(delta_e76(kept.view(1, 3, 1, 1), torch.tensor(yellow_green).view(1, 3, 1, 1))) < 1.0
    classic = _solid(yellow_green, base.replace(despill_protect=0.0))
    assert float(delta_e76(classic.view(1, 3, 1, 1), torch.tensor(yellow_green).view(1, 3, 1, 1))) > 5.0
    lilac_screen = KeyerParams(**EXACT, screen_type="blue", screen_color=BLUE)
    lilac = (0.75, 0.6, 0.9)
    assert float(delta_e76(_solid(lilac, lilac_screen).view(1, 3, 1, 1), torch.tensor(lilac).view(1, 3, 1, 1))) < 1.0


def test_soft_edges_are_always_despilled() -> None:
    """On a soft edge whose alpha reads too high, the fg keeps screen colour: despill removes it
    whatever Despill Protect says (protection is for the solid subject only)."""
    screen = torch.tensor(GREEN).view(1, 3, 1, 1)
    skin = torch.tensor((0.8, 0.6, 0.5)).view(1, 3, 1, 1)
    plate = (0.3 * skin + 0.7 * screen).expand(1, 3, 8, 8)
    core = torch.full((1, 1, 8, 8), 0.5)  # alpha forced to 0.5 where the truth is 0.3
    res = key(plate, KeyerParams(**EXACT, screen_color=GREEN, despill_protect=1.0), core_matte=core)
    fg = res.fg[0, :, 0, 0]
    assert float(fg[1]) <= float(0.5 * (fg[0] + fg[2])) + 1e-5


def test_despill_limit_and_luminance_modes_and_bias() -> None:
    base = KeyerParams(**EXACT, screen_color=GREEN, despill_mode="limit", despill_protect=0.0)
    skin = (0.8, 0.6, 0.5)
    spilled = (0.8, 0.7, 0.5)  # skin (0.8, 0.6, 0.5) with green spill: pulled to the mean of R and B
    assert float(_solid(spilled, base)[1]) == pytest.approx(0.65, abs=1e-6)
    assert torch.allclose(_solid(skin, base.replace(despill_bias=skin)), torch.tensor(skin), atol=1e-6)
    lum = _solid(spilled, base.replace(despill_mode="luminance"))
    luma = torch.tensor((0.2126, 0.7152, 0.0722))
    assert float((lum * luma).sum()) == pytest.approx(float((torch.tensor(spilled) * luma).sum()), abs=1e-6)


# --- outputs, batches, modules, precision ---------------------------------------------------------


def test_green_output_is_the_foreground_over_the_canonical_green() -> None:
    plate, _, _ = _scene(GREEN)
    res = key(plate, KeyerParams(**EXACT, screen_color=GREEN))
    canonical = torch.tensor(CANONICAL_GREEN).view(1, 3, 1, 1)
    assert torch.allclose(res.green, res.fg_premult + (1 - res.alpha) * canonical, atol=1e-6)
    bg = (res.alpha == 0).expand_as(plate)
    assert torch.allclose(res.green[bg], canonical.expand_as(plate)[bg])


def test_derived_outputs_come_on_first_read_and_are_each_result_s_own() -> None:
    """The passes write alpha and fg; the premultiplied fg, ``I_T^green`` and the per-pixel screen
    are computed when first read and kept, and never share memory with another frame's result
    (caches keep results)."""
    plate, _, _ = _scene(GREEN)
    a, b = key(plate), key(plate)
    assert "fg_premult" not in vars(a) and "green" not in vars(a) and callable(vars(a)["_screen"])
    assert a.fg_premult is a.fg_premult and a.green is a.green and a.screen is a.screen
    assert torch.equal(a.fg_premult, a.fg * a.alpha)
    for name in ("fg_premult", "green", "screen"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
        assert getattr(a, name).data_ptr() != getattr(b, name).data_ptr(), name


def test_batched_equals_one_by_one_and_module_agrees() -> None:
    plate = torch.cat([_scene(GREEN, seed=1)[0], _scene((0.2, 0.7, 0.25), seed=2)[0]])
    both = key(plate)
    assert both.screen.shape == (2, 3, 48, 64)  # the estimated clean plate
    for i in range(2):
        one = key(plate[i:i + 1])
        assert torch.equal(one.alpha, both.alpha[i:i + 1]) and torch.equal(one.green, both.green[i:i + 1])
    module = Keyer(KeyerParams(matte_grow=1.0))
    assert torch.equal(module(plate).alpha, key(plate, KeyerParams(matte_grow=1.0)).alpha)


def test_keying_against_the_estimated_clean_plate_is_the_default_key() -> None:
    """The pipeline caches the screen (``estimate_clean_plate``) and keys against it: the same key."""
    plate, _, _ = _scene(GREEN, h=96, w=128)
    plate = plate + 0.005 * torch.randn(plate.shape, generator=torch.Generator().manual_seed(1))
    clean = estimate_clean_plate(plate, estimate_screen_color(plate))
    default, given = key(plate, backend="torch"), key(plate, clean_plate=clean, backend="torch")
    assert torch.equal(default.screen, given.screen)
    for name in ("alpha", "fg", "green"):
        assert torch.allclose(getattr(default, name), getattr(given, name), atol=1e-6), name


def test_deterministic_and_float16_close_to_float32() -> None:
    plate, _, _ = _scene(GREEN, h=64, w=64)
    params = KeyerParams(matte_grow=-1.0, edge_softness=1.0)
    a, b = key(plate, params), key(plate, params)
    assert torch.equal(a.alpha, b.alpha) and torch.equal(a.fg, b.fg)
    half = key(plate.half(), params)
    assert half.alpha.dtype == torch.float16
    assert torch.allclose(half.alpha.float(), a.alpha, atol=5e-3)


@pytest.mark.skipif(not host_kernel.status()[0], reason=f"no host kernel: {host_kernel.status()[1]}")
def test_the_benchmarks_pass_by_pass_launches_key_what_the_host_passes_key() -> None:
    """``benchmarks/keying.py --passes`` times pass A, the level step and pass B one launch at a time into outputs
    allocated once: they must do the per-pixel part's work, the same bits as the host passes."""
    bench = _benchmark("keying")
    per_pixel = bench.PerPixel(hard_sample("fine strands", 0, 128).plate[None].contiguous(), KeyerParams())
    launches, out = bench.pass_launches(per_pixel)
    for args in launches.values():
        host_kernel.launch(args)
    want = per_pixel.run(host_kernel.HostPasses)
    assert torch.equal(out["alpha"], want.alpha) and torch.equal(out["fg"], want.fg)


def test_the_host_kernel_and_numpy_twin_compute_the_torch_maths() -> None:
    """The fused host kernel (when a compiler is here) and the NumPy reference of benchmarks/keying.py
    compute what the torch passes compute, for every despill mode and both balance modes."""
    bench = _benchmark("keying")
    plate = hard_sample("wardrobe near the screen hue", 0, 128).plate[None]
    for params in (KeyerParams(), KeyerParams(balance_mode="fixed", despill_mode="limit", clip_black=0.05,
                                              clip_white=0.9, despill_protect=0.0),
                   KeyerParams(despill_mode="luminance", despill_bias=(0.8, 0.6, 0.5), screen_gain=1.2)):
        per_pixel = bench.PerPixel(plate, params)
        ref = per_pixel.run(TorchPasses)
        alpha, fg, screen = per_pixel.numpy()
        outs = [("numpy", [torch.from_numpy(x) for x in (alpha, fg, *bench.numpy_derived(alpha, fg), screen)])]
        if host_kernel.status()[0]:
            host = per_pixel.run(host_kernel.HostPasses)
            outs.append(("host", [host.alpha, host.fg, host.fg_premult, host.green, host.screen]))
        for who, got in outs:
            for name, g in zip(("alpha", "fg", "fg_premult", "green", "screen"), got, strict=True):
                want = getattr(ref, name)
                assert torch.allclose(g, want, atol=2e-5), f"{who} {name}: {float((g - want).abs().max())}"
