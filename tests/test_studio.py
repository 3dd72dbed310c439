"""The procedural studio: determinism, exact truth, mask consistency, motion, variety, pairs, I/O.

Numeric bounds (measured on 200 samples at 128x128 when they were set, with margin):
* edge band (pixels within 2 px of the alpha = 0.5 contour): >= 15% have 0.05 < alpha < 0.95 in
  every sample (measured min 0.20); in the hair part of the band >= 30% (measured p5 0.40);
* compositing equation: max error <= 1e-5 in network space;
* shot smoothness: head-mask IoU between consecutive frames >= 0.9 (measured min 0.97);
* variety over 200 samples: every hair style >= 4%, every head shape >= 15%, face-skin luminance
  5th..95th percentile spread >= 0.45, head height (hair included) 5th..95th percentile ratio >= 1.8,
  >= 10 garments close to the screen hue and >= 5 dark-haired people on a dim screen.
"""

from __future__ import annotations

import argparse
import collections
import colorsys
import dataclasses
from itertools import pairwise

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from changer.core.color import to_network
from changer.core.errors import ParamError
from changer.core.io import read_layers, read_meta
from changer.plugin.commands import studio
from changer.plugin.commands.main import COMMANDS
from changer.training.studio import (
    HAIR_STYLES,
    HARD_CASES,
    LABELS,
    MASKS,
    StudioDataset,
    hard_sample,
    hard_set,
    make_pair,
    make_shot,
    random_sample,
    render,
    sample_identity,
    sample_pose,
    sample_studio,
    self_reconstruction,
)
from changer.training.studio.codec import compress

FIELDS = ("plate", "alpha", "fg", "spill", "screen", "shadow", "noise", "parts", "labels", "amodal")


def _edge_band(alpha: torch.Tensor, radius: int = 2) -> torch.Tensor:
    """Pixels within ``radius`` of the alpha = 0.5 contour (dilation minus erosion of alpha >= 0.5)."""
    inside = (alpha >= 0.5).float()[None]
    k = 2 * radius + 1
    return (F.max_pool2d(inside, k, 1, radius) != -F.max_pool2d(-inside, k, 1, radius))[0, 0]


@pytest.fixture(scope="module")
def population() -> list:
    return [random_sample(seed, 128) for seed in range(200)]


def test_same_seed_same_pixels_and_metadata() -> None:
    a, b = random_sample(7, (160, 96)), random_sample(7, (160, 96))
    for name in FIELDS:
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert a.metadata() == b.metadata()
    c = random_sample(8, (160, 96))
    assert not torch.equal(a.plate, c.plate)


def test_sizes_and_shapes() -> None:
    for size in [(64, 64), (320, 180), (90, 200)]:
        s = random_sample(3, size)
        w, h = size
        assert s.size == size
        assert s.plate.shape == s.fg.shape == s.spill.shape == s.screen.shape == s.noise.shape == (3, h, w)
        assert s.alpha.shape == s.shadow.shape == s.labels.shape == s.amodal.shape == (1, h, w)
        assert s.parts.shape == (len(LABELS), h, w)
        assert all(t.dtype == torch.float32 for t in (s.plate, s.alpha, s.fg, s.parts))
        assert s.labels.dtype == torch.uint8
    for bad in [(63, 64), (64, 5000), 10, (0, 0), "big"]:
        with pytest.raises(ParamError, match="size"):
            random_sample(0, bad)
    with pytest.raises(ParamError, match="screen"):
        random_sample(0, 64, screen="red")
    with pytest.raises(ParamError, match="seed"):
        random_sample(-1, 64)


