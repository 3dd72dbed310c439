"""H² augmentation: the union contains the source head, grows it often enough, and varies."""

from __future__ import annotations

import torch

from changer.core.compose import build_inputs
from changer.training.batch import AugmentConfig, make_item
from changer.training.h2 import HAIR_PROBABILITY, centroid, h2_augment, t_hair, t_head

SEEDS = range(40)


def _disc(size: int = 64, radius: float = 12.0, cx: float = 32.0, cy: float = 28.0) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    return (((xs - cx) ** 2 + (ys - cy) ** 2) <= radius**2).float()[None]


def test_epsilon_is_one_half() -> None:
    assert HAIR_PROBABILITY == 0.5


def test_union_contains_source_head_for_every_seed() -> None:
    head = _disc()
    for seed in SEEDS:
        gen = torch.Generator().manual_seed(seed)
        m_h2 = h2_augment(head, None, gen)
        inputs = build_inputs(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64), head[None], m_h2[None],
                              torch.ones(1, 1, 64, 64))
        assert torch.all(inputs.union >= head[None])
        assert torch.allclose(inputs.inpaint + head[None], inputs.union)


def test_t_hair_is_a_union() -> None:
    m_h1, hair = _disc(), _disc(radius=6, cx=40, cy=50)
    out = t_hair(m_h1, hair)
    assert torch.equal(out, torch.maximum(m_h1, hair))
    assert t_hair(m_h1, None) is m_h1


def test_shapes_vary_across_seeds() -> None:
    head = _disc()
    areas = set()
    masks = []
    for seed in range(8):
        m = t_head(head, torch.Generator().manual_seed(seed))
        areas.add(round(float(m.sum())))
        masks.append(m)
    assert len(areas) == 8
    assert all(not torch.allclose(masks[0], m) for m in masks[1:])


def test_t_head_keeps_the_head_near_its_centroid() -> None:
    head = _disc()
    m = t_head(head, torch.Generator().manual_seed(3))
    (x0, y0), (x1, y1) = centroid(head), centroid(m)
    assert abs(x0 - x1) < 0.25 and abs(y0 - y1) < 0.25
    assert abs(x0 - 0.0) < 1e-5 and abs(y0 - (-0.125)) < 1e-5


def test_inpaint_region_nonempty_at_stated_rate_on_the_studio() -> None:
    nonempty = 0
    for seed in SEEDS:
        item = make_item(7, seed, 64, AugmentConfig(colour_jitter=0.0, reference_jitter=False))
        inpaint = (item.union_partner - item.source_head).clamp(min=0)
        nonempty += int(float(inpaint.sum()) > 1.0)
    assert nonempty / len(SEEDS) >= 0.95


def test_no_h2_means_nothing_to_inpaint() -> None:
    item = make_item(7, 0, 64, AugmentConfig(h2=False))
    assert torch.equal(item.union_partner, item.source_head)


def test_items_are_deterministic() -> None:
    a, b = make_item(3, 5, 64), make_item(3, 5, 64)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)
