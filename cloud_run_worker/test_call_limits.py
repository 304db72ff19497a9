"""Each enricher's own limit on one call, which the host uses to catch spinning calls, and
the limits (deadline, cancellation) the plugin gives each call of an enricher."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import pytest

import enrich_pb2
import enrich_pb2_grpc
import plugin_server
from enricher_choice import LocalRulesEnricher
from enrichment import CallLimits, EnrichFailure, Enrichment
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


# How the plugin hands each call's limits to its enricher: a real server and channel.


class RecordingEnricher:
    """Answers at once and keeps the limits of every call it gets. Like any enricher that
    does not say otherwise, it is given each call's deadline and cancellation."""

    name = "recording"
    model_version = "recording-v1"
    prompt_version = "recording-v1"
    call_limit_seconds = 0.0

    def __init__(self) -> None:
        self.seen: list[CallLimits] = []

    def enrich(self, candidate: dict, limits: CallLimits) -> Enrichment:
        if "resume_text" not in candidate:
            raise EnrichFailure(enrich_pb2.REASON_INVALID_CANDIDATE, "nothing to enrich", False)
        self.seen.append(limits)
        return Enrichment({"overall_score": 0.5})

    def log_fields(self) -> dict:
        return {}

    def close(self) -> None:
        pass


class RecordingRules(LocalRulesEnricher):
    """The rules enricher, keeping the limits it was given."""

    def __init__(self) -> None:
        self.seen: list[CallLimits] = []

    def enrich(self, candidate: dict, limits: CallLimits) -> Enrichment:
        self.seen.append(limits)
        return super().enrich(candidate, limits)


@contextmanager
def serving(enricher) -> Iterator[enrich_pb2_grpc.EnricherStub]:
    folder = tempfile.mkdtemp(prefix="hh-limits-")
    address = f"unix:{os.path.join(folder, 's')}"
    server = plugin_server.create_server(address, threading.Event(), enricher=enricher)
    server.start()
    channel = grpc.insecure_channel(address)
    try:
        yield enrich_pb2_grpc.EnricherStub(channel)
    finally:
        channel.close()
        server.stop(0).wait()
        shutil.rmtree(folder, ignore_errors=True)


def request(candidate: dict) -> enrich_pb2.EnrichRequest:
    return enrich_pb2.EnrichRequest(job_id="j", candidate_json=json.dumps(candidate).encode())


PROCESS_TIMEOUT = 10.0
CLOCK_SLACK = 0.05
GOOD_CANDIDATE = {"resume_text": "Senior nurse 2019-2025. Skills: triage, ICU"}


def test_an_enricher_that_reads_limits_gets_the_calls_deadline_and_cancellation() -> None:
    enricher = RecordingEnricher()
    with serving(enricher) as stub:
        before = time.monotonic()
        stub.Enrich(request(GOOD_CANDIDATE), timeout=5.0)
        stub.EnrichBatch(
            enrich_pb2.EnrichBatchRequest(items=[request(GOOD_CANDIDATE)] * 2), timeout=5.0
        )
    single, first, second = enricher.seen
    assert single is not plugin_server.UNBOUNDED
    assert single is not first and first is second  # a batch shares one set of limits
    margin = plugin_server.DEADLINE_MARGIN_SECONDS
    # The call's 5 s, less the margin (the server read it a moment after `before`).
    # grpcio's time_remaining() can read a few ms more than the deadline leaves by
    # time.monotonic() (seen: 6.5 ms, in 2 runs of 5), so the bound allows CLOCK_SLACK.
    assert before + 1.0 < single.deadline <= time.monotonic() + 5.0 - margin + CLOCK_SLACK
    # The RPC's end fires its callback (on gRPC's own thread, so it may follow the
    # reply): the plumbing is in place for a cancellation.
    assert single.cancelled.wait(PROCESS_TIMEOUT) and first.cancelled.wait(PROCESS_TIMEOUT)


def test_the_rules_get_the_shared_unbounded_limits_and_nothing_sets_them() -> None:
    rules = RecordingRules()
    with serving(rules) as stub:
        stub.Enrich(request(GOOD_CANDIDATE), timeout=5.0)
        stub.EnrichBatch(
            enrich_pb2.EnrichBatchRequest(items=[request(GOOD_CANDIDATE)] * 2), timeout=5.0
        )
    assert len(rules.seen) == 3
    assert all(limits is plugin_server.UNBOUNDED for limits in rules.seen)
    assert plugin_server.UNBOUNDED.deadline is None
    assert not plugin_server.UNBOUNDED.cancelled.is_set()


def test_describe_counts_the_jobs_a_batch_served_not_its_failures() -> None:
    with serving(RecordingEnricher()) as stub:
        reply = stub.EnrichBatch(
            enrich_pb2.EnrichBatchRequest(
                items=[request(GOOD_CANDIDATE), request({"name": "x"}), request(GOOD_CANDIDATE)]
            ),
            timeout=5.0,
        )
        assert [r.WhichOneof("outcome") for r in reply.results] == ["response", "error", "response"]
        stub.Enrich(request(GOOD_CANDIDATE), timeout=5.0)
        with pytest.raises(grpc.RpcError):
            stub.Enrich(request({"name": "x"}), timeout=5.0)
        described = stub.Describe(enrich_pb2.DescribeRequest(), timeout=5.0)
    assert described.jobs_served == 3
