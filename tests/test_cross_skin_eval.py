"""The cross-skin evaluation: colour differences against published data, its regions, τ and swap figures, the CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

from changer.core.compose import gray
from changer.core.model import ChangerNet
from changer.core.model.weights_io import save_weights
from changer.training.batch import EVAL_SEED, on_green
from changer.training.colour_metrics import delta_e76, delta_e2000, srgb_to_lab
from changer.training.cross_skin_eval import (
    CROSS_COLUMNS,
    CrossBatch,
    cross_batches,
    mean_lab,
    swap_figures,
    tau_response,
)
from changer.training.skin_pairs import skin_pair
from changer.training.studio import sample_seed
from test_eval import TINY

# Sharma, Wu & Dalal 2005, Table 1: (L1, a1, b1, L2, a2, b2, ΔE00), published to 4 decimals. The
# pairs exercise the hue wrap-around (9–16), a near-zero chroma (7, 8), large differences (17–20)
# and near-black (34).
SHARMA_2005 = [
    (50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425),
    (50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669),
    (50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461),
    (50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065),
    (50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492),
    (50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030),
    (60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644),
    (22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373),
    (90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441),
    (2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082),
]


def test_delta_e2000_matches_sharma_2005() -> None:
    table = torch.tensor(SHARMA_2005, dtype=torch.float64)
    lab1, lab2, expected = table[:, :3], table[:, 3:6], table[:, 6]
    got = delta_e2000(lab1, lab2)
    assert torch.allclose(got, expected, rtol=0, atol=1e-4), (got - expected).abs().max()
    assert torch.equal(delta_e2000(lab2, lab1), got)  # symmetric
    assert torch.equal(delta_e2000(lab1, lab1), torch.zeros_like(got))


def test_delta_e76_and_srgb_to_lab_known_values() -> None:
    lab = srgb_to_lab(torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    # White is L* 100 on the D65 white; sRGB red is (53.24, 80.09, 67.20) in every reference table.
    assert lab[0].tolist() == pytest.approx([100.0, 0.0, 0.0], abs=0.02)
    assert lab[1].tolist() == pytest.approx([53.24, 80.09, 67.20], abs=0.05)
    assert lab[2].tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)
    a = torch.tensor([[50.0, 0.0, 0.0]])
    assert delta_e76(a, torch.tensor([[53.0, 4.0, 0.0]])).item() == pytest.approx(5.0)
    image = torch.rand(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    assert srgb_to_lab(image).shape == (2, 3, 4, 5)
    assert torch.allclose(srgb_to_lab(image.movedim(1, -1), dim=-1), srgb_to_lab(image).movedim(1, -1))


@pytest.fixture(scope="module")
def cross() -> CrossBatch:
    """The first two held-out cross-skin items at 64²."""
    return next(cross_batches(2, 64))


def test_cross_batch_is_the_cross_skin_protocol(cross: CrossBatch) -> None:
    batch = cross.batch
    for i in range(2):
        pair = skin_pair(sample_seed(EVAL_SEED, i), 64)
        head = pair.source.mask("head", soft=True)
        source = on_green(pair.source.fg, pair.source.alpha)
        # X holds the *source's* grey head (its own skin), I_T^head the double's head, both unjittered.
        assert torch.allclose(batch.source_head[i], head)
        inside = (head >= 1.0)[0]
        assert inside.sum() > 50
        assert torch.allclose(batch.inputs.x[i][:, inside], gray(source[None])[0][:, inside], atol=1e-6)
        skin = cross.double_face[i, 0]
        assert torch.allclose(batch.inputs.head[i][:, skin], pair.double.fg[:, skin], atol=1e-6)


def test_regions_lie_inside_their_masks(cross: CrossBatch) -> None:
    batch = cross.batch
    hole = batch.inputs.inpaint >= 0.5
    for i in range(2):
        pair = skin_pair(sample_seed(EVAL_SEED, i), 64)
        face = pair.truth.mask("face") > 0.5
        assert 0 < int(cross.face[i].sum()) < int(face.sum())  # eroded, not empty
        assert not (cross.face[i] & ~face).any()
        assert not (cross.double_face[i] & ~(pair.double.mask("face") > 0.5)).any()
        assert int(cross.band[i].sum()) > 0
        assert not (cross.band[i] & ~(pair.truth.mask("neck") > 0.5)).any()
        assert not (cross.band[i] & (batch.source_head[i] >= 0.5)).any()
        assert (pair.truth.alpha[cross.band[i]] >= 0.99).all()
    assert not (cross.fill & ~(hole & (batch.mask_gt >= 0.5))).any()


def _share(n: int) -> torch.Tensor:
    """FPAT patch shares: a quarter of the patches in between the two τ, so exactly they switch."""
    share = torch.zeros(n, 16)
    share[:, :4] = 0.5
    share[:, 4:8] = 1.0
    return share


def test_tau_response_is_zero_for_a_method_blind_to_tau(cross: CrossBatch) -> None:
    y = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    fill = torch.zeros(2, 1, 64, 64, dtype=torch.bool)
    fill[..., 40:, 10:50] = True
    blind = tau_response(lambda batch, tau: (y, _share(2)), cross.batch, fill)
    assert blind["tau_body_mad"][0].tolist() == [0.0, 0.0]
    assert blind["tau_ends_max"][0].tolist() == [0.0, 0.0]
    assert blind["tau_patch_switch"][0].tolist() == [0.25, 0.25]
    steered = tau_response(lambda batch, tau: (y * (1.0 - 0.5 * tau), _share(2)), cross.batch, fill)
    expected = 0.4 * float(y[0][:, fill[0, 0]].mean())  # |y·0.95 − y·0.55| averaged over the fill
    assert steered["tau_body_mad"][0][0].item() == pytest.approx(expected, rel=1e-5)
    assert steered["tau_body_mad"][1].all()
    assert (steered["tau_ends_max"][0] > 0.1).all()


def test_swap_moves_toward_the_new_double_only_for_a_reference_user(cross: CrossBatch) -> None:
    def copies_reference_skin(batch) -> torch.Tensor:
        """Paints the face with the mean colour of the reference's face skin (wherever that double's face is)."""
        swapped = not torch.equal(batch.inputs.head, cross.batch.inputs.head)
        skin = cross.double_face.roll(1, 0) if swapped else cross.double_face
        colour = (batch.inputs.head * skin).sum((2, 3)) / skin.sum((2, 3))
        return torch.where(cross.face, colour[..., None, None], batch.inputs.x)

    def ignores_reference(batch) -> torch.Tensor:
        return batch.inputs.x

    for method, toward in ((copies_reference_skin, 1.0), (ignores_reference, 0.0)):
        face, face_ok = mean_lab(method(cross.batch), cross.face)
        figures = swap_figures(method, cross, face, face_ok)
        shift, keep = figures["swap_shift"]
        assert keep.all()
        assert figures["swap_toward"][0].tolist() == [toward, toward]
        assert (shift > 5.0).all() if toward else torch.equal(shift, torch.zeros_like(shift))


def test_eval_command_writes_json_records(tmp_path) -> None:
    torch.manual_seed(0)
    weights = save_weights(ChangerNet(TINY), tmp_path / "tiny.safetensors", training_data="test")
    out = tmp_path / "eval.json"
    proc = subprocess.run([sys.executable, "-m", "changer.plugin.commands", "eval", "--weights", str(weights),
                           "--samples", "2", "--size", "64", "--taus", "0.5", "--json", str(out), "--device", "cpu"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "face ΔE76" in proc.stdout and "PSNR M^ip" in proc.stdout
    doc = json.loads(out.read_text())
    assert (doc["samples"], doc["size"]) == (2, 64)
    cross = [r for r in doc["records"] if r["suite"] == "cross_skin"]
    assert {r["suite"] for r in doc["records"]} == {"self_reconstruction", "cross_skin"}
    assert len(cross) == 5  # CHANGER and the four baselines (the node's classical method among them)
    for record in cross:
        for key in ("face_de76", "face_de2000", "band_de76", "psnr_ip"):
            assert math.isfinite(record[key]), (record["method"], key)
        if record["kind"] == "changer":  # null where no item has body inside M^ip
            mad = record["tau_body_mad"]
            assert (mad is None) == (record["counts"]["tau_body_mad"] == 0) and (mad is None or math.isfinite(mad))
            assert math.isfinite(record["tau_patch_switch"]) and math.isfinite(record["tau_ends_max"])
        else:
            assert not {"tau_body_mad", "tau_patch_switch", "tau_ends_max"} & record.keys()
    assert {c.key for c in CROSS_COLUMNS} >= {"face_de76", "face_de2000", "band_de76", "tau_body_mad", "psnr_ip"}