def test_value_ranges_and_compositing_equation(population: list) -> None:
    for s in population[:40]:
        for name in ("plate", "alpha", "fg", "screen", "shadow", "parts", "amodal"):
            t = getattr(s, name)
            assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0, name
        assert float(s.spill.min()) >= 0.0
        recon = s.alpha * (s.fg + s.spill) + (1 - s.alpha) * s.screen + s.noise
        assert float((s.plate - recon).abs().max()) <= 1e-5
        # The noise is sensor-like, not a residual that absorbs errors: small, zero-mean, everywhere.
        assert 0.001 < float(s.noise.std()) < 0.03 and float(s.noise.abs().max()) < 0.12
        assert float((s.fg + s.spill).max()) <= 1.0 + 1e-6
        assert abs(float(s.noise.mean())) < 0.003
        # fg carries no spill: where the subject is opaque, the plate minus spill and noise is fg.
        solid = s.alpha >= 1.0
        solid = solid.expand(3, -1, -1)
        assert torch.allclose((s.plate - s.spill - s.noise)[solid], s.fg[solid], atol=1e-5)
        assert float(s.fg[(s.alpha == 0).expand(3, -1, -1)].abs().max()) == 0.0


def test_spill_is_screen_coloured_and_strongest_at_edges(population: list) -> None:
    for s in population[:20]:
        inside = s.alpha[0] > 0.05
        green = s.spill[1][inside].mean()
        assert green > s.spill[0][inside].mean() and green > s.spill[2][inside].mean()
        band = _edge_band(s.alpha) & inside
        core = (s.alpha[0] >= 1.0) & ~F.max_pool2d(band.float()[None, None], 9, 1, 4)[0, 0].bool()
        assert s.spill[1][band].mean() > s.spill[1][core].mean()


def test_fractional_alpha_band_along_edges_and_hair(population: list) -> None:
    hair_shares = []
    for s in population:
        alpha = s.alpha[0]
        band = _edge_band(s.alpha)
        fractional = (alpha > 0.05) & (alpha < 0.95)
        assert float((band & fractional).sum() / band.sum()) >= 0.15
        hair_band = band & (s.mask("hair", soft=True)[0] > 0.02)
        if hair_band.sum() > 20:
            hair_shares.append(float((hair_band & fractional).sum() / hair_band.sum()))
    assert len(hair_shares) > 150
    assert np.percentile(hair_shares, 5) >= 0.3


def test_masks_are_consistent(population: list) -> None:
    for s in population[:40]:
        m = s.masks
        assert torch.equal(m["head"], torch.clamp(m["hair"] + m["face"] + m["ears"], max=1))
        parts = [m[name] for name in LABELS]
        assert torch.equal(sum(parts), torch.ones_like(m["head"])), "every pixel has exactly one label"
        assert torch.equal(m["foreground"], 1 - m["background"])
        # Soft coverage: visible parts sum to one, the subject's parts sum to alpha.
        assert torch.allclose(s.parts.sum(0, keepdim=True), torch.ones_like(s.alpha), atol=1e-5)
        assert torch.allclose(s.mask("foreground", soft=True), s.alpha, atol=1e-5)
        head = s.mask("head", soft=True)
        assert bool((head + 1e-6 >= s.mask("hair", soft=True)).all())
        assert bool((head + 1e-6 >= s.mask("face", soft=True)).all())
        # The label map is the front-most part: it agrees with alpha >= 0.5 on what is subject.
        assert float(((s.alpha[0] >= 0.5) != (s.labels[0] > 0)).float().mean()) < 0.002
        # Amodal body+neck covers the visible body and neck, and more where hair or head hide them.
        visible = s.mask("body", soft=True) + s.mask("neck", soft=True)
        assert bool((s.amodal + 1e-5 >= visible).all())
    with pytest.raises(ParamError, match="mask name"):
        population[0].mask("nose")
    assert set(MASKS) >= {"head", "hair", "face", "neck", "body", "background"}


def test_composite_over_a_new_background() -> None:
    s = random_sample(11, 96)
    bg = torch.rand(3, 96, 96, generator=torch.Generator().manual_seed(0))
    comp = s.over(bg)
    assert torch.allclose(comp, s.alpha * s.fg + (1 - s.alpha) * bg)
    empty = (s.alpha == 0).expand(3, -1, -1)
    assert torch.equal(comp[empty], bg[empty])
    with pytest.raises(ParamError, match="background"):
        s.over(torch.zeros(3, 10, 10))


