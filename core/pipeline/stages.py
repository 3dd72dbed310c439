"""One frame through CHANGER in three pure stages: prepare -> infer -> composite.

``prepare`` shapes the mattes, finds the crop around the head union, converts the crop to network
space, keys it with the network-stage keyer (screen settings only) and builds X, I_T^head and
I_T^body at the network's resolution. ``infer`` runs the model with τ. ``composite`` (comp stage)
keys the whole plate with the artist's keyer (:mod:`.plate`), brings Y back to plate resolution with
detail transfer and pastes it with a feathered seam; pixels whose edit weight is 0 keep the plate's
exact values. Y is never keyed: the head's alpha comes from the mattes and the plate's key
(:mod:`.alpha`), so the network's smudges cannot become haze in the alpha. The stages are driven, and
their products cached, by the node's one render driver, :meth:`changer.plugin.effect.HeadBlendEffect.render`.

Colour: the crop is converted to network space and clamped to [0, 1] (``clamp_network``), so HDR
values inside the edited region are clipped to display range there; outside it they are untouched.
"""

from __future__ import annotations

import torch

from .. import masks
from ..align import Similarity, fit_points, fit_similarity, warp_into_box
from ..color import ColorConfig, from_network
from ..compose import build_inputs, canonical_green
from ..errors import ImageReadError, ParamError
from ..keying import key
from ..masks import Box
from ..model import ChangerNet, ChangerOutput
from .alpha import despill_green, edit_alpha
from .crop import blend_into, crop_box, crop_padded, inside, paste, resize
from .frame import FrameInputs, FrameResult, NetworkJob
from .mattes import is_empty, shape_matte
from .place import Placement, place
from .plate import PlateKey, key_plate, keyer_in_network_space, plate_screen, to_net
from .settings import FrameSettings
from .skin import double_skin, face_regions, graded
from .timing import StageTimer


def _shaped_mattes(frame: FrameInputs, settings: FrameSettings) -> tuple[torch.Tensor, torch.Tensor]:
    return (shape_matte(frame.target_matte[None], settings.target_matte, frame.names["target_matte"]),
            shape_matte(frame.source_matte[None], settings.source_matte, frame.names["source_matte"]))


def empty_mattes(frame: FrameInputs, settings: FrameSettings) -> list[str]:
    """Clip names of the head mattes that are empty after shaping (what makes a frame pass through)."""
    target, source = _shaped_mattes(frame, settings)
    return [frame.names[role] for role, m in (("target_matte", target), ("source_matte", source)) if is_empty(m)]


def prepare(frame: FrameInputs, settings: FrameSettings) -> NetworkJob | None:
    """Prepare stage: the network's inputs for one frame; None when the frame passes through.

    Raises ImageReadError naming the clip for non-finite pixels, wrong shapes, a full-frame matte, and
    an empty matte unless ``settings.on_empty_matte`` is ``passthrough``.
    """
    timer = StageTimer(frame.device)
    frame.check()
    color = settings.color
    with timer.section("mattes"):
        target_matte, source_matte = _shaped_mattes(frame, settings)
        for name, matte, shaping in ((frame.names["target_matte"], target_matte, settings.target_matte),
                                     (frame.names["source_matte"], source_matte, settings.source_matte)):
            if is_empty(matte):
                if settings.on_empty_matte == "passthrough":
                    return None
                raise ImageReadError(
                    f"clip {name}: the head matte is empty (nothing at or above threshold {shaping.threshold}); "
                    "expected the head, or set on_empty_matte=passthrough to output the plate unchanged"
                )
        fit = _alignment(frame, source_matte, target_matte, settings.alignment)
        height, width = frame.size
        source_matte = source_matte if fit.is_identity else warp_into_box(source_matte, fit, Box(0, 0, width, height))
        union_full = masks.union(target_matte, source_matte)
        box = crop_box(union_full, settings.crop_padding)
        if box is None:  # the aligned source fell outside the frame
            raise ImageReadError(f"clip {frame.names['source_matte']}: the aligned source head lies outside the frame")
        target_head = crop_padded(target_matte, box, "zeros")
        source_head = crop_padded(source_matte, box, "zeros")
        union = crop_padded(union_full, box, "zeros")
        inpaint = masks.difference(union, source_head)
    with timer.section("color"):
        target = to_net(crop_padded(frame.target[None], box), color)
        source_plate = frame.source[None]
        source = crop_padded(source_plate, box) if fit.is_identity else warp_into_box(source_plate, fit, box, "border")
        source = to_net(source, color)
        clean = None if frame.clean_screen is None else to_net(crop_padded(frame.clean_screen[None], box), color)
        net_keyer = keyer_in_network_space(settings.network_keyer, color)
    size = (settings.network_resolution, settings.network_resolution)
    with timer.section("resize"):
        target_r, source_r = resize(target, size), resize(source, size)
        target_head_r = resize(target_head, size).clamp(0.0, 1.0)
        source_head_r = resize(source_head, size).clamp(0.0, 1.0)
        clean_r = None if clean is None else resize(clean, size)
    with timer.section("key"):
        keyed = key(target_r, net_keyer, clean_plate=clean_r)
    with timer.section("grade"):
        target_face, source_face = face_regions(frame, fit, box)
        solid = resize(keyed.alpha, (box.height, box.width))
        target_skin = double_skin(target, solid, target_head, target_face, settings)
        source_skin = source_head_r * resize(source_face, size)
        source_r = graded(source_r, source_skin, source_head_r, target_skin, settings.grade.strength)
    with timer.section("compose"):
        scale = settings.network_resolution / max(box.width, box.height)
        inputs = build_inputs(keyed.green, source_r, source_head_r, target_head_r, keyed.alpha,
                              neck_margin=settings.neck_margin * scale)
    return NetworkJob(box=box, resolution=settings.network_resolution, inputs=inputs, target_green=keyed.green,
                      target_alpha=keyed.alpha, source_crop=source, source_head=source_head,
                      target_head=target_head, union=union, inpaint=inpaint, alignment=fit,
                      source_net=source_r, target_skin=target_skin, source_skin=source_skin,
                      timings=dict(timer.seconds))


