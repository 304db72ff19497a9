"""The Together AI enricher: one OpenAI-compatible chat completion per candidate.

It keeps the contract of the service we replace (REFERENCE §5: endpoint, body, model and
timeout variables, the prompt's schema) and fixes how failures travel: every outcome is
classified by HTTP status code or exception type, never by message text (W13), into the
plugin contract's reasons, which the host retries on.

Retries happen here first, because the plugin holds what the host does not: a 429's
Retry-After and a warm connection. ``TOGETHER_AI_MAX_RETRIES`` more tries follow a 429
(after Retry-After), a 5xx, a lost connection or a timeout (after 1 s, 2 s … with jitter)
and an answer that is not the schema (at once: the provider is fine, the sample was bad).
A wait that would pass the call's deadline, or a Retry-After longer than MAX_WAIT_SECONDS,
is not slept: the failure goes back with retry_after_ms, and the host, which can park the
job without holding a process, does the waiting.

One httpx.Client serves the whole process (its docstring: "It can be shared between
threads"), so the gRPC server's worker threads share a pool of kept-alive TLS connections.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from enrich_pb2 import (
    REASON_INTERNAL,
    REASON_TIMEOUT,
    REASON_UPSTREAM_BAD_OUTPUT,
    REASON_UPSTREAM_RATE_LIMITED,
    REASON_UPSTREAM_UNAVAILABLE,
)
from enrichment import CallLimits, EnrichFailure, Enrichment, TokenUsage
from rate_headers import provider_wait_seconds
from together_output import BadOutput, parse_enrichment
from together_prompt import PROMPT_VERSION, build_messages

DEFAULT_BASE_URL = "https://api.together.xyz/v1"
DEFAULT_MODEL = "Qwen/Qwen2.5-32B-Instruct"
USER_AGENT = "hh-enrich-svc/1.0"
# The longest Retry-After slept inside a call; a longer one goes back to the host.
MAX_WAIT_SECONDS = 10.0
# A chat answer of 2,048 tokens is a few kB; anything near this is not an answer.
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
_PROVIDER = "Together AI"

_LOGGER = logging.getLogger("hh_enrich_plugin.together")


@dataclass(frozen=True)
class TogetherConfig:
    """Settings of the Together enricher, with REFERENCE §5's names and defaults.

    ``timeout_seconds`` bounds one try from connect to the last byte of the answer
    (``TOGETHER_AI_TIMEOUT``, the reference's per-request total); ``connect_timeout_seconds``
    bounds the connect inside it. The whole call, retries and waits included, is bounded by
    the caller's deadline (CallLimits), which the plugin takes from the host's gRPC deadline.
    The key is kept out of repr so that logging a config can never leak it.
    """

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    timeout_seconds: float = 20.0
    connect_timeout_seconds: float = 5.0
    max_retries: int = 1
    backoff_seconds: float = 1.0
    max_wait_seconds: float = MAX_WAIT_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TogetherConfig:
        """Reads TOGETHER_API_KEY, TOGETHER_AI_BASE_URL, TOGETHER_MODEL_STAGE1 (before
        TOGETHER_AI_MODEL), TOGETHER_AI_TIMEOUT (seconds) and TOGETHER_AI_MAX_RETRIES.
        Raises ValueError, naming the variable, when a number is malformed."""
        return cls(
            api_key=env.get("TOGETHER_API_KEY", "").strip(),
            base_url=(env.get("TOGETHER_AI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            model=env.get("TOGETHER_MODEL_STAGE1") or env.get("TOGETHER_AI_MODEL") or DEFAULT_MODEL,
            timeout_seconds=_env_float(env, "TOGETHER_AI_TIMEOUT", 20.0),
            max_retries=_env_int(env, "TOGETHER_AI_MAX_RETRIES", 1),
        )


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ValueError(f"{name} must be a whole number ≥ 0, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class _Outcome:
    """One try: an enrichment, or a failure and how long to wait before trying again."""

    enrichment: dict | None = None
    failure: EnrichFailure | None = None
    wait_seconds: float = 0.0
    usage: TokenUsage = TokenUsage()
    # A wait the provider asked for must be honoured in full; our own backoff may be cut.
    provider_wait: bool = False


class _TooSlow(Exception):
    """The answer was still arriving when the try's time ran out."""


class _TooLarge(Exception):
    """The answer passed MAX_RESPONSE_BYTES."""


class TogetherEnricher:
    """Enriches candidates with a Together AI chat model; safe to call from many threads."""

    name = "together"
    prompt_version = PROMPT_VERSION

    def __init__(self, config: TogetherConfig) -> None:
        if not config.api_key:
            raise ValueError("TOGETHER_API_KEY is empty")
        base = httpx.URL(config.base_url)
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError(f"TOGETHER_AI_BASE_URL must be an http(s) URL, got {base!s}")
        self._config = config
        self.model_version = config.model
        self._url = f"{config.base_url}/chat/completions"
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {config.api_key}", "User-Agent": USER_AGENT},
            timeout=self._timeout(config.timeout_seconds),
            follow_redirects=False,
        )

    def log_fields(self) -> dict[str, Any]:
        """What to log about this enricher: never the key."""
        url = httpx.URL(self._config.base_url)
        return {
            "enricher": self.name,
            "model_version": self.model_version,
            "prompt_version": self.prompt_version,
            "base_url": str(url.copy_with(username=None, password=None)),
            "timeout_seconds": self._config.timeout_seconds,
            "max_retries": self._config.max_retries,
        }

    def close(self) -> None:
        self._client.close()

    def enrich(self, candidate: dict, limits: CallLimits) -> Enrichment:
        """One enrichment, with the retries described in the module docstring.

        Raises EnrichFailure: invalid candidate (nothing to assess), upstream rate limited
        (with retry_after_ms when the provider said), upstream unavailable, timeout,
        upstream bad output (all retryable) or internal (a refused key, any other 4xx:
        configuration problems that no retry fixes).
        """
        body = self._request_body(build_messages(candidate))
        usage, waited, tries = TokenUsage(), 0.0, self._config.max_retries + 1
        for attempt in range(1, tries + 1):
            _check_limits(limits)
            outcome = self._try_once(body, limits, attempt)
            usage += outcome.usage
            if outcome.enrichment is not None:
                return Enrichment(outcome.enrichment, usage, attempt, round(waited, 3))
            failure = outcome.failure
            assert failure is not None
            delay = self._retry_delay(outcome, limits) if attempt < tries else None
            if not failure.retryable or delay is None:
                raise failure
            _LOGGER.warning(
                "together call failed; retrying",
                extra={"fields": {"reason": failure.reason_name, "attempt": attempt,
                                  "retry_in_seconds": round(delay, 3), "error": failure.message}},
            )
            if limits.cancelled.wait(delay):
                raise failure  # the caller is gone: stop spending tries on it
            waited += delay
        raise AssertionError("unreachable: the last try returns or raises")

    def _request_body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "model": self._config.model,
            "messages": messages,
            "max_tokens": 2048,
            "temperature": 0.1,
            "top_p": 0.9,
            "stream": False,
            "response_format": {"type": "json_object"},
        }

    def _retry_delay(self, outcome: _Outcome, limits: CallLimits) -> float | None:
        """Seconds to sleep before the next try, or None when waiting cannot help this call:
        the provider asked for more than we sleep, or the wait would pass the deadline."""
        delay = outcome.wait_seconds
        if delay > self._config.max_wait_seconds:
            if outcome.provider_wait:
                return None
            delay = self._config.max_wait_seconds
        remaining = limits.remaining()
        if remaining is not None and delay >= remaining:
            return None
        return delay

    def _try_once(self, body: dict[str, Any], limits: CallLimits, attempt: int) -> _Outcome:
        remaining = limits.remaining()
        budget = self._config.timeout_seconds
        budget = budget if remaining is None else min(budget, remaining)
        try:
            status, headers, raw = self._post(body, budget)
        except (httpx.RequestError, httpx.InvalidURL, _TooSlow, _TooLarge) as exc:
            return self._transport_outcome(exc, budget, attempt)
        if 200 <= status < 300:
            return _answer_outcome(raw)
        return self._status_outcome(status, headers, raw, attempt)

    def _post(self, body: dict[str, Any], budget: float) -> tuple[int, httpx.Headers, bytes]:
        """POSTs and reads the whole answer within ``budget`` seconds.

        httpx times each step (connect, each read), not the whole exchange, so a server
        that trickles bytes could hold a call forever: the budget is also checked between
        chunks. A server that goes silent is cut by the read timeout, so a try ends within
        about twice its budget at worst, and within it for every server that answers.
        """
        deadline = time.monotonic() + budget
        with self._client.stream("POST", self._url, json=body, timeout=self._timeout(budget)) as r:
            chunks, size = [], 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise _TooLarge()
                if time.monotonic() > deadline:
                    raise _TooSlow()
                chunks.append(chunk)
            return r.status_code, r.headers, b"".join(chunks)

    def _timeout(self, budget: float) -> httpx.Timeout:
        return httpx.Timeout(budget, connect=min(self._config.connect_timeout_seconds, budget))

    def _backoff(self, attempt: int) -> float:
        """1 s, 2 s, 4 s … times a random factor in [0.5, 1], so that processes hit by the
        same outage do not come back in step."""
        return self._config.backoff_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)

    def _transport_outcome(self, exc: Exception, budget: float, attempt: int) -> _Outcome:
        """Classifies an exception of one try by its type."""
        backoff = self._backoff(attempt)
        if isinstance(exc, httpx.ConnectTimeout):
            connect = min(self._config.connect_timeout_seconds, budget)
            reason, message = REASON_UPSTREAM_UNAVAILABLE, f"no connection within {connect:.3g} s"
        elif isinstance(exc, httpx.TimeoutException | _TooSlow):
            reason, message = REASON_TIMEOUT, f"no answer within {budget:.3g} s"
        elif isinstance(exc, _TooLarge):
            reason, message, backoff = REASON_UPSTREAM_BAD_OUTPUT, "answer larger than 2 MiB", 0.0
        elif isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            failure = EnrichFailure(REASON_INTERNAL, f"bad TOGETHER_AI_BASE_URL: {exc}", False)
            return _Outcome(failure=failure)
        else:  # connect refused or reset, a broken HTTP exchange, an undecodable body
            kind = type(exc).__name__
            reason, message = REASON_UPSTREAM_UNAVAILABLE, f"connection failed: {kind}"
        failure = EnrichFailure(reason, f"{_PROVIDER}: {message}", True)
        return _Outcome(failure=failure, wait_seconds=backoff)

    def _status_outcome(
        self, status: int, headers: httpx.Headers, raw: bytes, attempt: int
    ) -> _Outcome:
        """Classifies a non-2xx answer by its status code."""
        retry_after = parse_retry_after(headers.get("retry-after"))
        if status == 429 and retry_after is None:  # the rate-limit headers say when to come back
            retry_after = provider_wait_seconds(headers, parse_retry_after)
        answered = f"{_PROVIDER} answered HTTP {status}"
        if status == 429:
            retry_after_ms = math.ceil(retry_after * 1000) if retry_after else 0
            failure = EnrichFailure(REASON_UPSTREAM_RATE_LIMITED, answered, True, retry_after_ms)
        elif status >= 500:
            failure = EnrichFailure(REASON_UPSTREAM_UNAVAILABLE, answered, True)
        elif status == 408:
            failure = EnrichFailure(REASON_TIMEOUT, answered, True)
        elif status in (401, 403):
            message = f"{_PROVIDER} refused the API key (HTTP {status}); check TOGETHER_API_KEY"
            failure = EnrichFailure(REASON_INTERNAL, message, False)
        else:
            failure = EnrichFailure(REASON_INTERNAL, answered + self._provider_message(raw), False)
        if retry_after is not None:
            return _Outcome(failure=failure, wait_seconds=retry_after, provider_wait=True)
        return _Outcome(failure=failure, wait_seconds=self._backoff(attempt))

    def _provider_message(self, raw: bytes) -> str:
        """The provider's own error message (OpenAI's ``{"error": {"message"}}``), short,
        with the key blanked out should the provider echo it."""
        try:
            error = json.loads(raw).get("error")
            message = error.get("message") if isinstance(error, dict) else error
        except (ValueError, AttributeError):
            return ""
        if not isinstance(message, str) or not message:
            return ""
        return ": " + message.replace(self._config.api_key, "[redacted]")[:300]


