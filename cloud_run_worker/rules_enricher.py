"""Deterministic local "rules" enricher: a candidate document in, the LLM enrichment schema out.

It produces the same JSON shape the Together AI prompt asks for (``resume_analysis``,
``recruiter_insights``, ``overall_score``; see REFERENCE §5) from hand-written rules, so the
service can enrich without a model: in tests, benchmarks and as a fallback. Everything is a
pure function of the input: no randomness, no clock (see ``PRESENT_YEAR``), no I/O, and never
a print, because the plugin process's stdout is the go-plugin protocol channel.

Pipeline: ``enrich`` → ``_analyse_resume`` (date ranges → jobs → years and seniority; lexicon
→ skills; phrases → leadership; degree patterns → education; employers → pedigree) and
``_analyse_comments`` (sentiment lexicon per clause → strengths, concerns, red flags, themes),
then ``_overall_score`` and ``_recommendation``. Regular expressions are compiled at import
because the enricher is called thousands of times per second in the benchmark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

try:  # imported as part of a package
    from . import skills_lexicon as lex
except ImportError:  # imported as a top-level module, as plugin_server.py does
    import skills_lexicon as lex

MODEL_VERSION = "local-rules-v1"
PROMPT_VERSION = "rules-v1"

# "present"/"now"/"current" end dates resolve to January of this year rather than today's date,
# so an enrichment computed today and one replayed next year are identical (the outputs are
# cached and compared across runs). The synthetic data set is generated relative to 2026 too.
PRESENT_YEAR = 2026

NOT_SPECIFIED = "Not specified"  # the LLM prompt's convention for missing data


class InvalidCandidate(ValueError):
    """The candidate has nothing to enrich (no resume_text and no recruiter_comments, or not a
    dict)."""


# ---------------------------------------------------------------------------------------------
# Seniority. Ranks drive progression speed and the score. Staff/principal ICs and managers
# share a rank: they are parallel ladders, and moving between them is not a promotion.
# "manager" also covers tech/team leads, who own a team's delivery. Which title words mean
# which level is in the lexicon (skills_lexicon.stated_level).
LEVEL_RANK = {"intern": 0, "junior": 1, "mid": 2, "senior": 3, "staff": 4, "manager": 4,
              "director": 5, "vp": 6, "c_level": 7}
MAX_RANK = 7

_EARLY_CAREER_RE = re.compile(rf"\b(?:{lex.EARLY_CAREER})\b", re.I)
_SEEKING_INTERNSHIP_RE = re.compile(rf"\b(?:{lex.SEEKING_INTERNSHIP})", re.I)
_TITLE_WORD_RE = re.compile(rf"\b(?:{lex.TITLE_WORDS})s?\b", re.I)
_FALLBACK_TITLE_RE = re.compile(
    rf"\b(?P<title>(?:(?:{lex.TITLE_MODIFIERS})\s+){{0,4}}(?:{lex.ROLE_NOUNS}))\b"
    r"(?:\s+(?:at|@)\s+(?P<company>[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*){0,3}))?", re.I)

# ---------------------------------------------------------------------------------------------
# Regexes that scan whole resumes start with a lookahead on their possible first characters:
# it lets the engine reject most positions at once (measured: 2-6x faster on this data).
#
# Dates. A point is "2019", "Jan 2019", "January 2019" or "03/2019"; a range joins two points
# (or a point and present/now/current) with -, –, — or "to".
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")


def _point(tag: str) -> str:
    return (rf"(?:(?P<{tag}name>{_MONTH})\s+|(?P<{tag}num>0?[1-9]|1[0-2])\s*/\s*)?"
            rf"(?P<{tag}year>(?:19|20)\d\d)")


_RANGE_RE = re.compile(rf"(?=[\dJFMASONDjfmasond])(?<![\w/]){_point('s')}\s*(?:-|–|—|to|until)\s*"
                       rf"(?:{_point('e')}|(?P<now>present|now|current|today|date))(?![\w/])", re.I)
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                       "sep", "oct", "nov", "dec"))}
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
_NUM_GATE = r"(?=[\dotfsenzOTFSENZ])"  # first characters of a digit or a number word
_NUM = r"(\d{1,5}|" + "|".join(_NUMBER_WORDS) + r")"
_YEARS_PHRASE_RE = re.compile(
    rf"{_NUM_GATE}\b(\d{{1,2}}(?:\.\d)?|{'|'.join(_NUMBER_WORDS)})\s*(\+)?\s*(?:years?|yrs?)'?"
    r"(\s+(?:of\s+)?(?:[\w-]+\s+){0,2}?(?:experience|exp)\b)?", re.I)

# ---------------------------------------------------------------------------------------------
# Leadership. A managed team ("led a team of 8", "managed 12 engineers", "3 direct reports")
# sets team_size; mentoring only counts when nobody is managed ("mentored 3 juniors").
# Each regex comes with substrings that must occur in the lower-cased text for it to match:
# a substring test is far cheaper than a regex scan, and most resumes fail it.
_TEAM_RES = (
    # Being "part of a team of 5" or "in a team of 5" is membership, not leadership.
    (("team",), re.compile(rf"(?<!of a )(?<!in a )(?<!on a )\bteam\s+of\s+{_NUM}\b", re.I)),
    (("manag", "led", "lead", "supervis", "oversaw", "overseeing", "directed"),
     re.compile(rf"(?=[mlsodMLSOD])\b(?:managed|managing|manage|led|leading|lead|supervised|supervising|"
                rf"oversaw|overseeing|directed)\s+{_NUM}\s+(?:[\w-]+\s+){{0,2}}?(?:engineers|developers|"
                r"people|reports|nurses|staff|scientists|analysts|designers|reps|representatives|"
                r"members|employees|managers|ics|pms)\b", re.I)),
    (("direct report",), re.compile(rf"{_NUM_GATE}\b{_NUM}\s+direct\s+reports\b", re.I)),
    (("org", "department"),
     re.compile(rf"\b(?:org|organization|department)\s+of\s+{_NUM}\b", re.I)),
)
_MENTOR_GATE = ("mentor", "coach")
_MENTOR_RE = re.compile(rf"(?=[mcMC])\b(?:mentored|mentoring|coached|coaching)\s+{_NUM}\b", re.I)
_PEOPLE_MANAGER_RE = re.compile(
    rf"\bdirect\s+reports\b|\bmanag(?:ed|es|ing|e)\s+(?:an?\s+(?:\w+\s+)?team|{_NUM}\s)", re.I)
_LEADS_TEAM_GATE = ("team", "tech lead")
_LEADS_TEAM_RE = re.compile(
    r"\b(?:led|leading|lead)\s+(?:a|the|an?\s+\w+)\s+team\b|\b(?:team|tech)\s+lead\b", re.I)
_MENTORS_GATE = ("mentor", "coach", "trained")
_MENTORS_RE = re.compile(r"\b(?:mentor\w*|coach\w*|trained\s+\d+\s+new)\b", re.I)
_LEADERSHIP_STYLES = lex.labelled(lex.LEADERSHIP_STYLES)

# ---------------------------------------------------------------------------------------------
# Education: degree spellings live in the lexicon; here, how a degree line is read.
_DEGREE_NAMES = {"phd": "PhD", "master": "Master's", "bachelor": "Bachelor's",
                 "associate": "Associate", "high_school": "High School"}
_DEGREE_SCORE = {"PhD": 1.0, "Master's": 0.8, "Bachelor's": 0.6, "Associate": 0.4,
                 "High School": 0.2, NOT_SPECIFIED: 0.0}
_FIELD_RE = re.compile(
    r"\s*(?::\s*)?(?:(?:degree\s+)?(?:in|of)\s+)?(?P<field>[A-Z][^,;|()—–\n]*?)"
    r"(?=\s*(?:$|[,;|()—–\n]|\s-\s|\bat\b|\bfrom\b|(?:19|20)\d\d))")
_OF_WORD_RE = re.compile(r"\bof\s+(\w+)$", re.I)
_SEGMENT_SPLIT_RE = re.compile(r"\s*[,;|()—–]\s*|\s+-\s+|\s+at\s+|\s+from\s+")
_INSTITUTION_RE = re.compile(rf"\b(?:{lex.INSTITUTION_WORDS})\b", re.I)
_YEARISH_RE = re.compile(r"^(?:[\d\s/–—-]|present|gpa.*|class of.*)*$", re.I)
_EDUCATION_LINE_RE = re.compile(r"^\s*(?:education|certifications?|licen[cs]es?)\b\s*:?", re.I)

# ---------------------------------------------------------------------------------------------
# Experience header lines: "Title, Company", "Company — Title", "Title at Company", "Title | Co".
_DASH_SPLIT_RE = re.compile(r"\s+[—–|]\s+|\s+-\s+")
_AT_SPLIT_RE = re.compile(r"\s+(?:at|@)\s+", re.I)
_COMMA_SPLIT_RE = re.compile(r",\s+")
# (splitter, whether the title usually comes first), strongest separator first.
_HEADER_SPLITS = ((_DASH_SPLIT_RE, False), (_AT_SPLIT_RE, True), (_COMMA_SPLIT_RE, True))
_STRIP_CHARS = " \t,;:|-–—()[]•*·"
_BULLET_RE = re.compile(r"^\s*[-•*·]\s*")
_EMPTY_PARENS_RE = re.compile(r"\(\s*\)|\[\s*\]")
_SECTION_RE = re.compile(r"(?:(?:work|professional|relevant)\s+)?(?:experience|employment|"
                         r"work history|career|summary|profile|skills|education)", re.I)

# ---------------------------------------------------------------------------------------------
# Recruiter comments: vocabulary in the lexicon.


def _terms_re(terms: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(sorted(terms, key=len, reverse=True)) + r")\b", re.I)


_POSITIVE_RE = _terms_re(lex.POSITIVE_TERMS)
_CONCERN_RE = _terms_re(lex.CONCERN_TERMS)
_RED_FLAG_RE = _terms_re(lex.RED_FLAG_TERMS)
_LOGISTICS_RE = re.compile("|".join(lex.LOGISTICS_TERMS), re.I)
_GENERIC_CONCERN_RE = re.compile(r"concern\w*", re.I)
_NEGATION_RE = re.compile(r"\b(?:not|no|never|without|hardly|\w+n't)\b(?:\s+\w+){0,2}\s*$", re.I)
_CLAUSE_SPLIT_RE = re.compile(r"(?<=[.!?;])\s+|\n+|,?\s+\bbut\b\s+|,?\s+\bhowever\b,?\s+", re.I)
_THEME_RES = lex.labelled(lex.THEMES)
_WORK_STYLE_RES = lex.labelled(lex.WORK_STYLES)
_VALUE_RES = lex.labelled(lex.VALUES)
_CULTURE_POS_RE = re.compile(rf"\b(?:{lex.CULTURE_POSITIVE})\b", re.I)
_CULTURE_NEG_RE = re.compile(rf"\b(?:{lex.CULTURE_NEGATIVE})\b", re.I)


@dataclass(frozen=True)
class Job:
    """One dated experience entry. Months are counted as year * 12 + month index."""

    title: str
    company: str
    start: int
    end: int


@dataclass(frozen=True)
class Degree:
    level: str
    field: str
    institution: str


# ---------------------------------------------------------------------------------------------
# Entry point


def enrich(candidate: dict) -> dict:
    """Turn a Firestore-shaped candidate document into the enrichment schema."""
    if not isinstance(candidate, dict):
        raise InvalidCandidate("candidate must be a dict")
    resume = _text(candidate.get("resume_text"))
    comments = _text(candidate.get("recruiter_comments"))
    if not resume and not comments:
        raise InvalidCandidate(nothing_to_enrich(candidate))
    analysis = _analyse_resume(resume)
    insights = _analyse_comments(comments)
    score = _overall_score(analysis, insights, has_resume=bool(resume))
    insights["recommendation"] = _recommendation(score, insights, has_resume=bool(resume))
    return {"resume_analysis": analysis, "recruiter_insights": insights, "overall_score": score}


def nothing_to_enrich(candidate: dict) -> str:
    """Why a candidate without resume_text or recruiter_comments text has nothing to enrich:
    a field sent as another type is named, so the sender sees what to fix."""
    wrong = [
        f"{name} is {_json_kind(candidate[name])}, not text"
        for name in ("resume_text", "recruiter_comments")
        if candidate.get(name) is not None and not isinstance(candidate[name], str)
    ]
    if wrong:
        return "candidate has no text to enrich: " + "; ".join(wrong)
    return "candidate has neither resume_text nor recruiter_comments"


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a " + type(value).__name__


def _text(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()  # lines end in "\n" below


# ---------------------------------------------------------------------------------------------
# Resume


def _analyse_resume(text: str) -> dict:
    degree_matches = lex.find_degrees(text)
    degree_lines = {text.rfind("\n", 0, m.start()) + 1 for m in degree_matches}
    jobs, spans = _jobs_and_spans(text, degree_lines)
    years = _years_experience(text, spans)
    fallback_title, fallback_company = _fallback_title(text) if not jobs else ("", "")
    current_title = jobs[0].title if jobs else fallback_title
    current_level = _current_level(text, current_title, years, bool(jobs))
    technical, soft, domain_counts = lex.find_skills(text)
    titles = [job.title for job in jobs] or ([fallback_title] if fallback_title else [])
    leadership = _leadership(text, titles)
    companies = _unique([job.company for job in jobs if job.company] or
                        ([fallback_company] if fallback_company else []))
    changes = _career_changes(jobs)
    return {
        "career_trajectory": {
            "current_level": current_level,
            "progression_speed": _progression_speed(jobs, current_level),
            "trajectory_type": _trajectory_type(current_level, current_title, years, changes,
                                                leadership["has_leadership"]),
            "years_experience": years,
            "career_changes": changes,
            "domain_expertise": _domains(domain_counts, titles),
        },
        "technical_skills": technical,
        "soft_skills": soft,
        "leadership_scope": leadership,
        "company_pedigree": _pedigree(companies),
        "education": _education(text, degree_matches),
    }


def _jobs_and_spans(text: str, degree_lines: set[int]) -> tuple[list[Job], list[tuple[int, int]]]:
    """Every date range outside education lines is a span of work; those on a line that also
    names a title (or right under one) are jobs. Jobs are returned most recent first."""
    jobs: list[Job] = []
    spans: list[tuple[int, int]] = []
    for match in _RANGE_RE.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.end())
        line_end = len(text) if line_end < 0 else line_end
        line = text[line_start:line_end]
        if line_start in degree_lines or _EDUCATION_LINE_RE.match(line):
            continue
        start, end = _month(match, "s"), _end_month(match)
        if end < start:
            continue
        spans.append((start, end))
        header = _clean(_EMPTY_PARENS_RE.sub(" ", text[line_start:match.start()] + " "
                                             + text[match.end():line_end]))
        title, company = _split_header(header)
        if not title and not _BULLET_RE.match(line):  # dates under "Title, Company" or "Title"
            previous, previous_start = _line_before(text, line_start)
            if _is_plain(previous):
                title, company = _split_header(_clean(previous))
            if title and not company:  # "Company\nTitle\nDates", or "Title\nCompany, dates"
                above, _ = _line_before(text, previous_start)
                plain = _is_plain(above) and not _TITLE_WORD_RE.search(above)
                company = header or (_clean(above) if plain else "")
        if title:
            jobs.append(Job(title, company, start, end))
    jobs.sort(key=lambda job: (job.end, job.start), reverse=True)
    return jobs, spans


def _clean(line: str) -> str:
    return _BULLET_RE.sub("", line.strip(_STRIP_CHARS))


def _line_before(text: str, line_start: int) -> tuple[str, int]:
    """The line ending just before line_start, and where it starts."""
    if line_start <= 0:
        return "", 0
    start = text.rfind("\n", 0, line_start - 1) + 1
    return text[start:line_start - 1], start


def _is_plain(line: str) -> bool:
    """Could this line hold a title or an employer: not a bullet, a dated job or a heading?"""
    stripped = line.strip(_STRIP_CHARS)
    return bool(stripped) and not (_BULLET_RE.match(line) or _RANGE_RE.search(line)
                                   or _SECTION_RE.fullmatch(stripped))


def _month(match: re.Match[str], tag: str) -> int:
    year = int(match.group(tag + "year"))
    name, num = match.group(tag + "name"), match.group(tag + "num")
    month = _MONTHS[name[:3].lower()] if name else (int(num) - 1 if num else 0)
    # A bare year counts from January, so "2019 - 2023" is four years, as a reader would say.
    return year * 12 + month


def _end_month(match: re.Match[str]) -> int:
    return PRESENT_YEAR * 12 if match.group("now") else _month(match, "e")


def _split_header(header: str) -> tuple[str, str]:
    """(title, company) from "Title, Company", "Company — Title", "Title at Company" ...; the
    side holding a title word is the title, otherwise the layout's usual order decides."""
    for splitter, title_first in _HEADER_SPLITS:
        parts = splitter.split(header, maxsplit=1)
        if len(parts) == 2:
            left, right = (part.strip(_STRIP_CHARS) for part in parts)
            left_is = bool(_TITLE_WORD_RE.search(left))
            if left_is != bool(_TITLE_WORD_RE.search(right)):
                title_first = left_is
            title, company = (left, right) if title_first else (right, left)
            return title, company.split(",")[0].strip(_STRIP_CHARS)
    return (header, "") if _TITLE_WORD_RE.search(header) else ("", "")


