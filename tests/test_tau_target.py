"""The τ-dependent body-fill target: τ 0.5 is the truth, lower grows the body, higher shrinks it, only in M^ip."""

from __future__ import annotations

import torch

from changer.core.compose import canonical_green
from changer.training.tau_target import fill_reach, tau_target

PATCH = 16
SKIN = (0.6, 0.4, 0.3)
NO_HEAD = torch.zeros(1, 1, 64, 64)


def _scene() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A 64² frame on green: a flat skin-coloured body in columns 16..47 from row 24 down; M^ip = rows 16..63;
    no head (:data:`NO_HEAD`)."""
    body = torch.zeros(1, 1, 64, 64)
    body[..., 24:, 16:48] = 1.0
    skin = torch.tensor(SKIN).view(1, 3, 1, 1)
    target = body * skin + (1.0 - body) * canonical_green(skin)
    inpaint = torch.zeros_like(body)
    inpaint[..., 16:, :] = 1.0
    return target, body, inpaint


def test_fill_reach_is_half_a_patch_wide_over_the_tau_range_and_zero_at_one_half():
    assert fill_reach(0.5, PATCH) == 0.0
    assert fill_reach(0.0, PATCH) == 4.0 and fill_reach(1.0, PATCH) == -4.0
    assert fill_reach(0.25, PATCH) == -fill_reach(0.75, PATCH) > 0


def test_tau_one_half_returns_the_truth_unchanged():
    target, body, inpaint = _scene()
    assert torch.equal(tau_target(target, body, inpaint, NO_HEAD, 0.5, PATCH), target)


def test_high_tau_turns_the_body_edge_inside_the_inpaint_region_to_green_and_keeps_the_rest():
    target, body, inpaint = _scene()
    out = tau_target(target, body, inpaint, NO_HEAD, 1.0, PATCH)  # shrinks by 4 px
    green = canonical_green(target)[0, :, 0, 0]
    assert torch.allclose(out[0, :, 40, 17], green, atol=0.01)  # 1 px inside the left edge
    assert torch.allclose(out[0, :, 26, 32], green, atol=0.01)  # 2 px under the top edge
    assert torch.allclose(out[0, :, 40, 32], torch.tensor(SKIN), atol=1e-6)  # deep inside: the truth
    assert torch.allclose(out[..., :16, :], target[..., :16, :], atol=0)  # outside M^ip: untouched


def test_low_tau_grows_the_body_into_the_screen_with_the_bodys_colour():
    target, body, inpaint = _scene()
    out = tau_target(target, body, inpaint, NO_HEAD, 0.0, PATCH)  # grows by 4 px
    assert torch.allclose(out[0, :, 40, 14], torch.tensor(SKIN), atol=0.02)  # 2 px left of the body
    assert torch.allclose(out[0, :, 40, 4], target[0, :, 40, 4], atol=1e-6)  # 12 px away: the screen
    grown_above = out[0, :, 22, 32]  # 2 px above the body's top, inside M^ip
    assert torch.allclose(grown_above, torch.tensor(SKIN), atol=0.02)


def test_the_edit_never_leaves_the_inpaint_region():
    target, body, inpaint = _scene()
    inpaint = torch.zeros_like(inpaint)
    inpaint[..., 30:40, 40:64] = 1.0
    for tau in (0.0, 0.2, 0.8, 1.0):
        out = tau_target(target, body, inpaint, NO_HEAD, tau, PATCH)
        assert torch.equal(out * (1 - inpaint), target * (1 - inpaint))


def test_the_neck_under_the_head_is_held_and_the_shoulders_move():
    """A head (rows 4..23, columns 20..43) on a 16-pixel neck (columns 24..39) over shoulders: the neck within
    NECK_HOLD of the head's height below it (7 rows) keeps the truth at any τ, so the band under the chin never
    depends on τ; the shoulders' edge moves."""
    body = torch.zeros(1, 1, 64, 64)
    body[..., 24:, 24:40] = 1.0
    body[..., 40:, 8:56] = 1.0
    head = torch.zeros_like(body)
    head[..., 4:24, 20:44] = 1.0
    skin = torch.tensor(SKIN).view(1, 3, 1, 1)
    target = torch.maximum(body, head) * skin + (1.0 - torch.maximum(body, head)) * canonical_green(skin)
    inpaint = (1.0 - head) * (torch.arange(64).view(1, 1, 64, 1) >= 16).float()
    for tau in (0.0, 1.0):
        out = tau_target(target, body, inpaint, head, tau, PATCH)
        assert torch.equal(out[..., 24:31, 20:44], target[..., 24:31, 20:44]), f"the neck at τ {tau}"
        assert torch.equal(out * head, target * head), f"the head at τ {tau}"
    shrunk = tau_target(target, body, inpaint, head, 1.0, PATCH)
    assert torch.allclose(shrunk[0, :, 50, 9], canonical_green(target)[0, :, 0, 0], atol=0.01), "the shoulder"
