"""One frame through CHANGER in three pure stages: prepare -> infer -> composite.

``prepare`` (network stage) shapes the mattes, finds the crop around the head union, converts the
crop to network space, keys it with the network-stage keyer (screen settings only) and builds X,
I_T^head and I_T^body at the network's resolution. ``infer`` runs the model. ``composite`` (comp
stage) keys the whole plate with the artist's keyer, brings Y back to plate resolution with detail
transfer, keys it, and pastes it with a feathered seam; pixels whose edit weight is 0 keep the plate's
exact values. A review panel caches the first two and re-runs ``composite`` when only comp-stage
params change.

Colour: the crop is converted to network space and clamped to [0, 1] (``clamp_network``), so HDR
values inside the edited region are clipped to display range there; outside it they are untouched.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import torch

from .. import masks
from ..align import Similarity, fit_similarity, warp_frame, warp_into_box
from ..color import ColorConfig, clamp_network, from_network, to_network
from ..compose import build_inputs, canonical_green
from ..errors import ImageReadError
from ..keying import KeyerParams, KeyResult, key, key_network_output
from ..model import ChangerNet, ChangerOutput
from .crop import blend_into, crop_box, crop_padded, edit_weight, paste, resize
from .detail import transfer_detail
from .frame import FrameInputs, FrameResult, NetworkJob
from .mattes import is_empty, shape_matte
from .settings import FrameSettings
from .timing import StageTimer


def _net(image: torch.Tensor, color: ColorConfig, clamp: bool = True) -> torch.Tensor:
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


def _shaped_mattes(frame: FrameInputs, settings: FrameSettings) -> tuple[torch.Tensor, torch.Tensor]:
    return (shape_matte(frame.target_matte[None], settings.target_matte, "TargetHeadMatte"),
            shape_matte(frame.source_matte[None], settings.source_matte, "SourceHeadMatte"))


def empty_mattes(frame: FrameInputs, settings: FrameSettings) -> list[str]:
    """Clip names of the head mattes that are empty after shaping (what makes a frame pass through)."""
    target, source = _shaped_mattes(frame, settings)
    return [name for name, m in (("TargetHeadMatte", target), ("SourceHeadMatte", source)) if is_empty(m)]


def prepare(frame: FrameInputs, settings: FrameSettings) -> NetworkJob | None:
    """Network stage: the network's inputs for one frame; None when the frame passes through.

    Raises ImageReadError naming the clip for non-finite pixels, wrong shapes, a full-frame matte, and
    an empty matte unless ``settings.on_empty_matte`` is ``passthrough``.
    """
    timer = StageTimer(frame.device)
    frame.check()
    color = settings.color
    with timer.section("mattes"):
        target_matte, source_matte = _shaped_mattes(frame, settings)
        for name, matte, shaping in (("TargetHeadMatte", target_matte, settings.target_matte),
                                     ("SourceHeadMatte", source_matte, settings.source_matte)):
            if is_empty(matte):
                if settings.on_empty_matte == "passthrough":
                    return None
                raise ImageReadError(
                    f"clip {name}: the head matte is empty (nothing at or above threshold {shaping.threshold}); "
                    "expected the head, or set on_empty_matte=passthrough to output the plate unchanged"
                )
        fit = fit_similarity(source_matte, target_matte) if settings.alignment == "similarity" else Similarity()
        source_matte = source_matte if fit.is_identity else warp_frame(source_matte, fit)
        union_full = masks.union(target_matte, source_matte)
        box = crop_box(union_full, settings.crop_padding)
        if box is None:  # the aligned source fell outside the frame
            raise ImageReadError("clip SourceHeadMatte: the aligned source head lies outside the frame")
        target_head = crop_padded(target_matte, box, "zeros")
        source_head = crop_padded(source_matte, box, "zeros")
        union = crop_padded(union_full, box, "zeros")
        inpaint = masks.difference(union, source_head)
    with timer.section("color"):
        target = _net(crop_padded(frame.target[None], box), color)
        source_plate = frame.source[None]
        source = crop_padded(source_plate, box) if fit.is_identity else warp_into_box(source_plate, fit, box, "border")
        source = _net(source, color)
        clean = None if frame.clean_screen is None else _net(crop_padded(frame.clean_screen[None], box), color)
        net_keyer = keyer_in_network_space(settings.network_keyer, color)
    size = (settings.network_resolution, settings.network_resolution)
    with timer.section("resize"):
        target_r, source_r = resize(target, size), resize(source, size)
        target_head_r = resize(target_head, size).clamp(0.0, 1.0)
        source_head_r = resize(source_head, size).clamp(0.0, 1.0)
        clean_r = None if clean is None else resize(clean, size)
    with timer.section("key"):
        keyed = key(target_r, net_keyer, clean_plate=clean_r)
    with timer.section("compose"):
        scale = settings.network_resolution / max(box.width, box.height)
        inputs = build_inputs(keyed.green, source_r, source_head_r, target_head_r, keyed.alpha,
                              neck_margin=settings.neck_margin * scale)
    return NetworkJob(box=box, resolution=settings.network_resolution, inputs=inputs, target_green=keyed.green,
                      target_alpha=keyed.alpha, source_crop=source, source_head=source_head,
                      target_head=target_head, union=union, inpaint=inpaint, alignment=fit,
                      timings=dict(timer.seconds))


def infer(model: ChangerNet, job: NetworkJob, tau: float, query_patch: int | None = None) -> ChangerOutput:
    """Run the network on a prepared job (no gradients); outputs come back on the job's device."""
    device = next(model.parameters()).device
    x, head, body = (t.to(device) for t in job.inputs[:3])
    with torch.inference_mode():
        out = model(x, head, body, tau, query_patch)
    home = job.inputs.x.device
    return ChangerOutput(*(None if t is None else t.to(home) for t in out))


