"""Automatic head mattes (core/headmatte, `changer mattes`): accuracy on studio frames, the jaw cut, hair growth,
tracking and smoothing, the refusals (no face, two faces, a face cut by the frame edge, a profile), the CLI's
files and resume, and the one-line message when the `auto` extra is missing.

The face models come from the optional `auto` extra (in `[dev]`, so CI runs these); without it the tests that
need them skip with the reason, and the missing-extra message is still tested (by failing the import)."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib
import torch

from auto_shot import needs_models, no_mediapipe
from changer.core.color import from_network
from changer.core.errors import HeadMatteError, MissingExtraError
from changer.core.headmatte import (
    EXTRA_INSTALL,
    FaceLandmarks,
    HeadMatteSettings,
    HeadTracker,
    OneEuroFilter,
    head_matte,
)
from changer.core.headmatte import face_models as face_models_module
from changer.core.headmatte.landmarks import FACE_OVAL, _check_usable
from changer.core.io import read_image, write_image
from changer.plugin.commands.main import EXIT_USER_ERROR, main
from changer.plugin.hosts.auto_mattes import LANDMARKS_ATTRIBUTE, TRACKER_ATTRIBUTE
from changer.plugin.hosts.batch import PARAMS_ATTRIBUTE
from changer.training.studio import iter_shot, random_sample

ROOT = Path(__file__).resolve().parents[1]
SIZE = (640, 480)
#: Head IoU at 0.5 against the studio's exact head matte on these 640x480 frames (faces about 100 px high, so
#: the soft edge weighs more than at 1080p): measured 0.957 (short hair, seed 6) and 0.978 (long hair, seed 3).
MIN_IOU = 0.94
GREEN = (0.1, 0.6, 0.1)


def _iou(matte: torch.Tensor, truth: torch.Tensor) -> float:
    pred, want = matte[0] >= 0.5, truth[0] > 0.5
    return float((pred & want).sum() / (pred | want).sum())


def _green(width: int = 320, height: int = 240) -> torch.Tensor:
    return torch.tensor(GREEN).view(3, 1, 1).expand(3, height, width).contiguous()


@pytest.fixture(scope="module")
def short_hair():
    return random_sample(6, SIZE)


@pytest.fixture(scope="module")
def long_hair():
    return random_sample(3, SIZE)


@needs_models
@pytest.mark.parametrize("which", ["short_hair", "long_hair"])
def test_head_iou_on_studio_frames(which: str, request: pytest.FixtureRequest) -> None:
    sample = request.getfixturevalue(which)
    result = head_matte(sample.plate)
    assert result.matte.shape == (1, *sample.plate.shape[1:])
    assert float(result.matte.min()) >= 0.0 and float(result.matte.max()) <= 1.0
    assert _iou(result.matte, sample.mask("head")) >= MIN_IOU
    assert result.landmarks.oval.shape == (len(FACE_OVAL), 2)


@needs_models
def test_the_jaw_cut_removes_the_neck_and_the_offset_moves_it(short_hair) -> None:
    neck = short_hair.mask("neck")[0] > 0.5
    matte = head_matte(short_hair.plate).matte[0]
    assert float((matte[neck] >= 0.5).float().mean()) < 0.05, "the neck is cut below the jaw (measured 3.6%)"
    bare = head_matte(short_hair.plate, HeadMatteSettings(hair_below_jaw=False)).matte[0]
    assert float((bare[neck] >= 0.5).float().mean()) < 0.025, "measured 1.8%: the line's allowance under the chin"
    lower = head_matte(short_hair.plate, HeadMatteSettings(neck_offset=20.0)).matte[0]
    assert float((lower[neck] >= 0.5).float().mean()) > 0.1, "a positive neck-line offset keeps more below the jaw"


@needs_models
def test_long_hair_grows_back_below_the_jaw_and_not_onto_the_body(long_hair) -> None:
    hair, body = long_hair.mask("hair")[0] > 0.5, long_hair.mask("body")[0] > 0.5
    grown = head_matte(long_hair.plate)
    cut = head_matte(long_hair.plate, HeadMatteSettings(hair_below_jaw=False))
    assert grown.diagnostics["hair_below_px"] > 1000 and cut.diagnostics["hair_below_px"] == 0
    assert float((grown.matte[0][hair] >= 0.5).float().mean()) > 0.95
    assert float((cut.matte[0][hair] >= 0.5).float().mean()) < 0.7, "without growth the hair below the jaw is cut"
    assert float((grown.matte[0][body] >= 0.5).float().mean()) < 0.02, "the clothing is not taken for hair"


#: Head IoU of a studio frame taken off the screen (over a warm wall): the segmenter is coarser than the key at the
#: hair's edge. Measured 0.970 (short hair, seed 6) and 0.935 (long hair, seed 3).
MIN_IOU_SEGMENTED = 0.9


@needs_models
def test_a_plate_off_screen_is_segmented_not_keyed(short_hair) -> None:
    """A portrait is not on a screen: keying it would take the wall for the person. The head matte finds no screen
    round the face and takes the person from the bundled segmenter."""
    rows = torch.linspace(0.55, 0.8, SIZE[1]).view(1, -1, 1)
    wall = torch.cat([rows, rows * 0.85, rows * 0.6]).expand(3, SIZE[1], SIZE[0])
    plate = short_hair.alpha * short_hair.fg + (1 - short_hair.alpha) * wall
    result = head_matte(plate)
    assert result.diagnostics["segmented"] == 1.0
    assert _iou(result.matte, short_hair.mask("head")) >= MIN_IOU_SEGMENTED
    assert head_matte(short_hair.plate).diagnostics["segmented"] == 0.0, "a green-screen plate is keyed"


@needs_models
def test_keyer_alpha_can_be_given(short_hair) -> None:
    given = head_matte(short_hair.plate, alpha=short_hair.alpha)
    assert _iou(given.matte, short_hair.mask("head")) >= MIN_IOU


@needs_models
def test_shaping_is_the_hand_made_mattes(short_hair) -> None:
    from changer.core.pipeline import MatteSettings  # noqa: PLC0415

    plain = head_matte(short_hair.plate).matte
    shaped = head_matte(short_hair.plate, HeadMatteSettings(shape=MatteSettings(0.5, 3.0, 0.0))).matte
    assert set(torch.unique(shaped).tolist()) <= {0.0, 1.0}
    assert float(shaped.sum()) > float((plain >= 0.5).sum())


@needs_models
@pytest.mark.parametrize(("name", "message"), [
    ("blank", "no face found in the plate"),
    ("two faces", "2 faces found in the plate"),
    ("cut by the frame edge", "cut by the frame edge"),
])
def test_refusals_are_one_line(name: str, message: str, short_hair) -> None:
    head = short_hair.plate[:, :, 160:480]
    plate = {"blank": _green(), "two faces": torch.cat([head, head], 2),
             "cut by the frame edge": short_hair.plate[:, :, 320:].contiguous()}[name]
    with pytest.raises(HeadMatteError, match=message) as info:
        head_matte(plate)
    assert "\n" not in str(info.value) and "roto" in str(info.value)


@needs_models
def test_a_tracked_face_leaving_the_frame_is_refused(short_hair) -> None:
    fitted = head_matte(short_hair.plate).landmarks
    x0, _, x1, _ = fitted.box
    cut = round((x0 + x1) / 2)
    tracker = HeadTracker(smooth=False)
    tracker.previous = FaceLandmarks(fitted.oval - np.array([cut, 0.0]), 1.0)
    with pytest.raises(HeadMatteError, match="cut by the frame edge"):
        head_matte(short_hair.plate[:, :, cut:].contiguous(), tracker=tracker)


def test_a_profile_is_refused() -> None:
    """The rule on fitted landmarks: the nose tip beside a cheek means one side of the jaw is hidden."""
    mesh = np.zeros((468, 2))
    mesh[234], mesh[454] = (100.0, 100.0), (200.0, 100.0)
    oval = np.stack([np.linspace(100, 200, len(FACE_OVAL)), np.full(len(FACE_OVAL), 100.0)], axis=1)
    mesh[1] = (150.0, 110.0)
    _check_usable(FaceLandmarks(oval, 1.0), mesh, 640, 480)
    mesh[1] = (104.0, 110.0)
    with pytest.raises(HeadMatteError, match="in profile"):
        _check_usable(FaceLandmarks(oval, 1.0), mesh, 640, 480)


def test_one_euro_filter_steadies_a_still_point_and_follows_a_move() -> None:
    noise = np.random.default_rng(0).normal(0.0, 0.01, 200)
    still = OneEuroFilter()
    out = np.array([still(np.array([1.0 + n]), float(t))[0] for t, n in enumerate(noise)])
    assert out[50:].std() < 0.6 * noise[50:].std()
    move = OneEuroFilter()
    path = [move(np.array([0.02 * t]), float(t))[0] for t in range(200)]
    assert abs(path[-1] - 0.02 * 199) < 0.05, "a steady move is followed (no runaway lag)"
    again = OneEuroFilter()
    again.restore(json.loads(json.dumps(move.state())))
    assert again(np.array([4.0]), 200.0)[0] == move(np.array([4.0]), 200.0)[0]


@needs_models
def test_tracking_resumes_exactly_from_a_state() -> None:
    frames = [s.plate for s in iter_shot(11, 4, SIZE)]
    whole = HeadTracker()
    expected = [head_matte(p, tracker=whole, frame=i).landmarks.oval for i, p in enumerate(frames)]
    first = HeadTracker()
    for i, p in enumerate(frames[:2]):
        head_matte(p, tracker=first, frame=i)
    resumed = HeadTracker()
    resumed.restore(json.loads(json.dumps(first.state())))
    got = [head_matte(p, tracker=resumed, frame=i + 2).landmarks.oval for i, p in enumerate(frames[2:])]
    for a, b in zip(expected[2:], got, strict=True):
        assert np.array_equal(a, b)


def test_without_the_extra_the_message_names_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    no_mediapipe(monkeypatch)
    with pytest.raises(MissingExtraError, match=r'pip install -e "\.\[auto\]"') as info:
        head_matte(_green())
    assert "\n" not in str(info.value)
    plate = tmp_path / "plate.exr"
    write_image(plate, _green())
    assert main(["mattes", "--plate", str(plate), "--out", str(tmp_path / "out" / "m.exr")]) == EXIT_USER_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"changer mattes: error: automatic head mattes need the optional face models: {EXTRA_INSTALL} "
                   "(mediapipe cannot be imported: No module named 'mediapipe' (simulated))"]
    assert not (tmp_path / "out").exists(), "nothing is touched before the models are known to be there"
    face_models_module.face_models.cache_clear()


@needs_models
def test_the_pin_is_what_is_installed_and_nothing_was_downgraded() -> None:
    """The `auto` pin installed beside the project's other requirements (pip check: none broken), numpy 2 kept,
    and the bundled models used are in the wheel (nothing is fetched at run time)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (pin,) = extras["auto"]
    name, _, version = pin.partition("==")
    assert importlib.metadata.version(name) == version
    assert "changer[auto]" in extras["dev"], "CI installs [dev], so the auto-matte tests run there"
    assert int(importlib.metadata.version("numpy").split(".")[0]) >= 2
    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert not [line for line in check.stdout.splitlines() if "mediapipe" in line.lower() or "numpy" in line.lower()]
    mediapipe = face_models_module.import_mediapipe()
    assert all(path.stat().st_size > 100_000 for path in face_models_module.bundled_model_paths(mediapipe))


