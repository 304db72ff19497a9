"""Reading a provider's wait from its answers' headers: a 429's, and a good answer that used
the last of the account's limit."""

from __future__ import annotations

import pytest

from fake_together import Reply
from rate_headers import exhausted_wait_seconds, parse_reset, provider_wait_seconds
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


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        # Together AI: requests left 0, the reset in seconds.
        ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0.25"}, 0.25),
        # Together AI: tokens used up; the longest reset said is the wait.
        ({"x-tokenlimit-remaining": "0", "x-ratelimit-remaining": "3",
          "x-ratelimit-reset": "2"}, 2.0),
        # OpenAI: tokens used up, each limit with its own reset.
        ({"x-ratelimit-remaining-requests": "4999", "x-ratelimit-remaining-tokens": "0",
          "x-ratelimit-reset-requests": "12ms", "x-ratelimit-reset-tokens": "1m30s"}, 90.0),
    ],
)
def test_a_good_answer_that_used_the_last_of_a_limit_asks_for_its_reset(
    headers: dict[str, str], seconds: float
) -> None:
    assert exhausted_wait_seconds(headers) == seconds


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-ratelimit-remaining": "1", "x-ratelimit-reset": "5"},  # room left
        {"x-ratelimit-remaining": "0"},  # used up, but no word on when it resets
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"},  # already reset
        {"x-ratelimit-remaining": "none", "x-ratelimit-reset": "5"},  # unreadable
        {"x-ratelimit-remaining": "", "x-ratelimit-reset": "5"},
    ],
)
def test_otherwise_a_good_answer_asks_for_no_pause(headers: dict[str, str]) -> None:
    assert exhausted_wait_seconds(headers) is None


def test_the_enricher_returns_the_pause_a_good_answer_asked_for() -> None:
    from fake_together import GOOD
    from test_together_enricher import enrich_with

    used_up = Reply(GOOD.status, GOOD.body, {"x-ratelimit-remaining": "0",
                                             "x-ratelimit-reset": "1.5"})
    enrichment, _ = enrich_with(used_up)
    assert enrichment.provider_pause_seconds == 1.5
    with_room = Reply(GOOD.status, GOOD.body, {"x-ratelimit-remaining": "7",
                                               "x-ratelimit-reset": "1.5"})
    enrichment, _ = enrich_with(with_room)
    assert enrichment.provider_pause_seconds == 0.0
