"""The plugin process with TOGETHER_API_KEY set, through real gRPC on its unix socket, talking
to a local OpenAI-compatible server (fake_together.py) instead of Together AI."""

from __future__ import annotations

import json
import subprocess
import sys

import grpc
import pytest
from grpc_status import rpc_status

import enrich_pb2
from fake_together import (
    GOOD,
    GOOD_ENRICHMENT,
    USAGE,
    FakeTogether,
    Reply,
    rejected,
    serve,
    template_echo,
)
from test_plugin_server import (
    NURSE,
    PROCESS_TIMEOUT,
    SERVER,
    Plugin,
    plugin_env,
    start_plugin,
    stop_plugin,
)

API_KEY = "plugin-test-key-42"


def together_env(fake: FakeTogether, **extra: str) -> dict[str, str]:
    return plugin_env(
        TOGETHER_API_KEY=API_KEY,
        TOGETHER_AI_BASE_URL=fake.base_url,
        TOGETHER_AI_MODEL="test/model",
        **extra,
    )


def enrich(plugin: Plugin, candidate: dict, timeout: float = PROCESS_TIMEOUT):
    return plugin.stub.Enrich(
        enrich_pb2.EnrichRequest(job_id="j1", candidate_json=json.dumps(candidate).encode()),
        timeout=timeout,
    )


def enrich_error(raised: pytest.ExceptionInfo[grpc.RpcError]) -> enrich_pb2.EnrichError:
    detail = enrich_pb2.EnrichError()
    assert rpc_status.from_call(raised.value).details[0].Unpack(detail)
    return detail