def test_blue_screen_and_hard_cases() -> None:
    s = random_sample(5, 96, screen="blue")
    bg = s.screen[:, s.alpha[0] == 0]
    assert bool((bg[2] > bg[1]).all() and (bg[2] > bg[0]).all())
    g = random_sample(5, 96)
    bg = g.screen[:, g.alpha[0] == 0]
    assert bool((bg[1] > bg[0]).all() and (bg[1] > bg[2]).all())


def test_shot_is_smooth_with_constant_identity() -> None:
    shot = make_shot(21, frames=12, size=128)
    assert len(shot) == 12
    assert all(f.identity == shot[0].identity and f.studio.screen == shot[0].studio.screen for f in shot)
    ious = []
    for a, b in pairwise(shot):
        ha, hb = a.mask("head") > 0, b.mask("head") > 0
        ious.append(float((ha & hb).sum() / (ha | hb).sum()))
    assert min(ious) >= 0.9
    assert len({f.pose for f in shot}) == 12, "the head moves"
    assert len({f.noise_seed for f in shot}) == 12, "fresh sensor noise every frame"
    assert torch.equal(make_shot(21, frames=3, size=64)[2].plate, make_shot(21, frames=3, size=64)[2].plate)
    with pytest.raises(ParamError, match="frames"):
        make_shot(0, frames=0)


def test_pairs_and_self_reconstruction() -> None:
    for seed in range(6):
        source, target = make_pair(seed, 96)
        assert source.identity.hair_style != target.identity.hair_style
        assert source.identity.head_shape != target.identity.head_shape
        assert source.pose == target.pose and source.studio == target.studio, "same framing and studio"
        assert not torch.equal(source.mask("head"), target.mask("head"))
    a, b = self_reconstruction(4, 96)
    assert a is b
    assert torch.equal(a.plate, random_sample(4, 96).plate)


def test_variety_over_200_samples(population: list) -> None:
    styles = collections.Counter(s.identity.hair_style for s in population)
    assert set(styles) == set(HAIR_STYLES)
    assert min(styles.values()) >= 8
    shapes = collections.Counter(s.identity.head_shape for s in population)
    assert set(shapes) == {"round", "long", "wide"} and min(shapes.values()) >= 30
    luminance, heights = [], []
    for s in population:
        face = s.mask("face")[0] > 0
        luminance.append(float((0.2126 * s.fg[0] + 0.7152 * s.fg[1] + 0.0722 * s.fg[2])[face].median()))
        rows = (s.mask("head")[0] > 0).any(1).nonzero()
        heights.append(float(rows.max() - rows.min() + 1))
    assert np.percentile(luminance, 95) - np.percentile(luminance, 5) >= 0.45
    assert np.percentile(heights, 95) / np.percentile(heights, 5) >= 1.8
    patterns = collections.Counter(s.identity.cloth_pattern for s in population)
    assert min(patterns.values()) >= 20
    hue_close = sum(_near_screen_hue(s.identity.cloth) for s in population)
    assert hue_close >= 10, "clothing close to the screen hue must be drawn on purpose"
    dark_on_dim = sum(max(s.identity.hair) < 0.2 and max(s.studio.screen) < 0.37 for s in population)
    assert dark_on_dim >= 5, "dark hair on a dim screen must be drawn on purpose"


def _near_screen_hue(rgb: tuple[float, float, float]) -> bool:
    r, g, b = rgb
    return g > max(r, b) * 1.05 or (g > r * 1.2 and b > r * 1.2)


