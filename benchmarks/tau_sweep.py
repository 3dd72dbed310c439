"""τ sweep strip of one demo frame: Y and FPAT's two groups at τ = 0, 0.25, 0.5, 0.75, 1.

    python benchmarks/tau_sweep.py [--out docs/tau_sweep.png] [--weights W] [--size 1280x720] [--frame 1]

Renders the demo shot's frame through the review panel's engine (the effect and its stage cache,
so only the network re-runs per τ), and writes a PNG with two rows cut to the network crop: Y on
green, and the FPAT groups over Y (body group S_b tinted, the rest dimmed). It prints, per τ, the
share of patches in the body group and the mean |ΔY| against τ = 0.5 inside the crop.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from changer.plugin.commands.previews import contact_sheet, display, panel
from changer.plugin.hosts.options import RenderOptions
from changer.training.studio.shot import make_demo_shot, size_text
from changer.ui.layers import LAYER_BY_NAME
from changer.ui.session import RenderRequest, ReviewSession

ROOT = Path(__file__).resolve().parents[1]
TAUS = (0.0, 0.25, 0.5, 0.75, 1.0)
PANEL = 256
#: The body group's tint over Y, and how dark the other group is drawn.
TINT, DIM = torch.tensor([1.0, 0.55, 0.1]).view(3, 1, 1), 0.45


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "tau_sweep.png")
    ap.add_argument("--weights", help="weights file (default: the shipped weights)")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--frame", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7, help="demo shot seed (changer demo's default)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        shot = make_demo_shot(Path(tmp) / "shot", args.frame, size_text(args.size), seed=args.seed)
        sets = (f"weights={args.weights}",) if args.weights else ()
        options = RenderOptions(target=shot.target, source=shot.source, target_matte=shot.target_matte,
                                source_matte=shot.source_matte, out=None, sets=sets)
        session = ReviewSession(options)
        rendered = [session.render(RenderRequest(args.frame, session.params.replace(tau=tau))) for tau in TAUS]
    color = session.params.color_config()
    ys = [LAYER_BY_NAME["Y"].extract(r) for r in rendered]
    groups = [LAYER_BY_NAME["fpat_groups"].extract(r) for r in rendered]
    box = rendered[0].job.box
    print("| τ | patches in the body group | mean abs(Y − Y at τ=0.5) in the crop |\n|---:|---:|---:|")
    middle = ys[TAUS.index(0.5)]
    for tau, y, g, r in zip(TAUS, ys, groups, rendered, strict=True):
        rows, cols = r.output.attention.shape[-2:]
        share = float(g[:, box.y0:box.y1, box.x0:box.x1].mean())
        diff = float((y - middle)[:, box.y0:box.y1, box.x0:box.x1].abs().mean())
        print(f"| {tau:g} | {share:.1%} of {rows * cols} | {diff:.4f} |")
    shown = [display(y, color) for y in ys]
    overlay = [s * (g * TINT + (1.0 - g) * DIM) for s, g in zip(shown, groups, strict=True)]
    path = contact_sheet([[panel(s, box, PANEL) for s in shown], [panel(o, box, PANEL) for o in overlay]], args.out)
    print(f"wrote {path} (columns: τ = {', '.join(f'{t:g}' for t in TAUS)}; rows: Y on green, FPAT groups)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
