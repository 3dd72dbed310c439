"""The bundle's description file: what the plug-in declares at describe time, generated from the one param list.

Written into ``Contents/Resources/changer_ofx.json`` at build time so describing the effect never starts
Python. The params are exactly ``changer params --json``; the clips per context are
:func:`changer.plugin.descriptor.context_descriptor`'s.
"""

from __future__ import annotations

import dataclasses
import json
import re
from importlib import metadata
from typing import Any

from changer.plugin.descriptor import CONTEXTS, EffectDescriptor, context_descriptor
from changer.plugin.params import PAGES, params_json

#: File name of the description inside the bundle's Resources.
DESCRIPTION_FILE = "changer_ofx.json"


def page_id(label: str) -> str:
    """An OpenFX param name for a page (labels have spaces; names should not)."""
    return "page_" + re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def bundle_description() -> dict[str, Any]:
    """The effect, its clips per context, its pages and params, as the C++ plug-in reads them."""
    effect = EffectDescriptor()
    return {
        "identifier": effect.identifier,
        "version": list(effect.version),
        "label": effect.label,
        "grouping": effect.grouping,
        "description": effect.description,
        "changer_version": metadata.version("changer"),
        "contexts": {context: {"clips": [dataclasses.asdict(c) for c in context_descriptor(context).clips]}
                     for context in CONTEXTS},
        "pages": [{"id": page_id(label), "label": label} for label in PAGES],
        "params": json.loads(params_json()),
    }


def description_text() -> str:
    return json.dumps(bundle_description(), indent=1) + "\n"
