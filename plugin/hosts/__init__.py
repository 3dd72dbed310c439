"""Hosts that drive the CHANGER effect: the batch EXR-sequence host and adapters for compositing hosts.

* :mod:`.batch` (``changer render``): EXR sequences in and out, resumable, in worker processes.
* :mod:`.options`: a render's options as data and as a command line (farm chunks, the Nuke adapter).
* :mod:`.nuke`: a Nuke menu and gizmo whose knobs are generated from the param list (untested in Nuke).
"""