def _over(premult: torch.Tensor, alpha: torch.Tensor, background: torch.Tensor | None) -> torch.Tensor:
    """RGBA (1,4,H,W): premultiplied colour over an optional RGB or premultiplied RGBA background."""
    if background is None:
        return torch.cat([premult, alpha], dim=1)
    bg = background[None]
    bg_alpha = bg[:, 3:4] if bg.shape[1] == 4 else torch.ones_like(alpha)
    return torch.cat([premult + (1.0 - alpha) * bg[:, :3], alpha + (1.0 - alpha) * bg_alpha], dim=1)


def composite(frame: FrameInputs, job: NetworkJob | None, output: ChangerOutput | None,
              settings: FrameSettings) -> FrameResult:
    """Comp stage: the final RGBA and layers at plate resolution (a pass-through frame when ``job`` is None)."""
    if job is None or output is None:
        return passthrough_result(frame.target)
    timer = StageTimer(frame.device)
    color, box = settings.color, job.box
    plate = frame.target[None]
    height, width = frame.size
    with timer.section("color"):
        plate_net = _net(plate, color, clamp=False)
        clean_net = None if frame.clean_screen is None else _net(frame.clean_screen[None], color, clamp=False)
        artist = keyer_in_network_space(settings.keyer, color)
    with timer.section("key"):
        keyed = key(plate_net, artist, clean_plate=clean_net)
    plate_key = _PlateKey(keyed.alpha, keyed.fg, keyed.screen)
    del keyed, plate_net, clean_net  # nothing below reads them: 6 to 9 full-frame planes (133 MB each at 8K)
    with timer.section("transfer"):
        y_full = transfer_detail(output.y, job.source_crop, job.source_head)
    with timer.section("key"):
        head_key = key_network_output(y_full, artist)
    with timer.section("paste"):
        weight = edit_weight(job.union, settings.seam_feather, box, (height, width))
        alpha = blend_into(plate_key.alpha, head_key.alpha, weight, box)
        crop_size = (box.height, box.width)
        predicted = paste(plate.new_zeros(1, 1, height, width), resize(output.mask, crop_size).clamp(0, 1), box)
        inpaint = paste(plate.new_zeros(1, 1, height, width), job.inpaint, box)
        layers = {"matte": alpha, "M": predicted, "ip": inpaint}
    rgba = _assemble(frame, job, settings, plate_key, head_key, alpha, weight, layers, timer)
    if settings.output == "aovs":
        with timer.section("color"):
            layers |= _aov_layers(job, output, plate_key.alpha, weight, (height, width), color)
    intermediates = {"X": job.inputs.x, "Y": output.y, "ToRGB": output.to_rgb, "M": output.mask,
                     "alpha": plate_key.alpha, "union": job.union, "ip": job.inpaint, "edit": weight, "comp": rgba}
    if output.attention is not None:
        intermediates["attention"] = output.attention
    timings = dict(job.timings)
    for name, seconds in timer.seconds.items():
        timings[name] = timings.get(name, 0.0) + seconds
    return FrameResult(rgba=rgba[0], layers={k: v[0] for k, v in layers.items()}, premultiplied=settings.premultiplied,
                       box=box, intermediates=intermediates, timings=timings)