def test_render_is_a_pure_function_of_its_parameters() -> None:
    rng = np.random.default_rng(0)
    identity, pose, studio = sample_identity(rng), sample_pose(rng), sample_studio(rng)
    a = render(identity, pose, studio, 96, noise_seed=5)
    b = render(identity, pose, studio, 96, noise_seed=5)
    assert torch.equal(a.plate, b.plate)
    c = render(identity, dataclasses.replace(pose, x=pose.x + 0.05), studio, 96, noise_seed=5)
    assert not torch.equal(a.alpha, c.alpha)
    assert torch.equal(render(identity, pose, studio, 96, noise_seed=6).alpha, a.alpha), "noise does not touch truth"


def test_person_out_of_frame_gives_a_clean_plate() -> None:
    rng = np.random.default_rng(1)
    identity, pose, studio = sample_identity(rng), sample_pose(rng), sample_studio(rng)
    s = render(identity, dataclasses.replace(pose, x=5.0), studio, 96)
    assert float(s.alpha.max()) == 0.0 and int(s.labels.max()) == 0
    assert float((s.plate - s.screen - s.noise).abs().max()) <= 1e-5


def test_dataset_items_are_deterministic() -> None:
    ds = StudioDataset(4, 64, seed=3, mode="pairs")
    assert len(ds) == 4
    item = ds[1]
    assert {"source_plate", "target_plate", "source_mask_head", "target_alpha"} <= set(item)
    assert torch.equal(item["source_plate"], ds[1]["source_plate"])
    assert not torch.equal(ds[0]["source_plate"], ds[1]["source_plate"])
    single = StudioDataset(2, 64)[0]
    assert single["plate"].shape == (3, 64, 64) and single["labels"].dtype == torch.int64
    with pytest.raises(ParamError, match="mode"):
        StudioDataset(2, mode="triplets")


