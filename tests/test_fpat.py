"""FPAT is exactly supplementary C.2: Eq. 1 (patch average), Eq. 2 (groups by τ), Eq. 3 (additive mask).

The batched attention (scaled_dot_product_attention with the additive mask) is compared with a
naive loop over queries that only ever looks at keys of the query's own group.
"""

from __future__ import annotations

import math

import pytest
import torch

from changer.core.errors import ContractError, ParamError
from changer.core.model import ChangerConfig, binary_body, body_share, fpat_mask, patch_average
from changer.core.model.blocks import CrossAttention
from changer.core.model.fpat import FPAT, patchify, unpatchify

NEG_INF = float("-inf")

TINY = ChangerConfig(
    name="tiny", resolution=32, enc_widths=(8, 16, 16), enc_blocks=(0, 1, 1), dec_blocks=(0, 0, 1),
    cond_widths=(8, 16), colorizer_depth=1, colorizer_heads=2, colorizer_kv_pool=1, fpat_dim=16,
    fpat_depth=2, fpat_heads=2, patch_size=2, mlp_ratio=2.0, norm_groups=4,
)


def eq3(m_avg: list[float], tau: float) -> torch.Tensor:
    """Eq. 2–3 written out literally, one entry at a time."""
    s_b = {i for i, a in enumerate(m_avg) if a >= tau}
    s_nb = {i for i, a in enumerate(m_avg) if a < tau}
    n = len(m_avg)
    out = torch.empty(n, n)
    for i in range(n):
        for j in range(n):
            out[i, j] = 0.0 if (i in s_b and j in s_b) or (i in s_nb and j in s_nb) else NEG_INF
    return out


def mask_from_patches(values: list[list[list[float]]], patch: int) -> torch.Tensor:
    """M (1,1,H,W) whose P×P patches hold the given P×P value blocks, laid out on a grid."""
    rows = len(values)
    cols = len(values[0])
    m = torch.zeros(1, 1, rows * patch, cols * patch)
    for r in range(rows):
        for c in range(cols):
            m[0, 0, r * patch : (r + 1) * patch, c * patch : (c + 1) * patch] = torch.tensor(values[r][c])
    return m


ONES = [[1.0, 1.0], [1.0, 1.0]]
ZEROS = [[0.0, 0.0], [0.0, 0.0]]


def test_patch_average_is_eq1() -> None:
    quarter = [[1.0, 0.0], [0.0, 0.0]]
    half = [[1.0, 1.0], [0.0, 0.0]]
    three = [[1.0, 1.0], [1.0, 0.0]]
    m = mask_from_patches([[ZEROS, quarter, half], [three, ONES, [[0.2, 0.4], [0.6, 0.8]]]], 2)
    avg = patch_average(m, 2)
    assert avg.shape == (1, 6)
    torch.testing.assert_close(avg[0], torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0, 0.5]), rtol=0, atol=1e-7)


def test_groups_come_from_the_binary_m() -> None:
    """The supplementary predicts "a binary mask M": Eq. 1 averages M ≥ 0.5, so a soft M that stays
    below one half in every pixel puts no patch in the body group, whatever τ > 0."""
    soft = mask_from_patches([[[[0.49, 0.3], [0.2, 0.1]], [[0.5, 0.51], [0.2, 0.9]]]], 2)
    torch.testing.assert_close(body_share(soft, 2)[0], torch.tensor([0.0, 0.75]), rtol=0, atol=0)
    assert torch.equal(binary_body(soft), (soft >= 0.5).float())
    assert not binary_body(soft.requires_grad_()).requires_grad


def test_patch_average_rejects_bad_shapes() -> None:
    with pytest.raises(ContractError, match="multiples of the patch size 4"):
        patch_average(torch.zeros(1, 1, 6, 8), 4)
    with pytest.raises(ContractError, match=r"\(N,1,H,W\)"):
        patch_average(torch.zeros(1, 3, 8, 8), 2)


@pytest.mark.parametrize(
    ("name", "grid"),
    [
        ("all body", [[ONES, ONES], [ONES, ONES]]),
        ("no body", [[ZEROS, ZEROS], [ZEROS, ZEROS]]),
        ("single body patch", [[ZEROS, ZEROS, ZEROS], [ZEROS, ONES, ZEROS]]),
        ("checkerboard", [[ONES, ZEROS, ONES], [ZEROS, ONES, ZEROS], [ONES, ZEROS, ONES]]),
    ],
)
def test_mask_equals_eq3_for_hand_made_m(name: str, grid: list) -> None:
    m = mask_from_patches(grid, 2)
    avg = patch_average(m, 2)
    mask = fpat_mask(avg, 0.5)
    expected = eq3(avg[0].tolist(), 0.5)
    assert torch.equal(mask[0], expected), name
    if name in ("all body", "no body"):
        assert torch.equal(mask, torch.zeros_like(mask))
    if name == "single body patch":
        body = 4
        assert (mask[0, body] == 0).sum() == 1 and mask[0, body, body] == 0
        assert torch.isinf(mask[0, body]).sum() == avg.shape[1] - 1
    if name == "checkerboard":
        parity = torch.tensor([(r + c) % 2 for r in range(3) for c in range(3)])
        same = parity[:, None] == parity[None, :]
        assert torch.equal(mask[0] == 0, same)


