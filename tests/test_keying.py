"""The keyer's math, params, inputs and outputs on synthetic plates with exact answers.

Quality on the procedural studio is in test_keying_quality.py; the CUDA kernel in test_keying_cuda.py.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from changer.core.errors import ParamError
from changer.core.keying import (
    CANONICAL_GREEN,
    Keyer,
    KeyerParams,
    estimate_clean_plate,
    estimate_screen_color,
    key,
    key_network_output,
    param_specs,
    screen_matte,
)
from changer.core.keying.params import key_channels

TOL = {torch.float32: 1e-5, torch.float16: 2e-3}
#: The per-pixel math alone: the given flat screen colour, no clean-plate estimate, no auto core.
EXACT = {"auto_clean_plate": False, "core_depth": 0.0}
GREEN = (0.15, 0.62, 0.2)
BLUE = (0.1, 0.22, 0.7)


def _scene(screen: tuple[float, float, float], screen_type: str = "green", n: int = 1, h: int = 48, w: int = 64,
           seed: int = 0, balance_mode: str = "auto") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(plate, alpha, fg): a soft disc of the colours a colour-difference key recovers exactly: key
    channel = the larger other one (auto balance) or the others' mean (fixed balance 0.5)."""
    g = torch.Generator().manual_seed(seed)
    k, a, b = key_channels(screen_type)
    fg = torch.rand(n, 3, h, w, generator=g) * 0.8 + 0.1
    fg[:, k] = torch.maximum(fg[:, a], fg[:, b]) if balance_mode == "auto" else 0.5 * (fg[:, a] + fg[:, b])
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    alpha = ((0.6 - (xx**2 + yy**2).sqrt()) * 6).clamp(0, 1).expand(n, 1, h, w).clone()
    s = torch.tensor(screen).view(1, 3, 1, 1)
    return alpha * fg + (1 - alpha) * s, alpha, fg


# --- params ---------------------------------------------------------------------------------------


def test_defaults_are_valid_and_specs_cover_every_field() -> None:
    params = KeyerParams()
    specs = param_specs()
    assert [s.name for s in specs] == [f.name for f in dataclasses.fields(KeyerParams)]
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
    ("despill_mode", "avg", r"despill_mode='avg': expected one of limit, luminance"),
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
    (torch.zeros(3, 8, 8), r"plate: expected shape \(N,3,H,W\), got \(3, 8, 8\)"),
    (torch.zeros(1, 4, 8, 8), r"plate: expected shape \(N,3,H,W\), got \(1, 4, 8, 8\)"),
    (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), "plate: expected floating-point values, got torch.uint8"),
])
def test_plate_checks(plate: torch.Tensor, match: str) -> None:
    with pytest.raises(ParamError, match=match):
        key(plate)


def test_matte_and_clean_plate_checks() -> None:
    plate, _, _ = _scene(GREEN, n=2)
    with pytest.raises(ParamError, match=r"garbage_matte: expected shape \(2,1,48,64\) to match the plate, got \(2, 1, 24, 64\)"):
        key(plate, garbage_matte=torch.zeros(2, 1, 24, 64))
    with pytest.raises(ParamError, match=r"clean_plate: expected shape \(N,3,H,W\)"):
        key(plate, clean_plate=torch.zeros(2, 1, 48, 64))
    with pytest.raises(ParamError, match="backend='cupy'"):
        key(plate, backend="cupy")


