"""The plugin process, started the way go-plugin starts it: a real subprocess, a real
unix socket, real gRPC calls."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

import enrich_pb2
import enrich_pb2_grpc
import plugin_server

HERE = Path(__file__).resolve().parent
SERVER = HERE / "plugin_server.py"
PROCESS_TIMEOUT = 10.0

NURSE = {
    "candidate_id": "cand-1",
    "name": "Aisha Smith",
    "resume_text": (
        "Senior Registered Nurse, St Thomas' Hospital 2019–2025\n"
        "- Cared for 9 patients per shift.\nSkills: triage, ICU, BLS, Epic"
    ),
    "recruiter_comments": "Strong clinical judgement. Concern about salary expectations.",
}


def plugin_env(**extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        plugin_server.MAGIC_COOKIE_KEY: plugin_server.MAGIC_COOKIE_VALUE,
    }
    env.update(extra)
    return env


class Plugin:
    """A running plugin process and a channel to it."""

    def __init__(self, proc: subprocess.Popen, handshake: str) -> None:
        self.proc = proc
        self.handshake = handshake
        core, app, network, address, protocol = handshake.split("|")
        assert (core, app, network, protocol) == ("1", "1", "unix", "grpc")
        self.socket_path = address
        self.channel = grpc.insecure_channel(f"unix:{address}")
        self.stub = enrich_pb2_grpc.EnricherStub(self.channel)

    def shutdown(self) -> None:
        shutdown = self.channel.unary_unary(
            "/plugin.GRPCController/Shutdown",
            request_serializer=lambda data: data,
            response_deserializer=lambda data: data,
        )
        shutdown(b"", timeout=PROCESS_TIMEOUT)


def start_plugin(env: dict[str, str] | None = None) -> Plugin:
    proc = subprocess.Popen(
        [sys.executable, str(SERVER)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env or plugin_env(),
        text=True,
    )
    handshake = proc.stdout.readline().strip()
    return Plugin(proc, handshake)


def stop_plugin(running: Plugin) -> None:
    """Closes the channel, kills the process if it still runs and reaps it."""
    running.channel.close()
    if running.proc.poll() is None:
        running.proc.kill()
    running.proc.wait(PROCESS_TIMEOUT)
    running.proc.stdout.close()
    running.proc.stderr.close()


@pytest.fixture
def plugin() -> Iterator[Plugin]:
    running = start_plugin()
    yield running
    stop_plugin(running)


def test_handshake_is_the_only_stdout_line_and_logs_are_json_on_stderr(plugin: Plugin) -> None:
    plugin.stub.Enrich(
        enrich_pb2.EnrichRequest(job_id="j1", candidate_json=json.dumps(NURSE).encode()),
        timeout=PROCESS_TIMEOUT,
    )
    plugin.shutdown()
    assert plugin.proc.wait(PROCESS_TIMEOUT) == 0
    assert plugin.proc.stdout.read() == ""
    log_lines = [line for line in plugin.proc.stderr.read().splitlines() if line]
    assert log_lines, "the plugin logged nothing"
    for line in log_lines:
        entry = json.loads(line)
        assert {"@level", "@message", "@timestamp"} <= entry.keys()
        time.strptime(entry["@timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")


def test_socket_lives_in_a_private_folder_removed_on_shutdown(plugin: Plugin) -> None:
    folder = os.path.dirname(plugin.socket_path)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    plugin.shutdown()
    assert plugin.proc.wait(PROCESS_TIMEOUT) == 0
    assert not os.path.exists(folder)


def test_health_service_reports_plugin_serving(plugin: Plugin) -> None:
    health = health_pb2_grpc.HealthStub(plugin.channel)
    reply = health.Check(health_pb2.HealthCheckRequest(service="plugin"), timeout=PROCESS_TIMEOUT)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_enrich_returns_the_reference_schema(plugin: Plugin) -> None:
    reply = plugin.stub.Enrich(
        enrich_pb2.EnrichRequest(job_id="j1", candidate_json=json.dumps(NURSE).encode()),
        timeout=PROCESS_TIMEOUT,
    )
    enrichment = json.loads(reply.enrichment_json)
    assert set(enrichment) == {"resume_analysis", "recruiter_insights", "overall_score"}
    assert 0.0 <= enrichment["overall_score"] <= 1.0
    assert reply.enricher == "local_rules"
    assert reply.model_version and reply.prompt_version


@pytest.mark.parametrize(
    "candidate_json",
    [b"", b"not json", b"[1, 2]", json.dumps({"candidate_id": "empty"}).encode()],
    ids=["empty", "not-json", "not-an-object", "no-text"],
)
def test_enrich_of_unusable_candidate_fails_with_invalid_candidate_reason(
    plugin: Plugin, candidate_json: bytes
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        plugin.stub.Enrich(
            enrich_pb2.EnrichRequest(job_id="j1", candidate_json=candidate_json),
            timeout=PROCESS_TIMEOUT,
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(raised.value)
    detail = enrich_pb2.EnrichError()
    assert status.details[0].Unpack(detail)
    assert detail.reason == enrich_pb2.REASON_INVALID_CANDIDATE
    assert not detail.retryable


def test_enrich_batch_reports_each_item_on_its_own(plugin: Plugin) -> None:
    reply = plugin.stub.EnrichBatch(
        enrich_pb2.EnrichBatchRequest(
            items=[
                enrich_pb2.EnrichRequest(job_id="a", candidate_json=json.dumps(NURSE).encode()),
                enrich_pb2.EnrichRequest(job_id="b", candidate_json=b"{}"),
            ]
        ),
        timeout=PROCESS_TIMEOUT,
    )
    assert [r.WhichOneof("outcome") for r in reply.results] == ["response", "error"]
    assert reply.results[1].error.reason == enrich_pb2.REASON_INVALID_CANDIDATE


def test_describe_counts_jobs_served_and_reports_the_process(plugin: Plugin) -> None:
    for _ in range(3):
        plugin.stub.Enrich(
            enrich_pb2.EnrichRequest(candidate_json=json.dumps(NURSE).encode()),
            timeout=PROCESS_TIMEOUT,
        )
    reply = plugin.stub.Describe(enrich_pb2.DescribeRequest(), timeout=PROCESS_TIMEOUT)
    assert reply.pid == plugin.proc.pid
    assert reply.jobs_served == 3
    assert reply.rss_bytes > 1_000_000
    assert reply.call_limit_ms == 10_000  # the rules enricher's own limit


def test_socket_folder_name_carries_the_plugin_pid(plugin: Plugin) -> None:
    folder = Path(plugin.socket_path).parent.name
    assert folder.startswith(f"{plugin_server.SOCKET_DIR_PREFIX}{plugin.proc.pid}-")


def test_sigterm_stops_the_plugin_cleanly(plugin: Plugin) -> None:
    plugin.proc.send_signal(signal.SIGTERM)
    assert plugin.proc.wait(PROCESS_TIMEOUT) == 0


def test_sigint_is_ignored_so_the_host_can_drain(plugin: Plugin) -> None:
    plugin.proc.send_signal(signal.SIGINT)
    health = health_pb2_grpc.HealthStub(plugin.channel)
    reply = health.Check(health_pb2.HealthCheckRequest(service="plugin"), timeout=PROCESS_TIMEOUT)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert plugin.proc.poll() is None


def test_without_the_magic_cookie_it_explains_itself_and_exits() -> None:
    done = subprocess.run(
        [sys.executable, str(SERVER)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "")},
        timeout=PROCESS_TIMEOUT,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "started by the service" in done.stderr


def test_plugin_exits_when_its_parent_dies() -> None:
    # A shell parent starts the plugin in the background and prints its pid; killing the
    # shell re-parents the plugin, which must notice and exit.
    shell = subprocess.Popen(
        ["/bin/sh", "-c", f'"{sys.executable}" "{SERVER}" & echo "pid:$!"; wait'],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=plugin_env(),
        text=True,
    )
    lines = [shell.stdout.readline().strip(), shell.stdout.readline().strip()]
    plugin_pid = int(next(line for line in lines if line.startswith("pid:"))[4:])
    shell.kill()
    shell.wait(PROCESS_TIMEOUT)
    shell.stdout.close()
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while _alive(plugin_pid):
        assert time.monotonic() < deadline, "plugin outlived its parent"
        time.sleep(0.05)


def _start_spinning(plugin: Plugin) -> grpc.Future:
    """Starts a call that spins for ever in one of the plugin's threads."""
    candidate = dict(NURSE, _fault="hang")
    call = plugin.stub.Enrich.future(
        enrich_pb2.EnrichRequest(candidate_json=json.dumps(candidate).encode()), timeout=60
    )
    describe = plugin.stub.Describe(enrich_pb2.DescribeRequest(), timeout=PROCESS_TIMEOUT)
    assert describe.jobs_served == 0 and not call.done()
    return call