class _PlateKey(NamedTuple):
    """What the comp stage keeps of the plate's key (the premultiplied fg and ``I_T^green`` go)."""

    alpha: torch.Tensor
    fg: torch.Tensor
    screen: torch.Tensor


def _assemble(frame: FrameInputs, job: NetworkJob, settings: FrameSettings, plate_key: _PlateKey,
              head_key: KeyResult, alpha: torch.Tensor, weight: torch.Tensor, layers: dict[str, torch.Tensor],
              timer: StageTimer) -> torch.Tensor:
    """The (1,4,H,W) RGBA of the chosen output."""
    color, box = settings.color, job.box
    plate = frame.target[None]
    if settings.output == "mattes":
        return torch.cat([layers["matte"], layers["M"], layers["ip"], torch.ones_like(alpha)], dim=1)
    if settings.output == "green":
        with timer.section("color"):
            screen = plate_key.screen if plate_key.screen.shape[-1] == 1 else crop_padded(plate_key.screen, box)
            on_screen = head_key.fg_premult + (1.0 - head_key.alpha) * screen
            new = from_network(on_screen, color)
        with timer.section("paste"):
            rgb = blend_into(plate, new, weight, box)
        return torch.cat([rgb, torch.ones_like(alpha)], dim=1)
    with timer.section("color"):
        plate_fg = from_network(plate_key.fg, color) * plate_key.alpha
        head_fg = from_network(head_key.fg, color) * head_key.alpha
    with timer.section("paste"):
        premult = blend_into(plate_fg, head_fg, weight, box)
        return _over(premult, alpha, frame.background)


def _aov_layers(job: NetworkJob, output: ChangerOutput, plate_alpha: torch.Tensor, weight: torch.Tensor,
                frame_size: tuple[int, int], color: ColorConfig) -> dict[str, torch.Tensor]:
    """X, Y and ToRGB pasted at the crop on canonical green (working space), plus mattes."""
    height, width = frame_size
    box = job.box
    crop_size = (box.height, box.width)
    green = from_network(canonical_green(plate_alpha), color).expand(1, 3, height, width)
    layers = {}
    for name, image in (("X", job.inputs.x), ("Y", output.y), ("ToRGB", output.to_rgb)):
        layers[name] = paste(green, from_network(resize(image, crop_size).clamp(0, 1), color), box)
    zeros = plate_alpha.new_zeros(1, 1, height, width)
    layers["alpha"] = plate_alpha
    layers["union"] = paste(zeros, job.union, box)
    layers["edit"] = paste(zeros, weight, box)
    return layers


def passthrough_result(plate: torch.Tensor) -> FrameResult:
    """The target plate (3,H,W) unchanged (opaque), with empty layers: a frame with nothing to blend."""
    zeros = plate.new_zeros(1, *plate.shape[-2:])
    rgba = torch.cat([plate, torch.ones_like(zeros)], dim=0)
    return FrameResult(rgba=rgba, layers={"matte": zeros, "M": zeros.clone(), "ip": zeros.clone()},
                       premultiplied=False, box=None, passthrough=True)


def render_frame(model: ChangerNet, frame: FrameInputs, settings: FrameSettings) -> FrameResult:
    """prepare -> infer -> composite on the model's device; the result comes back on the CPU."""
    device = next(model.parameters()).device
    frame = frame.to(device)
    job = prepare(frame, settings)
    if job is None:
        return _to_cpu(passthrough_result(frame.target))
    timer = StageTimer(device)
    with timer.section("network"):
        output = infer(model, job, settings.tau, settings.query_patch)
    result = composite(frame, job, output, settings)
    result.timings["network"] = timer.seconds["network"]
    return _to_cpu(result)


def _to_cpu(result: FrameResult) -> FrameResult:
    cpu = (lambda t: t.to("cpu"))
    return dataclasses.replace(result, rgba=cpu(result.rgba), layers={k: cpu(v) for k, v in result.layers.items()},
                               intermediates={k: cpu(v) for k, v in result.intermediates.items()})
