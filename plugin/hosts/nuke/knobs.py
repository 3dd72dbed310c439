"""Nuke knobs generated from the node's param list (plain data; no Nuke needed to build them).

Each param becomes one knob of the same name on a tab named after its page; choice params become
Enumeration knobs, RGB params a String knob ("auto" or "r,g,b": Nuke's Color knob has no "unset"),
paths File knobs. The adapter's own knobs (output, frames, local/farm, the Render button) are
prefixed ``changer_`` so they can never clash with a param.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KNOB_CLASSES = {
    "float": "Double_Knob",
    "int": "Int_Knob",
    "bool": "Boolean_Knob",
    "choice": "Enumeration_Knob",
    "string": "String_Knob",
    "path": "File_Knob",
    "rgb": "String_Knob",
}
ADAPTER_TAB = "CHANGER Render"


@dataclass(frozen=True)
class KnobSpec:
    """One knob to create: class, name, label, default, slider range, menu values, tooltip, tab."""

    knob_class: str
    name: str
    label: str
    default: Any = None
    range: tuple[float, float] | None = None
    values: tuple[str, ...] = ()
    tooltip: str = ""
    tab: str = ""


def _default(param: Mapping[str, Any]) -> Any:
    if param["type"] == "rgb":
        value = param["default"]
        return "auto" if value is None else ",".join(f"{v:g}" for v in value)
    return param["default"]


def param_knob(param: Mapping[str, Any]) -> KnobSpec:
    """The knob for one param (a dict as printed by ``changer params --json``)."""
    kind = param["type"]
    low, high = param.get("display_min"), param.get("display_max")
    slider = (float(low), float(high)) if kind in ("float", "int") and low is not None and high is not None else None
    hint = param["hint"] + (f" (script name: {param['name']})" if param["hint"] else "")
    return KnobSpec(KNOB_CLASSES[kind], param["name"], param["label"], _default(param), slider,
                    tuple(param.get("choices") or ()), hint, param["page"])


ADAPTER_KNOBS = (
    KnobSpec("File_Knob", "changer_out", "Output", "",
             tooltip="Output EXR sequence, e.g. /shots/x/changer/comp.####.exr", tab=ADAPTER_TAB),
    KnobSpec("String_Knob", "changer_frames", "Frames", "",
             tooltip="Frame range, e.g. 1001-1100 (empty: the script's frame range)", tab=ADAPTER_TAB),
    KnobSpec("Enumeration_Knob", "changer_mode", "Run", "local", values=("local", "farm"),
             tooltip="local: run changer render now; farm: write one command line per chunk to a .sh file",
             tab=ADAPTER_TAB),
    KnobSpec("Int_Knob", "changer_chunk", "Chunk Size", 10, (1.0, 100.0), tooltip="Frames per farm chunk",
             tab=ADAPTER_TAB),
    KnobSpec("Int_Knob", "changer_workers", "Workers", 1, (1.0, 8.0), tooltip="Local render processes",
             tab=ADAPTER_TAB),
    KnobSpec("PyScript_Knob", "changer_render", "Render",
             "from changer.plugin.hosts.nuke import gizmo; gizmo.render_clicked(nuke.thisNode())", tab=ADAPTER_TAB),
)


def knob_specs(params: Sequence[Mapping[str, Any]]) -> list[KnobSpec]:
    """Every knob of the gizmo, params first (grouped by page, in list order), then the adapter's."""
    pages: dict[str, list[KnobSpec]] = {}
    for param in params:
        pages.setdefault(param["page"], []).append(param_knob(param))
    return [knob for knobs in pages.values() for knob in knobs] + list(ADAPTER_KNOBS)


def param_assignments(params: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> list[str]:
    """``--set name=value`` items for every param knob whose value differs from the param default."""
    items = []
    for param in params:
        name = param["name"]
        if name not in values:
            continue
        value = values[name]
        if value == _default(param):
            continue
        if param["type"] == "bool":
            text = "true" if value else "false"
        elif param["type"] == "int":
            text = str(int(value))
        else:
            text = str(value)
        items.append(f"{name}={text}")
    return items
