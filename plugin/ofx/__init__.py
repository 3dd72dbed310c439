"""The CHANGER node as a real OpenFX plug-in: a small C++ ``.ofx.bundle`` and the Python sidecar that renders for it.

:mod:`.bundle_json` writes the bundle's description (clips and the ONE param list), :mod:`.build` compiles
and assembles the bundle, :mod:`.sidecar` is the engine process the plug-in starts, and
:mod:`.headless_host` is the OpenFX host the tests and the benchmark load the bundle with.
"""
