"""How long a provider asks us to stay away, from a 429's headers.

``Retry-After`` (RFC 9110) first. Without it, the rate-limit headers say when the window
resets: Together AI's ``x-ratelimit-reset`` (seconds) and OpenAI's
``x-ratelimit-reset-requests`` / ``x-ratelimit-reset-tokens`` (``"1s"``, ``"6m0s"``,
``"20ms"``); the longest one wins. The host shares the wait with every instance (one 429
pauses the whole account), so reading it well is worth more than a guess.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

RESET_HEADERS = ("x-ratelimit-reset", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def provider_wait_seconds(
    headers: Mapping[str, str], parse_retry_after: Callable[[str | None], float | None]
) -> float | None:
    """Seconds to wait after a 429, or None when the provider did not say."""
    retry_after = parse_retry_after(headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    waits = [w for w in (parse_reset(headers.get(name)) for name in RESET_HEADERS) if w is not None]
    return max(waits) if waits else None


def parse_reset(value: str | None) -> float | None:
    """Seconds from a reset header: a plain number of seconds, or a duration such as
    ``"6m0s"``; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        parts = _DURATION_PART.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            return None
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    return max(0.0, seconds) if math.isfinite(seconds) else None
