"""Reading a model's answer into the rules enricher's schema, and the prompt that asks for it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import enrich_pb2
from enrichment import EnrichFailure
from fake_together import GOOD_ENRICHMENT
from test_rules_enricher import assert_schema
from together_output import SCHEMA, BadOutput, extract_json_object, parse_enrichment
from together_prompt import (
    MAX_RESUME_CHARS,
    PROMPT_VERSION,
    RESPONSE_SHAPE,
    SYSTEM_PROMPT,
    build_messages,
)

MINIMAL = {"resume_analysis": {}, "recruiter_insights": {}, "overall_score": 0.4}


def answer(**changes: Any) -> str:
    enrichment = copy.deepcopy(GOOD_ENRICHMENT)
    enrichment.update(changes)
    return json.dumps(enrichment)


@pytest.mark.parametrize(
    "content",
    [
        '{"a": 1}',
        '```json\n{"a": 1}\n```',
        '```\n{"a": 1}\n```',
        'Sure! ```json\n{"a": 1}\n``` Anything else?',
        '```json\n{"a": 1}',  # an answer cut off before the closing fence
        'The result: {"a": 1} -- done',
        '  \n{"a": 1}\n\n',
    ],
    ids=["bare", "fenced-json", "fenced", "fenced-with-chat", "unclosed-fence", "chat", "spaces"],
)
def test_the_object_is_found_wherever_the_model_put_it(content: str) -> None:
    assert extract_json_object(content) == {"a": 1}


@pytest.mark.parametrize(
    "content",
    ["", "no json here", "[1, 2, 3]", '{"a": 1', "} backwards {", '"just a string"'],
)
def test_answers_without_an_object_are_bad_output(content: str) -> None:
    with pytest.raises(BadOutput):
        extract_json_object(content)


def test_a_good_answer_keeps_its_values_and_fits_the_rules_schema() -> None:
    result = parse_enrichment(answer())
    assert result == GOOD_ENRICHMENT
    assert_schema(result)


def test_missing_fields_get_the_nothing_known_values_of_the_rules_schema() -> None:
    result = parse_enrichment(json.dumps(MINIMAL))
    assert_schema(result)
    trajectory = result["resume_analysis"]["career_trajectory"]
    assert trajectory["current_level"] == "Not specified"
    assert (trajectory["years_experience"], trajectory["career_changes"]) == (0.0, 0)
    assert result["resume_analysis"]["technical_skills"] == []
    leadership = result["resume_analysis"]["leadership_scope"]
    assert (leadership["has_leadership"], leadership["team_size"]) == (False, None)
    insights = result["recruiter_insights"]
    assert (insights["sentiment"], insights["recommendation"]) == ("neutral", "maybe")
    assert insights["cultural_fit"]["cultural_alignment"] == "Not specified"


def test_unknown_fields_are_dropped() -> None:
    enrichment = json.loads(answer(extra="x"))
    enrichment["resume_analysis"]["salary"] = 100
    result = parse_enrichment(json.dumps(enrichment))
    assert "extra" not in result and "salary" not in result["resume_analysis"]


@pytest.mark.parametrize(
    ("given", "score"),
    [(0.8234, 0.823), (1.7, 1.0), (-0.2, 0.0), (1, 1.0), (0, 0.0), ("high", 0.5), (True, 0.5),
     (None, 0.5), ([0.9], 0.5)],
)
def test_overall_score_is_clamped_to_the_unit_interval(given: Any, score: float) -> None:
    assert parse_enrichment(answer(overall_score=given))["overall_score"] == score


def test_non_finite_score_is_no_opinion() -> None:
    content = answer().replace('"overall_score": 0.82', '"overall_score": NaN')
    assert parse_enrichment(content)["overall_score"] == 0.5


def test_mistyped_fields_are_read_as_the_schema_types() -> None:
    enrichment = copy.deepcopy(GOOD_ENRICHMENT)
    trajectory = enrichment["resume_analysis"]["career_trajectory"]
    trajectory.update(current_level="Senior", years_experience="8+ years", career_changes="2",
                      domain_expertise="Payments")
    enrichment["resume_analysis"]["leadership_scope"].update(has_leadership="yes",
                                                              team_size="about 6 engineers")
    enrichment["resume_analysis"]["technical_skills"] = ["Go", "Go", "", None, "Not specified"]
    enrichment["resume_analysis"]["company_pedigree"]["tier_level"] = "Tier 1"
    enrichment["recruiter_insights"].update(recommendation="Strong Hire", sentiment="POSITIVE")
    enrichment["recruiter_insights"]["cultural_fit"] = "great"
    result = parse_enrichment(json.dumps(enrichment))
    assert_schema(result)
    trajectory = result["resume_analysis"]["career_trajectory"]
    assert (trajectory["current_level"], trajectory["years_experience"],
            trajectory["career_changes"], trajectory["domain_expertise"]) == (
        "senior", 8.0, 2, ["Payments"])
    leadership = result["resume_analysis"]["leadership_scope"]
    assert (leadership["has_leadership"], leadership["team_size"]) == (True, 6)
    assert result["resume_analysis"]["technical_skills"] == ["Go"]
    assert result["resume_analysis"]["company_pedigree"]["tier_level"] == "tier_1"
    insights = result["recruiter_insights"]
    assert (insights["recommendation"], insights["sentiment"]) == ("strong_hire", "positive")
    assert insights["cultural_fit"]["work_style"] == []


def test_values_outside_a_vocabulary_are_not_guessed() -> None:
    enrichment = copy.deepcopy(GOOD_ENRICHMENT)
    enrichment["resume_analysis"]["career_trajectory"]["current_level"] = "rockstar"
    enrichment["resume_analysis"]["career_trajectory"]["progression_speed"] = "slow|average|fast"
    result = parse_enrichment(json.dumps(enrichment))
    trajectory = result["resume_analysis"]["career_trajectory"]
    assert trajectory["current_level"] == "Not specified"
    assert trajectory["progression_speed"] == "Not specified"


# ---------------------------------------------------------------------------------------------
# The prompt


def keys(shape: Any) -> Any:
    return {key: keys(value) for key, value in shape.items()} if isinstance(shape, dict) else None


def test_the_prompt_asks_for_exactly_the_keys_answers_are_conformed_to() -> None:
    asked = keys(RESPONSE_SHAPE)
    assert asked.pop("overall_score") is None
    assert asked == keys(SCHEMA)


def test_messages_are_the_system_prompt_and_the_candidate_with_the_shape() -> None:
    system, user = build_messages({"name": "Ada", "resume_text": "Go engineer",
                                   "recruiter_comments": "Sharp."})
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert "Ada" in user["content"] and "Go engineer" in user["content"]
    assert "Sharp." in user["content"]
    assert json.dumps(RESPONSE_SHAPE, indent=2) in user["content"]
    assert PROMPT_VERSION == "together-v1"


def test_missing_parts_of_the_candidate_are_said_to_be_missing() -> None:
    _, user = build_messages({"recruiter_comments": "Sharp."})
    assert "Name: Unknown" in user["content"]
    assert "<resume>\nNot provided\n</resume>" in user["content"]


def test_very_long_resumes_are_truncated() -> None:
    _, user = build_messages({"resume_text": "x" * (MAX_RESUME_CHARS + 5000)})
    assert "x" * MAX_RESUME_CHARS + "\n[truncated]" in user["content"]
    assert "x" * (MAX_RESUME_CHARS + 1) not in user["content"]


@pytest.mark.parametrize(
    "candidate", [{}, {"name": "Ada"}, {"resume_text": "  ", "recruiter_comments": None}]
)
def test_a_candidate_without_text_is_invalid(candidate: dict) -> None:
    with pytest.raises(EnrichFailure) as raised:
        build_messages(candidate)
    assert raised.value.reason == enrich_pb2.REASON_INVALID_CANDIDATE
    assert not raised.value.retryable
