"""Enrich one candidate in a fresh process: the seed's command-line contract.

    run_enrich_job.py --candidate-id <tenant>_<candidate> --json [--candidate-file PATH|-]

It prints exactly one JSON object on stdout, ``{status, candidate_id,
processing_time_seconds, timestamp, candidate?, error?}``, and logs nothing there
(the seed logged to stdout and broke its own protocol, REFERENCE W10). It exits 0
when the candidate was enriched and 1 when it was not, so a caller can trust the
exit code (W11). A failure from the enricher also reports its contract ``reason`` (e.g.
``upstream_rate_limited``) and whether a retry can help (``retryable``).

The enricher is chosen as the plugin chooses it (enricher_choice.select_enricher):
Together AI when ``TOGETHER_API_KEY`` is set, else the local rules.

The service never runs this: it keeps long-lived plugins (plugin_server.py). It is
kept for scripts, and as the spawn-per-job baseline that ``make bench`` measures the
pool against. The candidate document comes from ``--candidate-file`` (a JSON object,
``-`` for stdin) until the Firestore reader lands.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from datetime import UTC, datetime

from enricher_choice import select_enricher
from enrichment import CallLimits, Enricher, EnrichFailure


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate-id", required=True, help="<tenant>_<candidate>")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--candidate-file", default="-", help="candidate JSON document, - = stdin")
    return parser.parse_args(argv)


def load_candidate(path: str) -> dict:
    if path == "-":
        return json.load(sys.stdin)
    with open(path, encoding="utf-8") as source:
        return json.load(source)


def enrich_candidate(enricher: Enricher, candidate: dict) -> dict:
    """The candidate document as the reference wrote it back: the enrichment merged in,
    with what produced it in processing_metadata."""
    enrichment = enricher.enrich(candidate, CallLimits())
    usage = enrichment.token_usage
    metadata = {
        "enricher": enricher.name,
        "model_version": enricher.model_version,
        "prompt_version": enricher.prompt_version,
        "token_usage": dataclasses.asdict(usage) if usage else None,
    }
    return {**candidate, **enrichment.result, "processing_metadata": metadata, "status": "enriched"}


def run(argv: list[str]) -> tuple[int, dict]:
    args = parse_args(argv)
    started = time.perf_counter()
    result: dict = {"candidate_id": args.candidate_id}
    enricher: Enricher | None = None
    code = 1
    try:
        candidate = load_candidate(args.candidate_file)
        if not isinstance(candidate, dict):
            raise ValueError("candidate must be a JSON object")
        enricher = select_enricher(os.environ)
        result.update(status="completed", candidate=enrich_candidate(enricher, candidate))
        code = 0
    except EnrichFailure as failure:
        result.update(
            status="failed",
            error=failure.message,
            reason=failure.reason_name,
            retryable=failure.retryable,
        )
    except (OSError, ValueError) as exc:  # unreadable input, JSON errors, bad TOGETHER_* settings
        result.update(status="failed", error=str(exc))
    finally:
        if enricher is not None:
            enricher.close()
    result["processing_time_seconds"] = round(time.perf_counter() - started, 6)
    result["timestamp"] = datetime.now(UTC).isoformat()
    return code, result


def main() -> int:
    code, result = run(sys.argv[1:])
    sys.stdout.write(json.dumps(result) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
