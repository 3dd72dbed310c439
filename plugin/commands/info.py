"""`changer info`: what this install can do, in one screen (versions, devices, colour, formats, weights)."""

from __future__ import annotations

import argparse
import importlib.metadata
import platform

import OpenImageIO as oiio
import PyOpenColorIO as ocio
import torch

from changer.core.color import get_config
from changer.core.device import cupy_status, pick_device
from changer.core.weights import find_weights, weights_search_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ocio-config",
                        help="OCIO config path or ocio:// URI (default: $OCIO, else the built-in default)")


def collect(ocio_config: str | None = None) -> list[tuple[str, str]]:
    """The facts `changer info` prints, as (label, value) rows, so tests can check each one."""
    rows = [
        ("changer", importlib.metadata.version("changer")),
        ("python", platform.python_version()),
        ("torch", torch.__version__),
    ]
    if torch.cuda.is_available():
        cuda = f"yes, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}"
    else:
        cuda = f"no (torch built for CUDA {torch.version.cuda})" if torch.version.cuda else "no (CPU-only torch)"
    usable, reason = cupy_status()
    rows += [
        ("cuda", cuda),
        ("cupy", ("yes, " if usable else "no, ") + reason),
        ("device", str(pick_device("auto"))),
    ]
    cfg = get_config(ocio_config)
    rows += [
        ("ocio", f"OpenColorIO {ocio.__version__}"),
        ("ocio config", f"{cfg.name} (from {cfg.origin}: {cfg.source})"),
        ("ocio colourspaces", str(cfg.num_colorspaces)),
        ("oiio", f"OpenImageIO {oiio.__version__}"),
        ("oiio formats", oiio.get_string_attribute("format_list")),
    ]
    weights = find_weights()
    searched = ", ".join(str(p) for p in weights_search_path())
    rows.append(("weights", ", ".join(str(w) for w in weights) if weights else f"none found (searched: {searched})"))
    return rows


def run(args: argparse.Namespace) -> int:
    rows = collect(args.ocio_config)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    return 0
