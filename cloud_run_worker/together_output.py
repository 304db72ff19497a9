"""From a model's chat answer to the enrichment schema the rules enricher writes, or a refusal.

Models wrap JSON in code fences or chat around it even in JSON mode, so extraction is
tolerant (REFERENCE §5: the whole text, else inside ``` fences, else from the first "{" to
the last "}"). What is inside is read the way a careful reviewer would before letting it rank
a candidate, and refused (BadOutput, naming every problem) rather than repaired:

- both analysis objects and each of their sections are objects holding some of their fields,
  and at least one field of the answer says something (a score with every field missing or
  a placeholder has nothing behind it);
- overall_score is a number in [0, 1]; a numeric string ("0.85") reads as its number,
  anything else (85, "high", true, NaN) is refused, never clamped or defaulted;
- every enumerated field holds one of its allowed values (spelling and case forgiven:
  "Strong Hire" is strong_hire); a "|"-joined list of them is the prompt's template
  echoed back, and so is a list item reading "string";
- strings are at most MAX_TEXT_CHARS long and hold no markup tags; lists hold at most
  MAX_LIST_ITEMS; numbers stay in a plausible range.

A field the model left out, or marked "Not specified" / null, takes its "nothing known" value
("Not specified", [], 0, false, null); unknown fields are dropped. So everything downstream
(Firestore, the embedding text) sees one shape whoever enriched. JSON_SCHEMA says the same in
JSON Schema, for providers that enforce it while decoding.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

NOT_SPECIFIED = "Not specified"
# A skill, a company, a theme: a few words. Longer is prose pasted into a field.
MAX_TEXT_CHARS = 200
MAX_LIST_ITEMS = 30
# How many problems a refusal names; the rest are counted.
MAX_PROBLEMS_NAMED = 5

_FENCED_RE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)(?:```|\Z)", re.S)
_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
_TAG_RE = re.compile(r"<\s*/?\s*[A-Za-z!][^<>]*>")
_PLACEHOLDERS = {"", "not specified", "n/a", "na", "none", "null", "unknown"}
# What the prompt's template writes where a value goes; an answer holding it copied the
# template instead of assessing.
_TEMPLATE_PLACEHOLDER = "string"


class BadOutput(ValueError):
    """The model's answer is not an enrichment we can store; the message says why."""


class _Refused(ValueError):
    """One field's value is refused; the message says why (without the field's path)."""


def parse_enrichment(content: str) -> dict:
    """The enrichment in a model's answer, validated and conformed to SCHEMA.

    Raises BadOutput when no JSON object can be found, or naming each problem found.
    """
    answer = extract_json_object(content)
    problems: list[str] = []
    assessed = [0]
    result = {
        key: _read_section(answer.get(key), SCHEMA[key], key, problems, assessed)
        for key in ("resume_analysis", "recruiter_insights")
    }
    try:
        result["overall_score"] = score(answer.get("overall_score"))
    except _Refused as exc:
        problems.append(f"overall_score {exc}")
    if not problems and not assessed[0]:
        # Every field missing, null or "Not specified": a score with nothing behind it.
        problems.append("no field holds an assessment (each is missing or a placeholder), "
                        "so overall_score has nothing behind it")
    if problems:
        raise BadOutput(describe(problems))
    return result


def describe(problems: list[str]) -> str:
    named = "; ".join(problems[:MAX_PROBLEMS_NAMED])
    more = len(problems) - MAX_PROBLEMS_NAMED
    return "the answer was refused: " + named + (f" (and {more} more)" if more > 0 else "")


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
    """overall_score, a number in [0, 1] rounded like the rules' score. A numeric string
    reads as its number; anything else raises _Refused."""
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _Refused(f"{_show(value)} is not a number") from None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise _Refused(f"{_show(value)} is not a number")
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise _Refused(f"{_show(value)} is outside [0, 1]")
    return round(float(number), 3)


# ---------------------------------------------------------------------------------------------
# Field readers: each reads what the model wrote as its field's type, or raises _Refused, and
# says in JSON Schema what it accepts.


def _show(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, float) else repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _unknown(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _PLACEHOLDERS)


@dataclass(frozen=True)
class Choice:
    """An enumerated field: the canonical values, each with the spellings that read as it."""

    values: tuple[str, ...]
    default: str = NOT_SPECIFIED

    def read(self, value: Any) -> str:
        if _unknown(value):
            return self.default
        if isinstance(value, str):
            if "|" in value:
                raise _Refused(f"{_show(value)} is the prompt's template, not a value")
            spelled = _spelling(value)
            for canonical in self.values:
                if _spelling(canonical) == spelled:
                    return canonical
        raise _Refused(f"{_show(value)} is not one of {', '.join(self.values)}")

    def schema(self) -> dict[str, Any]:
        values = list(self.values)
        if self.default == NOT_SPECIFIED:
            values.append(NOT_SPECIFIED)
        return {"type": "string", "enum": values}


def _spelling(value: str) -> str:
    """"Strong Hire", "strong-hire" and "strong_hire" alike; "Master's" as "masters"."""
    return re.sub(r"[\s_-]+", "_", value.strip().lower().replace("'", "").replace("’", ""))


def choice(*values: str, default: str = NOT_SPECIFIED) -> Choice:
    return Choice(values, default)


