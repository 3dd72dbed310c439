"""`changer ofx build|install`: the node as an OpenFX plug-in bundle for Nuke, Resolve/Fusion, Natron or Flame.

``build`` compiles the C++ plug-in (cmake, else g++) and writes ``CHANGER.ofx.bundle`` with its
description generated from the one param list; ``install`` builds it, copies it to ``--dest`` and writes
``python.txt`` naming this Python, the interpreter the plug-in starts its engine in. Hosts find the
bundle through ``OFX_PLUGIN_PATH`` (docs/ofx.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from changer.plugin.ofx.build import build_bundle, install_bundle

DEFAULT_OUT = "build/ofx"
DEFAULT_DEST = "~/OFX/Plugins"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="ofx_command", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="build CHANGER.ofx.bundle", description="build CHANGER.ofx.bundle")
    build.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                       help=f"folder the bundle is written into (default: {DEFAULT_OUT})")
    build.add_argument("--tool", choices=("auto", "cmake", "g++"), default="auto",
                       help="build with cmake or plain g++ (default: cmake when installed)")
    install = sub.add_parser("install", help="build the bundle and install it with python.txt for this Python",
                             description="build the bundle and install it with python.txt for this Python")
    install.add_argument("--dest", default=DEFAULT_DEST, metavar="DIR",
                         help=f"the OFX plug-in folder to install into (default: {DEFAULT_DEST})")
    install.add_argument("--tool", choices=("auto", "cmake", "g++"), default="auto",
                         help="build with cmake or plain g++ (default: cmake when installed)")


def run(args: argparse.Namespace) -> int:
    if args.ofx_command == "build":
        built = build_bundle(Path(args.out), args.tool)
        print(f"built {built.path} with {built.tool}")
        print(f"needs glibc {built.glibc} or newer on the host machine (exports: OfxGetNumberOfPlugins, OfxGetPlugin)")
        return 0
    with tempfile.TemporaryDirectory(prefix="changer-ofx-") as tmp:
        built = build_bundle(Path(tmp), args.tool)
        installed = install_bundle(built, Path(args.dest), sys.executable)
    print(f"installed {installed} (engine: {sys.executable}); needs glibc {built.glibc} or newer")
    print(f"point hosts at it: export OFX_PLUGIN_PATH={installed.parent}")
    return 0
