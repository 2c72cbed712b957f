"""Subcommands of the shipspec CLI, one module each (discovered by name)."""
