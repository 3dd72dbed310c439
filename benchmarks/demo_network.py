"""The network on the demo shot: does the face take the double's skin, and what does τ do?

    python benchmarks/demo_network.py [--out docs/tau_sweep.png] [--weights W] [--size 1280x720] [--frames 1]

Renders demo frames (``changer demo``'s shot, seed 7) through the review panel's engine (the effect
and its stage cache, so only the network re-runs per τ) and prints:

* **skin**: mean CIE ΔE76 between the face in the comp (the actor's face label, eroded) and the
  double's visible neck beside it (the double's neck label, eroded), against the same figure for the
  ideal (the double's own face next to its neck) and for the actor's own skin;
* **τ**: per τ in 0, 0.25, 0.5, 0.75, 1, the share of FPAT patches in the body group and the mean
  |ΔY| against τ = 0.5 inside the network crop.

It writes a PNG strip of the first frame cut to the crop: Y on green per τ, and the FPAT groups over
Y (body group tinted, the rest dimmed).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

from changer.core.color import to_network
from changer.core.pipeline.crop import inside
from changer.plugin.commands.previews import contact_sheet, display, panel
from changer.plugin.hosts.options import RenderOptions
from changer.training.colour_metrics import delta_e76, srgb_to_lab
from changer.training.studio.sample import Sample
from changer.training.studio.shot import demo_samples, make_demo_shot, size_text
from changer.ui.layers import LAYER_BY_NAME
from changer.ui.session import RenderedFrame, RenderRequest, ReviewSession

ROOT = Path(__file__).resolve().parents[1]
TAUS = (0.0, 0.25, 0.5, 0.75, 1.0)
PANEL = 256
#: The body group's tint over Y, and how dark the other group is drawn.
TINT, DIM = torch.tensor([1.0, 0.55, 0.1]).view(3, 1, 1), 0.45
#: Skin regions are eroded by this many pixels so edges and shading at the outline do not count.
ERODE = 3


def mean_lab(image: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Mean CIELAB (3,) of a (3,H,W) sRGB-encoded image over a (1,H,W) boolean region."""
    lab = srgb_to_lab(image.clamp(0.0, 1.0)[None])[0]
    return lab[:, region[0]].mean(dim=1)


def skin(sample: Sample, name: str) -> torch.Tensor:
    """``name``'s binary label of ``sample`` eroded by :data:`ERODE` pixels, (1,H,W) boolean."""
    mask = sample.mask(name)[None]
    return (-F.max_pool2d(-mask, 2 * ERODE + 1, stride=1, padding=ERODE))[0] > 0.5


def skin_row(frame: RenderedFrame, target: Sample, source: Sample) -> tuple[float, float, float]:
    """(ΔE76 comp face vs double's neck, ideal: double's face vs its neck, actor's face vs double's neck)."""
    color = frame.request.params.color_config()
    comp = to_network(frame.result.rgba[:3][None], color)[0]
    neck = mean_lab(target.plate, skin(target, "neck"))
    face = mean_lab(comp, skin(source, "face"))
    ideal = mean_lab(target.plate, skin(target, "face"))
    actor = mean_lab(source.plate, skin(source, "face"))
    return tuple(float(delta_e76(a, neck, dim=0)) for a in (face, ideal, actor))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "tau_sweep.png")
    ap.add_argument("--weights", help="weights file (default: the shipped weights)")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--frames", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7, help="demo shot seed (changer demo's default)")
    args = ap.parse_args(argv)
    size = size_text(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        shot = make_demo_shot(Path(tmp) / "shot", args.frames, size, seed=args.seed)
        sets = ("output=comp", *((f"weights={args.weights}",) if args.weights else ()))
        options = RenderOptions(target=shot.target, source=shot.source, target_matte=shot.target_matte,
                                source_matte=shot.source_matte, out=None, sets=sets)
        session = ReviewSession(options)
        print("| frame | ΔE76 comp face vs double's neck | ideal (double's face vs its neck) | actor's own skin |")
        print("|---:|---:|---:|---:|")
        for number, target, source in demo_samples(args.seed, args.frames, size):
            row = skin_row(session.render(RenderRequest(number, session.params)), target, source)
            print(f"| {number} | " + " | ".join(f"{v:.1f}" for v in row) + " |")
        rendered = [session.render(RenderRequest(1, session.params.replace(tau=tau))) for tau in TAUS]
    color = session.params.color_config()
    ys = [LAYER_BY_NAME["Y"].extract(r) for r in rendered]
    groups = [LAYER_BY_NAME["fpat_groups"].extract(r) for r in rendered]
    box = rendered[0].job.box
    part, _ = inside(box, tuple(ys[0].shape[-2:]))
    crop = (slice(None), slice(part.y0, part.y1), slice(part.x0, part.x1))
    print("\n| τ | patches in the body group | mean abs(Y − Y at τ=0.5) in the crop |\n|---:|---:|---:|")
    middle = ys[TAUS.index(0.5)]
    for tau, y, g, r in zip(TAUS, ys, groups, rendered, strict=True):
        rows, cols = r.output.attention.shape[-2:]
        share = float(g[crop].mean())
        diff = float((y - middle)[crop].abs().mean())
        print(f"| {tau:g} | {share:.1%} of the {rows}x{cols} patches | {diff:.4f} |")
    shown = [display(y, color) for y in ys]
    overlay = [s * (g * TINT + (1.0 - g) * DIM) for s, g in zip(shown, groups, strict=True)]
    path = contact_sheet([[panel(s, box, PANEL) for s in shown], [panel(o, box, PANEL) for o in overlay]], args.out)
    print(f"wrote {path} (columns: τ = {', '.join(f'{t:g}' for t in TAUS)}; rows: Y on green, FPAT groups)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
