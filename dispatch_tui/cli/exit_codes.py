"""The ``dispatch`` command's exit codes (docs/cli.md), in one place.

The console reports why it ended with these codes too, so this module imports
nothing heavy: Typer is loaded only when :func:`fail` exits.
"""

from __future__ import annotations

import sys
from enum import IntEnum
from typing import NoReturn


class Exit(IntEnum):
    """Exit codes of docs/cli.md."""

    OK = 0
    REFUSED = 1
    USAGE = 2
    CONNECTION = 3


def fail(code: Exit, message: str) -> NoReturn:
    """One line on stderr, no traceback, and the contract's exit code."""
    import typer

    sys.stderr.write(f"dispatch: {message}\n")
    raise typer.Exit(int(code))
