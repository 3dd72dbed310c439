"""The edited region's alpha (core/pipeline/alpha.py) on hand-made mattes: the new head, the double's body without
its head, and the neck bridge between them, with no alpha from anything else."""

from __future__ import annotations

import torch

from changer.core import masks
from changer.core.compose import canonical_green
from changer.core.pipeline import alpha as alpha_module
from changer.core.pipeline.alpha import body_behind_hair, edit_alpha, neck_bridge

H, W = 120, 100


def _rect(y0: int, y1: int, x0: int, x1: int, value: float = 1.0) -> torch.Tensor:
    m = torch.zeros(1, 1, H, W)
    m[..., y0:y1, x0:x1] = value
    return m


def _shot() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A double whose head reaches row 60 over a neck (rows 60-120, columns 40-60); the new head ends at row 50."""
    target_head = _rect(10, 60, 25, 75)
    plate_alpha = torch.maximum(target_head, _rect(60, H, 40, 60))
    source_head = _rect(12, 50, 28, 72)
    inpaint = (target_head > 0).float() * (source_head < 0.5).float()
    return source_head, target_head, plate_alpha, inpaint


def test_the_bridge_fills_between_the_new_jaw_and_the_doubles_neck() -> None:
    source_head, target_head, plate_alpha, inpaint = _shot()
    bridge = neck_bridge(source_head, target_head, torch.clamp(plate_alpha - target_head, 0, 1), inpaint)[0, 0]
    assert bool(bridge[50:60, 42:58].all()), "under the new jaw, over the neck"
    assert not bool(bridge[50:60, :35].any()) and not bool(bridge[50:60, 65:].any()), "the air beside the neck stays"
    alpha = edit_alpha(source_head, target_head, plate_alpha, inpaint)[0, 0]
    assert bool((alpha[12:50, 28:72] == 1).all()) and bool((alpha[60:, 40:60] == 1).all())
    assert float(alpha[0:10].max()) == 0.0, "the double's head above the new one leaves clean screen"


def test_key_noise_in_the_screen_beside_the_neck_makes_no_bar() -> None:
    """An automatic head matte is the plate's key, with a few hundredths of compression noise in the open screen.
    Such noise across whole rows under the jaw made opaque horizontal bars beside the neck."""
    source_head, target_head, plate_alpha, inpaint = _shot()
    plate_alpha = torch.maximum(plate_alpha, _rect(72, H, 5, 95))  # shoulders a few rows under the screen
    torch.manual_seed(0)
    noise = torch.rand(1, 1, H, W) * 0.05 * (torch.arange(H) < 72).view(1, 1, H, 1)
    noisy_head = torch.maximum(target_head, noise)
    inpaint = torch.maximum(inpaint, (noisy_head > 0).float() * (source_head < 0.5).float())
    alpha = edit_alpha(source_head, noisy_head, plate_alpha, inpaint)[0, 0]
    beside = torch.cat([alpha[60:72, :38], alpha[60:72, 62:]], dim=1)
    assert float(beside.max()) <= 0.05, "the screen beside the neck keeps the key's own level"
    assert bool((alpha[50:60, 42:58] == 1).all()), "the bridge itself stays"


def test_a_crescent_bridge_under_a_round_chin_is_filled_to_its_tip() -> None:
    """Under a round double's chin the bridge is a crescent whose tip is narrower than the row opening: the tip
    joins the bridge above it and the neck below it, so it is filled (a hole there showed the background)."""
    ys, xs = torch.meshgrid(torch.arange(H).float(), torch.arange(W).float(), indexing="ij")
    target_head = ((((xs - 50) / 30) ** 2 + ((ys - 35) / 30) ** 2) <= 1).float()[None, None]  # chin at row 65
    neck = _rect(52, H, 38, 62) * (1 - target_head)
    plate_alpha = torch.maximum(target_head, neck)
    source_head = ((((xs - 50) / 26) ** 2 + ((ys - 30) / 22) ** 2) <= 1).float()[None, None]  # chin at row 52
    inpaint = target_head * (source_head < 0.5).float()
    alpha = edit_alpha(source_head, target_head, plate_alpha, inpaint)[0, 0]
    assert bool((alpha[8:H, 50] == 1).all()), "the centre column is solid from the new head down the neck"
    beside = alpha[66:, :30]
    assert float(beside.max()) == 0.0, "the air beside the neck stays clear"


def test_the_body_behind_the_doubles_hair_is_taken_from_m_below_the_chin_and_next_to_the_body() -> None:
    """Long hair hanging over the shirt: the double's head matte holds it, so without M the comp showed the
    background through the body. The network's M fills it there; M is not trusted above the new chin or away
    from the visible body (on real frames it bleeds into the screen beside the head)."""
    source_head, target_head, plate_alpha, inpaint = _shot()
    hair = _rect(10, H, 62, 70)  # hangs from the head down over the body's right side
    body_plate = _rect(60, H, 40, 80)
    target_head = torch.maximum(target_head, hair)
    plate_alpha = torch.maximum(torch.maximum(plate_alpha, body_plate), hair)
    inpaint = target_head * (source_head < 0.5).float()
    predicted = torch.maximum(body_plate, _rect(12, 48, 25, 28))  # the body, and a smear beside the new head
    alpha = edit_alpha(source_head, target_head, plate_alpha, inpaint, predicted)[0, 0]
    without = edit_alpha(source_head, target_head, plate_alpha, inpaint)[0, 0]
    assert float(without[80:, 64:68].max()) == 0.0, "without M the hair leaves a hole in the body"
    assert bool((alpha[80:, 62:70] == 1).all()), "M fills the body behind the hair"
    assert float(inpaint[0, 0, 12:48, 25:28].min()) == 1.0, "the smear lies in the region to fill"
    assert float(alpha[12:48, 25:28].max()) == 0.0, "M beside the head, above the new chin, is not taken"


def test_where_y_paints_the_screen_the_body_behind_the_hair_opens() -> None:
    """A raised τ ends the completed body sooner and Y shows the screen beyond; M does not follow τ, so the alpha
    there follows Y's share of the canonical green: screen in Y, no body; skin or shirt in Y, body as M says."""
    source_head, target_head, plate_alpha, inpaint = _shot()
    hair = _rect(10, H, 62, 70)
    body_plate = _rect(60, H, 40, 80)
    target_head = torch.maximum(target_head, hair)
    plate_alpha = torch.maximum(torch.maximum(plate_alpha, body_plate), hair)
    inpaint = target_head * (source_head < 0.5).float()
    y = torch.tensor([0.6, 0.45, 0.4]).view(1, 3, 1, 1).expand(1, 3, H, W).clone()
    y[..., 66:70] = canonical_green(y)  # the body ends at column 66 in Y
    alpha = edit_alpha(source_head, target_head, plate_alpha, inpaint, body_plate, y)[0, 0]
    assert bool((alpha[80:, 62:66] == 1).all()), "Y paints body: M's body stays"
    assert float(alpha[80:, 66:70].max()) == 0.0, "Y paints the screen: the body opens"
    without_y = edit_alpha(source_head, target_head, plate_alpha, inpaint, body_plate)[0, 0]
    assert torch.equal(alpha[:, :62], without_y[:, :62])


