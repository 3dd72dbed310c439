"""Figures of the keyer: alpha and comp on the studio's hard cases (before: the ten-line
colour-difference keyer; after: this keyer, defaults) and on real frames (no truth).

    python benchmarks/keying_figure.py [--split held_out] [--out docs/keying_quality.png]
        [--real /work/shared/data/real-greenscreen] [--real-out keying_real.png]

Hard cases: one 512x512 plate per case of ``--split`` (seed = the case's index mod 2, so green and
blue screens alternate; nothing picked by eye), cropped around the head and shoulders. Columns:
plate, ten-line alpha, our alpha, our comp (despilled foreground over a grey checker), true alpha.
Real frames: the frames in :data:`REAL_CROPS` that ``--real`` holds, cropped; columns plate, alpha,
comp. Both are written as small PNGs. The real frames' licence forbids shipping them, so their
figure goes to the current folder for looking at, never into ``docs/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import OpenImageIO as oiio
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from keying_quality import ten_line_key

from changer.core.io import read_image, write_image
from changer.core.keying import KeyerParams, key
from changer.training.studio import HARD_CASES, hard_sample

ROOT = Path(__file__).resolve().parents[1]
TILE = 112
REAL_TILE = 240
LABEL_W = 120
HEADER_H = 22
#: Row labels that would not fit the label column on one line.
SHORT = {"dark strands, uneven screen": "dark strands,\nuneven",
         "wardrobe near the screen hue": "near-screen\nwardrobe",
         "grey wardrobe, strong bounce": "grey wardrobe,\nbounce"}
#: Real frame -> (row label, (x0, y0, x1, y1) crop in its pixels).
REAL_CROPS = {"sejong3_green_t1.5.png": ("sejong3\nhand in\nmotion blur", (60, 420, 700, 1060)),
              "lincoln2_green_t0.5.png": ("lincoln2\nhair, ears", (330, 0, 970, 640))}


def checker(h: int, w: int, square: int) -> torch.Tensor:
    """(1,3,H,W) neutral grey checker, sRGB-encoded."""
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    grey = torch.where((yy // square + xx // square) % 2 == 0, 0.42, 0.58)
    return grey.float().expand(1, 3, h, w)


def comp(alpha: torch.Tensor, fg: torch.Tensor, square: int) -> torch.Tensor:
    """The despilled foreground over :func:`checker`."""
    h, w = alpha.shape[-2:]
    return alpha * fg + (1 - alpha) * checker(h, w, square)


def head_crop(sample_mask: torch.Tensor) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): a square around the head and shoulders, from the (1,H,W) head mask."""
    h, w = sample_mask.shape[-2:]
    ys, xs = torch.nonzero(sample_mask[0] > 0, as_tuple=True)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())
    side = min(h, w, int(1.3 * max(y1 - y0, x1 - x0)))
    cx = (x0 + x1) // 2
    left = min(max(cx - side // 2, 0), w - side)
    top = min(max(y0 - side // 8, 0), h - side)
    return left, top, left + side, top + side


def tile(image: torch.Tensor, box: tuple[int, int, int, int], size: int) -> torch.Tensor:
    """(3,size,size) crop ``box`` of an (1,C,H,W) image, area-resampled; mattes become grey."""
    x0, y0, x1, y1 = box
    crop = image[..., y0:y1, x0:x1].float()
    crop = F.interpolate(crop, size=(size, size), mode="area")[0]
    return crop.expand(3, -1, -1).clamp(0, 1)


def label(text: str, width: int, height: int) -> torch.Tensor:
    """(3,height,width) white text on black (one line per ``\\n``), in OpenImageIO's default font."""
    buf = oiio.ImageBuf(oiio.ImageSpec(width, height, 3, oiio.FLOAT))
    lines = text.split("\n")
    for i, line in enumerate(lines):
        y = height // 2 + 5 + 16 * i - 8 * (len(lines) - 1)
        oiio.ImageBufAlgo.render_text(buf, 4, y, line, 13, "", (1.0, 1.0, 1.0))
    return torch.from_numpy(buf.get_pixels(oiio.FLOAT).copy()).permute(2, 0, 1)


def grid(rows: list[tuple[str, list[torch.Tensor]]], columns: list[str], size: int) -> torch.Tensor:
    """Rows of equal tiles with a label column and a header row."""
    header = [label("", LABEL_W, HEADER_H)] + [label(c, size, HEADER_H) for c in columns]
    lines = [torch.cat(header, 2)]
    for name, tiles in rows:
        lines.append(torch.cat([label(name, LABEL_W, size), *tiles], 2))
    return torch.cat(lines, 1)


def hard_figure(split: str) -> torch.Tensor:
    """The hard-case figure (see the module docstring)."""
    rows = []
    for i, case in enumerate(HARD_CASES):
        s = hard_sample(case, i % 2, 512, split)
        kind = s.studio.screen_kind
        plate = s.plate[None]
        ours = key(plate, KeyerParams(screen_type=kind))
        ten_alpha, _ = ten_line_key(plate, kind)
        box = head_crop(s.mask("head"))
        square = max(4, (box[2] - box[0]) // 12)
        tiles = [tile(x, box, TILE) for x in (plate, ten_alpha, ours.alpha, comp(ours.alpha, ours.fg, square),
                                               s.alpha[None])]
        rows.append((f"{SHORT.get(case, case)}\n{kind} screen", tiles))
    return grid(rows, ["plate", "ten-line alpha", "our alpha", "our comp", "true alpha"], TILE)


def real_figure(folder: Path) -> torch.Tensor | None:
    """The real-frame figure, or None when ``folder`` holds none of :data:`REAL_CROPS`."""
    rows = []
    for name, (text, box) in REAL_CROPS.items():
        path = folder / name
        if not path.is_file():
            continue
        plate = read_image(path, expect_channels=3)[0][None]
        res = key(plate, KeyerParams())
        tiles = [tile(x, box, REAL_TILE) for x in (plate, res.alpha, comp(res.alpha, res.fg, 40))]
        rows.append((text, tiles))
    return grid(rows, ["plate", "our alpha", "our comp"], REAL_TILE) if rows else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="held_out", choices=["tune", "held_out"])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "keying_quality.png")
    ap.add_argument("--real", type=Path, default=Path("/work/shared/data/real-greenscreen"))
    ap.add_argument("--real-out", type=Path, default=Path("keying_real.png"),
                    help="where the real-frame figure goes (not docs/: the frames may not be shipped)")
    args = ap.parse_args(argv)
    path = write_image(args.out, hard_figure(args.split))
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} KB)")
    real = real_figure(args.real)
    if real is None:
        print(f"no real frames in {args.real}; {args.real_out} not written")
    else:
        path = write_image(args.real_out, real)
        print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
