"""The `inspire` command line."""
