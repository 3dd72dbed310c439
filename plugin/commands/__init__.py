"""One module per `changer` subcommand: `add_arguments(parser)` and `run(args) -> int`."""
