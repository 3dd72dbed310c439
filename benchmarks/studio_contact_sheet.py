"""Contact sheet of the procedural studio: 16 random samples, each plate beside its label map.

    python benchmarks/studio_contact_sheet.py [--out docs/studio_contact_sheet.png] [--seed 0]

Label colours: body blue, neck (and chest skin) amber, face coral, ears violet, hair green,
background near-black; the label colour fades with alpha so soft edges and hair strands show. Tiles
are portrait (192x240) so the sheet stays under 1.5 MB although sensor noise makes plates hard
to compress. Sample ``i`` is ``random_sample(sample_seed(seed, i))``; every fourth one is on a blue
screen.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from changer.core.io import write_image
from changer.training.studio import random_sample, sample_seed
from changer.training.studio.preview import contact_sheet

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "studio_contact_sheet.png")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=16)
    ap.add_argument("--size", default="192x240", help="tile WIDTHxHEIGHT (default 192x240)")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    samples = [random_sample(sample_seed(args.seed, i), (width, height), "blue" if i % 4 == 3 else "green")
               for i in range(args.count)]
    path = write_image(args.out, contact_sheet(samples))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
