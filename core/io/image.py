"""Reading any OIIO-readable image into float32 torch tensors, and writing EXR and PNG atomically.

Pixels are always float32 tensors shaped (C, H, W) covering the image's DATA window; geometry and
header metadata travel beside them in :class:`ImageMeta` so that a read followed by a write keeps
the data/display windows, pixel aspect and studio attributes. Integer formats (8/16-bit PNG, TIFF,
DPX, JPEG) are normalised to [0, 1] by OIIO. Only the first subimage (EXR part) is read.

Writes produce EXR (half or float, selectable compression, extra named layers as ``layer.X``
channels) for results and PNG (8/16-bit) for previews, always through :func:`atomic_path` so a
failed or killed write never leaves a partial file under the final name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import torch

from ..errors import ImageReadError, ImageWriteError, ParamError
from .atomic import atomic_path
from .meta import BASE_LAYER, AttributeValue, ImageMeta, Window

log = logging.getLogger(__name__)

EXR_PIXEL_TYPES = ("half", "float")
PNG_PIXEL_TYPES = ("uint8", "uint16")
#: OpenEXR compressions OIIO writes. OIIO silently falls back to zip for unknown names, hence the
#: check. Under dwaa/dwab, R/G/B/Y channels are lossy; every other channel name (A, matte.A, ...)
#: is stored losslessly, which is why single-channel mattes are written as ``<layer>.A``.
EXR_COMPRESSIONS = (
    "none", "rle", "zips", "zip", "piz", "pxr24", "b44", "b44a", "dwaa", "dwab", "htj2k256", "htj2k32",
)
#: Channel names used when neither ``channel_names`` nor a matching ``meta`` says otherwise.
DEFAULT_CHANNEL_NAMES = {1: ["A"], 3: ["R", "G", "B"], 4: ["R", "G", "B", "A"]}
#: Header attributes that describe how or when the SOURCE file was written (or that ImageMeta holds
#: as a field); copying them would contradict the explicit write options or corrupt the new file.
_NOT_PASSED_THROUGH = frozenset(
    {"compression", "planarconfig", "PixelAspectRatio", "DateTime", "openexr:chunkCount"}
)


def _where(path: str | os.PathLike[str], frame: int | None) -> str:
    """Path (and frame) as they appear in every error message."""
    return f"{os.fspath(path)}" + (f" (frame {frame})" if frame is not None else "")


def _one_line(message: str) -> str:
    """OIIO error text as one line: the CLI shows each ChangerError on a single line."""
    lines = dict.fromkeys(line.strip() for line in message.splitlines() if line.strip())
    return "; ".join(lines) or "no detail from OpenImageIO"


def _passes_through(name: str, value: object) -> bool:
    """Scalar string/int/float attribute that is neither OIIO bookkeeping ('oiio:*') nor encoding."""
    if name.startswith("oiio:") or name in _NOT_PASSED_THROUGH:
        return False
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _attributes(spec: oiio.ImageSpec) -> dict[str, AttributeValue]:
    """Header attributes of ``spec`` worth carrying to the next write."""
    return {p.name: p.value for p in spec.extra_attribs if _passes_through(p.name, p.value)}


def _meta_from_spec(spec: oiio.ImageSpec, channel_names: list[str]) -> ImageMeta:
    return ImageMeta(
        display_window=Window(spec.full_x, spec.full_y, spec.full_width, spec.full_height),
        data_window=Window(spec.x, spec.y, spec.width, spec.height),
        channel_names=channel_names,
        pixel_aspect=float(spec.get_float_attribute("PixelAspectRatio", 1.0)),
        pixel_type=str(spec.format),
        attributes=_attributes(spec),
    )


def _open(path: str | os.PathLike[str], frame: int | None) -> oiio.ImageInput:
    where = _where(path, frame)
    if not Path(path).is_file():
        raise ImageReadError(f"cannot read {where}: no such file")
    inp = oiio.ImageInput.open(os.fspath(path))
    if inp is None:
        raise ImageReadError(
            f"cannot read {where}: not a readable image ({_one_line(oiio.geterror())})"
        )
    if inp.spec().deep:
        inp.close()
        raise ImageReadError(f"cannot read {where}: deep images are not supported, expected flat pixels")
    if inp.spec().get_int_attribute("oiio:subimages", 1) > 1:
        log.warning("%s has several parts/subimages; only the first is read", where)
    return inp


def read_meta(path: str | os.PathLike[str], *, frame: int | None = None) -> ImageMeta:
    """Header of ``path`` without reading pixels (cheap: used to check whole sequences)."""
    inp = _open(path, frame)
    try:
        return _meta_from_spec(inp.spec(), list(inp.spec().channelnames))
    finally:
        inp.close()


def _check_channel_count(count: int, expect: int | Sequence[int] | None, where: str, names: list[str]) -> None:
    if expect is None:
        return
    allowed = (expect,) if isinstance(expect, int) else tuple(expect)
    if count not in allowed:
        wanted = " or ".join(str(n) for n in allowed)
        raise ImageReadError(f"{where} has {count} channels {names}, expected {wanted}")


def read_image(
    path: str | os.PathLike[str],
    channels: Sequence[str] | None = None,
    *,
    expect_channels: int | Sequence[int] | None = None,
    frame: int | None = None,
) -> tuple[torch.Tensor, ImageMeta]:
    """Read the data window of ``path`` as a float32 tensor (C, H, W) plus its :class:`ImageMeta`.

    ``channels`` picks channels by name, in the order given (default: all, in file order); the
    returned meta's ``channel_names`` lists exactly the tensor's channels. ``expect_channels`` (a
    count or several allowed counts) is checked against the returned channels. ``frame`` only
    appears in error messages. Raises :class:`ImageReadError` naming the path (and frame).
    """
    where = _where(path, frame)
    inp = _open(path, frame)
    try:
        spec = inp.spec()
        file_names = list(spec.channelnames)
        wanted = file_names if channels is None else list(channels)
        missing = [name for name in wanted if name not in file_names]
        if missing or not wanted:
            raise ImageReadError(f"{where} has no channel(s) {missing or wanted}, it has {file_names}")
        _check_channel_count(len(wanted), expect_channels, where, wanted)
        indices = [file_names.index(name) for name in wanted]
        first, last = min(indices), max(indices) + 1
        pixels = inp.read_image(0, 0, first, last, "float")
        if pixels is None or inp.has_error:
            raise ImageReadError(
                f"cannot read pixels of {where}: {_one_line(inp.geterror())} (truncated or corrupt file?)"
            )
    finally:
        inp.close()
    pixels = np.asarray(pixels, dtype=np.float32).reshape(spec.height, spec.width, last - first)
    selected = pixels[..., [i - first for i in indices]]
    tensor = torch.from_numpy(np.ascontiguousarray(selected.transpose(2, 0, 1)))
    log.debug("read %s: %s channels %s", where, tuple(tensor.shape), wanted)
    return tensor, _meta_from_spec(spec, wanted)


def read_layers(
    path: str | os.PathLike[str], *, frame: int | None = None
) -> tuple[dict[str, torch.Tensor], ImageMeta]:
    """Read all channels of ``path`` split by layer, plus the meta of the whole file.

    Channels without a ``layer.`` prefix go under :data:`BASE_LAYER`: a file with R,G,B,A,matte.A,
    mask.A gives ``{'rgba': (4,H,W), 'matte': (1,H,W), 'mask': (1,H,W)}``. The meta's
    ``layers`` property tells which channel each row of each tensor is.
    """
    pixels, meta = read_image(path, frame=frame)
    index = {name: i for i, name in enumerate(meta.channel_names)}
    layers = {
        layer: pixels[[index[name] for name in names]].contiguous()
        for layer, names in meta.layers.items()
    }
    return layers, meta


def _hwc(tensor: torch.Tensor, label: str) -> np.ndarray:
    """(C, H, W) tensor on any device -> contiguous float32 numpy (H, W, C)."""
    if not isinstance(tensor, torch.Tensor) or tensor.dim() != 3:
        shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise ParamError(f"{label} must be a (C, H, W) tensor, got {shape}")
    return np.ascontiguousarray(tensor.detach().to("cpu", torch.float32).numpy().transpose(1, 2, 0))


def _layer_channel_names(layer: str, count: int) -> list[str]:
    suffixes = DEFAULT_CHANNEL_NAMES.get(count)
    if suffixes is None:
        raise ParamError(f"layer {layer!r} has {count} channels, expected 1 (matte), 3 (RGB) or 4 (RGBA)")
    return [f"{layer}.{suffix}" for suffix in suffixes]


def _channel_names(
    count: int, meta: ImageMeta | None, channel_names: Sequence[str] | None
) -> list[str]:
    if channel_names is not None:
        if len(channel_names) != count:
            raise ParamError(f"channel_names {list(channel_names)} do not match the {count} channels given")
        return list(channel_names)
    if meta is not None and len(meta.channel_names) == count:
        return list(meta.channel_names)
    if count not in DEFAULT_CHANNEL_NAMES:
        raise ParamError(f"an image with {count} channels needs explicit channel_names")
    return list(DEFAULT_CHANNEL_NAMES[count])


def _choose(value: str | None, default: str, valid: tuple[str, ...], what: str, fmt: str) -> str:
    chosen = default if value is None else value
    if chosen not in valid:
        raise ParamError(f"{what} {chosen!r} is not valid for {fmt}; valid: {', '.join(valid)}")
    return chosen


def write_image(
    path: str | os.PathLike[str],
    pixels: torch.Tensor,
    meta: ImageMeta | None = None,
    *,
    layers: Mapping[str, torch.Tensor] | None = None,
    channel_names: Sequence[str] | None = None,
    pixel_type: str | None = None,
    compression: str | None = None,
    frame: int | None = None,
) -> Path:
    """Write ``pixels`` (C, H, W, covering the data window) to ``path`` (.exr or .png), atomically.

    ``meta`` supplies the data/display windows, pixel aspect and passed-through attributes; without
    it the image is a full frame at (0, 0). Channel names come from ``channel_names``, else from
    ``meta`` when its count matches, else 1 -> A, 3 -> RGB, 4 -> RGBA. ``layers`` adds named EXR
    layers: a (1, H, W) matte named 'matte' is written as channel ``matte.A`` (lossless even under
    DWA), 3/4-channel layers as ``layer.R/G/B(/A)``.

    EXR: ``pixel_type`` 'half' (default) or 'float'; ``compression`` one of
    :data:`EXR_COMPRESSIONS` (default 'zip'). PNG: ``pixel_type`` 'uint8' (default) or 'uint16';
    values are clamped to [0, 1] and rounded (encoding to sRGB is the caller's job); no layers, no
    compression choice and no data window other than the display window. Returns the final path.
    """
    path = Path(path)
    where = _where(path, frame)
    base = _hwc(pixels, "pixels")
    height, width = base.shape[:2]
    names = _channel_names(base.shape[2], meta, channel_names)
    planes = [base]
    for layer, tensor in (layers or {}).items():
        if not layer or layer == BASE_LAYER:
            raise ParamError(f"layer name {layer!r} is reserved or empty; name extra layers like 'matte'")
        plane = _hwc(tensor, f"layer {layer!r}")
        if plane.shape[:2] != (height, width):
            raise ParamError(
                f"layer {layer!r} is {plane.shape[1]}x{plane.shape[0]}, the image is {width}x{height}"
            )
        planes.append(plane)
        names += _layer_channel_names(layer, plane.shape[2])
    if len(set(names)) != len(names):
        raise ParamError(f"duplicate channel names for {where}: {names}")

    if meta is None:
        meta = ImageMeta.full_frame(width, height, names)
    if (meta.data_window.width, meta.data_window.height) != (width, height):
        raise ImageWriteError(
            f"cannot write {where}: pixels are {width}x{height} but meta.data_window is {meta.data_window}"
        )
    ext = path.suffix.lower()
    data = np.concatenate(planes, axis=2) if len(planes) > 1 else base
    if ext == ".exr":
        pixel_type = _choose(pixel_type, "half", EXR_PIXEL_TYPES, "pixel_type", "EXR")
        compression = _choose(compression, "zip", EXR_COMPRESSIONS, "compression", "EXR")
        data = data.astype(np.float16 if pixel_type == "half" else np.float32)
    elif ext == ".png":
        pixel_type = _choose(pixel_type, "uint8", PNG_PIXEL_TYPES, "pixel_type", "PNG")
        if compression is not None or layers or meta.data_window != meta.display_window:
            raise ParamError(
                f"cannot write {where}: PNG takes no compression, no layers and no data window "
                f"other than the display window ({meta.display_window}); got data window {meta.data_window}"
            )
        data = _quantize(data, np.uint8 if pixel_type == "uint8" else np.uint16)
    else:
        raise ImageWriteError(f"cannot write {where}: unsupported extension {ext!r}, expected .exr or .png")
    if not path.parent.is_dir():
        raise ImageWriteError(f"cannot write {where}: folder {path.parent} does not exist")

    spec = oiio.ImageSpec(width, height, len(names), pixel_type)
    spec.x, spec.y = meta.data_window.x, meta.data_window.y
    spec.full_x, spec.full_y = meta.display_window.x, meta.display_window.y
    spec.full_width, spec.full_height = meta.display_window.width, meta.display_window.height
    spec.channelnames = tuple(names)
    for name, value in meta.attributes.items():
        if _passes_through(name, value):
            spec.attribute(name, value)
    spec.attribute("PixelAspectRatio", float(meta.pixel_aspect))
    if compression is not None:
        spec.attribute("compression", compression)

    try:
        with atomic_path(path) as tmp:
            _write_pixels(tmp, spec, data)
    except ImageWriteError as err:
        raise ImageWriteError(f"cannot write {where}: {err}") from err
    except Exception as err:
        raise ImageWriteError(f"cannot write {where}: {type(err).__name__}: {err}") from err
    log.debug("wrote %s: %dx%d %s %s %s", where, width, height, names, pixel_type, compression or "")
    return path


def _quantize(data: np.ndarray, dtype: type[np.unsignedinteger]) -> np.ndarray:
    """[0, 1] floats -> integers with rounding; NaN -> 0, out-of-range values clamped."""
    top = np.iinfo(dtype).max
    clean = np.clip(np.nan_to_num(data, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    return np.rint(clean * top).astype(dtype)


def _write_pixels(tmp: Path, spec: oiio.ImageSpec, data: np.ndarray) -> None:
    """Write one image to ``tmp`` with OIIO; any OIIO failure raises ImageWriteError."""
    out = oiio.ImageOutput.create(os.fspath(tmp))
    if out is None:
        raise ImageWriteError(_one_line(oiio.geterror()))
    if not out.open(os.fspath(tmp), spec):
        raise ImageWriteError(_one_line(out.geterror()))
    try:
        written = out.write_image(data)
    finally:
        closed = out.close()
    if not (written and closed) or out.has_error:
        raise ImageWriteError(_one_line(out.geterror()))
