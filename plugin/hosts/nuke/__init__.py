"""The Nuke adapter (UNTESTED in Nuke: no Nuke on the build machines).

Two paths into Nuke:

* **Batch**: a Group node whose knobs are generated from the node's param list; its Render button
  runs ``changer render`` on the files of the Read nodes feeding it (locally, or as farm chunk
  command lines) and points an internal Read at the result (:mod:`.gizmo`).
* **Inference**: ``changer export --format nuke`` writes a TorchScript model that Nuke's
  CatFileCreator turns into a .cat for its Inference node (docs/nuke_inference.md, :mod:`.inference`).

:mod:`.knobs` and :mod:`.commands` are plain Python (no Nuke, no torch) and are tested; Nuke's own
Python never imports torch: the param list comes from ``changer params --json``, run by the
``changer`` executable in the Python that has CHANGER installed.
"""