# --- the math -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("screen", "screen_type"), [(GREEN, "green"), (BLUE, "blue")])
@pytest.mark.parametrize("balance_mode", ["auto", "fixed"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_exact_recovery_given_the_screen(screen: tuple, screen_type: str, balance_mode: str, dtype: torch.dtype,
                                         device: torch.device) -> None:
    """Spill-free colours over a known flat screen: alpha and fg come back exactly."""
    plate, alpha, fg = _scene(screen, screen_type, n=2, balance_mode=balance_mode)
    params = KeyerParams(**EXACT, screen_type=screen_type, screen_color=screen, balance_mode=balance_mode, despill=0.0)
    res = key(plate.to(device, dtype), params)
    tol = TOL[dtype]
    for name in ("alpha", "fg", "fg_premult", "green"):
        t = getattr(res, name)
        assert t.dtype == dtype and t.device.type == device.type, name
    assert torch.allclose(res.alpha.float().cpu(), alpha, atol=tol * 4)
    solid = alpha > 0.05
    assert torch.allclose(res.fg.float().cpu()[solid.expand_as(fg)], fg[solid.expand_as(fg)], atol=tol * 200)
    assert torch.allclose(res.fg_premult.float().cpu(), alpha * fg, atol=tol * 10)


def test_picked_screen_is_robust_to_a_big_subject() -> None:
    g = torch.Generator().manual_seed(2)
    plate = torch.tensor(GREEN).view(1, 3, 1, 1) + 0.01 * torch.randn(1, 3, 200, 200, generator=g)
    plate[..., 20:200, 30:170] = torch.rand(1, 3, 180, 140, generator=g) * 0.6  # 63 % of the frame
    plate[..., 100:140, 60:120] = torch.tensor((0.35, 0.5, 0.3)).view(1, 3, 1, 1)  # greenish clothes
    picked = estimate_screen_color(plate)
    assert torch.allclose(picked.flatten(), torch.tensor(GREEN), atol=0.01)


def test_clean_plate_handles_an_uneven_screen() -> None:
    plate, alpha, _ = _scene(GREEN, h=96, w=128)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 96), torch.linspace(0, 1, 128), indexing="ij")
    light = (0.6 + 0.6 * xx * (1 - 0.3 * yy))[None, None]
    screen = torch.tensor(GREEN).view(1, 3, 1, 1) * light
    _, alpha, fg = _scene(GREEN, h=96, w=128)
    plate = alpha * fg + (1 - alpha) * screen
    flat = key(plate, KeyerParams(**EXACT))
    given = key(plate, KeyerParams(**EXACT), clean_plate=screen)
    auto = key(plate, KeyerParams(core_depth=0.0))
    err = {name: float((r.alpha - alpha).abs().mean()) for name, r in (("flat", flat), ("given", given), ("auto", auto))}
    assert err["given"] < 1e-5
    assert err["auto"] < 0.01 < err["flat"], err
    est = estimate_clean_plate(plate, estimate_screen_color(plate))
    background = (alpha == 0).expand_as(plate)
    assert torch.allclose(est[background], screen.expand_as(plate)[background], atol=0.02)


def test_clip_black_white_remap() -> None:
    plate, alpha, _ = _scene(GREEN)
    res = key(plate, KeyerParams(**EXACT, screen_color=GREEN, clip_black=0.2, clip_white=0.6))
    expect = ((alpha - 0.2) / 0.4).clamp(0, 1)
    assert torch.allclose(res.alpha, expect, atol=1e-5)


def test_gain_thins_the_matte_down_to_the_brightness_bound() -> None:
    plate, alpha, fg = _scene(GREEN)
    res = key(plate, KeyerParams(**EXACT, screen_color=GREEN, screen_gain=1.5))
    s = torch.tensor(GREEN).view(1, 3, 1, 1)
    bright = alpha * ((fg - s) / (1 - s)).amax(1, keepdim=True)
    dark = alpha * (s[:, 1:2] - fg[:, 1:2]) / s[:, 1:2]  # only green is a bright channel of this screen
    bound = torch.maximum(bright, dark)
    assert torch.allclose(res.alpha, torch.maximum(1 - 1.5 * (1 - alpha), bound).clamp(0, 1), atol=1e-5)
    assert float((res.alpha < alpha - 0.01).float().mean()) > 0.05


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
    plate, alpha, _ = _scene(GREEN)
    base = key(plate, KeyerParams(**EXACT, screen_color=GREEN)).alpha
    grown = key(plate, KeyerParams(**EXACT, screen_color=GREEN, matte_grow=3)).alpha
    shrunk = key(plate, KeyerParams(**EXACT, screen_color=GREEN, matte_grow=-3)).alpha
    soft = key(plate, KeyerParams(**EXACT, screen_color=GREEN, edge_softness=2.0)).alpha
    assert shrunk.sum() < base.sum() < grown.sum()
    assert torch.all(grown >= base - 1e-6) and torch.all(shrunk <= base + 1e-6)
    assert not torch.allclose(soft, base) and abs(float(soft.sum() - base.sum())) < 0.01 * float(base.sum())