def _alignment(frame: FrameInputs, source_matte: torch.Tensor, target_matte: torch.Tensor, mode: str) -> Similarity:
    """The placement of the source plate on the target's (:func:`alignment_mode`). The similarity is
    fitted to the face landmarks when the frame has them, else to the mattes' moments."""
    names = (frame.names["source"], frame.names["target"])
    if alignment_mode(mode, frame.source_size, frame.size, names) == "none":
        return Similarity()
    if frame.target_points is not None and frame.source_points is not None:
        return fit_points(frame.source_points, frame.target_points)
    return fit_similarity(source_matte, target_matte)


def alignment_mode(mode: str, source_size: tuple[int, int], target_size: tuple[int, int],
                   names: tuple[str, str] = ("Source", "Target")) -> str:
    """``none`` or ``similarity`` for the ``alignment`` param: auto is similarity for a source of another
    (height, width) than the target's, none otherwise; none refuses a source of another size (it would
    have no place), with a ParamError naming both clips (``names``: source, target)."""
    if mode == "auto":
        return "similarity" if source_size != target_size else "none"
    if mode == "none" and source_size != target_size:
        (sh, sw), (th, tw) = source_size, target_size
        raise ParamError(f"alignment=none: clip {names[0]} is {sw}x{sh} and {names[1]} is {tw}x{th}; expected "
                         "the same size, or alignment=auto or similarity to place the source head")
    return mode


def infer(model: ChangerNet, job: NetworkJob, settings: FrameSettings) -> ChangerOutput:
    """Infer stage: the network on a prepared job with ``settings.tau`` (and FPAT's ``query_patch``), no
    gradients; outputs come back on the job's device."""
    device = next(model.parameters()).device
    x, head, body = (t.to(device) for t in job.inputs[:3])
    with torch.inference_mode():
        out = model(x, head, body, settings.tau, settings.query_patch)
    home = job.inputs.x.device
    return ChangerOutput(*(None if t is None else t.to(home) for t in out))


def _over(premult: torch.Tensor, alpha: torch.Tensor, background: torch.Tensor | None) -> torch.Tensor:
    """RGBA (1,4,H,W): premultiplied colour over an optional RGB or premultiplied RGBA background."""
    if background is None:
        return torch.cat([premult, alpha], dim=1)
    bg = background[None]
    bg_alpha = bg[:, 3:4] if bg.shape[1] == 4 else torch.ones_like(alpha)
    return torch.cat([premult + (1.0 - alpha) * bg[:, :3], alpha + (1.0 - alpha) * bg_alpha], dim=1)


