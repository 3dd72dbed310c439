"""Image I/O: EXR/PNG round trips, layers, windows, metadata, other formats, errors, atomic writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
import torch

from changer.core.errors import ImageReadError, ImageWriteError, ParamError
from changer.core.io import (
    EXR_COMPRESSIONS,
    ImageMeta,
    Window,
    atomic_path,
    read_image,
    read_layers,
    read_meta,
    write_image,
)
from changer.core.io import atomic as atomic_module
from changer.core.io import image as image_module


def rand(*shape: int, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * scale


def as_half(t: torch.Tensor) -> torch.Tensor:
    """Values exactly representable in half, so half round trips can be asserted bit-exact."""
    return t.half().float()


def file_spec(path: Path) -> oiio.ImageSpec:
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    inp.close()
    return spec


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


# --- EXR round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["none", "zip", "piz"])
def test_exr_half_round_trip_is_exact_for_half_values(tmp_path: Path, compression: str) -> None:
    pixels = as_half(rand(4, 24, 32, scale=8.0) - 2.0)  # negatives and > 1 too
    path = write_image(tmp_path / "a.exr", pixels, pixel_type="half", compression=compression)
    back, meta = read_image(path)
    assert back.dtype == torch.float32 and back.shape == (4, 24, 32)
    assert torch.equal(back, pixels)
    assert meta.pixel_type == "half" and meta.channel_names == ["R", "G", "B", "A"]
    assert file_spec(path).get_string_attribute("compression") == compression


def test_exr_half_rounds_float_input_within_half_precision(tmp_path: Path) -> None:
    pixels = rand(3, 16, 16, seed=1, scale=100.0) + 1e-3
    back, _ = read_image(write_image(tmp_path / "a.exr", pixels))
    torch.testing.assert_close(back, pixels, rtol=1e-3, atol=0)


@pytest.mark.parametrize("compression", ["none", "zip", "piz"])
def test_exr_float_round_trip_is_exact(tmp_path: Path, compression: str) -> None:
    pixels = rand(3, 20, 30, seed=2, scale=1000.0) - 500.0
    path = write_image(tmp_path / "a.exr", pixels, pixel_type="float", compression=compression)
    back, meta = read_image(path)
    assert torch.equal(back, pixels)
    assert meta.pixel_type == "float"


def test_dwaa_rgb_is_lossy_within_tolerance_but_matte_alpha_is_bit_exact(tmp_path: Path) -> None:
    y, x = torch.meshgrid(torch.linspace(0, 1, 64), torch.linspace(0, 1, 64), indexing="ij")
    rgb = as_half(torch.stack([x, y, x * y]) + 0.05 * rand(3, 64, 64, seed=3))
    matte = as_half(rand(1, 64, 64, seed=4))  # arbitrary noise: DWA would mangle it if lossy
    path = write_image(tmp_path / "a.exr", rgb, layers={"matte": matte}, compression="dwaa")
    layers, _ = read_layers(path)
    assert file_spec(path).get_string_attribute("compression") == "dwaa"
    assert torch.equal(layers["matte"], matte)
    rgb_error = (layers["rgba"] - rgb).abs()
    assert not torch.equal(layers["rgba"], rgb), "dwaa is expected to be lossy on RGB"
    assert rgb_error.max() < 0.05 and rgb_error.mean() < 0.005  # stated DWAA tolerance (level 45)


def test_layers_are_written_as_layer_dot_a_and_read_back_by_name(tmp_path: Path) -> None:
    rgba = as_half(rand(4, 10, 12, seed=5))
    extra = {name: as_half(rand(1, 10, 12, seed=6 + i)) for i, name in enumerate(["matte", "mask", "ip"])}
    extra["beauty"] = as_half(rand(3, 10, 12, seed=9))
    path = write_image(tmp_path / "a.exr", rgba, layers=extra)
    names = set(file_spec(path).channelnames)
    assert names == {"R", "G", "B", "A", "matte.A", "mask.A", "ip.A", "beauty.R", "beauty.G", "beauty.B"}
    layers, meta = read_layers(path)
    assert set(layers) == {"rgba", "matte", "mask", "ip", "beauty"}
    assert torch.equal(layers["rgba"], rgba)
    for name, tensor in extra.items():
        assert torch.equal(layers[name], tensor), name
    assert meta.layers["matte"] == ["matte.A"] and meta.layers["rgba"] == ["R", "G", "B", "A"]
    # picking channels by name, in the caller's order
    picked, picked_meta = read_image(path, ["ip.A", "R"])
    assert torch.equal(picked, torch.cat([extra["ip"], rgba[:1]]))
    assert picked_meta.channel_names == ["ip.A", "R"]


def test_single_channel_defaults_to_alpha_name(tmp_path: Path) -> None:
    path = write_image(tmp_path / "m.exr", rand(1, 4, 4))
    assert file_spec(path).channelnames == ("A",)


# --- geometry and metadata -------------------------------------------------------------------------


def test_data_window_and_display_window_are_kept(tmp_path: Path) -> None:
    pixels = as_half(rand(4, 30, 40, seed=10))
    meta = ImageMeta(Window(0, 0, 200, 100), Window(10, 20, 40, 30), ["R", "G", "B", "A"])
    path = write_image(tmp_path / "a.exr", pixels, meta)
    spec = file_spec(path)
    assert (spec.x, spec.y, spec.width, spec.height) == (10, 20, 40, 30)
    assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == (0, 0, 200, 100)
    back, back_meta = read_image(path)
    assert torch.equal(back, pixels)
    assert back_meta.data_window == Window(10, 20, 40, 30)
    assert back_meta.display_window == Window(0, 0, 200, 100)
    assert read_meta(path).data_window == Window(10, 20, 40, 30)


def test_pixel_aspect_and_custom_metadata_are_carried_through(tmp_path: Path) -> None:
    meta = ImageMeta.full_frame(16, 8, ["R", "G", "B"])
    meta.pixel_aspect = 2.0
    meta.attributes = {"studio:shot": "sh010", "studio:take": 7, "studio:gain": 1.25}
    first = write_image(tmp_path / "a.exr", rand(3, 8, 16), meta, compression="dwaa")
    _, read_back = read_image(first)
    assert read_back.pixel_aspect == 2.0
    assert file_spec(first).get_float_attribute("PixelAspectRatio") == 2.0
    for key, value in meta.attributes.items():
        assert read_back.attributes[key] == value
    assert not any(key.startswith("oiio:") or key in ("compression", "DateTime") for key in read_back.attributes)
    # second generation: metadata still there, compression is the explicit new one, not the source's
    read_back.attributes["openexr:chunkCount"] = 99  # a source's encoding detail put in by hand
    second = write_image(tmp_path / "b.exr", rand(3, 8, 16), read_back, compression="zip")
    _, meta2 = read_image(second)
    assert meta2.pixel_aspect == 2.0 and meta2.attributes["studio:shot"] == "sh010"
    assert file_spec(second).get_string_attribute("compression") == "zip"
    assert file_spec(second).get_int_attribute("openexr:chunkCount") != 99


# --- other formats ---------------------------------------------------------------------------------


def oiio_write(path: Path, pixels: np.ndarray, fmt: str, **attrs: object) -> None:
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2], fmt)
    for key, value in attrs.items():
        spec.attribute(key, value)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(pixels)
    out.close()


def smooth(height: int, width: int) -> np.ndarray:
    y, x = np.meshgrid(np.linspace(0, 1, height), np.linspace(0, 1, width), indexing="ij")
    return np.ascontiguousarray(np.stack([x, y, 0.5 * (x + y)], axis=2).astype(np.float32))


@pytest.mark.parametrize(
    ("name", "fmt", "attrs", "tolerance"),
    [
        ("a.png", "uint8", {}, 0.5 / 255 + 1e-6),
        ("a16.png", "uint16", {}, 0.5 / 65535 + 1e-7),
        ("a.tif", "uint16", {}, 0.5 / 65535 + 1e-7),
        ("a.dpx", "uint16", {"oiio:BitsPerSample": 10}, 1 / 1023),
        ("a.jpg", "uint8", {"Compression": "jpeg:98"}, 0.03),
    ],
)
def test_integer_formats_read_normalised_to_unit_float(
    tmp_path: Path, name: str, fmt: str, attrs: dict, tolerance: float
) -> None:
    source = smooth(32, 48)
    oiio_write(tmp_path / name, source, fmt, **attrs)
    back, meta = read_image(tmp_path / name, expect_channels=3)
    assert back.dtype == torch.float32 and back.shape == (3, 32, 48)
    assert float(back.min()) >= 0.0 and float(back.max()) <= 1.0
    assert float((back - torch.from_numpy(source).permute(2, 0, 1)).abs().max()) <= tolerance
    assert meta.pixel_type == fmt


@pytest.mark.parametrize(("pixel_type", "top"), [("uint8", 255), ("uint16", 65535)])
def test_png_preview_quantizes_with_rounding_and_clamping(tmp_path: Path, pixel_type: str, top: int) -> None:
    levels = torch.tensor([0, 1, 2, top // 2, top - 1, top], dtype=torch.float32) / top
    pixels = levels.repeat(3, 2, 1)  # (3, 2, 6)
    nudged = pixels + 0.4 / top  # rounding, not truncation or ceiling, must bring these back
    nudged[:, 1] -= 0.8 / top
    nudged[0, 0, 0] = -1.0
    nudged[0, 0, 5] = 2.0
    nudged[1, 0, 0] = float("nan")
    path = write_image(tmp_path / "p.png", nudged, pixel_type=pixel_type)
    inp = oiio.ImageInput.open(str(path))
    codes = inp.read_image(0, 0, 0, 3, pixel_type)
    inp.close()
    assert np.array_equal(codes.transpose(2, 0, 1), np.rint(pixels.numpy() * top).astype(codes.dtype))
    back, meta = read_image(path)
    assert meta.pixel_type == pixel_type
    torch.testing.assert_close(back, pixels, rtol=0, atol=1e-6)


# --- read errors -----------------------------------------------------------------------------------


def test_missing_file_error_names_path_and_frame(tmp_path: Path) -> None:
    path = tmp_path / "shot.1001.exr"
    with pytest.raises(ImageReadError, match="no such file") as err:
        read_image(path, frame=1001)
    assert str(path) in str(err.value) and "frame 1001" in str(err.value)


def test_truncated_exr_error_names_path(tmp_path: Path) -> None:
    path = write_image(tmp_path / "t.exr", rand(4, 128, 128, seed=11), compression="zip")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError) as err:
        read_image(path, frame=7)
    assert str(path) in str(err.value) and "frame 7" in str(err.value)
    assert "truncated or corrupt" in str(err.value)


@pytest.mark.parametrize("name", ["text.exr", "text.txt"])
def test_not_an_image_error_names_path(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("not pixels")
    with pytest.raises(ImageReadError, match="not a readable image") as err:
        read_meta(path)
    assert str(path) in str(err.value)


def test_wrong_channel_count_error_names_path_and_expectation(tmp_path: Path) -> None:
    path = write_image(tmp_path / "m.exr", rand(1, 4, 4))
    with pytest.raises(ImageReadError) as err:
        read_image(path, expect_channels=(3, 4), frame=12)
    message = str(err.value)
    assert str(path) in message and "frame 12" in message and "expected 3 or 4" in message
    assert read_image(path, expect_channels=1)[0].shape == (1, 4, 4)


def test_missing_channel_error_lists_available_channels(tmp_path: Path) -> None:
    path = write_image(tmp_path / "a.exr", rand(3, 4, 4))
    with pytest.raises(ImageReadError, match=r"matte\.A") as err:
        read_image(path, ["matte.A"])
    assert str(path) in str(err.value) and "'R', 'G', 'B'" in str(err.value)


# --- write errors ----------------------------------------------------------------------------------


def test_unknown_compression_lists_valid_names(tmp_path: Path) -> None:
    with pytest.raises(ParamError, match="'zstd'") as err:
        write_image(tmp_path / "a.exr", rand(3, 4, 4), compression="zstd")
    assert all(name in str(err.value) for name in EXR_COMPRESSIONS)
    assert not (tmp_path / "a.exr").exists()


@pytest.mark.parametrize(
    ("name", "kwargs", "error", "needle"),
    [
        ("a.exr", {"pixel_type": "uint8"}, ParamError, "half, float"),
        ("a.png", {"pixel_type": "half"}, ParamError, "uint8, uint16"),
        ("a.png", {"compression": "zip"}, ParamError, "PNG"),
        ("a.png", {"layers": {"matte": torch.zeros(1, 4, 4)}}, ParamError, "PNG"),
        ("a.bmp", {}, ImageWriteError, "'.bmp'"),
        ("a.exr", {"layers": {"matte": torch.zeros(1, 5, 4)}}, ParamError, "layer 'matte'"),
        ("a.exr", {"layers": {"rgba": torch.zeros(1, 4, 4)}}, ParamError, "'rgba'"),
        ("a.exr", {"channel_names": ["R", "G"]}, ParamError, "channel_names"),
        ("missing/a.exr", {}, ImageWriteError, "does not exist"),
    ],
)
def test_bad_write_arguments_raise_clear_errors(
    tmp_path: Path, name: str, kwargs: dict, error: type, needle: str
) -> None:
    with pytest.raises(error, match=needle):
        write_image(tmp_path / name, torch.zeros(3, 4, 4), **kwargs)
    assert not (tmp_path / name).exists() and leftovers(tmp_path) == []


def test_meta_data_window_must_match_pixels(tmp_path: Path) -> None:
    meta = ImageMeta.full_frame(8, 8, ["R", "G", "B"])
    with pytest.raises(ImageWriteError, match=r"4x4 but meta.data_window is 8x8\+0\+0"):
        write_image(tmp_path / "a.exr", torch.zeros(3, 4, 4), meta)


def test_png_refuses_a_data_window_smaller_than_display(tmp_path: Path) -> None:
    meta = ImageMeta(Window(0, 0, 8, 8), Window(2, 2, 4, 4), ["R", "G", "B"])
    with pytest.raises(ParamError, match="data window"):
        write_image(tmp_path / "a.png", torch.zeros(3, 4, 4), meta)


# --- atomic writes ---------------------------------------------------------------------------------


def failing_after_temp_written(monkeypatch: pytest.MonkeyPatch, seen: list[Path]) -> None:
    """Make the next image write fail after its temp file was completely written."""
    real = image_module._write_pixels

    def write_then_fail(tmp: Path, spec: oiio.ImageSpec, data: np.ndarray) -> None:
        real(tmp, spec, data)
        assert tmp.is_file() and tmp.parent == seen[0]
        seen.append(tmp)
        raise OSError("disk went away")

    monkeypatch.setattr(image_module, "_write_pixels", write_then_fail)


def test_failed_write_of_new_file_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Path] = [tmp_path]
    failing_after_temp_written(monkeypatch, seen)
    final = tmp_path / "new.exr"
    with pytest.raises(ImageWriteError, match="disk went away") as err:
        write_image(final, rand(3, 8, 8), frame=3)
    assert str(final) in str(err.value) and "frame 3" in str(err.value)
    assert len(seen) == 2 and seen[1].name.startswith(".new.exr.tmp-") and seen[1].suffix == ".exr"
    assert not final.exists()
    assert leftovers(tmp_path) == []


def test_failed_overwrite_keeps_the_old_good_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    final = write_image(tmp_path / "keep.exr", rand(3, 8, 8, seed=1))
    good = final.read_bytes()
    seen: list[Path] = [tmp_path]
    failing_after_temp_written(monkeypatch, seen)
    with pytest.raises(ImageWriteError):
        write_image(final, rand(3, 8, 8, seed=2))
    assert final.read_bytes() == good
    assert leftovers(tmp_path) == []


def test_failure_at_rename_keeps_old_file_and_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = write_image(tmp_path / "keep.exr", rand(3, 8, 8, seed=1))
    good = final.read_bytes()

    def refuse(src: str, dst: str) -> None:
        assert Path(src).is_file()  # the temp was fully written and closed before the rename
        raise PermissionError("rename refused")

    monkeypatch.setattr(atomic_module.os, "replace", refuse)
    with pytest.raises(ImageWriteError, match="rename refused"):
        write_image(final, rand(3, 8, 8, seed=2))
    assert final.read_bytes() == good
    assert leftovers(tmp_path) == []


def test_atomic_path_passes_other_exceptions_through_and_cleans_up(tmp_path: Path) -> None:
    final = tmp_path / "w.toml"
    final.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(final) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert final.read_text() == "old" and leftovers(tmp_path) == []
    with atomic_path(final) as tmp:
        tmp.write_text("new")
    assert final.read_text() == "new" and leftovers(tmp_path) == []


CHILD = textwrap.dedent(
    """
    import sys, torch
    from changer.core.io import write_image
    final = sys.argv[1]
    for i in range(1000):
        write_image(final, torch.full((4, 1024, 2048), float(i % 7)), pixel_type="float", compression="none")
        print(i, flush=True)
    """
)


def test_process_killed_mid_write_never_leaves_a_partial_file(tmp_path: Path) -> None:
    final = tmp_path / "big.exr"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(final)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        completed = [child.stdout.readline() for _ in range(2)]
        assert all(line.strip() for line in completed), child.stderr.read()
        deadline = time.monotonic() + 10
        while not leftovers(tmp_path):  # wait until a later write has its temp file open
            assert time.monotonic() < deadline and child.poll() is None, child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert final.exists()  # at least two writes completed before the kill
    pixels, meta = read_image(final)  # complete and valid: every pixel from one single write
    assert pixels.shape == (4, 1024, 2048)
    assert torch.equal(pixels, torch.full_like(pixels, float(pixels[0, 0, 0])))
    assert all(name.startswith(".big.exr.tmp-") for name in leftovers(tmp_path))