def _spilled_skin(spill: float, params: KeyerParams) -> tuple[torch.Tensor, torch.Tensor]:
    skin = torch.tensor((0.8, 0.6, 0.5)).view(1, 3, 1, 1)
    plate = (skin + torch.tensor((0.0, spill, 0.0)).view(1, 3, 1, 1)).expand(1, 3, 4, 4)
    return key(plate, params, core_matte=torch.ones(1, 1, 4, 4)).fg, skin


def test_spill_inside_the_subject_lowers_alpha() -> None:
    """Green spill is screen colour to a fixed-balance key (clip white fixes it); auto balance keeps
    spilled skin opaque because its red stays above its green."""
    plate = torch.tensor((0.8, 0.7, 0.5)).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    fixed = KeyerParams(**EXACT, screen_color=GREEN, balance_mode="fixed")
    assert float(key(plate, fixed).alpha.max()) == pytest.approx(1 - 0.05 / 0.445, abs=1e-5)
    assert float(key(plate, fixed.replace(clip_white=0.85)).alpha.min()) == 1.0
    assert float(key(plate, KeyerParams(**EXACT, screen_color=GREEN)).alpha.min()) == 1.0  # auto: R > G, so no screen in it


def test_despill_limit_bias_and_luminance() -> None:
    base = KeyerParams(**EXACT, screen_color=GREEN)
    fg, skin = _spilled_skin(0.1, base)
    assert float(fg[0, 1, 0, 0]) == pytest.approx(0.65, abs=1e-6)  # limited to mean(R, B)
    fg, skin = _spilled_skin(0.1, base.replace(despill_bias=(0.8, 0.6, 0.5)))
    assert torch.allclose(fg[..., :1, :1], skin, atol=1e-6)  # the bias colour comes back exactly
    fg, _ = _spilled_skin(0.0, base.replace(despill_bias=(0.8, 0.6, 0.5)))
    assert torch.allclose(fg[..., :1, :1], skin, atol=1e-6)  # and is left alone when not spilled
    fg, _ = _spilled_skin(0.1, base.replace(despill_mode="luminance"))
    luma = torch.tensor((0.2126, 0.7152, 0.0722)).view(1, 3, 1, 1)
    spilled = skin + torch.tensor((0, 0.1, 0)).view(1, 3, 1, 1)
    assert float((fg[..., :1, :1] * luma).sum()) == pytest.approx(float((spilled * luma).sum()), abs=1e-6)
    fg, skin = _spilled_skin(0.1, base.replace(despill=0.0))
    assert float(fg[0, 1, 0, 0]) == pytest.approx(0.7, abs=1e-6)
    fg, _ = _spilled_skin(0.1, base.replace(despill=0.5))
    assert float(fg[0, 1, 0, 0]) == pytest.approx(0.675, abs=1e-6)


def test_green_output_and_network_output_key() -> None:
    plate, alpha, fg = _scene(GREEN)
    res = key(plate, KeyerParams(**EXACT, screen_color=GREEN))
    canonical = torch.tensor(CANONICAL_GREEN).view(1, 3, 1, 1)
    assert torch.allclose(res.green, res.fg_premult + (1 - res.alpha) * canonical, atol=1e-6)
    bg = (res.alpha == 0).expand_as(plate)
    assert torch.allclose(res.green[bg], canonical.expand_as(plate)[bg])
    # The network's output on the canonical green keys back to the same alpha.
    y = alpha * fg + (1 - alpha) * canonical
    out = key_network_output(y)
    assert torch.allclose(out.alpha, alpha, atol=1e-5)


