"""`changer studio`: write procedural green-screen plates with exact truth (EXR + PNG previews).

Without ``--pairs`` it writes one shot of N frames (one person, smooth motion) as
``plate.####.exr``; with ``--pairs`` N source/target pairs (different identities, same framing) as
``source.####.exr`` and ``target.####.exr``. Every frame also gets ``preview/<stem>.####.png``
(plate beside its label map) and the run a ``studio.json`` with the parameters of every frame.
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

from tqdm import tqdm

from changer.core.errors import ParamError
from changer.training.studio import MAX_SIZE, MIN_SIZE, SCREENS, generate
from changer.training.studio.export import write_exr, write_metadata, write_preview
from changer.training.studio.generate import MAX_FRAMES

log = logging.getLogger(__name__)


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise ParamError(f"--size: expected WIDTHxHEIGHT such as 1920x1080, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    parser.add_argument("--frames", type=int, default=8, help="frames of the shot, or number of pairs (default 8)")
    parser.add_argument("--size", default="256x256", help="WIDTHxHEIGHT, 64x64 to 4096x4096 (default 256x256)")
    parser.add_argument("--seed", type=int, default=0, help="seed; the same seed writes the same pixels (default 0)")
    parser.add_argument("--pairs", action="store_true", help="write source/target pairs instead of a shot")
    parser.add_argument("--screen", default="green", help="screen colour: green or blue (default green)")
    parser.add_argument("--first-frame", type=int, default=1, help="number of the first frame (default 1)")
    parser.add_argument("--ocio-config", help="OCIO config path or ocio:// URI for the EXR working space")
    parser.add_argument("--no-exr", action="store_true", help="write only the PNG previews and the JSON")


def _check(args: argparse.Namespace) -> tuple[int, int]:
    size = _size(args.size)
    if not all(MIN_SIZE <= v <= MAX_SIZE for v in size):
        raise ParamError(f"--size: expected width and height in [{MIN_SIZE}, {MAX_SIZE}], got {args.size}")
    if not 1 <= args.frames <= MAX_FRAMES:
        raise ParamError(f"--frames: expected an integer in [1, {MAX_FRAMES}], got {args.frames}")
    if args.seed < 0:
        raise ParamError(f"--seed: expected a non-negative integer, got {args.seed}")
    if args.screen not in SCREENS:
        raise ParamError(f"--screen: expected one of {', '.join(SCREENS)}, got {args.screen!r}")
    if args.first_frame < 0:
        raise ParamError(f"--first-frame: expected a non-negative integer, got {args.first_frame}")
    if args.out.exists() and not args.out.is_dir():
        raise ParamError(f"--out: {args.out} exists and is not a folder")
    return size


def run(args: argparse.Namespace) -> int:
    size = _check(args)

    out: Path = args.out
    (out / "preview").mkdir(parents=True, exist_ok=True)
    if args.pairs:
        pairs = (generate.make_pair(generate.sample_seed(args.seed, i), size, args.screen) for i in range(args.frames))
        items = ((("source", s), ("target", t)) for s, t in pairs)
    else:
        items = ((("plate", s),) for s in generate.iter_shot(args.seed, args.frames, size, args.screen))
    frames = []
    for index, item in enumerate(tqdm(items, total=args.frames, unit="frame", desc="studio", disable=None)):
        number = args.first_frame + index
        record = {"frame": number}
        for stem, sample in item:
            name = f"{stem}.{number:04d}"
            if not args.no_exr:
                write_exr(sample, out / f"{name}.exr", args.ocio_config, frame=number)
            write_preview(sample, out / "preview" / f"{name}.png", frame=number)
            record[stem] = sample.metadata()
        frames.append(record)
    write_metadata(out / "studio.json", {
        "command": "studio", "seed": args.seed, "size": list(size), "screen": args.screen, "pairs": args.pairs,
        "colour": "EXR RGB and colour layers: working space via OCIO; PNG previews: network space (sRGB-encoded)",
        "frames": frames,
    })
    log.info("wrote %d %s to %s", args.frames, "pairs" if args.pairs else "frames", out)
    return 0
