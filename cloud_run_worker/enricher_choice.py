"""Which enricher a process runs. The plugin and the CLI both choose here, once, at start.

``ENRICH_ENRICHER`` names it (``together`` or ``rules``); the service always sets it, so a
plugin never falls back from one to the other. Unset (the CLI run by hand), Together AI
runs when ``TOGETHER_API_KEY`` is set, else the local rules.

The Together module (and urllib3 with it) is imported only when a key is set, so a process
running the rules never pays for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import enrich_pb2
import rules_enricher
from enrichment import CallLimits, Enricher, EnrichFailure, Enrichment

API_KEY_ENV = "TOGETHER_API_KEY"
ENRICHER_ENV = "ENRICH_ENRICHER"

# What bounds each enricher, as Describe reports it: the rules compete for the interpreter
# ("cpu"); a remote model waits on the network ("io"), so many of its calls fit at once.
WORKLOADS = {"local_rules": "cpu", "together": "io"}


def workload_of(enricher: Enricher) -> str:
    """"cpu" or "io" for Describe; an enricher this module does not know counts as cpu,
    the safe side (the host then never raises its concurrency on its own)."""
    return WORKLOADS.get(enricher.name, "cpu")


class LocalRulesEnricher:
    """The deterministic rules enricher behind the Enricher protocol: no I/O, so it
    ignores the call's limits, and it holds nothing to close."""

    name = "local_rules"
    model_version = rules_enricher.MODEL_VERSION
    prompt_version = rules_enricher.PROMPT_VERSION
    # The rules take milliseconds; a call still running after this is spinning, and the
    # host replaces the process rather than wait for the job deadline.
    call_limit_seconds = 10.0
    # Nothing here waits or could stop part-way, so the plugin spares each call the
    # deadline and cancellation plumbing (plugin_server.UNBOUNDED).
    reads_call_limits = False

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
    """The enricher ``ENRICH_ENRICHER`` names; unset, Together when ``TOGETHER_API_KEY`` is
    set (and not blank), else the local rules.

    Raises ValueError, naming the variable, when ``ENRICH_ENRICHER`` is unknown, when it
    says ``together`` without a key, or when a Together setting (a timeout, the retry
    count) is malformed: a process that cannot honour its configuration should not start.
    """
    choice = env.get(ENRICHER_ENV, "").strip().lower()
    has_key = bool(env.get(API_KEY_ENV, "").strip())
    if choice not in ("", "together", "rules"):
        raise ValueError(f"{ENRICHER_ENV} must be together or rules, got {choice!r}")
    if choice == "together" and not has_key:
        raise ValueError(f"{ENRICHER_ENV}=together needs {API_KEY_ENV}")
    if choice == "rules" or (choice == "" and not has_key):
        return LocalRulesEnricher()
    import together_enricher  # here, not at the top: see the module docstring

    return together_enricher.TogetherEnricher(together_enricher.TogetherConfig.from_env(env))
