"""The ``dispatch`` command: the Typer app is in :mod:`~dispatch_tui.cli.command`.

This package's own import is empty, so the console can take
:mod:`dispatch_tui.cli.exit_codes` without loading Typer or the relay's code.
"""
