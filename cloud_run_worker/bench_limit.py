"""The enricher's own limit: rules_enricher.enrich called in a loop, nothing else.

    bench_limit.py --candidates PATH [--seconds N] [--max-records N]

It is the ceiling ``make bench`` (cmd/hh-enrich-bench) holds the service against: no
RPC, no Redis, no HTTP, no JSON encoding of the result, one process. The harness runs one
per core in parallel and adds the rates up. The candidates are parsed once, before the clock
starts; those the enricher refuses (nothing to enrich) are left out, as the harness leaves
them out of the jobs it submits, so both measure the same work.

It prints exactly one JSON object on stdout: ``{records, seconds, records_per_s}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import rules_enricher

# How many records pass between two looks at the clock: reading it per record would cost a
# measurable share of a ~0.3 ms enrichment.
CLOCK_EVERY = 16


@dataclass(frozen=True)
class LimitResult:
    """What one run measured."""

    records: int
    seconds: float
    records_per_s: float


def load_candidates(path: Path) -> list[dict]:
    """The documents of a JSON-lines file that the enricher accepts, in file order."""
    candidates = []
    with path.open(encoding="utf-8") as source:
        for line in source:
            if not line.strip():
                continue
            doc = json.loads(line)
            if enrichable(doc):
                candidates.append(doc)
    if not candidates:
        raise ValueError(f"{path}: no candidate with resume_text or recruiter_comments")
    return candidates


def enrichable(doc: object) -> bool:
    """Whether the enricher accepts doc (it raises InvalidCandidate otherwise)."""
    try:
        rules_enricher.enrich(doc)  # type: ignore[arg-type]  # a non-dict is refused too
    except rules_enricher.InvalidCandidate:
        return False
    return True


def run_limit(candidates: list[dict], seconds: float, max_records: int = 0) -> LimitResult:
    """Enrich candidates round-robin for about ``seconds`` (or until ``max_records`` when
    that is positive, whichever comes first) and report the rate."""
    enrich = rules_enricher.enrich  # a local name: the loop is the hot path
    n = len(candidates)
    records = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(CLOCK_EVERY):
            enrich(candidates[records % n])
            records += 1
        now = time.perf_counter()
        if now >= deadline or (max_records > 0 and records >= max_records):
            break
    elapsed = now - started
    return LimitResult(records, round(elapsed, 6), round(records / elapsed, 1))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", required=True, type=Path, help="candidates.jsonl")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to loop")
    parser.add_argument("--max-records", type=int, default=0, help="stop after this many (0: off)")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        candidates = load_candidates(args.candidates)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"bench_limit: {exc}\n")
        return 1
    result = run_limit(candidates, args.seconds, args.max_records)
    sys.stdout.write(json.dumps(asdict(result)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
