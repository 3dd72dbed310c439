"""What the viewer can show of a rendered frame: every image the pipeline makes, in frame coordinates.

Each :class:`Layer` pulls one image out of a :class:`~changer.ui.session.RenderedFrame` as a (C,H,W)
CPU tensor at the frame's (proxy) size, so the A/B wipe, the pixel probe and the zoom line up across
layers. Crop-resolution mattes and network-resolution images (X, Y, ToRGB, M, FPAT attention) are
resized to the crop box and placed in the frame; network images are converted from network space
back to the working space, so the probe always reads working-space values and one display
transform serves every colour layer. Mattes are data: they get no colour transform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from changer.core.color import from_network
from changer.core.model import body_share
from changer.core.pipeline.crop import paste, resize

from .session import RenderedFrame

COLOR, MATTE, HEAT = "color", "matte", "heat"
#: Checkerboard behind the final comp: square size in pixels and its two scene-linear greys.
CHECKER, CHECKER_DARK, CHECKER_LIGHT = 16, 0.05, 0.12
#: The head-matte overlay: how much of the plate the matte tints, and the tint (scene-linear magenta).
TINT_OPACITY, TINT = 0.5, (0.6, 0.0, 0.6)


class LayerUnavailable(Exception):
    """The layer does not exist for this frame (e.g. network images on a pass-through frame)."""


@dataclass(frozen=True)
class Layer:
    """One viewer layer: its name, menu label, how to show it, and how to extract it."""

    name: str
    label: str
    kind: str  #: COLOR (working space, display transform), MATTE (grey data), HEAT (normalised weights)
    extract: Callable[[RenderedFrame], torch.Tensor]
    hint: str = ""


def _network(rendered: RenderedFrame):
    if rendered.job is None or rendered.output is None:
        raise LayerUnavailable(f"frame {rendered.request.frame} passes through (no network output)")
    return rendered.job, rendered.output


def _frame_canvas(rendered: RenderedFrame, channels: int) -> torch.Tensor:
    height, width = rendered.inputs.size
    return rendered.inputs.target.new_zeros(1, channels, height, width)


def _in_frame(rendered: RenderedFrame, crop: torch.Tensor, nearest: bool = False) -> torch.Tensor:
    """A crop-box (1,C,h,w) or network-resolution image resized to the box and placed in the frame."""
    job, _ = _network(rendered)
    size = (job.box.height, job.box.width)
    if nearest:
        crop = F.interpolate(crop, size=size, mode="nearest")
    else:
        crop = resize(crop, size)
    return paste(_frame_canvas(rendered, crop.shape[1]), crop, job.box)[0]


def _network_image(pick: Callable) -> Callable[[RenderedFrame], torch.Tensor]:
    def extract(rendered: RenderedFrame) -> torch.Tensor:
        job, output = _network(rendered)
        color = rendered.request.params.color_config()
        image = resize(pick(job, output), (job.box.height, job.box.width)).clamp(0.0, 1.0)
        working = from_network(image, color)
        canvas = _frame_canvas(rendered, 3)
        return paste(canvas, working, job.box)[0]
    return extract


def _crop_matte(pick: Callable) -> Callable[[RenderedFrame], torch.Tensor]:
    return lambda rendered: _in_frame(rendered, pick(_network(rendered)[0]))


def _layer_tensor(name: str) -> Callable[[RenderedFrame], torch.Tensor]:
    return lambda rendered: rendered.result.layers[name]


def _over_checker(rendered: RenderedFrame) -> torch.Tensor:
    """The output over a mid-grey checkerboard (16 px squares), premultiplied or not."""
    rgba = rendered.result.rgba
    height, width = rgba.shape[-2:]
    ys = torch.arange(height).view(-1, 1) // CHECKER
    xs = torch.arange(width).view(1, -1) // CHECKER
    checker = torch.where((ys + xs) % 2 == 0, CHECKER_DARK, CHECKER_LIGHT).to(rgba.dtype)
    alpha = rgba[3:4]
    rgb = rgba[:3] if rendered.result.premultiplied else rgba[:3] * alpha
    return rgb + (1.0 - alpha) * checker


def _plate_alpha(rendered: RenderedFrame) -> torch.Tensor:
    alpha = rendered.result.intermediates.get("alpha")
    if alpha is None:
        raise LayerUnavailable(f"frame {rendered.request.frame} passes through (the plate was not keyed)")
    return alpha[0]


def _matte_over_plate(head: str) -> Callable[[RenderedFrame], torch.Tensor]:
    """``head``'s plate with its head matte, as the render read or made it (before shaping), tinted over it."""
    def extract(rendered: RenderedFrame) -> torch.Tensor:
        inputs = rendered.inputs
        if inputs is None or getattr(inputs, f"{head}_matte") is None:
            raise LayerUnavailable(f"frame {rendered.request.frame} passes through (no {head} head matte)")
        plate, matte = getattr(inputs, head), getattr(inputs, f"{head}_matte") * TINT_OPACITY
        tint = torch.tensor(TINT, dtype=plate.dtype).view(3, 1, 1)
        return plate * (1.0 - matte) + tint * matte
    return extract


