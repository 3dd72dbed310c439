"""Matte tools: thresholds, grow/shrink, feather, holes, set operations, crop box and paste-back."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from changer.core import masks
from changer.core.errors import ContractError, ParamError
from changer.core.masks import Box


def _rect(h: int = 40, w: int = 50, y: slice = slice(10, 20), x: slice = slice(10, 30), **kw) -> torch.Tensor:
    m = torch.zeros(1, 1, h, w, **kw)
    m[..., y, x] = 1.0
    return m


def test_threshold_binary_and_dtype(device: torch.device) -> None:
    m = torch.tensor([0.0, 0.2, 0.5, 0.7, 1.0], device=device, dtype=torch.float16).view(1, 1, 1, 5)
    out = masks.threshold(m, 0.5, name="target head")
    assert out.dtype == m.dtype and out.device == m.device
    assert out.flatten().tolist() == [0, 0, 1, 1, 1]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_threshold_out_of_range_names_the_matte(bad: float) -> None:
    with pytest.raises(ParamError, match=r"source head threshold=.*\[0.0, 1.0\]"):
        masks.threshold(_rect(), bad, name="source head")


def test_shape_checks_are_readable() -> None:
    with pytest.raises(ContractError, match=r"expected shape \(N, 1, H, W\), got \(3, 40, 50\)"):
        masks.feather(torch.zeros(3, 40, 50), 2.0)


@pytest.mark.parametrize("radius", [1, 3, 9, 20])
def test_grow_then_shrink_square(radius: int, device: torch.device) -> None:
    m = _rect(80, 90, slice(30, 40), slice(30, 50), device=device)
    grown = masks.grow_shrink(m, radius)
    assert int(grown.sum()) == (10 + 2 * radius) * (20 + 2 * radius)
    assert torch.equal(masks.grow_shrink(grown, -radius), m)


def test_large_radius_path_matches_max_pool() -> None:
    x = torch.rand(2, 1, 37, 61, generator=torch.Generator().manual_seed(1))
    for r in (8, 13, 30):
        ref = F.max_pool2d(x, (2 * r + 1, 2 * r + 1), stride=1, padding=r) if r <= 18 else None
        got = masks.grow_shrink(x, r)
        if ref is not None:
            assert torch.equal(got, ref)
        # separable square window == brute force
        pad = F.pad(x, (r, r, r, r), value=-1.0)
        brute = pad.unfold(2, 2 * r + 1, 1).unfold(3, 2 * r + 1, 1).amax(dim=(-1, -2))
        assert torch.equal(got, brute)


def test_fractional_grow_is_between_neighbours() -> None:
    m = _rect()
    a, b, c = (masks.grow_shrink(m, r).sum() for r in (2, 2.5, 3))
    assert a < b < c and torch.isclose(b, (a + c) / 2)


def test_border_neither_grows_nor_erodes() -> None:
    m = torch.ones(1, 1, 20, 20)
    assert torch.equal(masks.grow_shrink(m, -3), m)
    assert torch.allclose(masks.feather(m, 4.0), m, atol=1e-6)


def test_feather_is_normalised_and_symmetric(device: torch.device) -> None:
    m = _rect(64, 64, slice(0, 64), slice(32, 64), device=device)
    out = masks.feather(m, 3.0)
    row = out[0, 0, 10]
    assert torch.allclose(row[31] + row[32], torch.tensor(1.0, device=device), atol=1e-6)
    assert float(row[0]) == pytest.approx(0.0, abs=1e-6) and float(row[-1]) == pytest.approx(1.0, abs=1e-6)
    assert torch.all(row[1:] >= row[:-1])


def test_union_and_difference_partition() -> None:
    g = torch.Generator().manual_seed(0)
    target, source = torch.rand(1, 1, 16, 16, generator=g), torch.rand(1, 1, 16, 16, generator=g)
    m_union = masks.union(target, source)
    m_ip = masks.difference(m_union, source)
    assert torch.allclose(source + m_ip, m_union, atol=1e-7)
    assert torch.all(m_ip >= 0) and torch.all(m_ip <= 1)
    with pytest.raises(ContractError, match="same shape"):
        masks.union(target, torch.zeros(1, 1, 8, 8))


def test_bounding_box_pad_aspect_and_shift() -> None:
    m = torch.zeros(1, 1, 100, 100)
    m[..., 3:13, 5:25] = 0.4
    assert masks.bounding_box(m) == Box(5, 3, 25, 13)
    box = masks.bounding_box(m, pad=2, aspect=1.0)
    assert box == Box(3, 0, 27, 24)  # 24x24: heightened around the centre, shifted down into the frame
    assert all(isinstance(v, int) for v in box)
    wide = masks.bounding_box(m, pad=0, aspect=16 / 9)
    assert wide.width / wide.height == pytest.approx(16 / 9, rel=0.1) and wide.width >= 20
    assert masks.bounding_box(torch.zeros(1, 1, 8, 8)) is None


def test_pixel_counts_must_be_whole() -> None:
    with pytest.raises(ParamError, match=r"bounding box pad=2.5: expected a whole number >= 0"):
        masks.bounding_box(_rect(), pad=2.5)


def test_bounding_box_larger_than_frame_is_cut() -> None:
    m = torch.zeros(1, 1, 50, 200)
    m[..., 10:40, 20:180] = 1
    assert masks.bounding_box(m, pad=10, aspect=1.0) == Box(10, 0, 190, 50)


def test_bounding_box_unions_the_batch() -> None:
    m = torch.zeros(2, 1, 20, 20)
    m[0, 0, 2, 3] = 1
    m[1, 0, 10, 15] = 1
    assert masks.bounding_box(m) == Box(3, 2, 16, 11)


def test_deterministic() -> None:
    g = torch.Generator().manual_seed(9)
    m = torch.rand(1, 1, 50, 60, generator=g)
    for fn in (lambda x: masks.grow_shrink(x, 4.5), lambda x: masks.feather(x, 2.5)):
        assert torch.equal(fn(m), fn(m))


@pytest.mark.parametrize("level", [0, 1, 2])
def test_push_pull_is_its_pyramid_resized_to_the_image(level: int) -> None:
    """At level 0 the pyramid is already at the image's size and is returned as it is: the resize would
    weigh each value by 1 and its neighbour by 0, the same bits (and 2-4 ms of the screen estimate)."""
    g = torch.Generator().manual_seed(4)
    image = torch.rand(1, 3, 27, 48, generator=g)
    weight = (torch.rand(1, 1, 27, 48, generator=g) > 0.6).float()
    fallback = image.mean((2, 3), keepdim=True)
    coarse = masks.pyramid_fill(*masks.pyramid_cells(image, weight, level), fallback)
    resized = masks.upsample_rows(coarse, (27, 48), torch.arange(27))
    filled = masks.push_pull(image, weight, fallback, level)
    assert torch.equal(filled, resized)
    if level == 0:  # the samples themselves are kept
        kept = weight.expand_as(image) > 0
        assert torch.equal(filled[kept], image[kept])
