"""Image and sequence I/O: OIIO files <-> float32 torch tensors, frame patterns and ranges.

Every write is atomic (see :mod:`.atomic`); every read or sequence problem raises a
:class:`~changer.core.errors.ChangerError` subclass naming the path, frame or text at fault.
"""

from .atomic import atomic_path, check_name_fits, host_tag, remove_stale_temp_files
from .image import (
    EXR_COMPRESSIONS,
    EXR_PIXEL_TYPES,
    PNG_PIXEL_TYPES,
    read_image,
    read_layers,
    read_meta,
    write_image,
)
from .meta import BASE_LAYER, ImageMeta, Window
from .sequence import (
    SequencePattern,
    check_sequence,
    chunk_frames,
    format_frames,
    missing_frames,
    parse_frames,
)

__all__ = [
    "BASE_LAYER",
    "EXR_COMPRESSIONS",
    "EXR_PIXEL_TYPES",
    "PNG_PIXEL_TYPES",
    "ImageMeta",
    "SequencePattern",
    "Window",
    "atomic_path",
    "check_name_fits",
    "check_sequence",
    "chunk_frames",
    "format_frames",
    "host_tag",
    "missing_frames",
    "parse_frames",
    "read_image",
    "read_layers",
    "read_meta",
    "remove_stale_temp_files",
    "write_image",
]
