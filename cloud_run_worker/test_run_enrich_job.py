"""The spawn-per-job CLI, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fake_together import GOOD, GOOD_ENRICHMENT, USAGE, Reply, serve

CLI = Path(__file__).resolve().parent / "run_enrich_job.py"

CANDIDATE = {
    "name": "Ada",
    "resume_text": "Senior Backend Engineer, Stripe (2019 - present). Led a team of 6. Go, SQL.",
    "recruiter_comments": "Strong technical depth.",
}


def cli_env(**extra: str) -> dict[str, str]:
    """The caller's environment without Together settings (a developer's real key must
    not send test candidates to the internet), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGETHER_")}
    return env | extra


def run_cli(
    stdin: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CLI), "--candidate-id", "tenant-alpha_cand-1", "--json", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        env=env or cli_env(),
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


def test_without_a_key_the_local_rules_enrich() -> None:
    result = json.loads(run_cli(json.dumps(CANDIDATE)).stdout)
    metadata = result["candidate"]["processing_metadata"]
    assert (metadata["enricher"], metadata["token_usage"]) == ("local_rules", None)


def test_with_a_key_it_enriches_through_together() -> None:
    with serve(GOOD) as fake:
        env = cli_env(TOGETHER_API_KEY="cli-key", TOGETHER_AI_BASE_URL=fake.base_url)
        done = run_cli(json.dumps(CANDIDATE), env=env)
    assert done.returncode == 0, done.stderr
    candidate = json.loads(done.stdout)["candidate"]
    assert candidate["overall_score"] == GOOD_ENRICHMENT["overall_score"]
    assert candidate["processing_metadata"]["enricher"] == "together"
    assert candidate["processing_metadata"]["token_usage"] == USAGE
    assert len(fake.received) == 1


def test_a_together_failure_reports_its_reason_and_exit_code_1() -> None:
    with serve(Reply(401)) as fake:
        env = cli_env(TOGETHER_API_KEY="cli-key", TOGETHER_AI_BASE_URL=fake.base_url)
        done = run_cli(json.dumps(CANDIDATE), env=env)
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert (result["status"], result["retryable"]) == ("failed", False)
    assert result["reason"] == "internal"
    assert "cli-key" not in done.stdout + done.stderr