def _cli_args(out, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    studio.add_arguments(parser)
    return parser.parse_args(["--out", str(out), *extra])


def test_cli_writes_exr_layers_and_previews(tmp_path) -> None:
    out = tmp_path / "shot"
    assert studio.run(_cli_args(out, "--frames", "2", "--size", "128x128", "--seed", "5")) == 0
    for n in (1, 2):
        layers, meta = read_layers(out / f"plate.{n:04d}.exr")
        mattes = {"alpha.A", "head.A", "hair.A", "face.A", "neck.A", "body.A", "labels.A", "amodal.A"}
        assert mattes <= set(meta.channel_names)
        assert {"fg", "screen", "spill"} <= set(layers)
        assert layers["rgba"].shape == (3, 128, 128)
        assert (out / "preview" / f"plate.{n:04d}.png").is_file()
        assert read_meta(out / "preview" / f"plate.{n:04d}.png").channel_names == ["R", "G", "B"]
    # The EXR plate is scene-linear: back in network space it is the generated plate (half precision).
    frame = make_shot(5, frames=1, size=(128, 128))[0]
    layers, _ = read_layers(out / "plate.0001.exr")
    assert float((to_network(layers["rgba"]) - frame.plate).abs().max()) < 4e-3
    assert torch.equal(layers["alpha"], frame.alpha.half().float())
    assert torch.equal(layers["labels"], frame.labels.float())
    assert (out / "studio.json").is_file()


def test_cli_pairs_and_blue(tmp_path) -> None:
    out = tmp_path / "pairs"
    args = _cli_args(out, "--frames", "1", "--size", "96x64", "--pairs", "--screen", "blue", "--no-exr")
    assert studio.run(args) == 0
    assert sorted(p.name for p in (out / "preview").iterdir()) == ["source.0001.png", "target.0001.png"]


@pytest.mark.parametrize("extra, message", [
    (["--size", "12x"], "--size"),
    (["--size", "32x32"], "--size"),
    (["--frames", "0"], "--frames"),
    (["--screen", "red"], "--screen"),
    (["--seed", "-3"], "--seed"),
])
def test_cli_user_mistakes(tmp_path, extra: list[str], message: str) -> None:
    with pytest.raises(ParamError, match=message):
        studio.run(_cli_args(tmp_path / "x", *extra))


def test_cli_is_registered() -> None:
    assert COMMANDS["studio"][0] == "changer.plugin.commands.studio"


# --- hard cases for keyers ------------------------------------------------------------------------


def test_hard_cases_are_deterministic_and_exact() -> None:
    for case in HARD_CASES:
        a, b = hard_sample(case, 1, 96), hard_sample(case, 1, 96)
        assert torch.equal(a.plate, b.plate) and a.metadata() == b.metadata(), case
        assert a.extra["case"] == case and a.identity.hair_style != "bald" and a.identity.flyaways >= 40
        recon = a.alpha * (a.fg + a.spill) + (1 - a.alpha) * a.screen + a.noise
        assert float((a.plate - recon).abs().max()) <= 1e-5, case  # noise includes codec damage
    with pytest.raises(ParamError, match="hard case"):
        hard_sample("smoke", 0, 64)
    with pytest.raises(ParamError, match="split"):
        hard_sample("motion blur", 0, 64, split="test")


def test_hard_cases_push_what_they_say() -> None:
    tune = {case: hard_sample(case, 0, 96) for case in HARD_CASES}
    assert tune["motion blur"].studio.motion_blur[0] >= 0.012  # the ordinary studio draws <= 0.01
    assert tune["dirty screen"].studio.dirt >= 0.4 and tune["compressed"].studio.codec_quality >= 55
    assert max(tune["saturated screen"].studio.screen) >= 0.8
    assert min(tune["saturated screen"].studio.screen) <= 0.07 * max(tune["saturated screen"].studio.screen)
    for seed in (0, 1):
        s = hard_sample("wardrobe near the screen hue", seed, 96)
        r, g, b = s.identity.cloth
        assert (g > r > b) if s.studio.screen_kind == "green" else (b > r > g)  # yellow-green / lilac
    assert max(tune["dark strands, uneven screen"].identity.hair) <= 0.1
    for case, s in tune.items():  # wardrobe within 40 degrees of the screen's hue only where the case asks for it
        if case != "wardrobe near the screen hue":
            for cloth in (s.identity.cloth, s.identity.cloth2):
                (h, sat, _), (hs, _, _) = colorsys.rgb_to_hsv(*cloth), colorsys.rgb_to_hsv(*s.studio.screen)
                assert sat < 0.2 or min(abs(h - hs), 1 - abs(h - hs)) * 360 >= 40 - 1e-6, (case, cloth)


def test_held_out_split_differs_in_seeds_and_ranges() -> None:
    for case in HARD_CASES:
        tune, held = hard_sample(case, 0, 64), hard_sample(case, 0, 64, split="held_out")
        assert not torch.equal(tune.plate, held.plate), case
        assert tune.studio.screen_kind != held.studio.screen_kind, case  # seed 0 is green in one, blue in the other
    assert hard_set("tune", 2) == hard_set("held_out", 2) == [(c, s) for c in HARD_CASES for s in (0, 1)]


def test_codec_damage_is_blocky_and_chroma_is_subsampled() -> None:
    g = torch.Generator().manual_seed(0)
    plate = torch.rand(3, 64, 48, generator=g).numpy()
    out = compress(plate, 50.0)
    assert out.shape == plate.shape and out.min() >= 0 and out.max() <= 1
    assert 0.01 < float(np.abs(out - plate).mean()) < 0.2
    flat = np.full((3, 32, 32), 0.4, dtype=np.float32)
    assert np.allclose(compress(flat, 30.0), flat, atol=2 / 255)  # a flat frame survives any quality


def test_dirt_changes_the_screen_but_not_the_truth() -> None:
    rng = np.random.default_rng(4)
    identity, pose, studio = sample_identity(rng), sample_pose(rng), sample_studio(rng)
    clean = render(identity, pose, studio, 96, noise_seed=1)
    dirty = render(identity, pose, dataclasses.replace(studio, dirt=0.8), 96, noise_seed=1)
    assert torch.equal(clean.alpha, dirty.alpha) and torch.equal(clean.fg, dirty.fg)
    assert float((clean.screen - dirty.screen).abs().max()) > 0.02