def _fallback_title(text: str) -> tuple[str, str]:
    """For undated resumes ("iOS Engineer with 1 years of experience"): the first title phrase."""
    match = _FALLBACK_TITLE_RE.search(text)
    if not match:
        return "", ""
    return match.group("title"), match.group("company") or ""


def _years_experience(text: str, spans: list[tuple[int, int]]) -> float:
    """Union of the dated spans (overlaps count once); else the largest "N years" claim; else 0."""
    if spans:
        ordered = sorted(spans)
        total, (cur_start, cur_end) = 0, ordered[0]
        for start, end in ordered[1:]:
            if start > cur_end:  # a gap: close the current block of work
                total += cur_end - cur_start
                cur_start = start
            cur_end = max(cur_end, end)
        total += cur_end - cur_start
        return round(total / 12, 1)
    claims = [_number(m.group(1)) for m in _YEARS_PHRASE_RE.finditer(text)
              if m.group(2) or m.group(3)]  # "N+ years" or "N years of experience"
    return float(max(claims)) if claims else 0.0


def _number(token: str) -> float:
    token = token.lower()
    return float(_NUMBER_WORDS[token]) if token in _NUMBER_WORDS else float(token)


def _title_level(title: str, years: float) -> str:
    # Without a level word ("Software Engineer") the title is ambiguous: years decide, capped
    # at senior, because nobody is staff/principal without saying so.
    return lex.stated_level(title) or ("junior" if years < 2 else "mid" if years < 5 else "senior")