def composite(frame: FrameInputs, job: NetworkJob | None, output: ChangerOutput | None, settings: FrameSettings,
              plate_key: PlateKey | None = None, placement: Placement | None = None) -> FrameResult:
    """Comp stage: the final RGBA and layers at plate resolution (a pass-through frame when ``job`` is None).

    ``plate_key`` (the artist's key of the plate, :func:`.plate.key_plate`) and ``placement`` (Y and the
    mattes at plate resolution, :func:`.place.place`) are made here when not given.
    """
    if job is None or output is None:
        return passthrough_result(frame.target)
    if plate_key is None:
        plate_key = key_plate(plate_screen(frame, settings), settings)
    if placement is None:
        placement = place(frame, job, output, settings)
    timer = StageTimer(frame.device)
    color, box, weight = settings.color, job.box, placement.weight
    height, width = frame.size
    with timer.section("paste"):
        window = edit_window(weight, box, (height, width), 0)
        rows, cols = slice(window.y0 - box.y0, window.y1 - box.y0), slice(window.x0 - box.x0, window.x1 - box.x0)
        used = weight[..., rows, cols]
    with timer.section("paste"):
        predicted = crop_padded(placement.predicted, box, "zeros")
        head_alpha = edit_alpha(job.source_head, job.target_head, crop_padded(plate_key.alpha, box, "zeros"),
                                job.inpaint, predicted, placement.y)[..., rows, cols]
        # Y where something changes; the plate's own keyed foreground in the rest of the edit (alpha.py)
        changed = torch.maximum(job.source_head, job.inpaint)[..., rows, cols].clamp(0.0, 1.0)
        plate_fg = crop_padded(plate_key.fg, window, "zeros")
        head_fg = changed * despill_green(placement.y[..., rows, cols]) + (1.0 - changed) * plate_fg
        alpha = blend_into(plate_key.alpha, head_alpha, used, window)
        layers = {"matte": alpha, "M": placement.predicted, "ip": placement.inpaint}
    rgba = _assemble(frame, window, settings, plate_key, head_fg, head_alpha, alpha, used, layers, timer)
    if settings.output == "aovs":
        with timer.section("color"):
            layers |= _aov_layers(job, output, plate_key.alpha, weight, (height, width), color)
    intermediates = {"X": job.inputs.x, "Y": output.y, "ToRGB": output.to_rgb, "M": output.mask,
                     "alpha": plate_key.alpha, "union": job.union, "ip": job.inpaint, "edit": weight, "comp": rgba}
    if output.attention is not None:
        intermediates["attention"] = output.attention
    timings = dict(job.timings)
    for part in (plate_key.timings, placement.timings, timer.seconds):
        for name, seconds in part.items():
            timings[name] = timings.get(name, 0.0) + seconds
    return FrameResult(rgba=rgba[0], layers={k: v[0] for k, v in layers.items()}, premultiplied=settings.premultiplied,
                       box=box, intermediates=intermediates, timings=timings)


def edit_window(weight: torch.Tensor, box: Box, frame_size: tuple[int, int], reach: int) -> Box:
    """Frame pixels of the part of the crop ``box`` whose network result is used: where the edit
    ``weight`` (1,1,h,w) is above 0 inside the frame, grown by ``reach`` (so that a key of the window
    is, there, the key of the whole crop) and kept inside the crop. The whole in-frame part when the
    weight is 0 everywhere."""
    part, (rows, cols) = inside(box, frame_size)
    used = masks.bounding_box(weight[..., rows, cols])
    if used is None:
        return part
    return Box(max(part.x0 + used.x0 - reach, box.x0), max(part.y0 + used.y0 - reach, box.y0),
               min(part.x0 + used.x1 + reach, box.x1), min(part.y0 + used.y1 + reach, box.y1))


def _assemble(frame: FrameInputs, box: Box, settings: FrameSettings, plate_key: PlateKey, head_fg: torch.Tensor,
              head_alpha: torch.Tensor, alpha: torch.Tensor, weight: torch.Tensor, layers: dict[str, torch.Tensor],
              timer: StageTimer) -> torch.Tensor:
    """The (1,4,H,W) RGBA of the chosen output; ``head_fg`` (network space, not premultiplied), ``head_alpha``
    and ``weight`` cover ``box`` (the edit window)."""
    color = settings.color
    plate = frame.target[None]
    if settings.output == "mattes":
        return torch.cat([layers["matte"], layers["M"], layers["ip"], torch.ones_like(alpha)], dim=1)
    if settings.output == "green":
        with timer.section("color"):
            screen = plate_key.screen if plate_key.screen.shape[-1] == 1 else crop_padded(plate_key.screen, box)
            on_screen = head_fg * head_alpha + (1.0 - head_alpha) * screen
            new = from_network(on_screen, color)
        with timer.section("paste"):
            rgb = blend_into(plate, new, weight, box)
        return torch.cat([rgb, torch.ones_like(alpha)], dim=1)
    with timer.section("color"):
        plate_fg = from_network(plate_key.fg, color) * plate_key.alpha
        head_premult = from_network(head_fg, color) * head_alpha
    with timer.section("paste"):
        premult = blend_into(plate_fg, head_premult, weight, box)
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
