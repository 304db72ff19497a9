"""How long a provider asks us to stay away, from its answers' headers.

After a 429: ``Retry-After`` (RFC 9110) first. Without it, the rate-limit headers say when
the window resets: Together AI's ``x-ratelimit-reset`` (seconds) and OpenAI's
``x-ratelimit-reset-requests`` / ``x-ratelimit-reset-tokens`` (``"1s"``, ``"6m0s"``,
``"20ms"``); the longest one wins. The host shares the wait with every instance (one 429
pauses the whole account), so reading it well is worth more than a guess.

After a good answer: when a "remaining" header (Together AI's ``x-ratelimit-remaining`` and
``x-tokenlimit-remaining``, OpenAI's ``x-ratelimit-remaining-requests`` / ``-tokens``) says
0, the next call before the reset would be a 429; the same reset headers say how long the
host should hold every instance instead (exhausted_wait_seconds).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

RESET_HEADERS = ("x-ratelimit-reset", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")
REMAINING_HEADERS = (
    "x-ratelimit-remaining",  # Together AI: requests
    "x-tokenlimit-remaining",  # Together AI: tokens
    "x-ratelimit-remaining-requests",  # OpenAI
    "x-ratelimit-remaining-tokens",
)

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


def exhausted_wait_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds until the account may call again, when a good answer's headers say it used
    the last of a limit (a remaining count of 0); None when nothing is used up, or the
    provider did not say when it resets (its 429 will then say)."""
    if not any(_used_up(headers.get(name)) for name in REMAINING_HEADERS):
        return None
    waits = [w for w in (parse_reset(headers.get(name)) for name in RESET_HEADERS) if w is not None]
    wait = max(waits, default=0.0)
    return wait if wait > 0 else None


def _used_up(value: str | None) -> bool:
    """A remaining count of 0 (or less); an absent or unreadable one says nothing."""
    try:
        remaining = float(value) if value else math.nan
    except ValueError:
        return False
    return remaining <= 0  # NaN compares False


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
