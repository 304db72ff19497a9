"""Each enricher's own limit on one call, which the host uses to catch spinning calls."""

from __future__ import annotations

from enricher_choice import LocalRulesEnricher
from together_enricher import TogetherConfig, TogetherEnricher


def test_the_rules_enricher_allows_ten_seconds() -> None:
    assert LocalRulesEnricher.call_limit_seconds == 10.0


def test_the_llm_limit_covers_every_try_and_wait_its_settings_allow() -> None:
    default = TogetherEnricher(TogetherConfig(api_key="k", base_url="http://127.0.0.1:9"))
    try:
        # Two tries of up to twice 20 s, one wait of up to 10 s, 5 s of slack.
        assert default.call_limit_seconds == 95.0
    finally:
        default.close()
    slower = TogetherEnricher(
        TogetherConfig(
            api_key="k", base_url="http://127.0.0.1:9", timeout_seconds=30, max_retries=2
        )
    )
    try:
        assert slower.call_limit_seconds == 3 * 2 * 30 + 2 * 10 + 5
    finally:
        slower.close()
