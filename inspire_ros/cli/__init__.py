"""The `inspire` command line: its exit statuses, and the one table mapping errors to them.

`main.main` catches every InspireError once and exits with `exit_code(error)`; subcommands
return these constants and let errors propagate.
"""

from __future__ import annotations

import sys

from ..errors import BagError, ConfigError, EvalError, InspireError, MediaError, ModelError

EXIT_OK = 0
EXIT_ERROR = 1  # the run failed (bag verify: the output is not a faithful copy)
EXIT_USAGE = 2  # refused: a bad argument, config, model, input or output; the message says the fix
EXIT_FRAMES_FAILED = 3  # finished, but some frames failed and were blanked (fail-closed)
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports it

# Error class -> exit status; a subclass takes its nearest listed base's.
EXIT_CODES: dict[type[InspireError], int] = {
    InspireError: EXIT_USAGE,
    ConfigError: EXIT_USAGE,
    ModelError: EXIT_USAGE,
    MediaError: EXIT_USAGE,
    BagError: EXIT_USAGE,
    EvalError: EXIT_USAGE,
}


def exit_code(error: InspireError) -> int:
    """The exit status of `error`: the EXIT_CODES entry of its class or nearest listed base."""
    for klass in type(error).__mro__:
        if klass in EXIT_CODES:
            return EXIT_CODES[klass]
    return EXIT_ERROR


def counts_at_least_one(args, *names: str) -> bool:
    """Whether the optional counts `names` (argparse dests: pets_frames) are unset or at least 1;
    False after saying which one is not (the command then returns EXIT_USAGE)."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            print(f"inspire: error: --{name.replace('_', '-')} must be at least 1", file=sys.stderr)
            return False
    return True
