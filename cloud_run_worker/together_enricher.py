"""The Together AI enricher: one OpenAI-compatible chat completion per candidate.

It keeps the contract of the service we replace (REFERENCE §5: endpoint, body, model and
timeout variables, the prompt's schema) and fixes how failures travel: every outcome is
classified by HTTP status code or exception type, never by message text (W13), into the
plugin contract's reasons, which the host retries on.

Retries happen here first, because the plugin holds what the host does not: a 429's or
503's Retry-After and a warm connection. ``TOGETHER_AI_MAX_RETRIES`` more tries follow a 429
or 503 (after Retry-After), a 5xx, a lost connection or a timeout (after 1 s, 2 s … with
jitter). A wait that would pass the call's deadline, or a Retry-After longer than
MAX_WAIT_SECONDS, is not slept: the failure goes back with retry_after_ms, and the host, which
can park the job without holding a process, does the waiting.

An answer is never retried as it was sent. One cut at max_tokens (``finish_reason: length``)
gets one more try with twice the room; one that is not the schema (together_output says what
is wrong) gets one more try that shows the model its answer and the problem. A second failure
of either kind is final (``upstream_bad_output``, not retryable): the same request would buy
the same answer again. A request the provider refuses for this one candidate (HTTP 400, 413,
422: too long for the context, content it will not take) is ``upstream_rejected_input``, not
retried and no fault of the process. Every answer's token usage, failed ones included, is
summed onto the result or the failure.

One urllib3 pool serves the whole process (together_http), so the gRPC server's worker
threads share its kept-alive TLS connections.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import math
import random
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationParseError,
    NewConnectionError,
    ProxySchemeUnknown,
    URLSchemeUnknown,
)
from urllib3.exceptions import (
    TimeoutError as Urllib3Timeout,
)
from urllib3.util import parse_url

from enrich_pb2 import (
    REASON_INTERNAL,
    REASON_TIMEOUT,
    REASON_UPSTREAM_BAD_OUTPUT,
    REASON_UPSTREAM_RATE_LIMITED,
    REASON_UPSTREAM_REJECTED_INPUT,
    REASON_UPSTREAM_UNAVAILABLE,
)
from enrichment import CallLimits, EnrichFailure, Enrichment, TokenUsage
from rate_headers import exhausted_wait_seconds, provider_wait_seconds
from together_http import new_pool
from together_output import JSON_SCHEMA, BadOutput, parse_enrichment
from together_prompt import PROMPT_VERSION, build_messages, corrective_messages

DEFAULT_BASE_URL = "https://api.together.xyz/v1"
DEFAULT_MODEL = "Qwen/Qwen2.5-32B-Instruct"
USER_AGENT = "hh-enrich-svc/1.0"
# The longest Retry-After slept inside a call; a longer one goes back to the host.
MAX_WAIT_SECONDS = 10.0
# Added to the longest call the settings allow, for the host's spin detection.
CALL_LIMIT_SLACK_SECONDS = 5.0
# A chat answer of 2,048 tokens is a few kB; anything near this is not an answer.
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
_READ_CHUNK_BYTES = 64 * 1024
# Completion tokens of a first try, and of the one try after an answer cut at that limit.
MAX_TOKENS = 2048
MAX_TOKENS_AFTER_LENGTH = 4096
# A fixed seed: the same candidate gets the same answer, run after run, where the provider
# honours it.
SEED = 1234
# Statuses by which the provider refuses one request for what it holds (too long for the
# model's context, content it will not take): another candidate would get through.
REJECTED_INPUT_STATUSES = (400, 413, 422)
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
    # The answer was cut at max_tokens.
    truncated: bool = False
    # The answer's text, when it was refused (not JSON, or not the schema).
    refused_answer: str | None = None
    # A good answer said the account's limit is used up for this long (0: it did not).
    provider_pause: float = 0.0


@dataclass(frozen=True)
class _Request:
    """What one try sends that can change between tries."""

    messages: list[dict[str, str]]
    max_tokens: int = MAX_TOKENS


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
        try:
            base = parse_url(config.base_url)
        except LocationParseError:
            base = None
        if base is None or base.scheme not in ("http", "https") or not base.host:
            shown = _without_userinfo(config.base_url)
            raise ValueError(f"TOGETHER_AI_BASE_URL must be an http(s) URL, got {shown}")
        if base.scheme == "http" and not _is_loopback(base.host):
            raise ValueError(
                "TOGETHER_AI_BASE_URL must be https:// (http:// only on a loopback address, "
                "where the API key cannot leave the machine), got "
                f"{_without_userinfo(config.base_url)}"
            )
        self._config = config
        self.model_version = config.model
        self._url = f"{config.base_url}/chat/completions"
        headers = {"Authorization": f"Bearer {config.api_key}", "User-Agent": USER_AGENT,
                   "Content-Type": "application/json"}
        try:
            self._pool = new_pool(self._url, headers)
        except ProxySchemeUnknown as exc:  # its text names the scheme alone
            raise ValueError(f"a proxy variable (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY) is not a "
                             f"proxy URL: {exc}") from exc
        except LocationParseError as exc:
            # Its text is the whole URL, a password in it included: not repeated.
            raise ValueError("a proxy variable (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY) is not a "
                             "proxy URL of the form http://[user:password@]host:port") from exc

    def log_fields(self) -> dict[str, Any]:
        """What to log about this enricher: never the key."""
        return {
            "enricher": self.name,
            "model_version": self.model_version,
            "prompt_version": self.prompt_version,
            "base_url": _without_userinfo(self._config.base_url),
            "timeout_seconds": self._config.timeout_seconds,
            "max_retries": self._config.max_retries,
        }

    def close(self) -> None:
        self._pool.clear()

    @property
    def call_limit_seconds(self) -> float:
        """The longest one call can take by its settings: every try (a silent server can
        hold one for about twice its budget, see _post), each wait between tries, and a
        few seconds of slack. Past it the call is stuck, not slow."""
        tries = self._config.max_retries + 1
        waits = (tries - 1) * self._config.max_wait_seconds
        return tries * 2 * self._config.timeout_seconds + waits + CALL_LIMIT_SLACK_SECONDS

    def enrich(self, candidate: dict, limits: CallLimits) -> Enrichment:
        """One enrichment, with the retries described in the module docstring.

        Raises EnrichFailure: invalid candidate (nothing to assess), upstream rate limited
        (with retry_after_ms when the provider said), upstream unavailable, timeout (all
        retryable), upstream bad output (an answer cut or refused twice), upstream rejected
        input (a 400, 413 or 422 for this candidate) or internal (a refused key, any other
        4xx: configuration problems that no retry fixes). The failure carries the tokens
        its calls were billed.
        """
        request = _Request(build_messages(candidate))
        usage, waited, attempt = TokenUsage(), 0.0, 0
        retries_left, widened, corrected = self._config.max_retries, False, False
        while True:
            attempt += 1
            try:
                _check_limits(limits)
            except EnrichFailure as failure:
                raise _billed(failure, usage) from None
            outcome = self._try_once(self._request_body(request), limits, attempt)
            usage += outcome.usage
            if outcome.enrichment is not None:
                return Enrichment(
                    outcome.enrichment, usage, attempt, round(waited, 3), outcome.provider_pause
                )
            failure = outcome.failure
            assert failure is not None
            if outcome.truncated and not widened:
                widened = True
                request = replace(request, max_tokens=MAX_TOKENS_AFTER_LENGTH)
                self._log_retry(failure, attempt, 0.0)
                continue
            if outcome.refused_answer is not None and not corrected:
                corrected = True
                problem = failure.message.removeprefix(f"{_PROVIDER}: ")
                messages = corrective_messages(request.messages, outcome.refused_answer, problem)
                request = replace(request, messages=messages)
                self._log_retry(failure, attempt, 0.0)
                continue
            delay = None
            if failure.retryable and retries_left > 0:
                delay = self._retry_delay(outcome, limits)
            if delay is None:
                raise _billed(failure, usage)
            retries_left -= 1
            self._log_retry(failure, attempt, delay)
            if limits.cancelled.wait(delay):
                raise _billed(failure, usage)  # the caller is gone: stop spending tries on it
            waited += delay

    def _log_retry(self, failure: EnrichFailure, attempt: int, delay: float) -> None:
        _LOGGER.warning(
            "together call failed; retrying",
            extra={"fields": {"reason": failure.reason_name, "attempt": attempt,
                              "retry_in_seconds": round(delay, 3), "error": failure.message}},
        )

    def _request_body(self, request: _Request) -> dict[str, Any]:
        return {
            "model": self._config.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": 0.1,
            "top_p": 0.9,
            "seed": SEED,
            "stream": False,
            # Together decodes under a JSON schema: answers outside it cannot be sampled.
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "candidate_enrichment", "strict": True,
                                "schema": JSON_SCHEMA},
            },
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
        except (urllib3.exceptions.HTTPError, OSError, _TooSlow, _TooLarge) as exc:
            return self._transport_outcome(exc, budget, attempt)
        if 200 <= status < 300:
            outcome = _answer_outcome(raw, body["max_tokens"])
            return replace(outcome, provider_pause=exhausted_wait_seconds(headers) or 0.0)
        return self._status_outcome(status, headers, raw, attempt)

    def _post(self, body: dict[str, Any], budget: float) -> tuple[int, Mapping[str, str], bytes]:
        """POSTs and reads the whole answer within ``budget`` seconds.

        urllib3 times each step (connect, each read), not the whole exchange, so a server
        that trickles bytes could hold a call forever: the budget is also checked between
        chunks. A server that goes silent is cut by the read timeout, so a try ends within
        about twice its budget at worst, and within it for every server that answers.
        """
        deadline = time.monotonic() + budget
        timeout = urllib3.Timeout(connect=min(self._config.connect_timeout_seconds, budget),
                                  read=budget)
        data = json.dumps(body, ensure_ascii=False).encode()
        r = self._pool.request("POST", self._url, body=data, timeout=timeout,
                               preload_content=False, redirect=False)
        try:
            chunks, size = [], 0
            for chunk in r.stream(_READ_CHUNK_BYTES):
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise _TooLarge()
                if time.monotonic() > deadline:
                    raise _TooSlow()
                chunks.append(chunk)
        except BaseException:
            r.close()  # the answer was not read to its end: its connection cannot be reused
            raise
        finally:
            r.release_conn()
        return r.status, r.headers, b"".join(chunks)

    def _backoff(self, attempt: int) -> float:
        """1 s, 2 s, 4 s … times a random factor in [0.5, 1], so that processes hit by the
        same outage do not come back in step."""
        return self._config.backoff_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)

    def _transport_outcome(self, exc: Exception, budget: float, attempt: int) -> _Outcome:
        """Classifies an exception of one try by its type."""
        backoff = self._backoff(attempt)
        # urllib3 makes NewConnectionError (refused, unresolvable) a ConnectTimeoutError,
        # and so a TimeoutError: it is asked about first.
        if isinstance(exc, NewConnectionError):
            kind = type(exc).__name__
            reason, message = REASON_UPSTREAM_UNAVAILABLE, f"connection failed: {kind}"
        elif isinstance(exc, ConnectTimeoutError):
            connect = min(self._config.connect_timeout_seconds, budget)
            reason, message = REASON_UPSTREAM_UNAVAILABLE, f"no connection within {connect:.3g} s"
        elif isinstance(exc, Urllib3Timeout | TimeoutError | _TooSlow):
            reason, message = REASON_TIMEOUT, f"no answer within {budget:.3g} s"
        elif isinstance(exc, _TooLarge):
            reason, message, backoff = REASON_UPSTREAM_BAD_OUTPUT, "answer larger than 2 MiB", 0.0
        elif (refusal := _certificate_refusal(exc)) is not None:
            reason = REASON_UPSTREAM_UNAVAILABLE
            message = (f"TLS certificate not trusted ({refusal}); a private CA or a proxy "
                       "that re-signs TLS: set SSL_CERT_FILE or SSL_CERT_DIR")
        elif isinstance(exc, URLSchemeUnknown | LocationParseError):
            failure = EnrichFailure(REASON_INTERNAL, f"bad TOGETHER_AI_BASE_URL: {exc}", False)
            return _Outcome(failure=failure)
        else:  # connect refused or reset, a broken HTTP exchange, an undecodable body
            kind = type(exc).__name__
            reason, message = REASON_UPSTREAM_UNAVAILABLE, f"connection failed: {kind}"
        failure = EnrichFailure(reason, f"{_PROVIDER}: {message}", True)
        return _Outcome(failure=failure, wait_seconds=backoff)

    def _status_outcome(
        self, status: int, headers: Mapping[str, str], raw: bytes, attempt: int
    ) -> _Outcome:
        """Classifies a non-2xx answer by its status code."""
        retry_after = parse_retry_after(headers.get("retry-after"))
        if status == 429 and retry_after is None:  # the rate-limit headers say when to come back
            retry_after = provider_wait_seconds(headers, parse_retry_after)
        retry_after_ms = math.ceil(retry_after * 1000) if retry_after else 0
        answered = f"{_PROVIDER} answered HTTP {status}"
        if status == 429:
            failure = EnrichFailure(REASON_UPSTREAM_RATE_LIMITED, answered, True, retry_after_ms)
        elif status >= 500:
            failure = EnrichFailure(REASON_UPSTREAM_UNAVAILABLE, answered, True, retry_after_ms)
        elif status == 408:
            failure = EnrichFailure(REASON_TIMEOUT, answered, True)
        elif status in (401, 403):
            message = f"{_PROVIDER} refused the API key (HTTP {status}); check TOGETHER_API_KEY"
            failure = EnrichFailure(REASON_INTERNAL, message, False)
        elif status in REJECTED_INPUT_STATUSES:
            message = answered + " for this candidate" + self._provider_message(raw)
            return _Outcome(failure=EnrichFailure(REASON_UPSTREAM_REJECTED_INPUT, message, False))
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


def _answer_outcome(raw: bytes, max_tokens: int) -> _Outcome:
    """A 2xx answer: the chat completion's first choice, read into the schema, or why not."""
    payload: Any = None
    try:
        payload = json.loads(raw)
        first = payload["choices"][0]
        content = first["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        # A 2xx is billed whatever it holds: its usage counts when it says one.
        usage = TokenUsage.from_api(payload.get("usage") if isinstance(payload, dict) else None)
        message = f"{_PROVIDER}: the answer is not a chat completion"
        failure = EnrichFailure(REASON_UPSTREAM_BAD_OUTPUT, message, True)
        return _Outcome(failure=failure, usage=usage)
    usage = TokenUsage.from_api(payload.get("usage"))
    if first.get("finish_reason") == "length":
        message = f"{_PROVIDER}: the answer was cut at max_tokens ({max_tokens})"
        failure = EnrichFailure(REASON_UPSTREAM_BAD_OUTPUT, message, False)
        return _Outcome(failure=failure, usage=usage, truncated=True)
    try:
        return _Outcome(enrichment=parse_enrichment(content), usage=usage)
    except BadOutput as exc:
        failure = EnrichFailure(REASON_UPSTREAM_BAD_OUTPUT, f"{_PROVIDER}: {exc}", False)
        answer = content if isinstance(content, str) else json.dumps(content)
        return _Outcome(failure=failure, usage=usage, refused_answer=answer)


def _billed(failure: EnrichFailure, usage: TokenUsage) -> EnrichFailure:
    """The failure, with the tokens its calls were billed when there were any."""
    if usage != TokenUsage():
        failure.token_usage = usage
    return failure


def _certificate_refusal(exc: BaseException) -> str | None:
    """What the TLS handshake said of the server's certificate, when that is why exc
    happened (urllib3 wraps the ssl module's error in its own), else None."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        err = pending.pop()
        if not isinstance(err, BaseException) or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, ssl.SSLCertVerificationError):
            return err.verify_message or "certificate verify failed"
        pending.extend((err.__cause__, err.__context__, *err.args))
    return None


def _without_userinfo(url: str) -> str:
    """url without a user or password in it, for messages and logs."""
    try:
        parsed = parse_url(url)
    except LocationParseError:
        return "(an unreadable URL)"
    return parsed._replace(auth=None).url


def _is_loopback(host: str) -> bool:
    host = host.removeprefix("[").removesuffix("]")  # an IPv6 address in a URL
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
