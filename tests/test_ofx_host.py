"""The real OpenFX bundle in the headless host: describe, render equal to ``changer render``, and every hard case.

The bundle is built once (into a temp folder) and loaded with ctypes; its sidecar runs in this
venv's Python. Each render is compared with ``changer render --pixel-type float`` of the same frame
and params (or with the effect driven by the batch host's clip source, for render scale 0.5), within
1e-5; the host checks every image it handed out came back, that nothing outside the render window
was written, and that nothing is left in /dev/shm or running afterwards.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from auto_shot import FACE_SIZE, needs_models
from changer.core.io import read_image
from changer.plugin.commands.main import main
from changer.plugin.effect import HeadBlendEffect
from changer.plugin.hosts.clips import SequenceClipSource, resolve_clips
from changer.plugin.ofx.build import ENTRY_POINTS, BuiltBundle, build_bundle, exported_symbols, install_bundle
from changer.plugin.ofx.headless_host import STAT_FAILED, STAT_OK, STAT_REPLY_DEFAULT, HeadlessHost, HostImage
from changer.plugin.params import PARAMS, resolve_params
from node_shot import TEST_RESOLUTION, Shot, write_shot
from ofx_shot import (
    child_pids,
    connect_shot,
    node_instance,
    output_image,
    requires_compiler,
    shm_leftovers,
)

pytestmark = requires_compiler
SIZE = 64
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> BuiltBundle:
    return build_bundle(tmp_path_factory.mktemp("ofx"))


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Shot:
    return write_shot(tmp_path_factory.mktemp("ofx_shot"), frames=2, size=(SIZE, SIZE))


@pytest.fixture(scope="module")
def reference(shot: Shot, tmp_path_factory: pytest.TempPathFactory) -> dict[int, np.ndarray]:
    """``changer render --pixel-type float`` of both frames: (H, W, 4), top row first."""
    out = tmp_path_factory.mktemp("ofx_render") / "comp.####.exr"
    assert main(shot.argv(out, "--pixel-type", "float", "--frames", "1-2")) == 0
    return {f: read_image(str(out).replace("####", f"{f:04d}"), ["R", "G", "B", "A"])[0].permute(1, 2, 0).numpy()
            for f in (1, 2)}


@pytest.fixture(scope="module")
def host(bundle: BuiltBundle) -> Iterator[HeadlessHost]:
    previous = os.environ.get("CHANGER_OFX_PYTHON")
    os.environ["CHANGER_OFX_PYTHON"] = sys.executable
    host = HeadlessHost(bundle.path)
    assert host.load() == STAT_OK
    yield host
    assert host.unload() == STAT_OK
    if previous is None:
        os.environ.pop("CHANGER_OFX_PYTHON", None)
    else:
        os.environ["CHANGER_OFX_PYTHON"] = previous
    assert not child_pids(), "the sidecar outlived the plug-in's unload"


@pytest.fixture(autouse=True)
def no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "host" in request.fixturenames:
        host = request.getfixturevalue("host")
        assert not host.outstanding, "an image was not released"
        host.abort_flag.clear()
    assert not shm_leftovers(), "shared memory left in /dev/shm"


def render(host: HeadlessHost, instance: object, frame: int, size: int = SIZE, **layout: object) -> np.ndarray:
    out = output_image(size, size, **layout)
    status = host.render(instance, frame, (0, 0, size, size), out)
    assert status == STAT_OK, instance.message
    return out.read()


def test_bundle_exports_only_the_two_entry_points(bundle: BuiltBundle) -> None:
    assert exported_symbols(bundle.library) == sorted(ENTRY_POINTS)
    assert bundle.glibc[0].isdigit()
    assert (bundle.resources / "changer_ofx.json").is_file()


def test_describe_declares_the_one_param_list_and_the_clips(host: HeadlessHost) -> None:
    general = host.describe_in_context("general")
    names = {p.name for p in PARAMS}
    autos = {f"{p.name}_auto" for p in PARAMS if p.type == "rgb" and p.default is None}
    pages = {n for n, props in general.params.items() if props.get("type") == "OfxParamTypePage"}
    assert set(general.params) - pages == names | autos
    tau = general.params["tau"]
    assert (tau.get("OfxParamPropDefault"), tau.get("OfxParamPropMin"), tau.get("OfxParamPropMax")) == (0.5, 0.0, 1.0)
    assert set(general.clips) == {"Output", "Target", "Source", "TargetHeadMatte", "SourceHeadMatte", "Background",
                                  "CleanScreen"}
    assert general.clips["TargetHeadMatte"].props.get("OfxImageClipPropIsMask") == 1
    optional = {name for name, clip in general.clips.items()
                if name != "Output" and clip.props.get("OfxImageClipPropOptional") == 1}
    assert optional == {"TargetHeadMatte", "SourceHeadMatte", "Background", "CleanScreen"}
    filter_ = host.describe_in_context("filter")
    assert {"Source", "Actor"} <= set(filter_.clips)
    assert host.effect_descriptor.props.get("OfxImageEffectPropColourManagementStyle") == \
        "OfxImageEffectPropColourManagementCore"


def test_two_instances_two_frames_equal_changer_render(host: HeadlessHost, shot: Shot,
                                                      reference: dict[int, np.ndarray]) -> None:
    first, second = node_instance(host, shot), node_instance(host, shot)
    for instance in (first, second):
        connect_shot(instance, shot)
        assert host.begin_sequence(instance, 1, 2) == STAT_OK
    for frame in (1, 2):
        for instance in (first, second):
            np.testing.assert_allclose(render(host, instance, frame), reference[frame], atol=TOLERANCE, rtol=0)
    prefs = host.clip_preferences(first)
    assert prefs["OfxImageEffectPropPreMultiplication"] == ["OfxImageAlphaPremultiplied"]
    assert prefs["OfxImageClipPropPreferredColourspaces_Target"] == ["ACEScg"]
    assert "OfxImageClipPropPreferredColourspaces_TargetHeadMatte" not in prefs
    first.set_param("tau", 0.2)  # a param change reaches the engine; the other instance keeps its own
    changed = render(host, first, 1)
    np.testing.assert_allclose(render(host, second, 1), reference[1], atol=TOLERANCE, rtol=0)
    effect = HeadBlendEffect("general", resolve_params({"weights": str(shot.weights), "tau": 0.2,
                                                        "network_resolution": TEST_RESOLUTION}))
    expected = effect.render(_batch_source(shot), 1).rgba.permute(1, 2, 0).numpy()
    np.testing.assert_allclose(changed, expected, atol=TOLERANCE, rtol=0)
    for instance in (first, second):
        assert host.end_sequence(instance, 1, 2) == STAT_OK
        assert host.destroy_instance(instance) == STAT_OK


def _batch_source(shot: Shot, mattes: bool = True) -> SequenceClipSource:
    patterns = {"target": shot.pattern("target"), "source": shot.pattern("source")}
    if mattes:
        patterns |= {"target_matte": shot.pattern("tmatte"), "source_matte": shot.pattern("smatte")}
    return SequenceClipSource(resolve_clips(patterns, [1, 2], {}))


@needs_models
def test_unconnected_mattes_are_made_per_frame_as_the_effect_makes_them(host: HeadlessHost,
                                                                        tmp_path: Path) -> None:
    """Plates alone in the OpenFX node: the sidecar makes both head mattes from the plates (stateless), and the
    result is the effect's over the same plates (within 1e-5)."""
    faces = write_shot(tmp_path / "faces", frames=2, size=FACE_SIZE)
    instance = node_instance(host, faces)
    connect_shot(instance, faces, clips=("Target", "Source"))
    assert host.is_identity(instance, 1)[0] == STAT_REPLY_DEFAULT
    width, height = FACE_SIZE
    out = output_image(height, width)
    assert host.render(instance, 1, (0, 0, width, height), out) == STAT_OK, instance.message
    effect = HeadBlendEffect("general", resolve_params({"weights": str(faces.weights),
                                                        "network_resolution": TEST_RESOLUTION}))
    expected = effect.render(_batch_source(faces, mattes=False), 1)
    assert not expected.passthrough
    np.testing.assert_allclose(out.read(), expected.rgba.permute(1, 2, 0).numpy(), atol=TOLERANCE, rtol=0)


