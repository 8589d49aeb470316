"""How a client command reaches the relays: the client of ``--url``, its failures as exit
codes, and requests that outlive a relay going away."""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import typer

from dispatch_tui.cli.exit_codes import Exit, fail
from dispatch_tui.cli.options import DEFAULT_URL

if TYPE_CHECKING:
    from dispatch_tui.client import DispatchClient


def _relay_urls(values: list[str] | None) -> list[str]:
    """The relays named by ``--url`` (repeated, or comma-separated), or the default."""
    if not values:
        return [DEFAULT_URL]
    urls = [url.strip() for value in values for url in value.split(",") if url.strip()]
    if not urls:
        fail(Exit.USAGE, "--url: no relay URL given")
    return urls


def relay_client(
    url: str | list[str] | None,
    token: str | None,
    name: str | None,
    ca_file: str | None = None,
    **options: Any,
) -> DispatchClient:
    """A client of the relays named by ``--url``; a plain string is one relay (demo)."""
    from dispatch_tui.client import DispatchClient

    urls = [url] if isinstance(url, str) else _relay_urls(url)

    ssl_context = None
    if ca_file is not None:
        import ssl

        try:
            ssl_context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            fail(Exit.USAGE, f"cannot load --ca-file {ca_file}: {exc}")
    return DispatchClient(urls, token=token, name=name, ssl_context=ssl_context, **options)


def run_command(work: Coroutine[Any, Any, None]) -> None:
    """Run one client command, turning its failures into the contract's exit codes."""
    import asyncio

    from dispatch_tui.client import ConnectionFailed, ServerRefused

    try:
        asyncio.run(work)
    except ServerRefused as exc:
        fail(Exit.REFUSED, f"relay refused: {exc}")
    except ConnectionFailed as exc:
        fail(Exit.CONNECTION, str(exc))
    except KeyboardInterrupt:
        raise typer.Exit(int(Exit.OK)) from None


#: Seconds a message refused as ``unavailable`` (the cluster's Redis away) is retried.
UNAVAILABLE_PATIENCE = 30.0


async def deliver(client: DispatchClient, event: str, data: dict[str, Any]) -> dict[str, Any]:
    """Send one request until a relay acknowledges it, moving on to the next relay if need be.

    A request counts as done only once its reply came. When the relay goes
    away before replying and other relays were named, the request is sent
    again on the next one that answers, so a publisher outlives a relay's
    kill -9; the price is a possible duplicate, if the lost relay had already
    relayed it. Each relay is given the request at most once. A refusal as
    ``unavailable`` (nothing was stored, sending again is safe) is retried for
    :data:`UNAVAILABLE_PATIENCE` seconds.
    """
    import asyncio
    import time

    from dispatch_tui.client import ConnectionFailed, ServerRefused

    attempts = len(client.urls)
    attempt = 1
    patience = time.monotonic() + UNAVAILABLE_PATIENCE
    while True:
        try:
            return await client.request(event, data)
        except ConnectionFailed as exc:
            if attempt == attempts:
                raise
            attempt += 1
            sys.stderr.write(f"dispatch: {client.url}: {exc}; moving to the next relay\n")
            await client.failover(replay=False)
        except ServerRefused as exc:
            if exc.code != "unavailable" or time.monotonic() > patience:
                raise
            sys.stderr.write(f"dispatch: {exc.message}; trying again\n")
            await asyncio.sleep(1.0)
