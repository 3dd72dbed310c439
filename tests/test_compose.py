"""The network inputs X, I_T^head and I_T^body follow the paper's definitions (Table 1, Eq. 2)."""

from __future__ import annotations

import pytest
import torch

from changer.core.compose import LUMA, build_inputs, canonical_green, gray
from changer.core.errors import ContractError, ParamError


def _scene(n: int = 2, h: int = 16, w: int = 12) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    alpha = torch.zeros(n, 1, h, w)
    alpha[..., 2:, 2:-2] = 1.0
    green = canonical_green(alpha)
    fg = torch.rand(n, 3, h, w, generator=g)
    target_green = alpha * fg + (1 - alpha) * green
    src_head = torch.zeros(n, 1, h, w)
    src_head[..., 2:6, 4:8] = 1.0
    tgt_head = torch.zeros(n, 1, h, w)
    tgt_head[..., 2:9, 3:9] = 1.0
    return dict(target_green=target_green, source=torch.rand(n, 3, h, w, generator=g), source_head=src_head,
                union_partner=tgt_head, target_alpha=alpha, fg=fg)


def test_x_is_grey_head_green_hole_and_green_target_elsewhere() -> None:
    s = _scene()
    fg = s.pop("fg")
    out = build_inputs(**s)
    src_in = s["source_head"].bool().expand(-1, 3, -1, -1)
    ip = out.inpaint.bool().expand(-1, 3, -1, -1)
    rest = ~(src_in | ip)
    assert torch.equal(out.x[src_in], gray(s["source"])[src_in])
    assert torch.allclose(out.x[ip], canonical_green(out.x).expand_as(out.x)[ip])
    assert torch.equal(out.x[rest], s["target_green"][rest])
    assert torch.equal(out.union, torch.maximum(s["source_head"], s["union_partner"]))
    assert torch.equal(out.inpaint + s["source_head"], out.union)
    # grey means three equal channels with Rec.709 luma weights
    r, g_, b = s["source"][:, 0], s["source"][:, 1], s["source"][:, 2]
    assert torch.allclose(gray(s["source"])[:, 1], LUMA[0] * r + LUMA[1] * g_ + LUMA[2] * b)
    # the head reference is the target head on black; the body reference holds no head and no screen
    assert torch.allclose(out.head, fg * s["union_partner"])
    assert torch.all(out.body[(out.union > 0).expand(-1, 3, -1, -1)] == 0)
    assert torch.all(out.body[(s["target_alpha"] == 0).expand(-1, 3, -1, -1)].abs() < 1e-6)
    body_only = ((s["target_alpha"] == 1) & (out.union == 0)).expand(-1, 3, -1, -1)
    assert torch.allclose(out.body[body_only], fg[body_only], atol=1e-6)


def test_neck_margin_removes_more_of_the_body() -> None:
    s = _scene()
    s.pop("fg")
    plain = build_inputs(**s)
    grown = build_inputs(**s, neck_margin=2)
    assert (grown.body.abs().sum() < plain.body.abs().sum()).item()
    with pytest.raises(ParamError, match="neck_margin"):
        build_inputs(**s, neck_margin=-1)


def test_shape_mismatch_names_the_input() -> None:
    s = _scene()
    s.pop("fg")
    s["source_head"] = s["source_head"][..., :-1]
    with pytest.raises(ContractError, match="M_S\\^head"):
        build_inputs(**s)