def _current_level(text: str, title: str, years: float, dated: bool) -> str:
    if not dated:
        if _SEEKING_INTERNSHIP_RE.search(text):
            return "intern"
        if _EARLY_CAREER_RE.search(text):
            return "junior"
    if title:
        return _title_level(title, years)
    return NOT_SPECIFIED


def _progression_speed(jobs: list[Job], current_level: str) -> str:
    """Levels climbed per year between the first and the current job: ≥0.5 fast (e.g. intern to
    senior in six years), ≥0.25 average, else slow. Needs two dated jobs a year apart."""
    if len(jobs) < 2 or current_level not in LEVEL_RANK:
        return NOT_SPECIFIED
    first = min(jobs, key=lambda job: job.start)
    span_years = (jobs[0].end - first.start) / 12
    if span_years < 1:
        return NOT_SPECIFIED
    climbed = LEVEL_RANK[current_level] - LEVEL_RANK[_title_level(first.title, 0)]
    speed = climbed / span_years
    return "fast" if speed >= 0.5 else "average" if speed >= 0.25 else "slow"


def _career_changes(jobs: list[Job]) -> int:
    """Moves between role tracks (engineering → product, nurse → data ...), in date order.
    Promotions and employer changes within a track are not career changes."""
    tracks = [t for t in (lex.role_track(job.title) for job in reversed(jobs)) if t]
    return sum(1 for before, after in zip(tracks, tracks[1:], strict=False) if before != after)


