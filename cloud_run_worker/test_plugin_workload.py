"""What the plugin tells the host about its enricher (Describe's workload and capacity), how
ENRICH_ENRICHER chooses the enricher, and an I/O-bound batch running its items at once.
Real plugin processes over their unix socket; the provider is fake_together.py on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

import enrich_pb2
from enricher_choice import LocalRulesEnricher, select_enricher
from fake_together import GOOD, serve
from test_plugin_server import (
    NURSE,
    PROCESS_TIMEOUT,
    SERVER,
    plugin_env,
    start_plugin,
    stop_plugin,
)
from test_plugin_together import together_env


def describe(env: dict[str, str]) -> enrich_pb2.DescribeResponse:
    running = start_plugin(env)
    try:
        return running.stub.Describe(enrich_pb2.DescribeRequest(), timeout=PROCESS_TIMEOUT)
    finally:
        stop_plugin(running)


def test_the_rules_enricher_describes_itself_as_cpu_bound() -> None:
    described = describe(plugin_env(ENRICH_ENRICHER="rules", ENRICH_PLUGIN_THREADS="6"))
    assert (described.enricher, described.workload) == ("local_rules", "cpu")
    assert described.max_concurrency == 5  # six threads, one kept for pings and Describe


def test_the_together_enricher_describes_itself_as_io_bound_with_its_thread_capacity() -> None:
    with serve(GOOD) as fake:
        described = describe(together_env(fake, ENRICH_ENRICHER="together",
                                          ENRICH_PLUGIN_THREADS="33"))
    assert (described.enricher, described.workload, described.max_concurrency) == (
        "together", "io", 32)


def test_enricher_rules_wins_over_a_key() -> None:
    env = {"ENRICH_ENRICHER": "rules", "TOGETHER_API_KEY": "k"}
    assert isinstance(select_enricher(env), LocalRulesEnricher)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ENRICH_ENRICHER": "together"}, "TOGETHER_API_KEY"),
        ({"ENRICH_ENRICHER": "llm", "TOGETHER_API_KEY": "k"}, "ENRICH_ENRICHER"),
    ],
)
def test_an_impossible_choice_refuses_and_names_the_variable(env: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        select_enricher(env)


def test_a_plugin_told_together_without_a_key_refuses_to_start() -> None:
    done = subprocess.run(
        [sys.executable, str(SERVER)], env=plugin_env(ENRICH_ENRICHER="together"),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=PROCESS_TIMEOUT,
    )
    assert done.returncode == 1
    assert done.stdout == ""  # no handshake: the host sees a failed start
    assert "TOGETHER_API_KEY" in done.stderr


def test_an_io_bound_batch_has_all_its_items_at_the_provider_at_once() -> None:
    items = 6
    # Every request waits here until all six are in flight; one item at a time would
    # break the barrier on its timeout and the items would fail.
    together = threading.Barrier(items, timeout=PROCESS_TIMEOUT)
    with serve(GOOD, on_request=lambda _count: together.wait()) as fake:
        running = start_plugin(together_env(fake, ENRICH_ENRICHER="together",
                                            ENRICH_PLUGIN_THREADS=str(items + 2)))
        try:
            request = enrich_pb2.EnrichBatchRequest(items=[
                enrich_pb2.EnrichRequest(job_id=f"j{i}", candidate_json=json.dumps(NURSE).encode())
                for i in range(items)
            ])
            reply = running.stub.EnrichBatch(request, timeout=3 * PROCESS_TIMEOUT)
        finally:
            stop_plugin(running)
    assert [r.WhichOneof("outcome") for r in reply.results] == ["response"] * items
    assert not together.broken
