"""Matte tools: thresholds, grow/shrink, feather, holes, set operations, crop box and paste-back."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from changer.core import masks
from changer.core.errors import ParamError
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
    with pytest.raises(ParamError, match=r"expected shape \(N,1,H,W\), got \(3, 40, 50\)"):
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


def test_fill_holes_by_area(device: torch.device) -> None:
    m = torch.ones(2, 1, 30, 30, device=device)
    m[0, 0, 5:8, 5:8] = 0  # 9 px hole: filled
    m[0, 0, 15:25, 15:25] = 0  # 100 px hole: kept
    m[1, 0, 0:5, 0:5] = 0  # touches the border: kept however small
    m[1, 0, 10, 10] = 0  # 1 px hole: filled
    out = masks.fill_holes(m, 20)
    assert out[0, 0, 6, 6] == 1 and out[0, 0, 20, 20] == 0 and out[1, 0, 2, 2] == 0 and out[1, 0, 10, 10] == 1
    assert torch.equal(masks.fill_holes(m, 0), m)


def test_fill_holes_matches_opencv_on_random_mattes() -> None:
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    g = torch.Generator().manual_seed(3)
    for density in (0.3, 0.55, 0.7):
        m = (torch.rand(1, 1, 96, 128, generator=g) > density).float()
        out = masks.fill_holes(m, 12)
        hole = (m[0, 0] < 0.5).numpy().astype(np.uint8)
        count, lab, stats, _ = cv2.connectedComponentsWithStats(hole, connectivity=4)
        expect = m[0, 0].numpy().copy()
        border = set(np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])).tolist())
        for i in range(1, count):
            if stats[i, cv2.CC_STAT_AREA] <= 12 and i not in border:
                expect[lab == i] = 1.0
        assert np.array_equal(out[0, 0].numpy(), expect), f"density {density}"


def test_union_and_difference_partition() -> None:
    g = torch.Generator().manual_seed(0)
    target, source = torch.rand(1, 1, 16, 16, generator=g), torch.rand(1, 1, 16, 16, generator=g)
    m_union = masks.union(target, source)
    m_ip = masks.difference(m_union, source)
    assert torch.allclose(source + m_ip, m_union, atol=1e-7)
    assert torch.all(m_ip >= 0) and torch.all(m_ip <= 1)
    with pytest.raises(ParamError, match="same shape"):
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
    with pytest.raises(ParamError, match=r"fill holes max area=-1"):
        masks.fill_holes(_rect(), -1)


def test_bounding_box_larger_than_frame_is_cut() -> None:
    m = torch.zeros(1, 1, 50, 200)
    m[..., 10:40, 20:180] = 1
    assert masks.bounding_box(m, pad=10, aspect=1.0) == Box(10, 0, 190, 50)


def test_bounding_box_unions_the_batch() -> None:
    m = torch.zeros(2, 1, 20, 20)
    m[0, 0, 2, 3] = 1
    m[1, 0, 10, 15] = 1
    assert masks.bounding_box(m) == Box(3, 2, 16, 11)


def test_paste_back_outside_box_bit_identical(device: torch.device) -> None:
    g = torch.Generator().manual_seed(5)
    frame = torch.rand(2, 3, 64, 80, generator=g).to(device)
    frame[0, 0, 0, 0] = float("nan")  # even a NaN outside the crop must come through untouched
    box = Box(10, 12, 50, 40)
    patch = torch.rand(2, 3, box.height, box.width, generator=g).to(device)
    out = masks.paste_back(frame, patch, box, seam=6.0)
    outside = torch.ones(64, 80, dtype=torch.bool, device=device)
    outside[box.y0:box.y1, box.x0:box.x1] = False
    a, b = out[..., outside], frame[..., outside]
    assert torch.equal(a.view(torch.int32), b.view(torch.int32))
    inner = masks.crop(out, Box(20, 22, 40, 30))
    assert torch.equal(inner, patch[..., 10:18, 10:30])  # beyond the seam: the patch exactly
    seam_px = out[..., box.y0 + 2, box.x0 + 20]
    assert not torch.equal(seam_px, patch[..., 2, 20]) and not torch.equal(seam_px, frame[..., box.y0 + 2, box.x0 + 20])


def test_paste_back_no_ramp_on_frame_border_and_matte() -> None:
    frame = torch.zeros(1, 3, 32, 32)
    box = Box(0, 0, 16, 32)
    patch = torch.ones(1, 3, 32, 16)
    out = masks.paste_back(frame, patch, box, seam=4.0)
    assert torch.all(out[..., :, 0] == 1)  # left edge is the frame border: no fade there
    assert torch.all(out[..., 10, 15] < 0.5)  # right edge lies inside the frame: faded
    matte = torch.zeros(1, 1, 32, 16)
    assert torch.equal(masks.paste_back(frame, patch, box, seam=4.0, matte=matte), frame)


def test_paste_back_checks() -> None:
    frame = torch.zeros(1, 3, 32, 32)
    with pytest.raises(ParamError, match="not inside the 32x32 frame"):
        masks.paste_back(frame, torch.zeros(1, 3, 8, 8), Box(28, 0, 36, 8))
    with pytest.raises(ParamError, match="does not match the box"):
        masks.paste_back(frame, torch.zeros(1, 3, 8, 9), Box(0, 0, 8, 8))


def test_deterministic() -> None:
    g = torch.Generator().manual_seed(9)
    m = torch.rand(1, 1, 50, 60, generator=g)
    for fn in (lambda x: masks.grow_shrink(x, 4.5), lambda x: masks.feather(x, 2.5), lambda x: masks.fill_holes(x, 30)):
        assert torch.equal(fn(m), fn(m))
