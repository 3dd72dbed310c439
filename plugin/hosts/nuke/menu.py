"""Nuke menu entries for CHANGER (UNTESTED in Nuke). Put this folder on NUKE_PATH and the installed
``changer`` package on Nuke's Python path (no torch is imported inside Nuke)."""

import nuke

menu = nuke.menu("Nodes").addMenu("CHANGER")
menu.addCommand("Head Blend (changer render)", "from changer.plugin.hosts.nuke import gizmo; gizmo.create_node()")
menu.addCommand(
    "Inference (TorchScript .cat)",
    "from changer.plugin.hosts.nuke import inference; "
    "inference.create_inference_node(nuke.getFilename('CHANGER .cat file', '*.cat'))",
)