def _answer_outcome(raw: bytes) -> _Outcome:
    """A 2xx answer: the chat completion's first choice, parsed into the schema."""
    try:
        payload = json.loads(raw)
        content = payload["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        message = f"{_PROVIDER}: the answer is not a chat completion"
        return _Outcome(failure=EnrichFailure(REASON_UPSTREAM_BAD_OUTPUT, message, True))
    usage = TokenUsage.from_api(payload.get("usage"))
    try:
        return _Outcome(enrichment=parse_enrichment(content), usage=usage)
    except BadOutput as exc:
        failure = EnrichFailure(REASON_UPSTREAM_BAD_OUTPUT, f"{_PROVIDER}: {exc}", True)
        return _Outcome(failure=failure, usage=usage)


def _check_limits(limits: CallLimits) -> None:
    """Raises before a try that nobody waits for, or that has no time left."""
    if limits.cancelled.is_set():
        raise EnrichFailure(REASON_TIMEOUT, "the call was cancelled before it finished", True)
    remaining = limits.remaining()
    if remaining is not None and remaining <= 0:
        raise EnrichFailure(REASON_TIMEOUT, "the call's deadline passed before it finished", True)



def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header, given as seconds or as an HTTP date (RFC 9110
    §10.2.3); None when absent or unreadable, 0 for a date in the past."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
