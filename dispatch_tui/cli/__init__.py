"""The ``dispatch`` command.

Importing this package stays cheap: the Typer app is loaded only when
``app`` or :func:`main` is asked for, so the console can import
:mod:`dispatch_tui.cli.exit_codes` without Typer or the relay's code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dispatch_tui.cli.command import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``dispatch`` command."""
    from dispatch_tui.cli.command import app

    app()


def __getattr__(name: str) -> object:
    """``app``, loaded on first use."""
    if name == "app":
        from dispatch_tui.cli.command import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
