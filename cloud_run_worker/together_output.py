"""From a model's chat answer to the enrichment schema the rules enricher writes.

Models wrap JSON in code fences or chat around it even in JSON mode, so extraction is
tolerant (REFERENCE §5: the whole text, else inside ``` fences, else from the first "{" to
the last "}"). Validation is strict only where a guess would be wrong: the two analysis
objects must be there. Everything below them is conformed to SCHEMA: a missing or
mistyped field takes its "nothing known" value ("Not specified", [], 0, false, null),
unknown fields are dropped and enumerated values are respelled into the rules' vocabulary,
so everything downstream (Firestore, the embedding text) sees one shape whoever enriched.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

NOT_SPECIFIED = "Not specified"

_FENCED_RE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)(?:```|\Z)", re.S)
_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
_PLACEHOLDERS = {"", "not specified", "n/a", "na", "none", "null", "unknown", "string"}


class BadOutput(ValueError):
    """The model's answer is not an enrichment (no JSON object, or not the schema)."""


def parse_enrichment(content: str) -> dict:
    """The enrichment in a model's answer, conformed to SCHEMA.

    Raises BadOutput when no JSON object can be found, or when resume_analysis or
    recruiter_insights is missing or not an object, or overall_score is missing.
    """
    answer = extract_json_object(content)
    for key in ("resume_analysis", "recruiter_insights"):
        if not isinstance(answer.get(key), dict):
            raise BadOutput(f"the answer has no {key} object")
    if "overall_score" not in answer:
        raise BadOutput("the answer has no overall_score")
    return {
        "resume_analysis": _conform(answer["resume_analysis"], SCHEMA["resume_analysis"]),
        "recruiter_insights": _conform(answer["recruiter_insights"], SCHEMA["recruiter_insights"]),
        "overall_score": score(answer["overall_score"]),
    }


def extract_json_object(content: str) -> dict:
    """The first JSON object found in the text as a whole, in a fenced block, or between
    the first "{" and the last "}". Raises BadOutput when there is none."""
    if not isinstance(content, str):
        raise BadOutput("the answer has no text content")
    candidates = [content]
    if fenced := _FENCED_RE.search(content):
        candidates.append(fenced.group(1))
    start, end = content.find("{"), content.rfind("}")
    if 0 <= start < end:
        candidates.append(content[start : end + 1])
    for text in candidates:
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise BadOutput("the answer holds no JSON object")


def score(value: Any) -> float:
    """overall_score in [0, 1], rounded like the rules' score; 0.5 (no opinion) when the
    model gave something that is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0.5
    return round(min(1.0, max(0.0, float(value))), 3)


# ---------------------------------------------------------------------------------------------
# Field conformers: each maps whatever the model wrote to the rules schema's type.


def text(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() not in _PLACEHOLDERS:
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return NOT_SPECIFIED


def texts(value: Any) -> list[str]:
    """A list of distinct, non-placeholder strings; a lone string becomes a list of one."""
    items = value if isinstance(value, list) else [value]
    kept = [text(item) for item in items if isinstance(item, str | int | float)]
    return list(dict.fromkeys(item for item in kept if item != NOT_SPECIFIED))


def choice(*allowed: str, default: str = NOT_SPECIFIED) -> Callable[[Any], str]:
    """An enumerated field: "Strong Hire" and "strong-hire" read as "strong_hire"; a value
    outside the vocabulary becomes ``default`` rather than a guess."""

    def conform(value: Any) -> str:
        if isinstance(value, str):
            spelled = re.sub(r"[\s-]+", "_", value.strip().lower())
            if spelled in allowed:
                return spelled
        return default

    return conform


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and (found := _NUMBER_RE.search(value)):  # "8+ years"
        return float(found.group(0))
    return None


def years(value: Any) -> float:
    number = _number(value)
    return round(max(0.0, number), 1) if number is not None else 0.0


def count(value: Any) -> int:
    number = _number(value)
    return max(0, round(number)) if number is not None else 0


def team_size(value: Any) -> int | None:
    number = _number(value)
    return round(number) if number is not None and number >= 1 else None


def flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "y", "1")
    return value is True


SCHEMA: dict[str, Any] = {
    "resume_analysis": {
        "career_trajectory": {
            "current_level": choice(
                "intern", "junior", "mid", "senior", "staff", "manager", "director", "vp",
                "c_level",
            ),
            "progression_speed": choice("slow", "average", "fast"),
            "trajectory_type": choice(
                "individual_contributor", "technical_leadership", "management", "career_change",
                "early_career",
            ),
            "years_experience": years,
            "career_changes": count,
            "domain_expertise": texts,
        },
        "technical_skills": texts,
        "soft_skills": texts,
        "leadership_scope": {
            "has_leadership": flag,
            "team_size": team_size,
            "leadership_level": choice("mentor", "team_lead", "manager", "director", "executive"),
            "leadership_style": texts,
        },
        "company_pedigree": {
            "tier_level": choice("tier_1", "tier_2", "tier_3"),
            "company_types": texts,
            "recent_companies": texts,
            "brand_recognition": choice("high", "medium", "low"),
        },
        "education": {"highest_degree": text, "institutions": texts, "fields_of_study": texts},
    },
    "recruiter_insights": {
        # The two judgements the rules always make get the rules' "no evidence" values:
        # neutral notes, and "maybe" (the rules' answer when there is too little to hire).
        "sentiment": choice("positive", "neutral", "negative", "mixed", default="neutral"),
        "strengths": texts,
        "concerns": texts,
        "red_flags": texts,
        "cultural_fit": {
            "cultural_alignment": choice("strong", "mixed", "weak"),
            "work_style": texts,
            "values_alignment": texts,
        },
        "recommendation": choice(
            "strong_hire", "hire", "maybe", "pass", "strong_pass", default="maybe"
        ),
        "key_themes": texts,
    },
}


def _conform(value: Any, shape: dict[str, Any]) -> dict[str, Any]:
    """Exactly shape's keys: nested objects recurse (a non-object counts as empty), leaves
    go through their conformer."""
    source = value if isinstance(value, dict) else {}
    return {
        key: _conform(source.get(key), rule) if isinstance(rule, dict) else rule(source.get(key))
        for key, rule in shape.items()
    }