def test_the_bridge_worked_out_on_the_heads_columns_is_the_whole_frames() -> None:
    """The bridge is worked out on the columns the double's head rim and the row opening can reach, not the whole
    frame: the same bits, here with a bridge that reaches into the soft rim beside the head's solid columns and
    specks of body across the frame."""
    solid = _rect(10, 60, 40, 60)
    target_head = torch.maximum(solid, torch.maximum(_rect(10, 60, 37, 40, 0.3), _rect(10, 60, 60, 63, 0.3)))
    source_head = _rect(12, 50, 30, 70)
    torch.manual_seed(3)
    body = torch.maximum(_rect(60, H, 20, 80), (torch.rand(1, 1, H, W) > 0.99).float() * (target_head == 0))
    inpaint = (target_head > 0.05).float() * (source_head < 0.5).float()
    args = (source_head, target_head, body, inpaint)
    bridge = neck_bridge(*args)
    assert bool(bridge[0, 0, 50:60, 39:61].all()), "the bridge spans the solid columns and the rim beside them"
    whole_frame = alpha_module._bridge(*args, masks.bounding_box((target_head > 0.5).float()))
    assert torch.equal(bridge, whole_frame)


def test_the_body_behind_the_hair_grows_the_body_only_where_it_can_count() -> None:
    """The body is grown (a sixth of the new head's width) only round where M and M^ip can keep it: the same bits
    as growing the whole body, with body pixels just inside and just outside that reach."""
    source_head = _rect(10, 50, 30, 72)  # 42 wide: the body is grown by 7 pixels
    inpaint = _rect(55, 70, 45, 55)
    predicted = _rect(0, H, 0, W, 0.9)
    body = torch.zeros(1, 1, H, W)
    body[..., 62, 38] = 1.0  # 7 columns left of M^ip: counts
    body[..., 62, 63] = 1.0  # 9 columns right of it: does not
    body[..., 90:, :] = 1.0  # far below: does not
    behind = body_behind_hair(source_head, body, inpaint, predicted)
    grown = masks.grow_shrink((body > 0.5).float(), 42 / 6.0) > 0
    assert torch.equal(behind, (predicted > 0.5) & (inpaint > 0.5) & (torch.arange(H) >= 50).view(1, 1, H, 1) & grown)
    assert bool(behind[0, 0, 55:70, 45].all()) and not bool(behind[0, 0, 55:70, 54].any())
