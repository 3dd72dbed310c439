"""`changer export`: the network as TorchScript (plain graph or Nuke's Inference wrapper) or ONNX.

``--format nuke`` writes the 9-in/4-out wrapper that Nuke's CatFileCreator turns into a .cat file
(docs/nuke_inference.md); ``torchscript`` the plain (X, head, body, τ) graph for libtorch hosts;
``onnx`` needs the optional onnx and onnxscript packages. ``--out`` is checked before the model is
loaded: it may not be the weights or their card, and replaces an existing file only with ``--overwrite``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from changer.core.io.output_file import check_output_file
from changer.core.model.export import export_onnx, export_torchscript
from changer.core.model.nuke import export_nuke
from changer.core.model.weights_io import load_weights
from changer.core.weights import card_path
from changer.plugin.models import resolve_weights
from changer.plugin.params import get_param

FORMATS = ("nuke", "torchscript", "onnx")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="file to write (.pt for TorchScript, .onnx)")
    parser.add_argument("--format", default="nuke", choices=FORMATS, help="what to export (default nuke)")
    parser.add_argument("--weights", default="", help="a .safetensors file (default: the shipped weights)")
    parser.add_argument("--tau", type=float, default=0.5, help="initial τ of the Nuke wrapper (default 0.5)")
    parser.add_argument("--size", type=int, default=256, help="ONNX input size, square (default 256)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it already exists")


def run(args: argparse.Namespace) -> int:
    get_param("tau").validate(args.tau)
    weights = resolve_weights(args.weights)
    inputs = {"weights file": weights, "weights card": card_path(weights)}
    out = check_output_file(args.out, "--out", inputs=inputs, overwrite=args.overwrite)
    model = load_weights(weights, "cpu")
    if args.format == "nuke":
        path = export_nuke(model, out, tau=args.tau)
    elif args.format == "torchscript":
        path = export_torchscript(model, out)
    else:
        path = export_onnx(model, out, size=(args.size, args.size))
    print(f"wrote {path}")
    return 0
