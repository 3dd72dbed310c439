"""CHANGER, figure b: E → Head Colorizer → (ToRGB, Foreground-Prediction) → Body Blender/FPAT → D.

Inputs and outputs are in network space: sRGB-encoded values in [0,1], (N,3,H,W). The model is
stateless; τ and the query patch are arguments of every call. :meth:`ChangerNet.forward` is the
checked Python entry point; :meth:`ChangerNet.infer` is the TorchScript-able core that the exports
and the Nuke wrapper call with τ as a tensor.
"""

from __future__ import annotations

import logging
from typing import NamedTuple, Optional, Union

import torch
from torch import Tensor, nn

from ..errors import ContractError, ParamError
from .blender import BodyBlender
from .blocks import PixelHead
from .colorizer import HeadColorizer
from .config import ChangerConfig, get_config
from .decoder import Decoder
from .encoder import ImageEncoder
from .fpat import binary_body, check_tau

log = logging.getLogger(__name__)


class ChangerOutput(NamedTuple):
    """What one forward pass returns (all (N,·,H,W) unless noted)."""

    y: Tensor
    """Blended head on green, [0,1], 3 channels."""
    mask: Tensor
    """Predicted foreground M (body + neck), [0,1], 1 channel."""
    to_rgb: Tensor
    """ToRGB decoding of z_c (the colourised head), [0,1], 3 channels."""
    attention: Optional[Tensor]
    """FPAT weights of the chosen query patch, last block, mean over heads: (N,1,H/(s·P),W/(s·P)); None if no query."""


class ChangerNet(nn.Module):
    """The CHANGER network for one :class:`ChangerConfig`."""

    def __init__(self, config: ChangerConfig) -> None:
        super().__init__()
        self.config = config
        self.size_multiple = config.size_multiple
        self.token_patch = config.stride * config.patch_size
        self.encoder = ImageEncoder(config)
        self.colorizer = HeadColorizer(config)
        self.to_rgb = PixelHead(config.dim, 3, config.stride)
        self.foreground = PixelHead(config.dim, 1, config.stride)
        self.blender = BodyBlender(config)
        self.decoder = Decoder(config)

    def patch_grid(self, height: int, width: int) -> tuple[int, int]:
        """FPAT's patch grid (rows, cols) for an input of this size; query patches index it row-major."""
        return height // self.token_patch, width // self.token_patch

    @torch.jit.unused
    def forward(
        self,
        x: Tensor,
        head: Tensor,
        body: Tensor,
        tau: Union[float, Tensor] = 0.5,
        query_patch: Optional[int] = None,
    ) -> ChangerOutput:
        """X, I_T^head, I_T^body (N,3,H,W) in [0,1] and τ in [0,1] → :class:`ChangerOutput`.

        ``query_patch`` (row-major index into :meth:`patch_grid`) asks for that patch's FPAT
        attention weights, for the review panel.
        """
        self._check_inputs(x, head, body)
        check_tau(tau)
        tau_t = torch.as_tensor(tau, dtype=x.dtype, device=x.device).reshape(())
        index = -1
        if query_patch is not None:
            rows, cols = self.patch_grid(x.shape[2], x.shape[3])
            if isinstance(query_patch, bool) or not isinstance(query_patch, int) or not 0 <= query_patch < rows * cols:
                raise ParamError(f"query_patch: expected an index in [0, {rows * cols}) on the {rows}x{cols} "
                                 f"patch grid, got {query_patch!r}")
            index = query_patch
        return self.infer(x, head, body, tau_t, index)

    @torch.jit.export
    def infer(self, x: Tensor, head: Tensor, body: Tensor, tau: Tensor, query_patch: int = -1) -> ChangerOutput:
        """Unchecked core of :meth:`forward` (τ a 0-dim tensor, ``query_patch`` −1 for none)."""
        height, width = x.shape[2], x.shape[3]
        if height % self.size_multiple != 0 or width % self.size_multiple != 0:
            raise ParamError(f"input size {height}x{width}: height and width must be multiples of {self.size_multiple}")
        feats = self.encoder(x)
        z_c = self.colorizer(feats[-1], head)
        m = self.foreground(z_c)
        blended, weights = self.blender(z_c, body, m, tau, query_patch)
        y = self.decoder(z_c, blended, feats, x, binary_body(m), self.colorizer.reference(head))
        attention: Optional[Tensor] = None
        if weights is not None:
            rows, cols = height // self.token_patch, width // self.token_patch
            attention = weights.mean(dim=1).reshape(x.shape[0], 1, rows, cols)
        return ChangerOutput(y, m, self.to_rgb(z_c), attention)

    def _check_inputs(self, x: Tensor, head: Tensor, body: Tensor) -> None:
        # Written out rather than core.checks.check_shape: TorchScript compiles this with forward().
        for name, t in (("X", x), ("I_T^head", head), ("I_T^body", body)):
            if t.dim() != 4 or t.shape[1] != 3 or not t.is_floating_point():
                raise ContractError(f"{name}: expected a float RGB batch of shape (N,3,H,W), got {t.shape} {t.dtype}")
            if t.shape != x.shape or t.device != x.device:
                raise ContractError(f"{name}: shape {t.shape} on {t.device} must match X's {x.shape} on {x.device}")
        height, width = x.shape[2], x.shape[3]
        if height % self.size_multiple or width % self.size_multiple:
            raise ContractError(
                f"input size {height}x{width}: height and width must be multiples of {self.size_multiple} "
                f"(config {self.config.name!r}); pad or crop to e.g. "
                f"{_round_up(height, self.size_multiple)}x{_round_up(width, self.size_multiple)}"
            )


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def build_model(config: Union[ChangerConfig, str] = "small") -> ChangerNet:
    """A freshly initialised network for a config or a config name."""
    cfg = get_config(config) if isinstance(config, str) else config
    model = ChangerNet(cfg)
    log.debug("built CHANGER %s: %d parameters", cfg.name, count_parameters(model))
    return model


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
