"""Export the inference graph: TorchScript always, ONNX when ``onnx`` and ``onnxscript`` are installed.

The exported graph takes τ as an input (a 0-dim tensor), so a host changes it per frame without
re-exporting. The graph does not range-check τ (that would need a host sync): outside [0,1] Eq. 2
still holds literally (τ < 0 puts every patch in S_b, τ > 1 every patch in S_nb); hosts bound the
knob. Both exports run on a CPU copy of the model in eval mode; the caller's model is not touched.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Union

import torch
from torch import Tensor, nn
from torch.export import Dim

from ..errors import ChangerError, ParamError
from ..io.output_file import write_output_file
from .changer_net import ChangerNet

log = logging.getLogger(__name__)

OUTPUT_NAMES = ("y", "mask", "to_rgb")


class InferenceGraph(nn.Module):
    """``(X, I_T^head, I_T^body, τ)`` → ``(Y, M, ToRGB)``, τ a 0-dim tensor; what the exports contain."""

    def __init__(self, net: ChangerNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor, head: Tensor, body: Tensor, tau: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        out = self.net.infer(x, head, body, tau.reshape(()).to(x.dtype), -1)
        return out.y, out.mask, out.to_rgb


def script_module(module: nn.Module) -> torch.jit.ScriptModule:
    """``torch.jit.script`` without its deprecation warning (TorchScript is what Nuke and libtorch load)."""
    with _quiet_jit():
        return torch.jit.script(module)


def save_script(module: torch.jit.ScriptModule, path: Union[str, Path]) -> Path:
    """Save a TorchScript module atomically (a host must never load a half-written file)."""
    path = Path(path)
    with write_output_file(path, "export") as tmp, tmp.open("wb") as handle, _quiet_jit():
        torch.jit.save(module, handle)
    return path


def export_torchscript(model: ChangerNet, path: Union[str, Path]) -> Path:
    """Script :class:`InferenceGraph` of a CPU copy of ``model`` and save it to ``path`` (``.pt``)."""
    graph = script_module(InferenceGraph(_cpu_copy(model)).eval())
    saved = save_script(graph, path)
    log.info("exported TorchScript inference graph to %s", saved)
    return saved


def export_onnx(
    model: ChangerNet, path: Union[str, Path], size: tuple[int, int] = (256, 256), dynamic: bool = False
) -> Path:
    """Export :class:`InferenceGraph` for batch 1 to ONNX (needs the optional ``onnx``, ``onnxscript``).

    The graph is fixed at ``size`` (height, width) unless ``dynamic``: then height and width are
    any multiple of the config's ``size_multiple`` up to 4096 (a much slower export).
    """
    try:
        import onnx  # noqa: F401  (optional dependency, checked here only)
        import onnxscript  # noqa: F401
    except ImportError:
        raise ChangerError("ONNX export needs the optional packages: pip install onnx onnxscript") from None
    multiple = model.size_multiple
    if size[0] % multiple or size[1] % multiple:
        raise ParamError(f"size {size[0]}x{size[1]}: height and width must be multiples of {multiple}")
    graph = InferenceGraph(_cpu_copy(model)).eval()
    sample = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(0))
    args = (sample, sample.clone(), sample.clone(), torch.tensor(0.5))
    dynamic_shapes = None
    if dynamic:
        rows, cols = (multiple * Dim(n, min=1, max=4096 // multiple) for n in ("rows", "cols"))
        hw = {2: rows, 3: cols}
        dynamic_shapes = {"x": hw, "head": hw, "body": hw, "tau": {}}
    path = Path(path)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*axis name", category=UserWarning)
        program = torch.onnx.export(
            graph,
            args,
            input_names=["x", "head", "body", "tau"],
            output_names=list(OUTPUT_NAMES),
            dynamic_shapes=dynamic_shapes,
            dynamo=True,
            verbose=False,
        )
        with write_output_file(path, "export") as tmp:
            program.save(str(tmp))
    log.info("exported ONNX inference graph (%s) to %s", "dynamic size" if dynamic else f"{size[0]}x{size[1]}", path)
    return path


@contextlib.contextmanager
def _quiet_jit() -> Iterator[None]:
    """Silence torch's FutureWarning that TorchScript is deprecated: it is still the format hosts load."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.jit")
        yield


def _cpu_copy(model: ChangerNet) -> ChangerNet:
    return copy.deepcopy(model).to("cpu").eval()