def _shot(folder: Path, frames: int = 3) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for i, sample in enumerate(iter_shot(12, frames, SIZE)):
        write_image(folder / f"plate.{i + 1:04d}.exr", from_network(sample.plate))
    return str(folder / "plate.####.exr")


@needs_models
def test_cli_writes_mattes_with_landmarks_and_resumes_exactly(tmp_path: Path) -> None:
    plate = _shot(tmp_path / "shot")
    whole, resumed = tmp_path / "whole" / "head.####.exr", tmp_path / "resumed" / "head.####.exr"
    assert main(["mattes", "--plate", plate, "--out", str(whole), "--no-progress"]) == 0
    assert main(["mattes", "--plate", plate, "--out", str(resumed), "--frames", "1-2", "--no-progress"]) == 0
    assert main(["mattes", "--plate", plate, "--out", str(resumed), "--no-progress"]) == 0
    for frame in (1, 2, 3):
        a, meta = read_image(str(whole).replace("####", f"{frame:04d}"))
        b, _ = read_image(str(resumed).replace("####", f"{frame:04d}"))
        assert meta.channel_names == ["A"] and torch.equal(a, b)
        assert meta.attributes[PARAMS_ATTRIBUTE] and json.loads(str(meta.attributes[TRACKER_ATTRIBUTE]))
        landmarks = json.loads(str(meta.attributes[LANDMARKS_ATTRIBUTE]))
        assert len(landmarks["oval"]) == len(FACE_OVAL) and landmarks["oval_indices"] == list(FACE_OVAL)
    assert main(["mattes", "--plate", plate, "--out", str(whole), "--set", "auto_matte_neck_offset=4",
                 "--no-progress"]) == EXIT_USER_ERROR, "frames made with other settings are not silently replaced"


@needs_models
def test_cli_refuses_a_plate_without_a_face_in_one_line(tmp_path: Path) -> None:
    plate = tmp_path / "green.exr"
    write_image(plate, from_network(_green()))
    out = tmp_path / "out" / "m.exr"
    proc = subprocess.run([sys.executable, "-m", "changer.plugin.commands", "mattes", "--plate", str(plate),
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == EXIT_USER_ERROR
    assert proc.stderr.strip().splitlines() == [
        f"changer mattes: error: frame 1 ({plate}): no face found in the plate (none visible, smaller than about 40 "
        "pixels, in profile or cut by the frame edge); roto this frame's head matte by hand"]
    assert not out.exists() and not [p for p in out.parent.iterdir() if p.name.startswith(".m.exr.tmp")]
