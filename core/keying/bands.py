"""Cutting a frame into horizontal bands, so the keyer's working memory follows the band, not the frame.

Every stage of the key is either per pixel or reaches a known number of rows (blur, grow/shrink).
Those run band by band on the band's rows plus a halo of that reach and keep only the band's own
rows; every op treats the window's edge as a frame edge, which changes only rows within its reach
of that edge, all of them in the halo. So a banded key is the whole-frame key bit for bit. What
needs the whole frame (the screen colour and estimate, the noise level, the matte's levels, the
foreground prior) is worked out once per frame on the cell grid (:mod:`.cells`), pooled band by band.

An 8K plate (7680x4320, float32 RGB) is 398 MB and the key's outputs are 4.3 times that; keyed in
one piece its temporaries came on top, several times the plate again. docs/memory.md has the bound
and the measurements (``benchmarks/keying_memory.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..errors import ParamError

#: Pixels per band when the caller gives no band height (about 4 MB per float32 channel): bands of
#: 552 rows at 1920 wide, 280 at 3840 (4K), 136 at 7680 (8K). The torch passes hold about 32 float32
#: planes of one band plus its halo as temporaries, the fused kernels' passes none (docs/memory.md);
#: smaller bands were no slower on the CPU (their temporaries stay in cache).
BAND_PIXELS = 1 << 20
#: Band heights are multiples of this (a multiple of :data:`.cells.CELL`), so the cells a band
#: pools are exactly the frame's cells.
ROW_ALIGN = 8


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Half-precision inputs are keyed in float32 (their 10-bit mantissa would band the matte)."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def band_height(height: int, width: int, rows: int | None = None) -> int:
    """Rows per band: ``rows`` (or :data:`BAND_PIXELS` / width) rounded up to :data:`ROW_ALIGN`.

    A height at least the frame's keys the frame in one piece.
    """
    if rows is None:
        rows = BAND_PIXELS // max(width, 1)
    elif isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ParamError(f"band_rows={rows!r}: expected a whole number of rows >= 1, or None for the default")
    return max(ROW_ALIGN, -(-rows // ROW_ALIGN) * ROW_ALIGN)


@dataclass(frozen=True)
class Band:
    """Rows ``start:stop`` are written; rows ``top:bottom`` (the band plus its halo, inside the frame) are read."""

    start: int
    stop: int
    top: int
    bottom: int

    @property
    def rows(self) -> slice:
        """The band's own rows in the frame."""
        return slice(self.start, self.stop)

    @property
    def window(self) -> slice:
        """The rows it reads, in the frame."""
        return slice(self.top, self.bottom)

    @property
    def inner(self) -> slice:
        """The band's own rows inside its window."""
        return slice(self.start - self.top, self.stop - self.top)

    def index(self, device: torch.device) -> torch.Tensor:
        """The band's own rows as a 1D index tensor (for :func:`changer.core.masks.upsample_rows`)."""
        return torch.arange(self.start, self.stop, device=device)

    def window_index(self, device: torch.device) -> torch.Tensor:
        """The rows of its window as a 1D index tensor."""
        return torch.arange(self.top, self.bottom, device=device)


def bands(height: int, rows: int, halo: int = 0) -> Iterator[Band]:
    """The bands of ``rows`` rows covering ``height`` (the last may be shorter), each with ``halo`` rows of context."""
    for start in range(0, height, rows):
        stop = min(start + rows, height)
        yield Band(start, stop, max(start - halo, 0), min(stop + halo, height))


def grow_reach(pixels: float) -> int:
    """Rows a grow/shrink by ``pixels`` reads on each side (fractional sizes read one more)."""
    return int(math.ceil(abs(pixels)))
