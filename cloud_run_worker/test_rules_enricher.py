"""Specification of the local rules enricher (rules_enricher.enrich).

Realistic resumes of different shapes, the rules one by one, the failure cases, and a schema
check over every candidate of the repository's synthetic data set (cmd/hh-enrich-data).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

import rules_enricher
from rules_enricher import InvalidCandidate, enrich

DATA_FILE = (Path(__file__).resolve().parents[1]
             / "cmd" / "hh-enrich-data" / "testdata" / "candidates.jsonl")

LEVELS = {"intern", "junior", "mid", "senior", "staff", "manager", "director", "vp", "c_level",
          "Not specified"}
SENTIMENTS = {"positive", "neutral", "negative", "mixed"}
RECOMMENDATIONS = {"strong_hire", "hire", "maybe", "pass", "strong_pass"}

SENIOR_BACKEND = """\
Senior Backend Engineer, Stripe (Apr 2023 - Present)
- Design reviews and on-call for the ledger service.
Senior Backend Engineer, Nubank (Jan 2019 - Mar 2023)
- Team lead for the payments API: led a team of 8 engineers and mentored 3 juniors.
- Go and Python services on AWS with PostgreSQL, Kafka and Kubernetes.
Backend Engineer, Globex (Jun 2016 - Dec 2018)
- Built REST APIs in Java and Node.js; owned CI/CD.
Education: B.S. in Computer Science, University of Waterloo (2012 - 2016)
"""

NURSE = """\
Registered Nurse, Mayo Clinic 2019–2023
- Cared for 6 patients per shift in a 24-bed ICU; triage for the emergency department.
Registered Nurse, Mount Sinai 2023–now
- Cared for 5 patients per shift on a cardiac step-down unit. BLS and ACLS certified.
- Charting in Epic (EHR).
Education: Bachelor of Science in Nursing (BSN), Johns Hopkins University
"""

IOS_ONE_LINER = "iOS Engineer with 1 years of experience in Swift"

CTO = """\
Chief Technology Officer, Quanta Freight (2020 - present)
- Built and led an engineering org of 45 across 6 teams; set the platform strategy.
VP of Engineering, Stripe (2016 - 2020)
- Grew the organisation from 12 to 60 engineers; hired 4 engineering managers.
Director of Engineering, Shopify (2013 - 2016)
Staff Software Engineer, Google (2009 - 2013)
Software Engineer, Microsoft (2006 - 2009)
Education
Ph.D. in Computer Science, Stanford University
M.S. Electrical Engineering, MIT
Skills: Rust, Java, Kubernetes, GCP, machine learning
"""

SALES_REP = """\
Senior Account Executive at Datadog, 2021 - present
- Closed $2.4M in new ARR at 140% of quota using Salesforce and Gong.
Account Executive at HubSpot, 2018 - 2021
- Full-cycle enterprise sales, pipeline management and negotiation with C-level buyers.
Education: B.A. Economics, Universidade de São Paulo
"""

NEW_GRAD = """\
Jordan Lee
Recent graduate looking for a first data scientist role.
Education
Bachelor of Science in Statistics, University of Lagos (2021 - 2025)
Coursework: Python, R, SQL, pandas, scikit-learn
"""


def analyse(resume: str = "", comments: str = "") -> dict:
    return enrich({"candidate_id": "c-1", "name": "Test Person", "resume_text": resume,
                   "recruiter_comments": comments, "org_id": "tenant-alpha", "metadata": {}})


def trajectory(resume: str) -> dict:
    return analyse(resume)["resume_analysis"]["career_trajectory"]


def load_candidates() -> list[dict]:
    assert DATA_FILE.exists(), f"data set missing: {DATA_FILE}"
    with DATA_FILE.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def has_text(candidate: dict) -> bool:
    return any(isinstance(candidate.get(key), str) and candidate[key].strip()
               for key in ("resume_text", "recruiter_comments"))


# ---------------------------------------------------------------------------------------------
# Realistic resumes


def test_senior_backend_engineer_with_month_ranges_and_a_team_lead_line():
    result = analyse(SENIOR_BACKEND, "Strong technical depth and a clear communicator. "
                                     "Concern about salary expectations.")
    resume = result["resume_analysis"]
    career = resume["career_trajectory"]
    # Jun 2016 - Dec 2018 (30 months) + Jan 2019 - Mar 2023 (50) + Apr 2023 - present (33);
    # the education range 2012 - 2016 is not work experience.
    assert career["years_experience"] == 9.4
    assert career["current_level"] == "senior"
    assert career["trajectory_type"] == "technical_leadership"
    assert career["progression_speed"] == "slow"  # junior to senior in nine and a half years
    assert career["career_changes"] == 0
    assert career["domain_expertise"][0] == "Backend"
    for skill in ("Go", "Python", "AWS", "PostgreSQL", "Kafka", "Kubernetes", "Java", "Node.js",
                  "CI/CD", "REST APIs"):
        assert skill in resume["technical_skills"]
    assert resume["technical_skills"].index("Go") < resume["technical_skills"].index("Java")
    assert {"Leadership", "Mentoring"} <= set(resume["soft_skills"])
    assert resume["leadership_scope"] == {"has_leadership": True, "team_size": 8,
                                          "leadership_level": "team_lead",
                                          "leadership_style": ["mentoring"]}
    assert resume["company_pedigree"]["recent_companies"] == ["Stripe", "Nubank", "Globex"]
    assert resume["company_pedigree"]["tier_level"] == "tier_1"
    assert resume["company_pedigree"]["brand_recognition"] == "high"
    assert resume["education"] == {"highest_degree": "Bachelor's",
                                   "institutions": ["University of Waterloo"],
                                   "fields_of_study": ["Computer Science"]}
    insights = result["recruiter_insights"]
    assert insights["sentiment"] == "positive"  # salary is logistics, not a judgement
    assert insights["strengths"] == ["Strong technical depth and a clear communicator"]
    assert insights["concerns"] == ["Concern about salary expectations"]
    assert insights["red_flags"] == []
    assert insights["recommendation"] in {"hire", "strong_hire"}
    assert result["overall_score"] >= 0.6


def test_nurse_with_en_dash_year_ranges_and_patient_counts():
    resume = analyse(NURSE)["resume_analysis"]
    career = resume["career_trajectory"]
    assert career["years_experience"] == 7.0  # 2019 to 2026 ("now"), the overlap counted once
    assert career["current_level"] == "senior"  # "Registered Nurse" states no level: 7 years
    assert career["trajectory_type"] == "individual_contributor"
    assert career["domain_expertise"] == ["Healthcare"]
    assert resume["technical_skills"] == ["ICU", "Triage", "BLS", "ACLS", "Epic", "EHR"]
    # Patients per shift are not a team.
    assert resume["leadership_scope"]["has_leadership"] is False
    assert resume["leadership_scope"]["team_size"] is None
    assert resume["company_pedigree"]["recent_companies"] == ["Mount Sinai", "Mayo Clinic"]
    assert resume["company_pedigree"]["company_types"] == ["Hospital"]
    assert resume["education"]["highest_degree"] == "Bachelor's"
    assert resume["education"]["fields_of_study"] == ["Nursing"]
    assert resume["education"]["institutions"] == ["Johns Hopkins University"]


def test_ios_one_liner_reads_years_from_the_phrase():
    resume = analyse(IOS_ONE_LINER)["resume_analysis"]
    career = resume["career_trajectory"]
    assert career["years_experience"] == 1.0
    assert career["current_level"] == "junior"
    assert career["trajectory_type"] == "early_career"
    assert career["progression_speed"] == "Not specified"
    assert career["domain_expertise"] == ["Mobile"]
    assert resume["technical_skills"] == ["iOS", "Swift"]
    assert resume["company_pedigree"]["recent_companies"] == []
    assert resume["company_pedigree"]["tier_level"] == "Not specified"
    assert resume["education"]["highest_degree"] == "Not specified"


def test_cto_with_a_phd_and_many_companies():
    result = analyse(CTO, "Outstanding leader, impressive depth. Great culture add.")
    resume = result["resume_analysis"]
    career = resume["career_trajectory"]
    assert career["current_level"] == "c_level"
    assert career["years_experience"] == 20.0
    assert career["trajectory_type"] == "technical_leadership"
    assert career["progression_speed"] == "average"  # junior to C-level in 20 years
    leadership = resume["leadership_scope"]
    assert leadership["has_leadership"] is True
    assert leadership["leadership_level"] == "executive"
    assert leadership["team_size"] == 45
    assert "team building" in leadership["leadership_style"]
    assert resume["education"] == {"highest_degree": "PhD",
                                   "institutions": ["Stanford University", "MIT"],
                                   "fields_of_study": ["Computer Science",
                                                       "Electrical Engineering"]}
    assert resume["company_pedigree"]["recent_companies"] == ["Quanta Freight", "Stripe",
                                                               "Shopify"]
    assert resume["company_pedigree"]["tier_level"] == "tier_1"
    assert result["recruiter_insights"]["sentiment"] == "positive"
    assert result["recruiter_insights"]["cultural_fit"]["cultural_alignment"] == "strong"
    assert result["recruiter_insights"]["recommendation"] == "strong_hire"
    assert result["overall_score"] >= 0.8


def test_sales_rep_with_salesforce_and_quota_language():
    result = analyse(SALES_REP, "Great closer with impressive quota attainment. "
                                "Was late to two interviews.")
    resume = result["resume_analysis"]
    career = resume["career_trajectory"]
    assert career["years_experience"] == 8.0
    assert career["current_level"] == "senior"
    assert career["domain_expertise"] == ["Sales"]
    for skill in ("Salesforce", "Gong", "Quota Attainment", "Enterprise Sales",
                  "Pipeline Management"):
        assert skill in resume["technical_skills"]
    assert "C" not in resume["technical_skills"]  # "C-level buyers"
    assert "Negotiation" in resume["soft_skills"]
    assert resume["company_pedigree"]["recent_companies"] == ["Datadog", "HubSpot"]
    assert resume["company_pedigree"]["tier_level"] == "tier_2"
    assert resume["education"]["fields_of_study"] == ["Economics"]
    assert resume["education"]["institutions"] == ["Universidade de São Paulo"]
    insights = result["recruiter_insights"]
    assert insights["sentiment"] == "mixed"
    assert insights["strengths"] == ["Great closer with impressive quota attainment"]
    assert insights["concerns"] == ["Was late to two interviews"]
    assert "reliability" in insights["key_themes"]


def test_new_grad_with_only_education():
    resume = analyse(NEW_GRAD)["resume_analysis"]
    career = resume["career_trajectory"]
    assert career["years_experience"] == 0.0  # the study years are not work
    assert career["current_level"] == "junior"
    assert career["trajectory_type"] == "early_career"
    assert resume["technical_skills"] == ["Python", "R", "SQL", "Pandas", "scikit-learn"]
    assert resume["leadership_scope"]["has_leadership"] is False
    assert resume["company_pedigree"]["recent_companies"] == []
    assert resume["education"] == {"highest_degree": "Bachelor's",
                                   "institutions": ["University of Lagos"],
                                   "fields_of_study": ["Statistics"]}


def test_an_internship_title_is_intern_level():
    career = trajectory("Software Engineering Intern, Globex (Jun 2025 - Present)\n"
                        "- Python and Django.")
    assert career["current_level"] == "intern"
    assert career["trajectory_type"] == "early_career"


def test_candidate_with_only_recruiter_comments():
    result = analyse("", "Excellent communicator and very collaborative. Needs visa sponsorship.")
    resume = result["resume_analysis"]
    assert resume["career_trajectory"]["current_level"] == "Not specified"
    assert resume["career_trajectory"]["years_experience"] == 0.0
    assert resume["technical_skills"] == [] and resume["soft_skills"] == []
    assert resume["education"]["highest_degree"] == "Not specified"
    insights = result["recruiter_insights"]
    assert insights["sentiment"] == "positive"
    assert insights["concerns"] == ["Needs visa sponsorship"]
    assert insights["red_flags"] == []  # visa sponsorship is a concern, not a red flag
    assert insights["recommendation"] == "maybe"  # no resume, not enough evidence to hire
    assert insights["cultural_fit"]["work_style"] == ["collaborative"]
    assert result["overall_score"] == 0.2  # only the sentiment term: 0.20 x 1


# ---------------------------------------------------------------------------------------------
# Rules


@pytest.mark.parametrize(("line", "years"), [
    ("Engineer, Acme (2019 - 2023)", 4.0),
    ("Engineer, Acme 2019–2023", 4.0),
    ("Engineer, Acme 2025 - present", 1.0),
    ("Engineer, Acme 2025–now", 1.0),
    ("Engineer, Acme (2024 - current)", 2.0),
    ("Engineer, Acme Jan 2019 - Mar 2023", 4.2),
    ("Acme — Engineer, Jan 2019 – Present", 7.0),
    ("Engineer, Acme 03/2019 - 09/2023", 4.5),
    ("Engineer at Acme, January 2020 to March 2021", 1.2),
])
def test_date_range_formats(line, years):
    assert trajectory(line)["years_experience"] == years


@pytest.mark.parametrize("resume", [
    "Senior Engineer, Google (2019 - 2023)",
    "Google — Senior Engineer, 2019–2023",
    "Senior Engineer at Google, Jan 2019 - Jan 2023",
    "Senior Engineer | Google | 2019 - 2023",
    "- Senior Engineer @ Google (2019 - 2023)",
    "Senior Engineer, Google\nJan 2019 - Jan 2023",
    "Experience\nGoogle\nSenior Engineer\n2019 - 2023",
    "Senior Engineer\nGoogle, 2019 - 2023",
])
def test_experience_header_layouts(resume):
    result = analyse(resume)["resume_analysis"]
    assert result["career_trajectory"]["current_level"] == "senior"
    assert result["career_trajectory"]["years_experience"] == 4.0
    assert result["company_pedigree"]["recent_companies"] == ["Google"]


def test_present_means_the_fixed_reference_year():
    assert rules_enricher.PRESENT_YEAR == 2026
    assert trajectory("Engineer, Acme (2020 - present)")["years_experience"] == 6.0


def test_overlapping_ranges_are_counted_once():
    resume = "Engineer, Acme (2015 - 2020)\nConsultant, Globex (2018 - 2022)\n"
    assert trajectory(resume)["years_experience"] == 7.0


def test_gaps_between_ranges_are_not_experience():
    resume = "Engineer, Acme (2010 - 2012)\nEngineer, Globex (2020 - 2022)\n"
    assert trajectory(resume)["years_experience"] == 4.0


@pytest.mark.parametrize(("text", "years"), [
    ("Backend developer, 7+ years of experience with Go.", 7.0),
    ("Nurse with five years of experience in the ICU.", 5.0),
    ("Designer who loves typography.", 0.0),
])
def test_years_fall_back_to_phrases_then_zero(text, years):
    assert trajectory(text)["years_experience"] == years


@pytest.mark.parametrize(("title", "level"), [
    ("Software Engineering Intern", "intern"),
    ("Junior Frontend Engineer", "junior"),
    ("Senior Data Scientist", "senior"),
    ("Staff Software Engineer", "staff"),
    ("Principal Product Manager", "staff"),
    ("Engineering Manager", "manager"),
    ("Tech Lead", "manager"),
    ("Director of Engineering", "director"),
    ("Head of Data", "director"),
    ("VP of Engineering", "vp"),
    ("CTO", "c_level"),
    ("Chief Executive Officer", "c_level"),
])
def test_current_level_comes_from_the_most_recent_title(title, level):
    resume = f"Engineer, Old Co (2010 - 2012)\n{title}, New Co (2012 - present)\n"
    assert trajectory(resume)["current_level"] == level


def test_a_title_without_a_level_word_is_judged_by_years():
    assert trajectory("Software Engineer, Acme (2025 - present)")["current_level"] == "junior"
    assert trajectory("Software Engineer, Acme (2022 - present)")["current_level"] == "mid"
    assert trajectory("Software Engineer, Acme (2010 - present)")["current_level"] == "senior"


def test_career_changes_count_moves_between_role_tracks():
    resume = ("Registered Nurse, Mayo Clinic (2012 - 2016)\n"
              "Data Analyst, Globex (2016 - 2019)\n"
              "Senior Data Scientist, Initech (2019 - 2021)\n"
              "Product Manager, Acme (2021 - present)\n")
    career = trajectory(resume)
    assert career["career_changes"] == 2  # clinical -> data -> product; a promotion is not one
    assert career["trajectory_type"] == "career_change"


@pytest.mark.parametrize(("text", "team_size", "level"), [
    ("- Led a team of 8 engineers.", 8, "team_lead"),
    ("- Managed 12 engineers across two squads.", 12, "manager"),
    ("- Managed 3 direct reports.", 3, "manager"),
    ("- Managing a team of five.", 5, "manager"),
    ("- Mentored 3 juniors.", 3, "mentor"),
    ("- Part of a team of 5 building the checkout.", None, "Not specified"),
])
def test_leadership_and_team_size_from_phrases(text, team_size, level):
    scope = analyse(f"Software Engineer, Acme (2020 - 2024)\n{text}")["resume_analysis"][
        "leadership_scope"]
    assert scope["team_size"] == team_size
    assert scope["leadership_level"] == level
    assert scope["has_leadership"] is (level != "Not specified")


def test_a_management_title_is_leadership_without_a_team_size():
    scope = analyse("Engineering Manager, Globex (2020 - 2024)")["resume_analysis"][
        "leadership_scope"]
    assert scope == {"has_leadership": True, "team_size": None, "leadership_level": "manager",
                     "leadership_style": []}


@pytest.mark.parametrize(("line", "degree", "field"), [
    ("Ph.D. in Physics, MIT", "PhD", "Physics"),
    ("PhD Chemistry, ETH Zürich", "PhD", "Chemistry"),
    ("M.S. Computer Science, Stanford University", "Master's", "Computer Science"),
    ("MSc Data Science, Tsinghua University", "Master's", "Data Science"),
    ("MBA, INSEAD", "Master's", "Business Administration"),
    ("B.S. Computer Engineering, UNICAMP", "Bachelor's", "Computer Engineering"),
    ("BSc Information Systems, University of Lagos", "Bachelor's", "Information Systems"),
    ("B.A. History, Yale University", "Bachelor's", "History"),
    ("Bachelor of Nursing, University of Lagos", "Bachelor's", "Nursing"),
    ("Associate Degree in IT, Foothill College", "Associate", "IT"),
])
def test_degree_spellings(line, degree, field):
    education = analyse(f"Education: {line}")["resume_analysis"]["education"]
    assert education["highest_degree"] == degree
    assert education["fields_of_study"] == [field]
    assert len(education["institutions"]) == 1


def test_the_highest_degree_wins_and_lookalikes_are_not_degrees():
    text = "B.S. Mathematics, MIT\nMaster of Science in Statistics, Stanford University"
    assert analyse(text)["resume_analysis"]["education"]["highest_degree"] == "Master's"
    lookalikes = "Certified Scrum Master. Office in Boston, MA 02115. Backend developer."
    assert analyse(lookalikes)["resume_analysis"]["education"]["highest_degree"] == (
        "Not specified")


def test_skills_respect_word_boundaries_for_tricky_names():
    text = ("Built services in Go and C++, some C#, .NET and Node.js; R for statistics.\n"
            "The go-to person for go-live; happy to go to market with C-level buyers and R&D.")
    skills = analyse(text)["resume_analysis"]["technical_skills"]
    assert skills == ["Go", "C++", "C#", ".NET", "Node.js", "R"]


def test_skills_are_canonical_deduplicated_and_in_order_of_appearance():
    text = "POSTGRES, kubernetes and NODEJS. Later more postgresql and Kubernetes. Mentoring."
    resume = analyse(text)["resume_analysis"]
    assert resume["technical_skills"] == ["PostgreSQL", "Kubernetes", "Node.js"]
    assert resume["soft_skills"] == ["Mentoring"]


def test_ordinary_words_are_not_skills():
    text = "An epic launch: we go further, excel at speed and deliver swift results."
    assert analyse(text)["resume_analysis"]["technical_skills"] == []


@pytest.mark.parametrize(("comments", "sentiment"), [
    ("Excellent communicator. Strong technical depth.", "positive"),
    ("Weak system design answers. Job hopping in the last few years.", "negative"),
    ("Great culture add. Was late to two interviews.", "mixed"),
    ("Needs visa sponsorship.", "neutral"),
    ("Met on Tuesday.", "neutral"),
    ("Not a strong communicator.", "negative"),
    ("No concerns at all, impressive ownership of outcomes.", "positive"),
])
def test_sentiment_from_recruiter_comments(comments, sentiment):
    assert analyse(SENIOR_BACKEND, comments)["recruiter_insights"]["sentiment"] == sentiment


def test_red_flags_force_a_pass():
    insights = analyse(CTO, "Strong resume, but a no-show for the onsite and unresponsive "
                            "since.")["recruiter_insights"]
    assert insights["red_flags"] == ["A no-show for the onsite and unresponsive since"]
    assert insights["strengths"] == ["Strong resume"]
    assert insights["recommendation"] in {"pass", "strong_pass"}
    falsified = analyse(SENIOR_BACKEND, "Falsified dates. Was dishonest about the degree.")
    assert falsified["recruiter_insights"]["recommendation"] == "strong_pass"


def test_negative_comments_cap_the_recommendation_at_maybe():
    result = analyse(CTO, "Weak system design answers. Concern about depth.")
    assert result["overall_score"] >= 0.5
    assert result["recruiter_insights"]["recommendation"] == "maybe"


def test_overall_score_grows_with_seniority_and_experience():
    scores = [analyse(text, "Strong technical depth.")["overall_score"]
              for text in (NEW_GRAD, IOS_ONE_LINER, SENIOR_BACKEND, CTO)]
    assert scores[0] < scores[2] < scores[3]
    assert scores[1] < scores[2]
    assert all(0.0 <= score <= 1.0 for score in scores)


# ---------------------------------------------------------------------------------------------
# Contract


@pytest.mark.parametrize("candidate", [
    None, [], "resume", 42,
    {},
    {"resume_text": "", "recruiter_comments": ""},
    {"resume_text": "   \n\t", "recruiter_comments": "  "},
    {"resume_text": None},
    {"resume_text": 123, "recruiter_comments": ["Great"]},
])
def test_nothing_to_enrich_raises_invalid_candidate(candidate):
    with pytest.raises(InvalidCandidate):
        enrich(candidate)


@pytest.mark.parametrize(("candidate", "message"), [
    ({}, "candidate has neither resume_text nor recruiter_comments"),
    ({"resume_text": "  "}, "candidate has neither resume_text nor recruiter_comments"),
    ({"resume_text": 123}, "candidate has no text to enrich: resume_text is a number, not text"),
    ({"resume_text": 123, "recruiter_comments": ["Great"]},
     "candidate has no text to enrich: resume_text is a number, not text; "
     "recruiter_comments is an array, not text"),
    ({"recruiter_comments": True},
     "candidate has no text to enrich: recruiter_comments is a boolean, not text"),
])
def test_nothing_to_enrich_says_which_field_is_not_text(candidate, message):
    with pytest.raises(InvalidCandidate, match=f"^{re.escape(message)}$"):
        enrich(candidate)


def test_invalid_candidate_is_a_value_error():
    assert issubclass(InvalidCandidate, ValueError)


def test_versions_are_fixed_strings():
    assert rules_enricher.MODEL_VERSION == "local-rules-v1"
    assert rules_enricher.PROMPT_VERSION == "rules-v1"


def test_same_input_gives_the_same_output_and_the_input_is_untouched():
    candidate = {"candidate_id": "c-9", "resume_text": CTO, "recruiter_comments": "Great fit."}
    before = copy.deepcopy(candidate)
    first = json.dumps(enrich(candidate), sort_keys=True)
    assert json.dumps(enrich(candidate), sort_keys=True) == first
    assert candidate == before


def test_enrich_never_writes_to_stdout(capsys):
    for text in (SENIOR_BACKEND, NURSE, IOS_ONE_LINER, CTO, SALES_REP, NEW_GRAD):
        analyse(text, "Great culture add. Needs visa sponsorship.")
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------------------------------------
# The data set


def assert_schema(result: dict) -> None:
    assert set(result) == {"resume_analysis", "recruiter_insights", "overall_score"}
    resume, insights, score = (result["resume_analysis"], result["recruiter_insights"],
                               result["overall_score"])
    assert set(resume) == {"career_trajectory", "technical_skills", "soft_skills",
                           "leadership_scope", "company_pedigree", "education"}
    career = resume["career_trajectory"]
    assert set(career) == {"current_level", "progression_speed", "trajectory_type",
                           "years_experience", "career_changes", "domain_expertise"}
    assert career["current_level"] in LEVELS
    assert isinstance(career["progression_speed"], str)
    assert isinstance(career["trajectory_type"], str)
    assert isinstance(career["years_experience"], float) and career["years_experience"] >= 0
    assert isinstance(career["career_changes"], int) and career["career_changes"] >= 0
    assert_str_list(career["domain_expertise"])
    assert_str_list(resume["technical_skills"])
    assert_str_list(resume["soft_skills"])
    scope = resume["leadership_scope"]
    assert set(scope) == {"has_leadership", "team_size", "leadership_level", "leadership_style"}
    assert isinstance(scope["has_leadership"], bool)
    assert scope["team_size"] is None or (isinstance(scope["team_size"], int)
                                          and not isinstance(scope["team_size"], bool))
    assert isinstance(scope["leadership_level"], str)
    assert_str_list(scope["leadership_style"])
    pedigree = resume["company_pedigree"]
    assert set(pedigree) == {"tier_level", "company_types", "recent_companies",
                             "brand_recognition"}
    assert isinstance(pedigree["tier_level"], str)
    assert isinstance(pedigree["brand_recognition"], str)
    assert_str_list(pedigree["company_types"])
    assert_str_list(pedigree["recent_companies"])
    education = resume["education"]
    assert set(education) == {"highest_degree", "institutions", "fields_of_study"}
    assert isinstance(education["highest_degree"], str)
    assert_str_list(education["institutions"])
    assert_str_list(education["fields_of_study"])
    assert set(insights) == {"sentiment", "strengths", "concerns", "red_flags", "cultural_fit",
                             "recommendation", "key_themes"}
    assert insights["sentiment"] in SENTIMENTS
    assert insights["recommendation"] in RECOMMENDATIONS
    for key in ("strengths", "concerns", "red_flags", "key_themes"):
        assert_str_list(insights[key])
    fit = insights["cultural_fit"]
    assert set(fit) == {"cultural_alignment", "work_style", "values_alignment"}
    assert isinstance(fit["cultural_alignment"], str)
    assert_str_list(fit["work_style"])
    assert_str_list(fit["values_alignment"])
    assert isinstance(score, float) and 0.0 <= score <= 1.0 and round(score, 3) == score
    json.dumps(result)  # what the plugin sends back


def assert_str_list(value: object) -> None:
    assert isinstance(value, list) and all(isinstance(item, str) and item for item in value)
    assert len(value) == len(set(value)), value


def test_every_candidate_with_text_fits_the_schema():
    candidates = load_candidates()
    enriched = 0
    for candidate in candidates:
        if not has_text(candidate):
            with pytest.raises(InvalidCandidate):
                enrich(candidate)
            continue
        try:
            assert_schema(enrich(candidate))
        except AssertionError as exc:
            raise AssertionError(f"{candidate['candidate_id']}: {exc}") from exc
        enriched += 1
    assert enriched > 900  # the data set is mostly enrichable


def test_every_layout_of_the_data_set_is_parsed():
    """Multi-line resumes come in five layouts and five date styles; each must yield a level,
    employers, a degree and skills. Where the dates carry no months, the union of the ranges must
    equal the years the summary line claims (at least one: a first job started in 2025)."""
    for candidate in load_candidates():
        text = (candidate.get("resume_text") or "").strip()
        if "\n" not in text:
            continue
        resume = enrich(candidate)["resume_analysis"]
        where = candidate["candidate_id"]
        assert resume["career_trajectory"]["current_level"] in LEVELS - {"Not specified"}, where
        assert resume["company_pedigree"]["recent_companies"], where
        assert resume["education"]["highest_degree"] != "Not specified", where
        assert resume["education"]["institutions"], where
        assert resume["technical_skills"], where
        claim = re.search(r"with (\d+)\+ years", text)
        if claim and not re.search(r"\b[A-Z][a-z]{2} (?:19|20)\d\d\b", text):
            expected = max(float(claim.group(1)), 1.0)
            assert resume["career_trajectory"]["years_experience"] == expected, where


def test_one_liners_of_the_data_set_use_the_stated_years():
    for candidate in load_candidates():
        text = (candidate.get("resume_text") or "").strip()
        if not text or "\n" in text:
            continue
        career = enrich(candidate)["resume_analysis"]["career_trajectory"]
        claim = re.search(r"with (\d+) years", text)
        if claim:
            assert career["years_experience"] == float(claim.group(1)), text
        else:  # "Recent graduate looking for a first ... role"
            assert career["current_level"] == "junior", text
