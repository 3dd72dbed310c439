"""`changer export`: the network as TorchScript (plain graph or Nuke's Inference wrapper) or ONNX.

``--format nuke`` writes the 9-in/4-out wrapper that Nuke's CatFileCreator turns into a .cat file
(docs/nuke_inference.md); ``torchscript`` the plain (X, head, body, τ) graph for libtorch hosts;
``onnx`` needs the optional onnx and onnxscript packages.
"""

from __future__ import annotations

import argparse
from pathlib import Path

FORMATS = ("nuke", "torchscript", "onnx")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="file to write (.pt for TorchScript, .onnx)")
    parser.add_argument("--format", default="nuke", choices=FORMATS, help="what to export (default nuke)")
    parser.add_argument("--weights", default="", help="a .safetensors file (default: the shipped weights)")
    parser.add_argument("--tau", type=float, default=0.5, help="initial τ of the Nuke wrapper (default 0.5)")
    parser.add_argument("--size", type=int, default=256, help="ONNX input size, square (default 256)")


def run(args: argparse.Namespace) -> int:
    from changer.core.model.weights_io import load_weights  # noqa: PLC0415
    from changer.plugin.models import resolve_weights  # noqa: PLC0415
    from changer.plugin.params import get_param  # noqa: PLC0415

    get_param("tau").validate(args.tau)
    model = load_weights(resolve_weights(args.weights), "cpu")
    if args.format == "nuke":
        from changer.core.model.nuke import export_nuke  # noqa: PLC0415

        path = export_nuke(model, args.out, tau=args.tau)
    elif args.format == "torchscript":
        from changer.core.model.export import export_torchscript  # noqa: PLC0415

        path = export_torchscript(model, args.out)
    else:
        from changer.core.model.export import export_onnx  # noqa: PLC0415

        path = export_onnx(model, args.out, size=(args.size, args.size))
    print(f"wrote {path}")
    return 0
