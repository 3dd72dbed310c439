"""Exports of the inference graph (TorchScript, optional ONNX) and the Nuke Inference wrapper."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from changer.core.errors import ChangerError
from changer.core.model import ChangerConfig, ChangerNet, body_share, build_model
from changer.core.model.export import export_onnx, export_torchscript, script_module
from changer.core.model.nuke import NukeInferenceWrapper, export_nuke, linear_to_srgb, srgb_to_linear

pytestmark = pytest.mark.filterwarnings(r"ignore:.*torch\.jit.*:FutureWarning")

TINY = ChangerConfig(
    name="tiny", resolution=32, enc_widths=(8, 16, 16), enc_blocks=(0, 1, 1), dec_blocks=(0, 0, 1),
    cond_widths=(8, 16), colorizer_depth=1, colorizer_heads=2, colorizer_kv_pool=1, fpat_dim=16,
    fpat_depth=1, fpat_heads=2, patch_size=2, mlp_ratio=2.0, norm_groups=4,
)

HAVE_ONNX = all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxscript"))


def _images(n: int, h: int, w: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.rand(n, 3, h, w, generator=g) for _ in range(3))  # type: ignore[return-value]


def _split_tau(net: ChangerNet, x: torch.Tensor, head: torch.Tensor, body: torch.Tensor) -> float:
    with torch.no_grad():
        avg = body_share(net(x, head, body, 0.5).mask, net.token_patch).flatten()
    return avg.median().item()


def test_torchscript_matches_eager(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = build_model("small").eval()
    path = export_torchscript(net, tmp_path / "changer.pt")
    graph = torch.jit.load(str(path))
    for h, w in ((64, 64), (32, 96)):
        x, head, body = _images(1, h, w, seed=h + w)
        for tau in (0.0, _split_tau(net, x, head, body), 1.0):
            with torch.no_grad():
                ref = net(x, head, body, tau)
                got = graph(x, head, body, torch.tensor(tau))
            for a, b in zip(got, (ref.y, ref.mask, ref.to_rgb), strict=True):
                torch.testing.assert_close(a, b, rtol=0, atol=1e-4)


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_ONNX, reason="ONNX export needs the optional packages onnx and onnxscript")
@pytest.mark.parametrize("dynamic", [False, True], ids=["fixed-size", "dynamic-size"])
def test_onnx_matches_eager(tmp_path: Path, dynamic: bool) -> None:
    reference = pytest.importorskip("onnx.reference")

    torch.manual_seed(1)
    net = ChangerNet(TINY).eval()
    path = export_onnx(net, tmp_path / "changer.onnx", size=(32, 48), dynamic=dynamic)
    session = reference.ReferenceEvaluator(str(path))
    for h, w in ((32, 48), (48, 16)) if dynamic else ((32, 48),):
        x, head, body = _images(1, h, w, seed=h + w)
        for tau in (0.0, _split_tau(net, x, head, body)):
            with torch.no_grad():
                ref = net(x, head, body, tau)
            feeds = {"x": x.numpy(), "head": head.numpy(), "body": body.numpy(), "tau": torch.tensor(tau).numpy()}
            for a, b in zip(session.run(None, feeds), (ref.y, ref.mask, ref.to_rgb), strict=True):
                torch.testing.assert_close(torch.from_numpy(a), b, rtol=0, atol=1e-4)


def test_srgb_transfer_functions() -> None:
    linear = torch.tensor([0.0, 0.0031308, 0.18, 1.0, 2.0, -0.5], dtype=torch.float64)
    encoded = linear_to_srgb(linear)
    expected = torch.tensor([0.0, 0.04045, 0.46135612950044164, 1.0, 1.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(encoded, expected, rtol=0, atol=1e-6)
    ramp = torch.linspace(0, 1, 1001, dtype=torch.float64)
    torch.testing.assert_close(srgb_to_linear(linear_to_srgb(ramp)), ramp, rtol=0, atol=1e-12)


def test_nuke_wrapper_scripts_runs_and_matches(tmp_path: Path) -> None:
    torch.manual_seed(2)
    net = ChangerNet(TINY).eval()
    path = export_nuke(net, tmp_path / "changer_nuke.pt", tau=0.5)
    wrapper = torch.jit.load(str(path))
    linear = torch.rand(1, 9, 30, 45, generator=torch.Generator().manual_seed(3)) * 1.2
    with torch.no_grad():
        out = wrapper(linear)
    assert out.shape == (1, 4, 30, 45) and out.dtype == linear.dtype
    # the same thing by hand: encode, pad to the multiple of 8, run, crop, decode
    encoded = torch.nn.functional.pad(linear_to_srgb(linear), [0, 3, 0, 2], mode="replicate")
    with torch.no_grad():
        ref = net(encoded[:, 0:3], encoded[:, 3:6], encoded[:, 6:9], 0.5)
    torch.testing.assert_close(out[:, :3], srgb_to_linear(ref.y)[:, :, :30, :45], rtol=0, atol=1e-5)
    torch.testing.assert_close(out[:, 3:], ref.mask[:, :, :30, :45], rtol=0, atol=1e-5)


def test_nuke_tau_attribute_drives_the_output() -> None:
    torch.manual_seed(4)
    net = ChangerNet(TINY).eval()
    wrapper = script_module(NukeInferenceWrapper(net, tau=0.0))
    linear = torch.rand(1, 9, 32, 32, generator=torch.Generator().manual_seed(5))
    encoded = linear_to_srgb(linear)
    split = _split_tau(net, encoded[:, 0:3], encoded[:, 3:6], encoded[:, 6:9])
    with torch.no_grad():
        everything = wrapper(linear)
        wrapper.tau = split
        grouped = wrapper(linear)
    assert wrapper.tau == split
    assert not torch.allclose(everything[:, :3], grouped[:, :3]), "τ as an attribute must reach FPAT"
    assert torch.equal(everything[:, 3:], grouped[:, 3:])
    wrapper.tau = 1.5
    with pytest.raises(Exception, match="tau: expected a value in \\[0, 1\\], got 1.5"):
        wrapper(linear)
    wrapper.tau = 0.5
    with pytest.raises(Exception, match="expected 1x9xHxW"):
        wrapper(linear[:, :6])


def test_nuke_wrapper_follows_input_dtype(device: torch.device) -> None:
    torch.manual_seed(6)
    net = ChangerNet(TINY).to(device=device, dtype=torch.float64).eval()
    wrapper = script_module(NukeInferenceWrapper(net, tau=0.3))
    linear = torch.rand(1, 9, 16, 24, dtype=torch.float64).to(device)
    with torch.no_grad():
        out = wrapper(linear)
    assert out.dtype == torch.float64 and out.device.type == device.type and torch.isfinite(out).all()


def test_onnx_export_without_onnx_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ChangerError, match="pip install onnx onnxscript"):
        export_onnx(ChangerNet(TINY), tmp_path / "x.onnx")
