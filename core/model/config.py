"""The architecture as data: one frozen dataclass, saved beside the weights and rebuilt from them.

Two named configs ship: ``small`` (trains and runs on a laptop-class CPU) and ``base`` (paper-scale,
for GPUs). The JSON beside a weights file holds :meth:`ChangerConfig.to_dict`, so training and
inference always build the same network (LaMa's habit).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from ..errors import ParamError

ARCHITECTURE = "changer"
#: 2: FPAT groups from the binary M, the decoder sees only FPAT inside the body, and the reference's
#: skin colour reaches the decoder's output past the norms (issue 14). 3: FPAT's first block has no
#: query residual, so inside the body group its output is only what the group attended to (issue 14).
ARCHITECTURE_VERSION = 3
#: Tensor-name prefixes each version added: a fine-tune from an older file starts them fresh.
NEW_TENSORS = {2: ("colorizer.reference.", "decoder.reference_weight.")}

#: Encoder levels (the latent stride is ``2**(levels-1)``) and the longest config name.
MIN_LEVELS, MAX_LEVELS = 2, 8
MAX_NAME = 100
_WIDTH, _DEPTH = 4096, 64
#: Inclusive bounds of every numeric field (of each entry, for the per-level lists). Far above any
#: sensible network (``base`` is 384 wide), they keep a hostile or mistyped card from building a
#: network of terabytes before its tensors are compared with the file.
LIMITS: dict[str, tuple[float, float]] = {
    "resolution": (1, 8192),
    "enc_widths": (1, _WIDTH),
    "enc_blocks": (0, _DEPTH),
    "dec_blocks": (0, _DEPTH),
    "cond_widths": (1, _WIDTH),
    "colorizer_depth": (1, _DEPTH),
    "colorizer_heads": (1, _DEPTH),
    "colorizer_kv_pool": (1, _DEPTH),
    "fpat_dim": (1, _WIDTH),
    "fpat_depth": (1, _DEPTH),
    "fpat_heads": (1, _DEPTH),
    "patch_size": (1, _DEPTH),
    "mlp_ratio": (0.25, 16.0),
    "norm_groups": (1, _WIDTH),
}
LEVEL_FIELDS = ("enc_widths", "enc_blocks", "dec_blocks", "cond_widths")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class ChangerConfig:
    """Widths, depths and heads of every module of CHANGER (figure b).

    ``enc_widths[k]`` is the width of encoder level ``k`` at stride ``2**k``; the last level is the
    latent ``z`` (width ``dim``) at stride ``2**(len(enc_widths)-1)``. The conditioning encoders
    ``φ_c`` and ``φ_b`` reach the same stride with ``cond_widths`` (they need no full-resolution
    features). ``patch_size`` is FPAT's ``P`` on the latent grid. ``resolution`` is the square crop
    size the weights are trained at; inputs may be any size that is a multiple of
    :attr:`size_multiple`, but quality is best near ``resolution`` and memory grows with the square
    of the FPAT token count (see README).
    """

    name: str = "small"
    resolution: int = 256
    enc_widths: tuple[int, ...] = (16, 32, 64, 128)
    enc_blocks: tuple[int, ...] = (0, 1, 1, 2)
    dec_blocks: tuple[int, ...] = (0, 0, 1, 1)
    cond_widths: tuple[int, ...] = (16, 32, 64)
    colorizer_depth: int = 2
    colorizer_heads: int = 4
    colorizer_kv_pool: int = 2
    fpat_dim: int = 128
    fpat_depth: int = 2
    fpat_heads: int = 4
    patch_size: int = 2
    mlp_ratio: float = 2.0
    norm_groups: int = 8

    def __post_init__(self) -> None:
        self._check_types_and_bounds()
        levels = len(self.enc_widths)
        if len(self.enc_blocks) != levels or len(self.dec_blocks) != levels:
            raise ParamError(
                f"config {self.name!r}: enc_blocks and dec_blocks need one entry per encoder level ({levels}), "
                f"got {self.enc_blocks} and {self.dec_blocks}"
            )
        if len(self.cond_widths) != levels - 1:
            raise ParamError(
                f"config {self.name!r}: cond_widths needs {levels - 1} entries (one per stride-2 stage), "
                f"got {self.cond_widths}"
            )
        if self.dim % self.colorizer_heads:
            raise ParamError(
                f"config {self.name!r}: latent width {self.dim} is not divisible by {self.colorizer_heads} heads")
        if self.fpat_dim % self.fpat_heads:
            raise ParamError(
                f"config {self.name!r}: fpat_dim {self.fpat_dim} is not divisible by {self.fpat_heads} heads")
        if self.resolution % self.size_multiple:
            raise ParamError(
                f"config {self.name!r}: resolution {self.resolution} is not a multiple of {self.size_multiple}"
            )

    def _check_types_and_bounds(self) -> None:
        """Each field of the right type and within :data:`LIMITS`, so a card can neither crash nor exhaust the
        machine while the network is built (``fpat_depth: 2.5``, a layer a million channels wide)."""
        if not isinstance(self.name, str) or not 0 < len(self.name) <= MAX_NAME:
            raise ParamError(f"config: name {self.name!r}: expected a string of 1 to {MAX_NAME} characters")
        for field, (low, high) in LIMITS.items():
            value = getattr(self, field)
            where = f"config {self.name!r}: {field} {value!r}"
            if field in LEVEL_FIELDS:
                if not isinstance(value, tuple) or not all(_is_int(v) for v in value):
                    raise ParamError(f"{where}: expected a list of integers")
                if not all(low <= v <= high for v in value):
                    raise ParamError(f"{where}: expected every entry in [{low}, {high}]")
            elif field == "mlp_ratio":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                    raise ParamError(f"{where}: expected a number in [{low}, {high}]")
            elif not _is_int(value) or not low <= value <= high:
                raise ParamError(f"{where}: expected an integer in [{low}, {high}]")
        if not MIN_LEVELS <= len(self.enc_widths) <= MAX_LEVELS:
            raise ParamError(
                f"config {self.name!r}: enc_widths needs {MIN_LEVELS} to {MAX_LEVELS} levels, got {self.enc_widths}"
            )

    @property
    def dim(self) -> int:
        """Width of the latent ``z`` (and of ``z_c``)."""
        return self.enc_widths[-1]

    @property
    def stride(self) -> int:
        """Image pixels per latent cell along each axis."""
        return 2 ** (len(self.enc_widths) - 1)

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this (latent stride × FPAT patch, × KV pooling)."""
        return self.stride * math.lcm(self.patch_size, self.colorizer_kv_pool)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChangerConfig:
        """Rebuild from :meth:`to_dict`; unknown or missing keys and wrong types are refused, never ignored."""
        if not isinstance(data, dict):
            fields = len(dataclasses.fields(cls))
            raise ParamError(f"model config: expected a JSON object of {fields} keys, got {data!r:.60}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        missing = sorted(names - set(data))
        if unknown or missing:
            problems = [f"{label} keys {keys}" for label, keys in (("unknown", unknown), ("missing", missing)) if keys]
            raise ParamError(f"model config: {', '.join(problems)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


CONFIGS: dict[str, ChangerConfig] = {
    "small": ChangerConfig(),
    "base": ChangerConfig(
        name="base",
        resolution=256,
        enc_widths=(48, 96, 192, 384),
        enc_blocks=(1, 2, 2, 4),
        dec_blocks=(1, 2, 2, 4),
        cond_widths=(48, 96, 192),
        colorizer_depth=4,
        colorizer_heads=8,
        colorizer_kv_pool=1,
        fpat_dim=384,
        fpat_depth=4,
        fpat_heads=8,
        patch_size=2,
        mlp_ratio=4.0,
        norm_groups=16,
    ),
}


def get_config(name: str) -> ChangerConfig:
    """The named config (``small`` or ``base``)."""
    try:
        return CONFIGS[name]
    except KeyError:
        raise ParamError(f"model config {name!r}: expected one of {', '.join(CONFIGS)}") from None
