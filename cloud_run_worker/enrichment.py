"""What every enricher promises the plugin: its result, its failures and the limits of a call.

The plugin (plugin_server.py) and the CLI (run_enrich_job.py) drive any enricher through
these types, so the choice between the Together LLM and the local rules is made once, at
start, and nothing downstream needs to know which one runs. Failures carry the contract's
reasons (enrich.proto ``Reason``) from where they happen, because only the enricher knows
whether an HTTP 429 or a broken answer is worth a retry; the host must never guess from
message text (REFERENCE W13).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import enrich_pb2


@dataclass
class EnrichFailure(Exception):
    """A failed enrichment with the reason the host decides retries on.

    Not frozen: raising an exception sets attributes such as __traceback__ on it.
    """

    reason: int
    message: str
    retryable: bool
    retry_after_ms: int = 0
    # What the provider billed for the calls that failed: set by enrichers that pay per
    # token, so that a failed job's cost is not lost.
    token_usage: TokenUsage | None = None

    def __str__(self) -> str:
        return self.message

    @property
    def reason_name(self) -> str:
        """The reason as the host's job records spell it: ``upstream_rate_limited``."""
        return enrich_pb2.Reason.Name(self.reason).removeprefix("REASON_").lower()

    def to_proto(self) -> enrich_pb2.EnrichError:
        error = enrich_pb2.EnrichError(
            reason=self.reason,
            message=self.message,
            retryable=self.retryable,
            retry_after_ms=self.retry_after_ms,
        )
        if self.token_usage is not None:
            error.token_usage.CopyFrom(self.token_usage.to_proto())
        return error


@dataclass(frozen=True)
class TokenUsage:
    """Tokens an LLM billed for one enrichment, summed over every answer it paid for."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )

    @classmethod
    def from_api(cls, usage: Any) -> TokenUsage:
        """Reads an OpenAI-style ``usage`` object; anything missing or odd counts as zero,
        because a provider's accounting quirk must not fail an enrichment it delivered."""
        if not isinstance(usage, dict):
            return cls()

        def count(key: str) -> int:
            value = usage.get(key)
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            return value if ok else 0

        prompt, completion = count("prompt_tokens"), count("completion_tokens")
        return cls(prompt, completion, count("total_tokens") or prompt + completion)

    def to_proto(self) -> enrich_pb2.TokenUsage:
        return enrich_pb2.TokenUsage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            total_tokens=self.total_tokens,
        )


@dataclass(frozen=True)
class Enrichment:
    """One enricher's answer: the REFERENCE §5 schema, and what producing it cost.

    ``attempts`` and ``waited_seconds`` say how hard the enricher had to try (upstream
    retries and the time slept between them), for logs and tests. ``provider_pause_seconds``
    is how long the provider said, on this very answer, that the account's limit stays used
    up (0: it did not say so); the host pauses every instance's calls for it.
    """

    result: dict
    token_usage: TokenUsage | None = None
    attempts: int = 1
    waited_seconds: float = 0.0
    provider_pause_seconds: float = 0.0


@dataclass(frozen=True)
class CallLimits:
    """What bounds one call: the caller may go away (``cancelled``), and it has a deadline
    (a ``time.monotonic()`` value, or None for none). Enrichers that wait on an upstream
    check both before each try and sleep on the event, so a cancelled call stops at once."""

    cancelled: threading.Event = field(default_factory=threading.Event)
    deadline: float | None = None

    def remaining(self) -> float | None:
        """Seconds left before the deadline (negative once it passed), or None."""
        return None if self.deadline is None else self.deadline - time.monotonic()


class Enricher(Protocol):
    """An enricher the plugin can serve: a name and versions for Describe and every
    response, ``enrich`` (raises EnrichFailure for every failure it understands) and
    ``close`` for the resources it holds for the life of the process.
    ``call_limit_seconds`` is the longest one call can take (0: no limit of its own); the
    host replaces a process whose call runs past it. An enricher may also say
    ``reads_call_limits = False`` (the rules: no I/O) so the plugin skips building each
    call's limits; without it, every call gets its deadline and cancellation."""

    name: str
    model_version: str
    prompt_version: str
    call_limit_seconds: float

    def enrich(self, candidate: dict, limits: CallLimits) -> Enrichment: ...

    def log_fields(self) -> dict[str, Any]: ...

    def close(self) -> None: ...
