"""Faults on request, for the host's tests of a pool that heals itself.

Enabled only when the plugin runs with ``ENRICH_TEST_FAULTS=1``; production never sets
it, and without it the ``_fault`` field of a candidate is ignored like any other field.
A candidate asks for a fault with ``"_fault"``:

- ``"crash"``: the process exits at once, mid-call (as a segfault in a C extension would);
- ``"hang"``: the call spins forever (an endless loop; only a kill ends it);
- ``"internal"``: the enricher raises, which the plugin reports as an internal error;
- ``"unavailable"``: the upstream is down (a retryable failure of the whole service);
- ``"sleep:<ms>"``: the call takes that long, then enriches normally;
- ``"leak:<MB>"``: the process keeps that much more memory for good, then enriches
  normally (a leak for memory recycling to catch).
"""

from __future__ import annotations

import os
import time

import enrich_pb2
from enrichment import EnrichFailure

ENV_FLAG = "ENRICH_TEST_FAULTS"

# Memory that "leak" keeps alive for the life of the process, on purpose.
_LEAKED: list[bytearray] = []


class InjectedFailure(RuntimeError):
    """The "internal" fault: stands for a bug in an enricher."""


def enabled() -> bool:
    return os.environ.get(ENV_FLAG) == "1"


def apply(candidate: dict) -> None:
    """Performs the fault the candidate asks for, if any."""
    fault = candidate.get("_fault")
    if not isinstance(fault, str):
        return
    kind, _, arg = fault.partition(":")
    if kind == "crash":
        os._exit(70)  # no cleanup, no reply: what a hard crash looks like to the host
    elif kind == "hang":
        while True:
            pass
    elif kind == "internal":
        raise InjectedFailure("injected internal failure")
    elif kind == "unavailable":
        raise EnrichFailure(enrich_pb2.REASON_UPSTREAM_UNAVAILABLE, "injected outage", True)
    elif kind == "sleep":
        time.sleep(int(arg) / 1000)
    elif kind == "leak":
        chunk = bytearray(int(arg) * 1024 * 1024)
        chunk[::4096] = b"x" * len(chunk[::4096])  # touch every page so it is resident
        _LEAKED.append(chunk)