def _trajectory_type(level: str, title: str, years: float, changes: int, leads: bool) -> str:
    if level not in LEVEL_RANK:
        return NOT_SPECIFIED
    technical = lex.role_track(title) in ("engineering", "data")
    if level in ("manager", "director", "vp", "c_level"):
        return "technical_leadership" if technical else "management"
    if changes:
        return "career_change"
    if years < 3 and LEVEL_RANK[level] <= LEVEL_RANK["mid"]:
        return "early_career"
    if technical and (level == "staff" or (level == "senior" and leads)):
        return "technical_leadership"
    return "individual_contributor"


def _domains(skill_counts: dict[str, int], titles: list[str]) -> list[str]:
    """Specialties with the most evidence: one point per distinct skill, one per job title in
    that domain. Up to three, strongest first (ties: first seen)."""
    counts = dict(skill_counts)
    for title in titles:
        for domain in lex.title_domains(title):
            counts[domain] = counts.get(domain, 0) + 1
    strong = [d for d, n in counts.items() if n >= 2] or list(counts)
    return sorted(strong, key=lambda d: -counts[d])[:3]


def _has_any(lower: str, gate: tuple[str, ...]) -> bool:
    return any(word in lower for word in gate)


def _leadership(text: str, titles: list[str]) -> dict:
    """The level comes from the highest leadership title, else from phrases: managing people,
    leading a team, mentoring. Team size: the largest managed team, else the largest mentored
    group; patients, customers or services never count."""
    lower = text.lower()
    managed = [int(_number(m.group(1))) for gate, regex in _TEAM_RES if _has_any(lower, gate)
               for m in regex.finditer(text)]
    mentored = ([int(_number(m.group(1))) for m in _MENTOR_RE.finditer(text)]
                if _has_any(lower, _MENTOR_GATE) else [])
    title_levels = {_title_level(t, 0) for t in titles}
    top_level = next((lvl for lvl in ("c_level", "vp", "director", "manager")
                      if lvl in title_levels), "")
    if top_level in ("c_level", "vp"):
        level = "executive"
    elif top_level in ("director", "manager"):
        level = top_level
    elif managed or (_has_any(lower, _LEADS_TEAM_GATE) and _LEADS_TEAM_RE.search(text)):
        level = "manager" if _PEOPLE_MANAGER_RE.search(text) else "team_lead"
    elif mentored or (_has_any(lower, _MENTORS_GATE) and _MENTORS_RE.search(text)):
        level = "mentor"
    else:
        level = NOT_SPECIFIED
    has = level != NOT_SPECIFIED
    team = max(managed) if managed else (max(mentored) if mentored else None)
    styles = [name for name, regex in _LEADERSHIP_STYLES if regex.search(text)] if has else []
    return {"has_leadership": has, "team_size": team, "leadership_level": level,
            "leadership_style": styles}