@pytest.mark.parametrize("tau", [0.25, 0.5, 0.75, 1.0])
def test_tau_at_exact_patch_average_counts_as_body(tau: float) -> None:
    """Eq. 2: M_avg >= τ is body, so a patch whose average equals τ is in S_b; one float32 step above, it is not."""
    blocks = {0.0: ZEROS, 0.25: [[1.0, 0.0], [0.0, 0.0]], 0.5: [[1.0, 1.0], [0.0, 0.0]],
              0.75: [[1.0, 1.0], [1.0, 0.0]], 1.0: ONES}
    m = mask_from_patches([[blocks[0.0], blocks[0.25], blocks[0.5], blocks[0.75], blocks[1.0]]], 2)
    avg = patch_average(m, 2)
    at = fpat_mask(avg, tau)[0]
    assert torch.equal(at, eq3(avg[0].tolist(), tau))
    k = [0.0, 0.25, 0.5, 0.75, 1.0].index(tau)
    body_at = {j for j in range(5) if at[k, j] == 0}
    assert body_at == set(range(k, 5)), "patch with average == τ joins the body patches above it"
    above = torch.nextafter(torch.tensor(tau), torch.tensor(2.0)).item()  # next float32: τ is compared in M's dtype
    if above <= 1.0:
        just_above = fpat_mask(avg, above)[0]
        assert {j for j in range(5) if just_above[k, j] == 0} == set(range(0, k + 1))


def test_moving_tau_moves_patches_between_groups() -> None:
    g = torch.Generator().manual_seed(7)
    m = torch.rand(2, 1, 12, 16, generator=g)
    avg = patch_average(m, 4)
    previous_body = None
    for tau in torch.linspace(0, 1, 21).tolist():
        mask = fpat_mask(avg, tau)
        body = avg >= tau
        same = body[:, :, None] == body[:, None, :]
        assert torch.equal(mask == 0, same)
        assert torch.equal(torch.isinf(mask), ~same)
        if previous_body is not None:
            assert not (body & ~previous_body).any(), "raising τ only ever removes patches from S_b"
        previous_body = body
    # each patch leaves S_b exactly when τ passes its own average
    for n in range(avg.shape[1]):
        a = avg[0, n].item()
        assert fpat_mask(avg, a)[0, n, n] == 0
        at = (fpat_mask(avg, a)[0, n] == 0) == (avg[0] >= a)
        assert at.all()


def test_tau_tensor_and_validation() -> None:
    avg = torch.tensor([[0.1, 0.6, 0.9]])
    assert torch.equal(fpat_mask(avg, torch.tensor(0.5)), fpat_mask(avg, 0.5))
    for bad in (-0.01, 1.01, float("nan"), True, "0.5"):
        with pytest.raises(ParamError, match="tau"):
            fpat_mask(avg, bad)
    with pytest.raises(ParamError, match="tau"):
        fpat_mask(avg, torch.tensor([0.2, 0.3]))


def naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, m_avg: torch.Tensor, tau: float) -> torch.Tensor:
    """Per query: softmax over the keys of its own group only (Eq. 2), nothing else."""
    n, heads, length, d = q.shape
    out = torch.zeros_like(q)
    for b in range(n):
        body = m_avg[b] >= tau
        for i in range(length):
            keys = torch.nonzero(body == body[i]).flatten()
            for h in range(heads):
                w = torch.softmax(k[b, h, keys] @ q[b, h, i] / math.sqrt(d), dim=0)
                out[b, h, i] = w @ v[b, h, keys]
    return out


def naive_fpat(module: FPAT, z_c: torch.Tensor, body: torch.Tensor, m_avg: torch.Tensor, tau: float) -> torch.Tensor:
    """FPAT's forward rebuilt from its weights, with the loop above instead of the masked kernel."""
    h, w = z_c.shape[2:]
    x = module.embed_q(patchify(z_c, module.patch))
    kv = module.embed_kv(patchify(body, module.patch))
    for depth, block in enumerate(module.blocks):
        attn = block.attn
        n, length, dim = x.shape
        hd = dim // attn.heads
        q = attn.q(block.norm_x(x)).reshape(n, length, attn.heads, hd).transpose(1, 2)
        kvp = attn.kv(block.norm_ctx(kv)).reshape(n, length, 2, attn.heads, hd)
        k, v = kvp[:, :, 0].transpose(1, 2), kvp[:, :, 1].transpose(1, 2)
        a = naive_attention(q, k, v, m_avg, tau).transpose(1, 2).reshape(n, length, dim)
        x = attn.out(a) if depth == 0 else x + attn.out(a)  # the first block keeps no query residual
        x = x + block.mlp(block.norm_mlp(x))
    return unpatchify(module.unembed(module.norm_out(x)), module.patch, h, w)