class Texts:
    """A list of short plain strings; a lone string is a list of one, placeholders drop."""

    def read(self, value: Any) -> list[str]:
        items = value if isinstance(value, list) else [] if value is None else [value]
        if len(items) > MAX_LIST_ITEMS:
            raise _Refused(f"has {len(items)} items, more than {MAX_LIST_ITEMS}")
        kept: list[str] = []
        for item in items:
            if isinstance(item, int | float) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str):
                raise _Refused(f"holds {_show(item)}, not a string")
            item = item.strip()
            if item.lower() == _TEMPLATE_PLACEHOLDER:
                raise _Refused('holds "string", the prompt\'s template, not a value')
            if len(item) > MAX_TEXT_CHARS:
                raise _Refused(f"holds a string of {len(item)} characters, "
                               f"more than {MAX_TEXT_CHARS}")
            if _TAG_RE.search(item):
                raise _Refused(f"holds markup {_show(item)}")
            if not _unknown(item):
                kept.append(item)
        return list(dict.fromkeys(kept))

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "maxItems": MAX_LIST_ITEMS,
                "items": {"type": "string", "maxLength": MAX_TEXT_CHARS}}


@dataclass(frozen=True)
class Number:
    """A number in [low, high]: "8+ years" reads as 8; none given is ``none``."""

    low: float
    high: float
    whole: bool = False
    none: float | int | None = 0.0

    def read(self, value: Any) -> float | int | None:
        if _unknown(value):
            return self.none
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str) and (found := _NUMBER_RE.search(value)):
            number = float(found.group(0))
        if number is None or not math.isfinite(number):
            raise _Refused(f"{_show(value)} is not a number")
        if self.none is None and number == 0:
            return None  # team_size 0: nobody led
        if not self.low <= number <= self.high:
            raise _Refused(f"{_show(value)} is outside [{self.low:g}, {self.high:g}]")
        return round(number) if self.whole else round(number, 1)

    def schema(self) -> dict[str, Any]:
        kind = "integer" if self.whole else "number"
        return {"type": [kind, "null"] if self.none is None else kind,
                "minimum": self.low, "maximum": self.high}


class Flag:
    def read(self, value: Any) -> bool:
        if value is None or isinstance(value, bool):
            return value is True
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "y", "1"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("false", "no", "n", "0"):
            return False
        raise _Refused(f"{_show(value)} is not true or false")

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class Score:
    def read(self, value: Any) -> float:
        return score(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "number", "minimum": 0, "maximum": 1}


TEXTS, FLAG = Texts(), Flag()

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
            "years_experience": Number(0, 70),
            "career_changes": Number(0, 50, whole=True, none=0),
            "domain_expertise": TEXTS,
        },
        "technical_skills": TEXTS,
        "soft_skills": TEXTS,
        "leadership_scope": {
            "has_leadership": FLAG,
            "team_size": Number(1, 1_000_000, whole=True, none=None),
            "leadership_level": choice("mentor", "team_lead", "manager", "director", "executive"),
            "leadership_style": TEXTS,
        },
        "company_pedigree": {
            "tier_level": choice("tier_1", "tier_2", "tier_3"),
            "company_types": TEXTS,
            "recent_companies": TEXTS,
            "brand_recognition": choice("high", "medium", "low"),
        },
        "education": {
            # The rules enricher's degree names, which its score reads.
            "highest_degree": choice("PhD", "Master's", "Bachelor's", "Associate", "High School"),
            "institutions": TEXTS,
            "fields_of_study": TEXTS,
        },
    },
    "recruiter_insights": {
        # The two judgements the rules always make get the rules' "no evidence" values:
        # neutral notes, and "maybe" (the rules' answer when there is too little to hire).
        "sentiment": choice("positive", "neutral", "negative", "mixed", default="neutral"),
        "strengths": TEXTS,
        "concerns": TEXTS,
        "red_flags": TEXTS,
        "cultural_fit": {
            "cultural_alignment": choice("strong", "mixed", "weak"),
            "work_style": TEXTS,
            "values_alignment": TEXTS,
        },
        "recommendation": choice(
            "strong_hire", "hire", "maybe", "pass", "strong_pass", default="maybe"
        ),
        "key_themes": TEXTS,
    },
}


def _read_section(
    value: Any, shape: dict[str, Any], path: str, problems: list[str], assessed: list[int]
) -> dict:
    """Exactly shape's keys: nested sections recurse, leaves go through their reader; each
    problem is added to ``problems`` with its path. A section that is missing, not an object,
    empty, or holding none of its fields is a problem. ``assessed[0]`` counts the leaves that
    say something (read other than as "nothing known")."""
    if not isinstance(value, dict):
        problems.append(f"{path} is {'missing' if value is None else 'not an object'}")
        value = {}
    elif not value:
        problems.append(f"{path} is empty")
    elif not value.keys() & shape.keys():
        problems.append(f"{path} holds none of its fields ({', '.join(sorted(shape))})")
    result: dict[str, Any] = {}
    for key, rule in shape.items():
        if isinstance(rule, dict):
            result[key] = _read_section(value.get(key), rule, f"{path}.{key}", problems, assessed)
            continue
        try:
            result[key] = rule.read(value.get(key))
        except _Refused as exc:
            problems.append(f"{path}.{key} {exc}")
            continue
        if result[key] != rule.read(None):
            assessed[0] += 1
    return result


def _json_schema(shape: dict[str, Any]) -> dict[str, Any]:
    properties = {key: _json_schema(rule) if isinstance(rule, dict) else rule.schema()
                  for key, rule in shape.items()}
    return {"type": "object", "properties": properties, "required": list(shape),
            "additionalProperties": False}


# The answer's JSON Schema, for response_format: a provider that enforces it while decoding
# cannot answer outside it; parse_enrichment still checks, because not every model does.
JSON_SCHEMA: dict[str, Any] = _json_schema({**SCHEMA, "overall_score": Score()})
