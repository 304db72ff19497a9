"""The spawn-per-job CLI, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CLI = Path(__file__).resolve().parent / "run_enrich_job.py"

CANDIDATE = {
    "name": "Ada",
    "resume_text": "Senior Backend Engineer, Stripe (2019 - present). Led a team of 6. Go, SQL.",
    "recruiter_comments": "Strong technical depth.",
}


def run_cli(stdin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CLI), "--candidate-id", "tenant-alpha_cand-1", "--json", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_prints_one_json_object_with_the_enriched_candidate() -> None:
    done = run_cli(json.dumps(CANDIDATE))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["status"] == "completed"
    assert result["candidate_id"] == "tenant-alpha_cand-1"
    assert result["candidate"]["resume_analysis"]["technical_skills"]
    assert result["processing_time_seconds"] >= 0


def test_a_candidate_with_nothing_to_enrich_fails_with_exit_code_1() -> None:
    done = run_cli(json.dumps({"name": "only a name"}))
    assert done.returncode == 1
    assert json.loads(done.stdout)["status"] == "failed"


def test_reads_the_candidate_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "candidate.json"
    path.write_text(json.dumps(CANDIDATE), encoding="utf-8")
    done = run_cli("", "--candidate-file", str(path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "completed"
