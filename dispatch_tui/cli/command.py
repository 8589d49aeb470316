"""The ``dispatch`` Typer app and the order its commands are listed in.

Heavy modules are imported inside each command, so that ``dispatch --help``
and the scripting commands start fast.
"""

from __future__ import annotations

import typer

from dispatch_tui.cli import client_commands, serve

app = typer.Typer(
    name="dispatch",
    help="Emergency dispatch relay, console and scripting tools.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Emergency dispatch relay, console and scripting tools."""


app.command()(serve.serve)
app.command()(client_commands.send)
app.command()(client_commands.listen)
app.command()(client_commands.rooms)
app.command()(client_commands.clients)
app.command()(client_commands.history)
app.command()(client_commands.replay)
app.command()(client_commands.analyze)
app.command()(client_commands.tui)
app.command()(serve.demo)


def main() -> None:
    """Entry point of the ``dispatch`` command."""
    app()
