"""`changer params`: the node's param list, for people (plain or a Markdown table) and for host adapters (JSON).

The Nuke adapter runs ``changer params --json`` in changer's own Python, so Nuke's never imports torch.
"""

from __future__ import annotations

import argparse
import sys

from changer.plugin.params import PARAMS, markdown_table, params_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--markdown", action="store_true", help="the params table as Markdown (as in the README)")
    form.add_argument("--json", action="store_true", help="the param list as JSON (what host adapters read)")


def run(args: argparse.Namespace) -> int:
    if args.markdown:
        sys.stdout.write(markdown_table())
    elif args.json:
        print(params_json())
    else:
        for p in PARAMS:
            print(f"{p.name:24} {p.type:7} {p.default!s:10} {p.page}")
    return 0
