"""The keyer in horizontal bands: the same key as in one piece, bit for bit, with bounded windows.

Plates come from the procedural studio (seeded): a person with hair and soft edges on an uneven
screen. Bands of 8 to 24 rows cut a 200-row plate many times, through hair and edges, and every
spatial stage (cell pooling, the matte's local minima, auto core, grow/shrink, softness) crosses
band edges. Both the torch passes and the fused host kernel are checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from changer.core import masks
from changer.core.errors import ParamError
from changer.core.keying import KeyerParams, estimate_clean_plate, estimate_screen_color, key
from changer.core.keying import keyer as keyer_module
from changer.core.keying.bands import BAND_PIXELS, ROW_ALIGN, band_height, bands
from changer.core.keying.cells import CELL, grid_size, pool, pool_banded
from changer.training.studio import random_sample

OUTPUTS = ("alpha", "fg", "fg_premult", "green", "screen")
H, W = 200, 160
PARAMS = {
    "default": KeyerParams(),
    "fractional": KeyerParams(core_depth=9.5, matte_grow=-2.5, edge_softness=1.5),
    "flat fixed": KeyerParams(auto_clean_plate=False, balance_mode="fixed", matte_grow=3.0, core_depth=0.0,
                              auto_clip_white=1.0),
    "deep core": KeyerParams(core_depth=20.0, edge_softness=4.0, despill_mode="luminance", clip_black=0.05),
}


def _plate(seed: int = 4, screen: str = "green") -> tuple[torch.Tensor, torch.Tensor]:
    sample = random_sample(seed, (W, H), screen=screen)
    return sample.plate[None], sample.alpha[None]


def _max_diffs(a: keyer_module.KeyResult, b: keyer_module.KeyResult) -> dict[str, float]:
    return {name: float((getattr(a, name).float() - getattr(b, name).float()).abs().max()) for name in OUTPUTS}


def _assert_same(banded: keyer_module.KeyResult, whole: keyer_module.KeyResult) -> None:
    diffs = _max_diffs(banded, whole)
    assert max(diffs.values()) <= 1e-5, diffs
    assert all(torch.equal(getattr(banded, n), getattr(whole, n)) for n in OUTPUTS), diffs


def test_band_edges_cut_through_hair_and_edges() -> None:
    """The plate the other tests use really has soft alpha on the band edges they cut at."""
    _, alpha = _plate()
    soft = (alpha > 0.05) & (alpha < 0.95)
    for rows in (8, 24):
        cut = [b.start for b in bands(H, rows)][1:]
        assert sum(int(soft[..., y, :].sum()) > 0 for y in cut) >= 3, rows


@pytest.mark.parametrize("name", list(PARAMS))
@pytest.mark.parametrize("rows", [8, 24])
@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_banded_key_equals_the_whole_frame_key(name: str, rows: int, backend: str) -> None:
    plate, _ = _plate()
    params = PARAMS[name]
    whole = key(plate, params, band_rows=H, backend=backend)
    _assert_same(key(plate, params, band_rows=rows, backend=backend), whole)


def test_blue_screen_batch_mattes_and_half_precision() -> None:
    """Two images, a blue screen, core and garbage mattes and float16 input: still the same key."""
    plate = torch.cat([_plate(6, "blue")[0], _plate(7, "blue")[0]])
    core = torch.zeros(1, 1, H, W)
    core[..., 90:130, 60:100] = 1.0
    garbage = torch.zeros(1, 1, H, W)
    garbage[..., :, :12] = 1.0
    params = KeyerParams(screen_type="blue", matte_grow=1.5)
    for p in (plate, plate.half()):
        whole = key(p, params, core_matte=core, garbage_matte=garbage, band_rows=H)
        _assert_same(key(p, params, core_matte=core, garbage_matte=garbage, band_rows=16), whole)


def test_given_clean_plate_takes_the_per_pixel_path_in_bands() -> None:
    plate, _ = _plate()
    clean = estimate_clean_plate(plate, estimate_screen_color(plate))
    params = KeyerParams(core_depth=4.0)
    whole = key(plate, params, clean_plate=clean, band_rows=H)
    _assert_same(key(plate, params, clean_plate=clean, band_rows=24), whole)


def test_clean_plate_estimate_is_independent_of_the_band_height() -> None:
    plate, _ = _plate(5)
    screen = estimate_screen_color(plate)
    whole = estimate_clean_plate(plate, screen, band_rows=H)
    assert torch.equal(estimate_clean_plate(plate, screen, band_rows=8), whole)


def test_spatial_stages_only_ever_see_a_band_and_its_halo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every blur, grow/shrink and per-pixel stage at full resolution reads at most a band plus its
    halo, never the frame; what works on the whole frame is the cell grid, 1/CELL of its rows."""
    plate, _ = _plate()
    seen: list[int] = []

    def spy(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(x: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            seen.append(x.shape[-2])
            return fn(x, *args, **kwargs)
        return wrapped

    watched = ((masks, "blur"), (masks, "grow_shrink"), (keyer_module, "screen_matte"), (keyer_module, "finish"))
    for module, name in watched:
        monkeypatch.setattr(module, name, spy(getattr(module, name)))
    rows, params = 16, KeyerParams(matte_grow=2.0, edge_softness=1.0)
    key(plate, params, band_rows=rows, backend="torch")
    reach = masks.blur_radius(1.0) + 2 + 2 + masks.blur_radius(1.0)  # core: 1 px blur, 2 px erosion; grow 2; softness 1
    cells = grid_size(H, W)[0]
    assert rows + 2 * reach < cells < H
    assert all(h <= rows + 2 * reach or h == cells for h in seen), sorted(set(seen))
    assert any(h <= rows + 2 * reach for h in seen) and cells in seen


def test_band_height_default_bounds_an_8k_band_and_checks_its_input() -> None:
    rows = band_height(4320, 7680)
    assert rows % ROW_ALIGN == 0 and rows * 7680 <= BAND_PIXELS + ROW_ALIGN * 7680
    assert band_height(100, 50, 12) == 16 and band_height(100, 50, 1) == ROW_ALIGN
    for bad in (0, -8, 2.5, True):
        with pytest.raises(ParamError, match="band_rows"):
            band_height(100, 50, bad)
    with pytest.raises(ParamError, match="band_rows"):
        key(torch.rand(1, 3, 16, 16), band_rows=0)


def test_upsample_rows_is_the_bilinear_resize_and_independent_of_the_rows_asked() -> None:
    coarse = torch.rand(2, 3, 13, 30, generator=torch.Generator().manual_seed(3))
    size = (100, 233)
    full = masks.upsample_rows(coarse, size, torch.arange(size[0]))
    ref = F.interpolate(coarse, size=size, mode="bilinear", align_corners=False)
    assert torch.allclose(full, ref, atol=5e-6)
    parts = [masks.upsample_rows(coarse, size, b.index(coarse.device)) for b in bands(size[0], 8)]
    assert torch.equal(torch.cat(parts, dim=2), full)
    odd, cols = torch.tensor([0, 57, 99, 3]), torch.tensor([5, 0, 232])
    assert torch.equal(masks.upsample_rows(coarse, size, odd), full[:, :, odd])
    assert torch.equal(masks.upsample_rows(coarse, size, odd, cols), full[:, :, odd][..., cols])


def test_cells_pooled_in_bands_are_the_frames_cells() -> None:
    image = torch.rand(2, 3, 61, 45, generator=torch.Generator().manual_seed(9))
    whole = pool(image)
    assert whole.shape[-2:] == grid_size(61, 45) == (-(-61 // CELL), -(-45 // CELL))
    texture = (pool(image * image) - whole * whole).mean(1, keepdim=True).clamp_min(0).sqrt()
    for rows in (8, 16, 64):
        banded, banded_texture = pool_banded(image, rows)
        assert torch.equal(banded, whole) and torch.allclose(banded_texture, texture, atol=1e-6)