def _pedigree(companies: list[str]) -> dict:
    if not companies:
        return {"tier_level": NOT_SPECIFIED, "company_types": [], "recent_companies": [],
                "brand_recognition": NOT_SPECIFIED}
    tiers = [lex.company_tier(company) for company in companies]  # most recent first
    best = min(tier for tier, _ in tiers)
    return {"tier_level": f"tier_{best}", "company_types": _unique([kind for _, kind in tiers]),
            "recent_companies": companies[:3],
            "brand_recognition": {1: "high", 2: "medium"}.get(best, "low")}


def _education(text: str, matches: list[re.Match[str]]) -> dict:
    degrees = [_degree(text, m) for m in matches]
    if not degrees:
        return {"highest_degree": NOT_SPECIFIED, "institutions": [], "fields_of_study": []}
    order = list(_DEGREE_NAMES.values())
    highest = min((d.level for d in degrees), key=order.index)
    return {"highest_degree": highest,
            "institutions": _unique([d.institution for d in degrees if d.institution]),
            "fields_of_study": _unique([d.field for d in degrees if d.field])}


def _degree(text: str, match: re.Match[str]) -> Degree:
    level = _DEGREE_NAMES[match.lastgroup or "bachelor"]
    line_start = text.rfind("\n", 0, match.start()) + 1
    line_end = text.find("\n", match.end())
    line_end = len(text) if line_end < 0 else line_end
    rest = text[match.end():line_end]
    field_match = _FIELD_RE.match(rest)
    field = field_match.group("field").strip() if field_match else ""
    if level == "High School" or _INSTITUTION_RE.search(field):  # "B.S. MIT": a school
        field_match, field = None, ""
    if not field and (of_word := _OF_WORD_RE.search(match.group(0))):
        field = of_word.group(1).title()  # "Bachelor of Nursing"
    if not field and match.group(0).replace(".", "").upper() == "MBA":
        field = "Business Administration"
    before = _EDUCATION_LINE_RE.sub("", text[line_start:match.start()])
    after = rest[field_match.end():] if field_match else rest
    institution = _institution(_SEGMENT_SPLIT_RE.split(after) + _SEGMENT_SPLIT_RE.split(before))
    return Degree(level, field, institution)