def _features(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("tau", [0.0, 0.35, 0.5, 1.0])
def test_batched_attention_equals_naive_loop(tau: float) -> None:
    torch.manual_seed(3)
    attn = CrossAttention(16, 16, heads=2)
    x, ctx = _features((2, 12, 16), 1), _features((2, 12, 16), 2)
    m_avg = torch.rand(2, 12, generator=torch.Generator().manual_seed(4))
    mask = fpat_mask(m_avg, tau)
    got, _ = attn(x, ctx, mask)
    q = attn.q(x).reshape(2, 12, 2, 8).transpose(1, 2)
    kv = attn.kv(ctx).reshape(2, 12, 2, 2, 8)
    k, v = kv[:, :, 0].transpose(1, 2), kv[:, :, 1].transpose(1, 2)
    ref = attn.out(naive_attention(q, k, v, m_avg, tau).transpose(1, 2).reshape(2, 12, 16))
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0])
def test_fpat_module_equals_naive_loop(tau: float) -> None:
    torch.manual_seed(5)
    module = FPAT(TINY)
    z_c, body = _features((2, 16, 8, 8), 6), _features((2, 16, 8, 8), 7)
    m_avg = torch.rand(2, 16, generator=torch.Generator().manual_seed(8))
    got, _ = module(z_c, body, fpat_mask(m_avg, tau))
    with torch.no_grad():
        ref = naive_fpat(module, z_c, body, m_avg, tau)
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-5)


def test_a_patch_alone_in_its_group_is_made_from_its_body_features_whatever_its_z_c() -> None:
    """Architecture v3: FPAT's first block has no query residual, so a patch whose group holds only
    itself (softmax over one key) gets its own body patch's value, and nothing of z_c survives."""
    torch.manual_seed(21)
    module = FPAT(TINY)
    body = _features((1, 16, 8, 8), 22)
    m_avg = torch.zeros(1, 16)
    m_avg[0, 5] = 1.0
    mask = fpat_mask(m_avg, 0.5)
    with torch.no_grad():
        a, _ = module(_features((1, 16, 8, 8), 23), body, mask)
        b, _ = module(_features((1, 16, 8, 8), 24), body, mask)
    alone = patchify(a, module.patch)[0, 5], patchify(b, module.patch)[0, 5]
    torch.testing.assert_close(alone[0], alone[1], rtol=0, atol=1e-6)
    others = patchify(a, module.patch)[0, :5], patchify(b, module.patch)[0, :5]
    assert (others[0] - others[1]).abs().max() > 1e-3, "patches that share a group still read their own z_c"


def test_cross_group_weights_are_exactly_zero() -> None:
    torch.manual_seed(9)
    attn = CrossAttention(16, 16, heads=4)
    x, ctx = _features((1, 20, 16), 10), _features((1, 20, 16), 11)
    m_avg = torch.rand(1, 20, generator=torch.Generator().manual_seed(12))
    body = m_avg[0] >= 0.5
    assert 0 < body.sum() < 20
    mask = fpat_mask(m_avg, 0.5)
    for i in range(20):
        _, w = attn(x, ctx, mask, query_index=i)
        assert w is not None and w.shape == (1, 4, 20)
        other = body != body[i]
        assert torch.all(w[0][:, other] == 0.0), f"query {i} attends across groups"
        assert torch.all(w[0][:, ~other] > 0.0)
        torch.testing.assert_close(w.sum(-1), torch.ones(1, 4))


@pytest.mark.parametrize("m_value", [0.0, 1.0])
def test_empty_group_gives_finite_output(m_value: float) -> None:
    """All patches in S_b (or all in S_nb): the other group is empty and nothing turns NaN or Inf."""
    torch.manual_seed(13)
    module = FPAT(TINY)
    z_c, body = _features((1, 16, 8, 8), 14), _features((1, 16, 8, 8), 15)
    m_avg = torch.full((1, 16), m_value)
    for tau in (0.0, 0.5, 1.0):
        mask = fpat_mask(m_avg, tau)
        assert torch.equal(mask, torch.zeros_like(mask))
        out, w = module(z_c, body, mask, query_index=3)
        assert torch.isfinite(out).all() and w is not None and torch.isfinite(w).all()


def test_patchify_roundtrip() -> None:
    z = _features((2, 5, 6, 4), 16)
    tokens = patchify(z, 2)
    assert tokens.shape == (2, 6, 20)
    # token n holds patch (n // 2, n % 2): its P×P×C values
    torch.testing.assert_close(tokens[1, 3].reshape(2, 2, 5).permute(2, 0, 1), z[1, :, 2:4, 2:4])
    assert torch.equal(unpatchify(tokens, 2, 6, 4), z)
