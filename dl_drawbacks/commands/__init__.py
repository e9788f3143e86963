"""Subcommands of `dl-drawbacks` that live apart from cli.py: each module has ``register(subparsers)``."""
