"""Sequences: pattern parsing, frame ranges, formatting and chunking, discovery, header checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from changer.core.errors import ImageReadError, ParamError, SequenceError
from changer.core.io import (
    ImageMeta,
    SequencePattern,
    Window,
    check_sequence,
    chunk_frames,
    format_frames,
    missing_frames,
    parse_frames,
    write_image,
)


@pytest.mark.parametrize(
    ("pattern", "prefix", "padding", "suffix", "frame", "name"),
    [
        ("/shots/sh010/plate.####.exr", "plate.", 4, ".exr", 1001, "plate.1001.exr"),
        ("/shots/sh010/plate.%04d.exr", "plate.", 4, ".exr", 7, "plate.0007.exr"),
        ("/shots/sh010/plate.@@@@.exr", "plate.", 4, ".exr", 12345, "plate.12345.exr"),
        ("plate_#.png", "plate_", 1, ".png", 7, "plate_7.png"),
        ("plate.%d.exr", "plate.", 1, ".exr", 42, "plate.42.exr"),
        ("plate.######.exr", "plate.", 6, ".exr", 1001, "plate.001001.exr"),
        ("v01_####", "v01_", 4, "", 3, "v01_0003"),
    ],
)
def test_pattern_parsing(pattern: str, prefix: str, padding: int, suffix: str, frame: int, name: str) -> None:
    parsed = SequencePattern.parse(pattern)
    assert (parsed.prefix, parsed.padding, parsed.suffix) == (prefix, padding, suffix)
    assert parsed.path(frame) == Path(pattern).parent / name
    assert str(parsed) == pattern and not parsed.is_still


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("/shots/plate.exr", "no frame token"),
        ("/shots/plate.####.####.exr", "2 frame tokens"),
        ("/shots/plate.#@.exr", "2 frame tokens"),
        ("/shots/plate.%04d.%d.exr", "2 frame tokens"),
        ("/shots/plate.%4d.exr", "not zero padded"),
        ("/shots/plate.%00d.exr", "not zero padded"),
        ("/sh###/plate.exr", "no frame token"),  # tokens only count in the file name
    ],
)
def test_unknown_pattern_names_pattern_and_accepted_forms(pattern: str, reason: str) -> None:
    with pytest.raises(SequenceError) as err:
        SequencePattern.parse(pattern)
    message = str(err.value)
    assert pattern in message and reason in message
    assert "name.####.exr" in message and "name.%04d.exr" in message


def test_still_only_with_explicit_flag(tmp_path: Path) -> None:
    still = SequencePattern.parse(tmp_path / "bg.exr", allow_still=True)
    assert still.is_still and still.path(1001) == still.path(5) == tmp_path / "bg.exr"
    assert missing_frames(still, [1, 2]) == [1, 2]
    write_image(tmp_path / "bg.exr", torch.zeros(3, 2, 2))
    assert missing_frames(still, [1, 2]) == []
    with pytest.raises(SequenceError, match="still"):
        still.frames_on_disk()


def test_negative_frame_is_refused() -> None:
    with pytest.raises(SequenceError, match="frame -1"):
        SequencePattern.parse("a.####.exr").path(-1)


@pytest.mark.parametrize(
    ("text", "frames"),
    [
        ("1001", [1001]),
        ("1001-1005", [1001, 1002, 1003, 1004, 1005]),
        ("1001-1009x2", [1001, 1003, 1005, 1007, 1009]),
        ("1001-1010x4", [1001, 1005, 1009]),
        ("1001,1005,1010-1012", [1001, 1005, 1010, 1011, 1012]),
        (" 1010 - 1012 , 1001 ,1001 ", [1001, 1010, 1011, 1012]),
        ("1-3 x 1", [1, 2, 3]),
        ("5-5", [5]),
        ("0", [0]),
    ],
)
def test_frame_range_parsing(text: str, frames: list[int]) -> None:
    assert parse_frames(text) == frames


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("5-1", "'5-1' ends before it starts"),
        ("1-10x0", "step must be at least 1 in '1-10x0'"),
        ("x0", "cannot read 'x0'"),
        ("1001,", "cannot read ''"),
        ("1001-", "cannot read '1001-'"),
        ("-5", "cannot read '-5'"),
        ("abc", "cannot read 'abc'"),
        ("1001x2", "cannot read '1001x2'"),
        ("1.5", "cannot read '1.5'"),
    ],
)
def test_frame_range_errors_name_text_and_accepted_forms(text: str, reason: str) -> None:
    with pytest.raises(SequenceError) as err:
        parse_frames(text)
    message = str(err.value)
    assert repr(text) in message and reason in message and "1001-1100x2" in message


@pytest.mark.parametrize(
    ("frames", "text"),
    [
        ([1, 2, 3, 5], "1-3,5"),
        ([5, 3, 1, 2, 2], "1-3,5"),
        ([1001], "1001"),
        ([], ""),
        ([1, 3, 5, 7], "1-7x2"),
        ([1, 5], "1,5"),
        ([1, 2], "1-2"),
        ([1, 2, 3, 5, 7, 9, 20], "1-3,5-9x2,20"),
        ([1, 3, 5, 6, 7], "1-5x2,6-7"),
    ],
)
def test_format_frames_is_compact_and_parses_back(frames: list[int], text: str) -> None:
    assert format_frames(frames) == text
    if frames:
        assert parse_frames(text) == sorted(set(frames))


def test_chunk_frames_for_the_farm() -> None:
    frames = parse_frames("1001-1010,1020")
    chunks = chunk_frames(frames, 4)
    assert chunks == [[1001, 1002, 1003, 1004], [1005, 1006, 1007, 1008], [1009, 1010, 1020]]
    assert [format_frames(chunk) for chunk in chunks] == ["1001-1004", "1005-1008", "1009-1010,1020"]
    assert chunk_frames([3, 1, 2, 3], 10) == [[1, 2, 3]]
    assert chunk_frames([], 5) == []
    with pytest.raises(ParamError, match="got 0"):
        chunk_frames(frames, 0)


def write_frames(pattern: SequencePattern, frames: list[int], size: tuple[int, int] = (8, 6)) -> None:
    width, height = size
    for frame in frames:
        write_image(pattern.path(frame), torch.full((3, height, width), frame / 2000.0))


def test_discovery_and_missing_report(tmp_path: Path) -> None:
    pattern = SequencePattern.parse(tmp_path / "plate.####.exr")
    write_frames(pattern, [999, 1001, 1002, 1004, 1005, 12345])
    for distractor in [
        "plate.01001.exr",  # padding 5, not this pattern's ####
        "plate.1003.exr.bak",
        ".plate.1003.exr.tmp-1-ab.exr",  # leftover temp of a killed write
        "plate.1003.png",
        "other.1003.exr",
        "plate.10a3.exr",
    ]:
        (tmp_path / distractor).write_bytes(b"x")
    assert pattern.frames_on_disk() == [999, 1001, 1002, 1004, 1005, 12345]
    assert missing_frames(pattern, parse_frames("1001-1006")) == [1003, 1006]
    assert missing_frames(pattern, [1001, 1002]) == []
    assert SequencePattern.parse(tmp_path / "nowhere" / "a.####.exr").frames_on_disk() == []


def test_check_sequence_returns_first_frame_meta(tmp_path: Path) -> None:
    pattern = SequencePattern.parse(tmp_path / "plate.%04d.exr")
    write_frames(pattern, [1, 2, 3])
    meta = check_sequence(pattern, [1, 2, 3])
    assert isinstance(meta, ImageMeta) and meta.display_window == Window(0, 0, 8, 6)


def test_resolution_change_names_frame_and_path(tmp_path: Path) -> None:
    pattern = SequencePattern.parse(tmp_path / "plate.####.exr")
    write_frames(pattern, [1001, 1002])
    write_frames(pattern, [1003], size=(10, 6))
    write_frames(pattern, [1004])
    with pytest.raises(SequenceError) as err:
        check_sequence(pattern, parse_frames("1001-1004"))
    message = str(err.value)
    assert "frame 1003" in message and str(pattern.path(1003)) in message
    assert "10x6+0+0" in message and "8x6+0+0" in message


def test_data_window_change_alone_is_not_a_resolution_change(tmp_path: Path) -> None:
    pattern = SequencePattern.parse(tmp_path / "plate.####.exr")
    write_frames(pattern, [1])
    cropped = ImageMeta(Window(0, 0, 8, 6), Window(2, 1, 4, 4), ["R", "G", "B"])
    write_image(pattern.path(2), torch.zeros(3, 4, 4), cropped)
    assert check_sequence(pattern, [1, 2]).display_window == Window(0, 0, 8, 6)


def test_check_sequence_reports_missing_frames(tmp_path: Path) -> None:
    pattern = SequencePattern.parse(tmp_path / "plate.####.exr")
    write_frames(pattern, [1, 2, 5])
    with pytest.raises(SequenceError) as err:
        check_sequence(pattern, parse_frames("1-5"))
    assert "missing frames 3-4 of 1-5" in str(err.value) and str(pattern) in str(err.value)
    with pytest.raises(SequenceError, match="no frames requested"):
        check_sequence(pattern, [])


def test_check_sequence_corrupt_header_names_frame(tmp_path: Path) -> None:
    pattern = SequencePattern.parse(tmp_path / "plate.####.exr")
    write_frames(pattern, [1])
    pattern.path(2).write_bytes(b"garbage")
    with pytest.raises(ImageReadError) as err:
        check_sequence(pattern, [1, 2])
    assert "frame 2" in str(err.value) and str(pattern.path(2)) in str(err.value)