def test_with_a_key_the_plugin_enriches_through_together_and_reports_tokens() -> None:
    with serve(GOOD) as fake:
        running = start_plugin(together_env(fake))
        try:
            reply = enrich(running, NURSE)
            described = running.stub.Describe(enrich_pb2.DescribeRequest(), timeout=PROCESS_TIMEOUT)
            running.shutdown()
            assert running.proc.wait(PROCESS_TIMEOUT) == 0
            stdout, stderr = running.proc.stdout.read(), running.proc.stderr.read()
        finally:
            stop_plugin(running)
    assert json.loads(reply.enrichment_json) == GOOD_ENRICHMENT
    assert (reply.enricher, reply.model_version, reply.prompt_version) == (
        "together", "test/model", "together-v2")
    assert reply.token_usage == enrich_pb2.TokenUsage(**USAGE)
    assert (described.enricher, described.model_version, described.prompt_version) == (
        "together", "test/model", "together-v2")
    assert described.jobs_served == 1
    assert fake.received[0].body["model"] == "test/model"
    assert fake.received[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert stdout == ""
    assert API_KEY not in stderr
    serving = [json.loads(line) for line in stderr.splitlines() if "plugin serving" in line]
    assert serving and serving[0]["enricher"] == "together"


def test_an_answer_that_used_up_the_limit_tells_the_host_how_long_to_pause() -> None:
    limit = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0.75"}
    used_up = Reply(GOOD.status, GOOD.body, limit)
    with serve(used_up, GOOD) as fake:
        running = start_plugin(together_env(fake))
        try:
            first, second = enrich(running, NURSE), enrich(running, NURSE)
        finally:
            stop_plugin(running)
    assert first.provider_pause_ms == 750
    assert json.loads(first.enrichment_json) == GOOD_ENRICHMENT  # nothing failed
    assert second.provider_pause_ms == 0  # GOOD says nothing about the limit


def test_a_rate_limited_provider_reaches_the_host_as_an_enrich_error() -> None:
    with serve(Reply(429, headers={"Retry-After": "1"})) as fake:
        running = start_plugin(together_env(fake))
        try:
            with pytest.raises(grpc.RpcError) as raised:
                enrich(running, NURSE)
        finally:
            stop_plugin(running)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    detail = enrich_error(raised)
    assert detail.reason == enrich_pb2.REASON_UPSTREAM_RATE_LIMITED
    assert detail.retryable
    assert detail.retry_after_ms == 1000
    assert len(fake.received) == 2  # the plugin waited out one Retry-After itself


def test_the_hosts_deadline_bounds_the_plugins_waiting() -> None:
    # Retry-After 5 s does not fit into a 2 s call: the plugin hands the wait to the host
    # at once instead of sleeping into the host's deadline.
    with serve(Reply(429, headers={"Retry-After": "5"}), GOOD) as fake:
        running = start_plugin(together_env(fake))
        try:
            with pytest.raises(grpc.RpcError) as raised:
                enrich(running, NURSE, timeout=2.0)
        finally:
            stop_plugin(running)
    assert enrich_error(raised).retry_after_ms == 5000
    assert len(fake.received) == 1


def test_a_hanging_provider_is_a_typed_timeout_before_the_hosts_deadline() -> None:
    with serve(Reply(hang=True)) as fake:
        running = start_plugin(together_env(fake))
        try:
            with pytest.raises(grpc.RpcError) as raised:
                enrich(running, NURSE, timeout=2.0)
        finally:
            stop_plugin(running)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    detail = enrich_error(raised)  # the host's own deadline would carry no detail
    assert detail.reason == enrich_pb2.REASON_TIMEOUT
    assert detail.retryable


def test_batch_items_fail_and_succeed_on_their_own_with_together() -> None:
    with serve(GOOD) as fake:
        running = start_plugin(together_env(fake))
        try:
            reply = running.stub.EnrichBatch(
                enrich_pb2.EnrichBatchRequest(items=[
                    enrich_pb2.EnrichRequest(job_id="a", candidate_json=json.dumps(NURSE).encode()),
                    enrich_pb2.EnrichRequest(job_id="b", candidate_json=b"{}"),
                ]),
                timeout=PROCESS_TIMEOUT,
            )
        finally:
            stop_plugin(running)
    assert [r.WhichOneof("outcome") for r in reply.results] == ["response", "error"]
    assert reply.results[0].response.token_usage.total_tokens == USAGE["total_tokens"]
    assert reply.results[1].error.reason == enrich_pb2.REASON_INVALID_CANDIDATE
    assert len(fake.received) == 1


def test_injected_faults_work_with_together_too() -> None:
    with serve(GOOD) as fake:
        running = start_plugin(together_env(fake, ENRICH_TEST_FAULTS="1"))
        try:
            with pytest.raises(grpc.RpcError) as raised:
                enrich(running, dict(NURSE, _fault="internal"))
            slept = enrich(running, dict(NURSE, _fault="sleep:1"))
        finally:
            stop_plugin(running)
    assert raised.value.code() == grpc.StatusCode.INTERNAL
    assert slept.enricher == "together"
    assert len(fake.received) == 1


def test_a_malformed_together_setting_stops_the_plugin_before_the_handshake() -> None:
    with serve(GOOD) as fake:
        done = subprocess.run(
            [sys.executable, str(SERVER)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=together_env(fake, TOGETHER_AI_TIMEOUT="soon"),
            timeout=PROCESS_TIMEOUT,
        )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "TOGETHER_AI_TIMEOUT" in done.stderr
    assert API_KEY not in done.stderr
    for line in done.stderr.splitlines():
        assert {"@level", "@message", "@timestamp"} <= json.loads(line).keys()


def test_a_candidate_the_provider_refuses_reaches_the_host_as_rejected_input() -> None:
    with serve(rejected(400)) as fake:
        running = start_plugin(together_env(fake))
        try:
            with pytest.raises(grpc.RpcError) as raised:
                enrich(running, NURSE)
        finally:
            stop_plugin(running)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    detail = enrich_error(raised)
    assert detail.reason == enrich_pb2.REASON_UPSTREAM_REJECTED_INPUT
    assert not detail.retryable
    assert "context length" in detail.message
    assert len(fake.received) == 1


def test_a_refused_answer_reaches_the_host_with_what_was_wrong_and_its_tokens() -> None:
    with serve(template_echo()) as fake:
        running = start_plugin(together_env(fake))
        try:
            with pytest.raises(grpc.RpcError) as raised:
                enrich(running, NURSE)
        finally:
            stop_plugin(running)
    detail = enrich_error(raised)
    assert detail.reason == enrich_pb2.REASON_UPSTREAM_BAD_OUTPUT
    assert not detail.retryable
    assert "the prompt's template" in detail.message
    assert detail.token_usage.total_tokens == 2 * USAGE["total_tokens"]  # both answers billed
    assert len(fake.received) == 2
