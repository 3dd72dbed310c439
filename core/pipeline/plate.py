"""The artist's key of the whole plate (comp stage), in two steps a host can cache separately.

:func:`plate_screen` converts the plate to network space and finds the screen behind it (the
CleanScreen clip, or the given or picked screen colour and, with ``auto_clean_plate``, the estimated
clean plate). It reads only the screen settings, which are prepare-stage params, and it is most of a
key's cost. :func:`key_plate` keys the plate against that screen with every artist knob. A review
panel keeps the first while the artist moves keyer sliders; the batch host runs both every frame.
Either way the key is the same: :func:`changer.core.keying.key` given the screen it would have found.
:func:`key_result` turns that key into what a keyer node outputs on its own (``changer key``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from ..color import ColorConfig, clamp_network, from_network, to_network
from ..keying import KeyerParams, estimate_clean_plate, estimate_screen_color, key
from ..keying.params import key_channels
from ..keying.screen import check_screen_color
from .frame import FrameInputs, FrameResult
from .settings import FrameSettings
from .timing import StageTimer

#: The layers of a key on its own (:func:`key_result`), each one channel: where the matte is solid,
#: where it is soft, and how much despill took out.
KEY_LAYERS = ("core", "edge", "spill")


def to_net(image: torch.Tensor, color: ColorConfig, clamp: bool = True) -> torch.Tensor:
    """Working space -> network space, clamped to [0, 1] unless ``clamp`` is False."""
    out = to_network(image, color)
    return clamp_network(out) if clamp else out


def keyer_in_network_space(params: KeyerParams, color: ColorConfig) -> KeyerParams:
    """The keyer with its picked colours (given in the working space, like the plate) in network space."""
    changes = {}
    for name in ("screen_color", "despill_bias"):
        value = getattr(params, name)
        if value is not None:
            pixel = torch.tensor(value, dtype=torch.float32).view(1, 3, 1, 1)
            changes[name] = tuple(float(v) for v in to_network(pixel, color).clamp_min(0.0).flatten())
    return params.replace(**changes) if changes else params


@dataclass
class PlateScreen:
    """The plate in network space and the screen behind it."""

    plate: torch.Tensor  #: (1,3,H,W) network space, not clamped (HDR kept)
    clean: torch.Tensor | None  #: (1,3,H,W) screen behind every pixel (CleanScreen clip or estimate); None: flat
    color: torch.Tensor | None  #: (1,3,1,1) the flat screen colour, given or picked; None with a CleanScreen clip
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class PlateKey:
    """What the comp stage keeps of the plate's key (the premultiplied fg and ``I_T^green`` go)."""

    alpha: torch.Tensor  #: (1,1,H,W)
    fg: torch.Tensor  #: (1,3,H,W) despilled foreground, network space
    screen: torch.Tensor  #: (1,3,1,1) or (1,3,H,W): the screen that was keyed against
    timings: dict[str, float] = field(default_factory=dict)
    detail: torch.Tensor | None = None  #: (1,1,H,W) the keyer's edge/detail key ``alpha_0``, before its core


def plate_screen(frame: FrameInputs, settings: FrameSettings) -> PlateScreen:
    """The target plate in network space and its screen, from the screen settings only."""
    timer = StageTimer(frame.device)
    color = settings.color
    with timer.section("color"):
        plate = to_net(frame.target[None], color, clamp=False)
        clean = None if frame.clean_screen is None else to_net(frame.clean_screen[None], color, clamp=False)
        screen = keyer_in_network_space(settings.network_keyer, color)
    if clean is not None:
        return PlateScreen(plate, clean, None, timer.seconds)
    with timer.section("key"):
        if screen.screen_color is None:
            flat = estimate_screen_color(plate, screen.screen_type)
        else:
            flat = plate.new_tensor(screen.screen_color).view(1, 3, 1, 1)
        if screen.auto_clean_plate:
            clean = estimate_clean_plate(plate, flat, screen.screen_type)
    return PlateScreen(plate, clean, flat, timer.seconds)


def key_plate(screen: PlateScreen, settings: FrameSettings) -> PlateKey:
    """The artist's key of the whole plate against ``screen`` (every keyer knob of ``settings``)."""
    timer = StageTimer(screen.plate.device)
    artist = keyer_in_network_space(settings.keyer, settings.color)
    with timer.section("key"):
        if screen.color is not None:  # the balance is the artist's, so the colour is checked here, not before
            what = "screen_color" if settings.keyer.screen_color is not None else "the picked screen colour"
            check_screen_color(screen.color, artist.screen_type, artist.screen_balance, what)
            if screen.clean is None:
                artist = artist.replace(screen_color=tuple(float(v) for v in screen.color.flatten()))
        keyed = key(screen.plate, artist, clean_plate=screen.clean)
    timings = dict(screen.timings)
    for name, seconds in timer.seconds.items():
        timings[name] = timings.get(name, 0.0) + seconds
    return PlateKey(keyed.alpha, keyed.fg, keyed.screen, timings, keyed.detail)


def key_result(screen: PlateScreen, keyed: PlateKey, settings: FrameSettings) -> FrameResult:
    """The plate's key as a keyer node outputs it, in the working space (what ``changer key`` writes).

    RGBA is the despilled foreground premultiplied, and alpha. The layers (:data:`KEY_LAYERS`) are the
    keyer's own parts: ``edge`` is its edge/detail key (``alpha_0``: each pixel's colour difference
    against the screen behind it, before any core), ``core`` what the core stage added on top of it
    (auto clip white and the eroded hard key lifting solid areas; never a fill of thin structures);
    ``spill`` is what despill took out of the screen's channel (G, or B on blue) of the premultiplied
    foreground.
    For ``spill`` the plate is keyed again against the same screen with despill off: that key has the
    same alpha (despill is the keyer's last step) and the foreground before despill.
    """
    timer = StageTimer(screen.plate.device)
    timer.merge(keyed.timings)
    color, alpha = settings.color, keyed.alpha
    with timer.section("color"):
        fg = from_network(keyed.fg, color) * alpha
    channel = key_channels(settings.keyer.screen_type)[0]
    spill = torch.zeros_like(alpha)
    if settings.keyer.despill > 0:
        with timer.section("key"):
            undespilled = key_plate(screen, replace(settings, keyer=settings.keyer.replace(despill=0.0)))
        with timer.section("color"):
            before = from_network(undespilled.fg, color)[:, channel:channel + 1] * alpha
        spill = (before - fg[:, channel:channel + 1]).clamp_min(0.0)
    detail = keyed.detail if keyed.detail is not None else alpha
    layers = {"core": (alpha - detail).clamp(0.0, 1.0), "edge": detail.clamp(0.0, 1.0), "spill": spill}
    return FrameResult(rgba=torch.cat([fg, alpha], dim=1)[0],
                       layers={name: layers[name][0].to(alpha.dtype) for name in KEY_LAYERS},
                       premultiplied=True, box=None, timings=timer.seconds)