def _institution(segments: list[str]) -> str:
    """A segment that looks like a school; else the first non-date segment after the degree."""
    cleaned = [s.strip(_STRIP_CHARS) for s in segments]
    cleaned = [s for s in cleaned if s and not _YEARISH_RE.match(s) and not lex.find_degrees(s)]
    named = [s for s in cleaned if _INSTITUTION_RE.search(s)]
    return (named or cleaned or [""])[0]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------------------------------------
# Recruiter comments


def _analyse_comments(text: str) -> dict:
    strengths: list[str] = []
    concerns: list[str] = []
    red_flags: list[str] = []
    negative_weight = 0  # red flags weigh 2, concerns about the person 1, logistics 0
    for clause in _CLAUSE_SPLIT_RE.split(text) if text else []:
        positive, concern, logistics, red = _clause_polarity(clause)
        sentence = clause.strip(" \t.,;!")
        sentence = sentence[:1].upper() + sentence[1:]
        if red:
            red_flags.append(sentence)
            negative_weight += 2
        elif concern or logistics:
            concerns.append(sentence)
            negative_weight += 1 if concern else 0
        elif positive:
            strengths.append(sentence)
    return {
        "sentiment": _sentiment(len(strengths), negative_weight),
        "strengths": _unique(strengths),
        "concerns": _unique(concerns),
        "red_flags": _unique(red_flags),
        "cultural_fit": _cultural_fit(text),
        "recommendation": NOT_SPECIFIED,  # set by enrich() once the score is known
        "key_themes": _first_seen(text, _THEME_RES),
    }