def test_batched_equals_one_by_one_and_module_agrees() -> None:
    plate = torch.cat([_scene(GREEN, seed=1)[0], _scene((0.2, 0.7, 0.25), seed=2)[0]])
    both = key(plate)
    assert both.screen.shape == (2, 3, 48, 64)  # the estimated clean plate
    for i in range(2):
        one = key(plate[i:i + 1])
        assert torch.equal(one.alpha, both.alpha[i:i + 1]) and torch.equal(one.green, both.green[i:i + 1])
    module = Keyer(KeyerParams(matte_grow=1.0))
    assert torch.equal(module(plate).alpha, key(plate, KeyerParams(matte_grow=1.0)).alpha)


def test_deterministic_and_float16_close_to_float32() -> None:
    plate, _, _ = _scene(GREEN, h=64, w=64)
    params = KeyerParams(auto_clean_plate=True, matte_grow=-1.0, edge_softness=1.0)
    a, b = key(plate, params), key(plate, params)
    assert torch.equal(a.alpha, b.alpha) and torch.equal(a.fg, b.fg)
    half = key(plate.half(), params)
    assert half.alpha.dtype == torch.float16
    assert torch.allclose(half.alpha.float(), a.alpha, atol=5e-3)


@pytest.mark.parametrize("params", [
    KeyerParams(**EXACT),
    KeyerParams(**EXACT, balance_mode="fixed", screen_balance=0.2, screen_gain=1.3, clip_black=0.1, clip_white=0.7),
    KeyerParams(**EXACT, screen_type="blue"),
])
def test_flat_screen_fast_path_equals_per_pixel_path(params: KeyerParams) -> None:
    """One colour per image goes through the affine-terms convolution; the same colour given per
    pixel goes term by term. They must agree."""
    colour = GREEN if params.screen_type == "green" else BLUE
    plate, _, _ = _scene(colour, params.screen_type, n=2, seed=4)
    plate = (plate + 0.3 * torch.rand(plate.shape, generator=torch.Generator().manual_seed(5)) - 0.15).clamp(0, 1)
    screens = torch.tensor([colour, [c * 0.8 for c in colour]]).view(2, 3, 1, 1)
    flat = screen_matte(plate, screens, params)
    per_pixel = screen_matte(plate, screens.expand_as(plate), params)
    assert torch.allclose(flat, per_pixel, atol=2e-6)


def test_numpy_reference_of_the_benchmark_is_the_same_math() -> None:
    """benchmarks/keying.py times torch against a NumPy implementation; it must compute the same."""
    import importlib
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    bench = importlib.import_module("keying")
    plate = bench.synthetic_plate(64, 96)
    for params in (KeyerParams(**EXACT, screen_color=bench.SCREEN),
                   KeyerParams(**EXACT, screen_color=bench.SCREEN, balance_mode="fixed", despill_mode="luminance",
                               clip_black=0.05, clip_white=0.9)):
        ours = key(plate, params)
        ref = bench.numpy_key(plate.numpy(), ours.screen.numpy(), params)
        solid = (ours.alpha >= 0.05).expand_as(plate)  # below, 1/alpha amplifies rounding in fg
        for name, r in zip(("alpha", "fg", "fg_premult", "green"), ref):
            got, want = getattr(ours, name), torch.from_numpy(r)
            if name == "fg":
                got, want = got[solid], want[solid]
            assert torch.allclose(got, want, atol=1e-5), name



def test_readme_lists_every_param_with_its_default_and_range() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for s in param_specs():
        if s.default is None:
            default = "unset (auto)"
        elif isinstance(s.default, bool):
            default = "on" if s.default else "off"
        else:
            default = s.default
        row_start = f"| `{s.name}` | {default} |"
        assert row_start in readme, s.name
        if s.kind == "float":
            assert readme.split(row_start)[1].startswith(f" {s.minimum:g} – {s.maximum:g} |"), s.name
