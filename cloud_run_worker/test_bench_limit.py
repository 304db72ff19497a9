"""Specification of bench_limit.py, the enricher's limit that make bench compares against."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import bench_limit

SCRIPT = Path(__file__).resolve().parent / "bench_limit.py"

GOOD = {"resume_text": "Senior Backend Engineer, Stripe (2019 - present). Go, SQL.",
        "recruiter_comments": "Strong technical depth."}
COMMENTS_ONLY = {"recruiter_comments": "Clear communicator."}
NOTHING = {"name": "only a name"}


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs) + "\n", encoding="utf-8")
    return path


def test_loads_only_the_candidates_the_enricher_accepts(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [GOOD, NOTHING, COMMENTS_ONLY])
    assert bench_limit.load_candidates(path) == [GOOD, COMMENTS_ONLY]


def test_a_file_with_nothing_to_enrich_is_an_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [NOTHING])
    with pytest.raises(ValueError, match="no candidate"):
        bench_limit.load_candidates(path)


def test_stops_at_max_records_and_reports_the_rate() -> None:
    result = bench_limit.run_limit([GOOD, COMMENTS_ONLY], seconds=60, max_records=32)
    assert result.records == 32
    assert result.seconds > 0
    assert result.records_per_s == pytest.approx(32 / result.seconds, rel=0.01)


def test_stops_after_the_given_seconds() -> None:
    result = bench_limit.run_limit([GOOD], seconds=0.05)
    assert 0.05 <= result.seconds < 5
    assert result.records >= bench_limit.CLOCK_EVERY


def test_cli_prints_one_json_object(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [GOOD, COMMENTS_ONLY])
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--candidates", str(path), "--seconds", "0.05"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert set(out) == {"records", "seconds", "records_per_s"}
    assert out["records"] > 0


def test_cli_fails_with_exit_code_1_on_a_missing_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--candidates", str(tmp_path / "none.jsonl")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "bench_limit:" in done.stderr