def _clause_polarity(clause: str) -> tuple[int, int, int, int]:
    """(positive, concern, logistics, red flag) hit counts. A negated positive ("not a strong
    coder") is a concern; a negated negative ("no concerns") is nothing; a positive word that
    only intensifies a negative one ("strong concerns") does not count. Logistics (visa,
    salary, relocation) are concerns to write down but say nothing about the person."""
    red = sum(1 for m in _RED_FLAG_RE.finditer(clause) if not _negated(clause, m.start()))
    concern_hits = [m for m in _CONCERN_RE.finditer(clause) if not _negated(clause, m.start())]
    logistics = [m for m in concern_hits if _LOGISTICS_RE.fullmatch(m.group(0))]
    # "Concern about salary expectations" is about salary: next to a logistics term, the
    # generic word "concern" adds nothing.
    personal = [m for m in concern_hits if m not in logistics
                and not (logistics and _GENERIC_CONCERN_RE.fullmatch(m.group(0)))]
    concern, positive = len(personal), 0
    for m in _POSITIVE_RE.finditer(clause):
        if _negated(clause, m.start()):
            concern += 1
        elif not any(0 <= c.start() - m.end() <= 12 for c in concern_hits):
            positive += 1
    return positive, concern, len(logistics), red


def _negated(clause: str, pos: int) -> bool:
    return bool(_NEGATION_RE.search(clause, max(0, pos - 30), pos))


def _sentiment(positive: int, negative: int) -> str:
    """Both kinds present: the side with at least twice the weight wins, otherwise mixed."""
    if not positive and not negative:
        return "neutral"
    if positive >= 2 * negative:
        return "positive"
    if negative >= 2 * positive:
        return "negative"
    return "mixed"


