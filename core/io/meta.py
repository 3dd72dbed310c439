"""Image geometry and metadata that travel with the pixels from a read to the matching write.

Compositing plates often have a data window smaller than (or offset inside) the display window, a
non-square pixel aspect and studio metadata in the header; losing any of these on the way through
CHANGER would shift, squash or anonymise the output in the comp. ``ImageMeta`` keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

#: Layer name for channels without a ``layer.`` prefix (R, G, B, A, Y, ...).
BASE_LAYER = "rgba"

#: Header attribute values carried from a read to a write.
AttributeValue = str | int | float


class Window(NamedTuple):
    """A pixel rectangle: origin (x, y) and size (width, height), as in OIIO and OpenEXR."""

    x: int
    y: int
    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}{self.x:+d}{self.y:+d}"


def layer_of(channel: str) -> str:
    """Layer a channel belongs to: ``'matte.A'`` -> ``'matte'``, ``'R'`` -> :data:`BASE_LAYER`."""
    return channel.rsplit(".", 1)[0] if "." in channel else BASE_LAYER


def group_layers(channel_names: list[str]) -> dict[str, list[str]]:
    """Channel names grouped by layer, keeping their order; the base layer comes first if present."""
    layers: dict[str, list[str]] = {}
    for name in sorted(channel_names, key=lambda n: layer_of(n) != BASE_LAYER):
        layers.setdefault(layer_of(name), []).append(name)
    return layers


@dataclass
class ImageMeta:
    """Everything about an image except its pixels.

    ``data_window`` is the rectangle the pixel tensor covers; ``display_window`` is the frame the
    comp sees. ``channel_names`` lists the channels of the tensor it came with, in tensor order.
    ``pixel_type`` is the source's storage type (``'half'``, ``'float'``, ``'uint8'``, ...), for
    information only: writers take the output type as an explicit argument. ``attributes`` holds the
    scalar string/int/float header attributes that are passed through on write.
    """

    display_window: Window
    data_window: Window
    channel_names: list[str]
    pixel_aspect: float = 1.0
    pixel_type: str = "float"
    attributes: dict[str, AttributeValue] = field(default_factory=dict)

    @classmethod
    def full_frame(cls, width: int, height: int, channel_names: list[str]) -> ImageMeta:
        """Meta for a plain image whose data window is the whole display window at (0, 0)."""
        window = Window(0, 0, width, height)
        return cls(display_window=window, data_window=window, channel_names=list(channel_names))

    @property
    def layers(self) -> dict[str, list[str]]:
        """Channel names per layer, e.g. ``{'rgba': ['R','G','B','A'], 'matte': ['matte.A']}``."""
        return group_layers(self.channel_names)
