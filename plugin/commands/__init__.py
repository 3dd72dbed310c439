"""The shell: the `changer` entry point (:mod:`.main`) and one module per subcommand.

A command module defines ``add_arguments(parser)`` and ``run(args) -> int`` and imports what it needs
at its top: :mod:`.main` imports only the chosen command's module. Helpers only the shell uses
(:mod:`.stdout`, :mod:`.previews`) live here too; nothing outside this package imports it.
"""
