"""Reading a provider's wait from a 429's headers."""

from __future__ import annotations

import pytest

from rate_headers import parse_reset, provider_wait_seconds
from together_enricher import parse_retry_after


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("12", 12.0), ("0.5", 0.5), ("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3s", 3723.0),
     ("", None), (None, None), ("soon", None), ("5x", None), ("-3", 0.0)],
)
def test_reset_headers_read_seconds_and_durations(value: str | None, seconds: float | None) -> None:
    assert parse_reset(value) == seconds


def test_retry_after_wins_over_the_reset_headers() -> None:
    headers = {"retry-after": "2", "x-ratelimit-reset": "30"}
    assert provider_wait_seconds(headers, parse_retry_after) == 2.0


def test_without_retry_after_the_longest_reset_is_the_wait() -> None:
    headers = {"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"}
    assert provider_wait_seconds(headers, parse_retry_after) == 360.0


def test_no_header_means_the_provider_did_not_say() -> None:
    assert provider_wait_seconds({}, parse_retry_after) is None


def test_a_429_with_only_a_reset_header_reaches_the_host_with_that_wait() -> None:
    from fake_together import Reply
    from test_together_enricher import enrich_with

    failure, _ = enrich_with(Reply(429, headers={"x-ratelimit-reset": "7"}), max_retries=0)
    assert failure.reason_name == "upstream_rate_limited"
    assert failure.retry_after_ms == 7000
