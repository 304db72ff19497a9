"""Which enricher a process runs: Together AI when ``TOGETHER_API_KEY`` is set, else the
local rules. The plugin and the CLI both choose here, once, at start.

The Together module (and httpx with it) is imported only when a key is set, so a process
running the rules never pays for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import enrich_pb2
import rules_enricher
from enrichment import CallLimits, Enricher, EnrichFailure, Enrichment

API_KEY_ENV = "TOGETHER_API_KEY"


class LocalRulesEnricher:
    """The deterministic rules enricher behind the Enricher protocol: no I/O, so it
    ignores the call's limits, and it holds nothing to close."""

    name = "local_rules"
    model_version = rules_enricher.MODEL_VERSION
    prompt_version = rules_enricher.PROMPT_VERSION
    # The rules take milliseconds; a call still running after this is spinning, and the
    # host replaces the process rather than wait for the job deadline.
    call_limit_seconds = 10.0

    def enrich(self, candidate: dict, limits: CallLimits) -> Enrichment:
        try:
            return Enrichment(rules_enricher.enrich(candidate))
        except rules_enricher.InvalidCandidate as exc:
            raise EnrichFailure(enrich_pb2.REASON_INVALID_CANDIDATE, str(exc), False) from exc

    def log_fields(self) -> dict[str, Any]:
        return {"enricher": self.name, "model_version": self.model_version}

    def close(self) -> None:
        pass


def select_enricher(env: Mapping[str, str]) -> Enricher:
    """Together when ``TOGETHER_API_KEY`` is set (and not blank), else the local rules.

    Raises ValueError when a Together setting (a timeout, the retry count) is malformed:
    a process that cannot honour its configuration should not start.
    """
    if not env.get(API_KEY_ENV, "").strip():
        return LocalRulesEnricher()
    import together_enricher  # here, not at the top: see the module docstring

    return together_enricher.TogetherEnricher(together_enricher.TogetherConfig.from_env(env))
