"""The options every client command shares: which relays, as whom, trusting what."""

from __future__ import annotations

from typing import Annotated

import typer

DEFAULT_URL = "ws://localhost:8765"
UrlOption = Annotated[
    list[str] | None,
    typer.Option(
        "--url",
        envvar="DISPATCH_URL",
        metavar="URL",
        help="Relay URL (ws:// or wss://); repeat it, or separate URLs with commas, "
        "to name several relays of one cluster: the next is used when one goes away.",
        show_default=DEFAULT_URL,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="DISPATCH_TOKEN", help="Access token.", show_default=False),
]
NameOption = Annotated[
    str | None,
    typer.Option("--name", envvar="DISPATCH_NAME", help="Display name.", show_default=False),
]
CaFileOption = Annotated[
    str | None,
    typer.Option(
        "--ca-file",
        envvar="DISPATCH_CA_FILE",
        help="CA certificate (PEM) to trust for wss://.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