def _cultural_fit(text: str) -> dict:
    good, bad = bool(_CULTURE_POS_RE.search(text)), bool(_CULTURE_NEG_RE.search(text))
    alignment = "mixed" if good and bad else "strong" if good else "weak" if bad else NOT_SPECIFIED
    return {"cultural_alignment": alignment, "work_style": _first_seen(text, _WORK_STYLE_RES),
            "values_alignment": _first_seen(text, _VALUE_RES)}


def _first_seen(text: str, labelled: tuple[tuple[str, re.Pattern[str]], ...]) -> list[str]:
    hits = [(m.start(), label) for label, regex in labelled if (m := regex.search(text))]
    return [label for _, label in sorted(hits)]


# ---------------------------------------------------------------------------------------------
# Score and recommendation
#
# overall_score = 0.25·years + 0.20·seniority + 0.15·skills + 0.10·education + 0.10·leadership
#                 + 0.20·sentiment − 0.15 per red flag, clamped to [0, 1], where
#   years      = min(years, 12) / 12            (a dozen years is a full career signal)
#   seniority  = level rank / 7                 (c-level = 1, "Not specified" = 0)
#   skills     = min(technical + soft / 2, 12) / 12
#   education  = PhD 1, Master's .8, Bachelor's .6, Associate .4, High School .2, none 0
#   leadership = 0 without leadership, else .5 + .5 · min(team size, 20) / 20
#   sentiment  = positive 1, neutral/mixed .5, negative 0 (no comments = neutral)
# Without a resume the resume terms are 0: the score measures evidence, and there is none.
WEIGHTS = {"years": 0.25, "seniority": 0.20, "skills": 0.15, "education": 0.10,
           "leadership": 0.10, "sentiment": 0.20}
RED_FLAG_PENALTY = 0.15
_SENTIMENT_SCORE = {"positive": 1.0, "neutral": 0.5, "mixed": 0.5, "negative": 0.0}
_BANDS = ((0.75, "strong_hire"), (0.5, "hire"), (0.3, "maybe"), (0.15, "pass"),
          (0.0, "strong_pass"))


def _overall_score(analysis: dict, insights: dict, has_resume: bool) -> float:
    trajectory, leadership = analysis["career_trajectory"], analysis["leadership_scope"]
    parts = {"sentiment": _SENTIMENT_SCORE[insights["sentiment"]]}
    if has_resume:
        skills = len(analysis["technical_skills"]) + len(analysis["soft_skills"]) / 2
        team = leadership["team_size"] or 0
        parts |= {
            "years": min(trajectory["years_experience"], 12) / 12,
            "seniority": LEVEL_RANK.get(trajectory["current_level"], 0) / MAX_RANK,
            "skills": min(skills, 12) / 12,
            "education": _DEGREE_SCORE[analysis["education"]["highest_degree"]],
            "leadership": (0.5 + 0.5 * min(team, 20) / 20) if leadership["has_leadership"] else 0.0,
        }
    score = sum(WEIGHTS[name] * value for name, value in parts.items())
    score -= RED_FLAG_PENALTY * len(insights["red_flags"])
    return round(min(1.0, max(0.0, score)), 3)


def _recommendation(score: float, insights: dict, has_resume: bool) -> str:
    """Red flags decide first (two, or one on a weak profile: strong_pass; one: pass). Without a
    resume there is too little evidence to hire: maybe, or pass on negative notes. Otherwise the
    score bands below, where negative notes cap the result at "maybe" and positive notes lift
    it to at least "maybe": the recruiter met the person, the rules only read the text."""
    red_flags, sentiment = len(insights["red_flags"]), insights["sentiment"]
    if red_flags >= 2 or (red_flags and score < 0.3):
        return "strong_pass"
    if red_flags:
        return "pass"
    if not has_resume:
        return "pass" if sentiment == "negative" else "maybe"
    band = next(name for floor, name in _BANDS if score >= floor)
    if sentiment == "negative" and band in ("strong_hire", "hire"):
        return "maybe"
    if sentiment == "positive" and band in ("pass", "strong_pass"):
        return "maybe"
    return band

