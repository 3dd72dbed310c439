"""The CHANGER Group node for Nuke: inputs, generated knobs, and a Render button (UNTESTED in Nuke).

``create_node()`` builds a Group with six inputs (Target, Source, TargetHeadMatte, SourceHeadMatte,
Background, CleanScreen), one knob per param (from ``changer``'s own param list) and the render knobs.
Inside, a Read shows the rendered EXRs once a render has run (until then the Target passes through).
The Render button traces each input up to its Read node, runs ``changer render`` locally (in the
background, with a progress task) or writes the farm chunk commands, then points the Read at the output.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import nuke  # only ever imported inside Nuke

from .commands import (
    INPUT_FLAGS,
    AdapterError,
    changer_executable,
    chunk_lines,
    farm_script,
    params_from_changer,
    render_argv,
)
from .knobs import knob_specs, param_assignments

RESULT_READ = "changer_result"
RESULT_SWITCH = "changer_show_result"


def _make_knob(spec):
    cls = getattr(nuke, spec.knob_class)
    if spec.knob_class == "Enumeration_Knob":
        knob = cls(spec.name, spec.label, list(spec.values))
    elif spec.knob_class == "PyScript_Knob":
        knob = cls(spec.name, spec.label, spec.default)
    else:
        knob = cls(spec.name, spec.label)
    if spec.range and hasattr(knob, "setRange"):
        knob.setRange(*spec.range)
    if spec.default is not None and spec.knob_class != "PyScript_Knob":
        knob.setValue(spec.default)
    knob.setTooltip(spec.tooltip)
    return knob


def create_node():
    """Create the CHANGER Group node in the current graph."""
    group = nuke.nodes.Group(name="CHANGER")
    group.begin()
    inputs = [nuke.nodes.Input(name=name) for name, _ in INPUT_FLAGS]
    read = nuke.nodes.Read(name=RESULT_READ)
    switch = nuke.nodes.Switch(name=RESULT_SWITCH, inputs=[inputs[0], read], which=0)
    nuke.nodes.Output(inputs=[switch])
    group.end()
    tab = None
    for spec in knob_specs(params_from_changer()):
        if spec.tab != tab:
            group.addKnob(nuke.Tab_Knob(spec.tab.replace(" ", "_"), spec.tab))
            tab = spec.tab
        group.addKnob(_make_knob(spec))
    return group


def _read_file(node):
    """The file knob of the Read node feeding ``node`` (through Dots), or ''."""
    while node is not None and node.Class() == "Dot":
        node = node.input(0)
    if node is None:
        return ""
    if node.Class() != "Read":
        raise AdapterError(f"{node.name()} is not a Read node: write it out first, then connect the Read")
    return node["file"].value()


def render_clicked(group):
    """The Render button: run or hand out ``changer render`` for this node's inputs and knobs."""
    try:
        exe = changer_executable()
        params = params_from_changer(exe)
        inputs = {name: _read_file(group.input(i)) for i, (name, _) in enumerate(INPUT_FLAGS)}
        values = {p["name"]: group[p["name"]].value() for p in params}
        frames = group["changer_frames"].value() or f"{int(nuke.root().firstFrame())}-{int(nuke.root().lastFrame())}"
        out = group["changer_out"].value()
        workers = int(group["changer_workers"].value())
        argv = render_argv(exe, inputs, out, frames, param_assignments(params, values), workers)
        if group["changer_mode"].value() == "farm":
            lines = chunk_lines(argv, int(group["changer_chunk"].value()))
            script = farm_script(lines, Path(out).parent / "changer_chunks.sh")
            nuke.message(f"Farm chunks written to {script}")
        else:
            _run_local(group, argv, out, frames)
    except AdapterError as exc:
        nuke.message(f"CHANGER: {exc}")


def _run_local(group, argv, out, frames):
    """Run the render in a thread (Nuke stays responsive) and show the result when it ends."""
    task = nuke.ProgressTask("CHANGER render")
    task.setMessage(" ".join(argv[:2]) + " ...")

    def work():
        proc = subprocess.run([*argv, "--no-progress"], capture_output=True, text=True)
        task.setProgress(100)
        nuke.executeInMainThread(_finish, args=(group, proc, out, frames))

    threading.Thread(target=work, daemon=True).start()


def _finish(group, proc, out, frames):
    if proc.returncode != 0:
        nuke.message(f"CHANGER render failed:\n{proc.stderr.strip()}")
        return
    with group:
        read = nuke.toNode(RESULT_READ)
        read["file"].setValue(out)
        first, _, last = frames.partition("-")
        read["first"].setValue(int(first))
        read["last"].setValue(int(last or first))
        nuke.toNode(RESULT_SWITCH)["which"].setValue(1)
