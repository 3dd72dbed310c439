"""Nuke's Inference node path (UNTESTED in Nuke): export the network, then load the .cat.

``changer export --format nuke --out changer.pt`` writes the TorchScript wrapper (9 channels in: X,
I_T^head, I_T^body; 4 out: Y and M; a ``tau`` attribute). CatFileCreator turns it into a .cat (see
docs/nuke_inference.md for the channel set-up); :func:`create_inference_node` then adds an Inference
node that uses it. The 9-channel input must be built by the comp (the batch path builds it for you).
"""

from __future__ import annotations

import subprocess

import nuke  # only ever imported inside Nuke

from .commands import changer_executable


def export_model(path: str, tau: float = 0.5) -> str:
    """Run ``changer export --format nuke`` and return the .pt path."""
    subprocess.run([changer_executable(), "export", "--format", "nuke", "--out", path, "--tau", str(tau)], check=True)
    return path


def create_inference_node(cat_path: str):
    """An Inference node reading ``cat_path`` (made with CatFileCreator from the exported .pt)."""
    node = nuke.createNode("Inference")
    node["modelFile"].setValue(cat_path)
    return node
