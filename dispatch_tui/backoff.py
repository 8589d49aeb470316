"""The waits between reconnect attempts, shared by the client and the upstream source.

Both reconnect loops wait longer after each failure, up to a cap, and start
again from the shortest wait once a connection has worked: they take a fresh
series from :func:`delays` then.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator


def delays(
    initial: float,
    maximum: float,
    factor: float = 2.0,
    *,
    jitter: float = 0.5,
    rand: Callable[[], float] = random.random,
) -> Iterator[float]:
    """Endless exponential backoff: the n-th wait is jittered below ``initial * factor**n``.

    That ceiling is capped at ``maximum``; the last ``jitter`` part of it is
    random. The default, 0.5, is "equal jitter": each wait is between half and
    all of its ceiling, so it still grows while several peers that lost the
    same server spread their retries instead of coming back in step (1.0
    would be "full jitter", anywhere from zero to the ceiling). ``rand``
    returns a float in [0, 1]; tests pass a fixed one.
    """
    ceiling = initial
    while True:
        capped = min(maximum, ceiling)
        yield capped * (1.0 - jitter + jitter * rand())
        ceiling *= factor