def _attention(rendered: RenderedFrame) -> torch.Tensor:
    _, output = _network(rendered)
    if output.attention is None:
        raise LayerUnavailable("no FPAT attention was asked for")
    return _in_frame(rendered, output.attention, nearest=True)


def fpat_groups(rendered: RenderedFrame) -> torch.Tensor:
    """FPAT's two groups at the request's τ: 1 on patches whose body share is ≥ τ (S_b), else 0."""
    _, output = _network(rendered)
    if output.attention is None:
        raise LayerUnavailable("no FPAT attention was asked for (its patch grid sizes the groups)")
    rows, cols = output.attention.shape[-2:]
    share = body_share(output.mask, output.mask.shape[-2] // rows).reshape(-1, 1, rows, cols)
    groups = (share >= rendered.request.params["tau"]).to(output.mask.dtype)
    return _in_frame(rendered, groups, nearest=True)


LAYERS: tuple[Layer, ...] = (
    Layer("output", "Output", COLOR, lambda r: r.result.rgba,
          "The node's output RGBA (the Output param chooses comp, green, mattes or aovs)."),
    Layer("plate", "Target plate", COLOR, lambda r: r.inputs.target,
          "The double's green-screen plate (A side of the wipe)."),
    Layer("source", "Source plate", COLOR, lambda r: r.inputs.source, "The actor's head plate."),
    Layer("target_overlay", "Target head matte overlay", COLOR, _matte_over_plate("target"),
          "The double's head matte (given, or made from the plate: the status line says which) tinted over the "
          "plate, before threshold, grow and feather; L draws the face oval an automatic one was built from."),
    Layer("source_overlay", "Source head matte overlay", COLOR, _matte_over_plate("source"),
          "The actor's head matte (given or automatic) tinted over the source plate, before shaping."),
    Layer("target_matte", "Target head matte", MATTE, _crop_matte(lambda job: job.target_head),
          "M_T^head after threshold, grow/shrink and feather, as the network sees it."),
    Layer("source_matte", "Source head matte", MATTE, _crop_matte(lambda job: job.source_head),
          "M_S^head after shaping and alignment."),
    Layer("plate_alpha", "Plate key alpha", MATTE, _plate_alpha, "The keyer's matte of the whole plate."),
    Layer("matte", "Final matte", MATTE, _layer_tensor("matte"),
          "The output's alpha: plate key with the head's key pasted in."),
    Layer("union", "M_union", MATTE, _crop_matte(lambda job: job.union),
          "Union of both head mattes: the region replaced."),
    Layer("ip", "M^ip", MATTE, _crop_matte(lambda job: job.inpaint),
          "Inpaint region: union minus the source head, where the body must be continued."),
    Layer("M", "Predicted M", MATTE, _layer_tensor("M"), "The network's predicted foreground (body and neck)."),
    Layer("attention", "FPAT attention", HEAT, _attention,
          "FPAT's attention weights for the query patch (click the viewer to move it)."),
    Layer("fpat_groups", "FPAT groups (τ)", MATTE, fpat_groups,
          "FPAT's two groups at this τ: white patches (body share ≥ τ) attend only to body patches, black "
          "ones only to the rest; raising τ moves edge patches from white to black."),
    Layer("to_rgb", "ToRGB", COLOR, _network_image(lambda job, out: out.to_rgb),
          "ToRGB decoding of the colourised head z_c."),
    Layer("X", "X (network input)", COLOR, _network_image(lambda job, out: job.inputs.x), "The network's input X."),
    Layer("Y", "Y on green", COLOR, _network_image(lambda job, out: out.y),
          "The network's output: the blended head on green."),
    Layer("comp", "Final comp", COLOR, _over_checker,
          "The output over a checkerboard, so transparency shows."),
)
LAYER_BY_NAME = {layer.name: layer for layer in LAYERS}
