"""One module per ``hetsim`` subcommand, each with ``register(subparsers)`` and ``run(args) -> int``."""