def test_render_scale_half_equals_the_effect_at_half(host: HeadlessHost, shot: Shot) -> None:
    instance = node_instance(host, shot)
    connect_shot(instance, shot, scale=0.5)
    out = output_image(SIZE // 2, SIZE // 2)
    assert host.render(instance, 1, (0, 0, SIZE // 2, SIZE // 2), out, scale=(0.5, 0.5)) == STAT_OK, instance.message
    effect = HeadBlendEffect("general", resolve_params({"weights": str(shot.weights),
                                                        "network_resolution": TEST_RESOLUTION}))
    expected = effect.render(_batch_source(shot), 1, render_scale=0.5).rgba.permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out.read(), expected, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("layout", [{"padding": 52}, {"negative": True}, {"negative": True, "padding": 12}],
                         ids=["padded", "negative", "negative-padded"])
def test_any_row_bytes_and_bounds_off_origin(host: HeadlessHost, shot: Shot, reference: dict[int, np.ndarray],
                                             layout: dict[str, object]) -> None:
    instance = node_instance(host, shot)
    origin = (100, -30)
    connect_shot(instance, shot, origin=origin, layout=lambda pixels, bounds: HostImage(pixels, bounds, **layout))
    out = output_image(SIZE, SIZE, origin=origin, **layout)
    window = (origin[0], origin[1], origin[0] + SIZE, origin[1] + SIZE)
    assert host.render(instance, 1, window, out) == STAT_OK, instance.message
    np.testing.assert_allclose(out.read(), reference[1], atol=TOLERANCE, rtol=0)


def test_half_images(host: HeadlessHost, shot: Shot, reference: dict[int, np.ndarray]) -> None:
    instance = node_instance(host, shot)
    connect_shot(instance, shot, layout=lambda pixels, bounds: HostImage(pixels, bounds, depth="half"))
    out = output_image(SIZE, SIZE, depth="half")
    assert host.render(instance, 1, (0, 0, SIZE, SIZE), out) == STAT_OK, instance.message
    # half inputs round the plates: compare with the float render at half precision
    np.testing.assert_allclose(out.read(), reference[1], atol=2e-2, rtol=0)


def test_only_the_render_window_is_written(host: HeadlessHost, shot: Shot, reference: dict[int, np.ndarray]) -> None:
    instance = node_instance(host, shot)
    connect_shot(instance, shot)
    out = output_image(SIZE, SIZE, fill=-7.0)
    window = (10, 20, 40, 50)  # OpenFX y up: rows 20..49 from the bottom
    assert host.render(instance, 2, window, out) == STAT_OK, instance.message
    got = out.read()
    rows = slice(SIZE - window[3], SIZE - window[1])
    cols = slice(window[0], window[2])
    np.testing.assert_allclose(got[rows, cols], reference[2][rows, cols], atol=TOLERANCE, rtol=0)
    outside = np.ones(got.shape[:2], bool)
    outside[rows, cols] = False
    assert (got[outside] == -7.0).all()


def test_identity_when_the_source_is_not_connected(host: HeadlessHost, shot: Shot) -> None:
    instance = node_instance(host, shot)
    assert host.is_identity(instance, 1) == (STAT_OK, "Target")
    connect_shot(instance, shot)
    assert host.is_identity(instance, 1)[0] == STAT_REPLY_DEFAULT


def test_abort_stops_the_render_and_the_next_one_works(host: HeadlessHost, shot: Shot,
                                                       reference: dict[int, np.ndarray]) -> None:
    instance = node_instance(host, shot)
    connect_shot(instance, shot)
    host.abort_flag.set()
    out = output_image(SIZE, SIZE)
    assert host.render(instance, 1, (0, 0, SIZE, SIZE), out) == STAT_FAILED
    assert instance.message is None  # an abort is not an error
    host.abort_flag.clear()
    np.testing.assert_allclose(render(host, instance, 1), reference[1], atol=TOLERANCE, rtol=0)


def test_engine_error_is_a_persistent_message(host: HeadlessHost, shot: Shot,
                                              reference: dict[int, np.ndarray]) -> None:
    instance = node_instance(host, shot)
    connect_shot(instance, shot)
    instance.set_param("network_resolution", 72)  # not a multiple of 16: the engine raises ParamError
    out = output_image(SIZE, SIZE)
    assert host.render(instance, 1, (0, 0, SIZE, SIZE), out) == STAT_FAILED
    kind, text = instance.message
    assert kind == "OfxMessageError" and "network_resolution=72" in text
    instance.set_param("network_resolution", TEST_RESOLUTION)
    np.testing.assert_allclose(render(host, instance, 1), reference[1], atol=TOLERANCE, rtol=0)
    assert instance.message is None


def test_crashed_sidecar_is_restarted(host: HeadlessHost, shot: Shot, reference: dict[int, np.ndarray]) -> None:
    instance = node_instance(host, shot)
    connect_shot(instance, shot)
    render(host, instance, 1)
    (sidecar,) = child_pids()
    killer = threading.Timer(0.02, os.kill, (sidecar, 9))
    instance.set_param("tau", 0.3)  # a fresh render for the kill to land in
    killer.start()
    out = output_image(SIZE, SIZE)
    status = host.render(instance, 1, (0, 0, SIZE, SIZE), out)
    killer.join()
    if status == STAT_OK:  # the render beat the kill: the next one meets the dead sidecar
        status = host.render(instance, 1, (0, 0, SIZE, SIZE), out)
    assert status == STAT_FAILED
    assert "died" in instance.message[1] or "went away" in instance.message[1]
    instance.set_param("tau", 0.5)
    np.testing.assert_allclose(render(host, instance, 1), reference[1], atol=TOLERANCE, rtol=0)
    assert child_pids() != {sidecar}


def test_missing_interpreter_then_circuit_breaker(host: HeadlessHost, shot: Shot, tmp_path: Path,
                                                  reference: dict[int, np.ndarray]) -> None:
    host.unload()  # the running sidecar goes; the next render must start one
    starts = tmp_path / "starts"
    crashing = tmp_path / "python"
    crashing.write_text(f"#!/bin/sh\necho start >> {starts}\nexit 3\n")
    crashing.chmod(0o755)
    instance = node_instance(host, shot)
    connect_shot(instance, shot)
    out = output_image(SIZE, SIZE)
    os.environ["CHANGER_OFX_PYTHON"] = str(tmp_path / "missing-python")
    assert host.render(instance, 1, (0, 0, SIZE, SIZE), out) == STAT_FAILED
    assert "missing-python" in instance.message[1] and "CHANGER_OFX_PYTHON" in instance.message[1]
    os.environ["CHANGER_OFX_PYTHON"] = str(crashing)
    for _ in range(2):
        assert host.render(instance, 1, (0, 0, SIZE, SIZE), out) == STAT_FAILED
    assert "stops trying" in instance.message[1]
    assert host.render(instance, 1, (0, 0, SIZE, SIZE), out) == STAT_FAILED  # the breaker is open: no start
    assert starts.read_text().count("start") == 2
    assert (out.read() == -7.0).all()
    os.environ["CHANGER_OFX_PYTHON"] = sys.executable
    fresh = node_instance(host, shot)  # the count is the instance's own
    connect_shot(fresh, shot)
    np.testing.assert_allclose(render(host, fresh, 1), reference[1], atol=TOLERANCE, rtol=0)


def test_installed_bundle_finds_its_python_in_python_txt(bundle: BuiltBundle, shot: Shot, tmp_path: Path,
                                                         reference: dict[int, np.ndarray],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    installed = install_bundle(bundle, tmp_path / "plugins", sys.executable)
    assert (installed / "Contents" / "Resources" / "python.txt").read_text().strip() == sys.executable
    monkeypatch.delenv("CHANGER_OFX_PYTHON", raising=False)
    other = HeadlessHost(installed)  # another file: its own copy of the library and its own sidecar
    assert other.load() == STAT_OK
    instance = node_instance(other, shot)
    connect_shot(instance, shot)
    np.testing.assert_allclose(render(other, instance, 1), reference[1], atol=TOLERANCE, rtol=0)
    assert other.unload() == STAT_OK