def _wait_gone(pid: int, what: str) -> None:
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while _alive(pid):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_shutdown_ends_the_process_even_with_a_call_spinning() -> None:
    running = start_plugin(plugin_env(ENRICH_TEST_FAULTS="1"))
    try:
        call = _start_spinning(running)
        running.shutdown()
        assert running.proc.wait(PROCESS_TIMEOUT) == 0
        call.cancel()
    finally:
        running.proc.kill()
        running.proc.wait(PROCESS_TIMEOUT)
        running.channel.close()


def test_plugin_exits_when_its_parent_dies_with_a_call_spinning() -> None:
    # stderr is a pipe whose reader goes with the parent, as go-plugin's does: the
    # plugin's last log lines then fail, and must not keep it alive.
    shell = subprocess.Popen(
        ["/bin/sh", "-c", f'"{sys.executable}" "{SERVER}" & echo "pid:$!"; wait'],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=plugin_env(ENRICH_TEST_FAULTS="1"),
        text=True,
    )
    lines = [shell.stdout.readline().strip(), shell.stdout.readline().strip()]
    plugin_pid = int(next(line for line in lines if line.startswith("pid:"))[4:])
    handshake = next(line for line in lines if not line.startswith("pid:"))
    try:
        running = Plugin(subprocess.Popen(["true"]), handshake)
        call = _start_spinning(running)
        shell.kill()
        shell.wait(PROCESS_TIMEOUT)
        shell.stderr.close()
        _wait_gone(plugin_pid, "plugin outlived its parent with a call spinning")
        call.cancel()
        running.channel.close()
    finally:
        shell.stdout.close()
        if _alive(plugin_pid):
            os.kill(plugin_pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its entry waits to be reaped by init.
    with open(f"/proc/{pid}/stat", encoding="ascii") as proc_stat:
        return proc_stat.read().split(") ")[1][0] != "Z"


def test_faults_are_ignored_unless_enabled(plugin: Plugin) -> None:
    candidate = dict(NURSE, _fault="crash")
    plugin.stub.Enrich(
        enrich_pb2.EnrichRequest(candidate_json=json.dumps(candidate).encode()),
        timeout=PROCESS_TIMEOUT,
    )
    assert plugin.proc.poll() is None


def test_enabled_faults_crash_and_fail_on_request() -> None:
    running = start_plugin(plugin_env(ENRICH_TEST_FAULTS="1"))
    try:
        with pytest.raises(grpc.RpcError) as raised:
            running.stub.Enrich(
                enrich_pb2.EnrichRequest(
                    candidate_json=json.dumps(dict(NURSE, _fault="internal")).encode()
                ),
                timeout=PROCESS_TIMEOUT,
            )
        assert raised.value.code() == grpc.StatusCode.INTERNAL
        with pytest.raises(grpc.RpcError):
            running.stub.Enrich(
                enrich_pb2.EnrichRequest(
                    candidate_json=json.dumps(dict(NURSE, _fault="crash")).encode()
                ),
                timeout=PROCESS_TIMEOUT,
            )
        assert running.proc.wait(PROCESS_TIMEOUT) == 70
    finally:
        stop_plugin(running)


@pytest.mark.parametrize(
    ("name", "level"),
    [("trace", 10), ("DEBUG", 10), ("info", 20), ("warn", 30), ("error", 40), ("bogus", 20)],
)
def test_every_service_log_level_maps_to_a_python_level(name: str, level: int) -> None:
    assert plugin_server.python_log_level(name) == level


def test_the_plugin_starts_with_log_level_trace() -> None:
    running = start_plugin(plugin_env(LOG_LEVEL="trace"))
    try:
        assert running.handshake.startswith("1|1|unix|")
    finally:
        stop_plugin(running)


def test_a_candidate_with_a_lone_surrogate_is_invalid_not_an_enricher_failure() -> None:
    with pytest.raises(plugin_server.EnrichFailure) as raised:
        plugin_server._decode_candidate(rb'{"resume_text":"bad \ud800 x"}')
    assert raised.value.reason == enrich_pb2.REASON_INVALID_CANDIDATE
    assert not raised.value.retryable
    # A whole pair, and an escaped backslash before "ud800", are text like any other.
    whole = plugin_server._decode_candidate(rb'{"a":"\ud83d\ude00 \\ud800"}')
    assert whole == {"a": "\U0001F600 \\ud800"}
