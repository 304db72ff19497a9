"""Lexicon data for ``rules_enricher``: skills, titles, company tiers, comment vocabulary.

Mostly data, so the rules can be reviewed (and extended) without reading the code that applies
them. The functions at the end only look things up in that data: ``find_skills`` (every skill
alias compiled into one regular expression), ``find_degrees``, ``company_tier`` and what a job
title says (``stated_level``, ``role_track``, ``title_domains``). Aliases are
matched case-insensitively on word boundaries unless listed in ``CASE_SENSITIVE_ALIASES``; the
first element of each entry is the canonical spelling written to the output.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Domains used for ``career_trajectory.domain_expertise``.
BACKEND = "Backend"
FRONTEND = "Frontend"
MOBILE = "Mobile"
DATA = "Data & ML"
CLOUD = "Cloud & DevOps"
PRODUCT = "Product Management"
SALES = "Sales"
HEALTHCARE = "Healthcare"
DESIGN = "Design"

# (canonical, domain or None, aliases...). A domain of None means "used everywhere" (Python,
# SQL, Git): such skills do not point at one specialty.
TECHNICAL_SKILLS: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    # Languages
    ("Python", None, ("python", "python3")),
    ("Go", BACKEND, ("go", "golang")),
    ("Java", BACKEND, ("java",)),
    ("JavaScript", FRONTEND, ("javascript", "ecmascript")),
    ("TypeScript", FRONTEND, ("typescript",)),
    ("Rust", BACKEND, ("rust",)),
    ("C++", BACKEND, ("c++", "cpp")),
    ("C#", BACKEND, ("c#", "csharp")),
    ("C", BACKEND, ("c",)),
    ("Ruby", BACKEND, ("ruby",)),
    ("PHP", BACKEND, ("php",)),
    ("Scala", BACKEND, ("scala",)),
    ("Elixir", BACKEND, ("elixir",)),
    ("Kotlin", MOBILE, ("kotlin",)),
    ("Swift", MOBILE, ("swift",)),
    ("Objective-C", MOBILE, ("objective-c", "objc")),
    ("Dart", MOBILE, ("dart",)),
    ("R", DATA, ("r",)),
    ("SQL", None, ("sql",)),
    ("Bash", CLOUD, ("bash", "shell scripting")),
    # Frameworks and web
    ("React", FRONTEND, ("react", "react.js", "reactjs")),
    ("Next.js", FRONTEND, ("next.js", "nextjs")),
    ("Vue", FRONTEND, ("vue", "vue.js", "vuejs")),
    ("Angular", FRONTEND, ("angular", "angularjs")),
    ("Svelte", FRONTEND, ("svelte",)),
    ("Redux", FRONTEND, ("redux",)),
    ("HTML", FRONTEND, ("html", "html5")),
    ("CSS", FRONTEND, ("css", "css3")),
    ("Tailwind CSS", FRONTEND, ("tailwind", "tailwind css")),
    ("Jest", FRONTEND, ("jest",)),
    ("Playwright", FRONTEND, ("playwright",)),
    ("Cypress", FRONTEND, ("cypress",)),
    ("Webpack", FRONTEND, ("webpack",)),
    ("Node.js", BACKEND, ("node.js", "nodejs")),
    ("Express", BACKEND, ("express.js", "expressjs")),
    ("Django", BACKEND, ("django",)),
    ("Flask", BACKEND, ("flask",)),
    ("FastAPI", BACKEND, ("fastapi",)),
    ("Spring Boot", BACKEND, ("spring boot", "spring framework")),
    ("Ruby on Rails", BACKEND, ("ruby on rails", "rails")),
    (".NET", BACKEND, (".net", "asp.net", "dotnet")),
    ("GraphQL", BACKEND, ("graphql",)),
    ("gRPC", BACKEND, ("grpc",)),
    ("REST APIs", BACKEND, ("rest", "restful", "rest api", "rest apis")),
    ("Microservices", BACKEND, ("microservices",)),
    # Databases and messaging
    ("PostgreSQL", BACKEND, ("postgresql", "postgres")),
    ("MySQL", BACKEND, ("mysql",)),
    ("MongoDB", BACKEND, ("mongodb", "mongo")),
    ("Redis", BACKEND, ("redis",)),
    ("Cassandra", BACKEND, ("cassandra",)),
    ("DynamoDB", BACKEND, ("dynamodb",)),
    ("Elasticsearch", BACKEND, ("elasticsearch",)),
    ("Kafka", BACKEND, ("kafka", "apache kafka")),
    ("RabbitMQ", BACKEND, ("rabbitmq",)),
    # Cloud and DevOps
    ("AWS", CLOUD, ("aws", "amazon web services")),
    ("GCP", CLOUD, ("gcp", "google cloud", "google cloud platform")),
    ("Azure", CLOUD, ("azure",)),
    ("Kubernetes", CLOUD, ("kubernetes", "k8s")),
    ("Docker", CLOUD, ("docker",)),
    ("Terraform", CLOUD, ("terraform",)),
    ("Ansible", CLOUD, ("ansible",)),
    ("Helm", CLOUD, ("helm",)),
    ("Jenkins", CLOUD, ("jenkins",)),
    ("CI/CD", CLOUD, ("ci/cd",)),
    ("Linux", CLOUD, ("linux",)),
    ("Prometheus", CLOUD, ("prometheus",)),
    ("Grafana", CLOUD, ("grafana",)),
    ("Git", None, ("git",)),
    # Data and ML
    ("Spark", DATA, ("spark", "apache spark", "pyspark")),
    ("Airflow", DATA, ("airflow", "apache airflow")),
    ("dbt", DATA, ("dbt",)),
    ("PyTorch", DATA, ("pytorch",)),
    ("TensorFlow", DATA, ("tensorflow",)),
    ("Keras", DATA, ("keras",)),
    ("scikit-learn", DATA, ("scikit-learn", "sklearn")),
    ("Pandas", DATA, ("pandas",)),
    ("NumPy", DATA, ("numpy",)),
    ("BigQuery", DATA, ("bigquery",)),
    ("Snowflake", DATA, ("snowflake",)),
    ("Databricks", DATA, ("databricks",)),
    ("Hadoop", DATA, ("hadoop",)),
    ("Tableau", DATA, ("tableau",)),
    ("Looker", DATA, ("looker",)),
    ("Power BI", DATA, ("power bi", "powerbi")),
    ("MLflow", DATA, ("mlflow",)),
    ("Machine Learning", DATA, ("machine learning",)),
    ("Deep Learning", DATA, ("deep learning",)),
    ("NLP", DATA, ("nlp", "natural language processing")),
    ("Computer Vision", DATA, ("computer vision",)),
    ("LLMs", DATA, ("llm", "llms", "large language models")),
    ("Excel", None, ("excel",)),
    # Mobile
    ("iOS", MOBILE, ("ios",)),
    ("Android", MOBILE, ("android",)),
    ("SwiftUI", MOBILE, ("swiftui",)),
    ("Flutter", MOBILE, ("flutter",)),
    ("React Native", MOBILE, ("react native",)),
    ("Firebase", MOBILE, ("firebase",)),
    ("Xcode", MOBILE, ("xcode",)),
    # Product and design
    ("Roadmapping", PRODUCT, ("roadmapping", "roadmap", "roadmaps", "product roadmap")),
    ("A/B Testing", PRODUCT, ("a/b testing", "a/b tests", "a/b test", "ab testing")),
    ("User Research", PRODUCT, ("user research",)),
    ("OKRs", PRODUCT, ("okr", "okrs")),
    ("Jira", PRODUCT, ("jira",)),
    ("Confluence", PRODUCT, ("confluence",)),
    ("Amplitude", PRODUCT, ("amplitude",)),
    ("Mixpanel", PRODUCT, ("mixpanel",)),
    ("Agile", PRODUCT, ("agile",)),
    ("Scrum", PRODUCT, ("scrum",)),
    ("Figma", DESIGN, ("figma",)),
    # Sales
    ("Salesforce", SALES, ("salesforce", "sfdc")),
    ("HubSpot", SALES, ("hubspot",)),
    ("Gong", SALES, ("gong",)),
    ("CRM", SALES, ("crm",)),
    ("Pipeline Management", SALES, ("pipeline management",)),
    ("Enterprise Sales", SALES, ("enterprise sales",)),
    ("SaaS", SALES, ("saas",)),
    ("Lead Generation", SALES, ("lead generation",)),
    ("Cold Calling", SALES, ("cold calling",)),
    ("Account Management", SALES, ("account management",)),
    ("MEDDIC", SALES, ("meddic", "meddpicc")),
    ("Quota Attainment", SALES, ("quota attainment", "of quota", "exceeded quota")),
    # Clinical
    ("Patient Care", HEALTHCARE, ("patient care",)),
    ("Triage", HEALTHCARE, ("triage",)),
    ("ICU", HEALTHCARE, ("icu", "intensive care")),
    ("NICU", HEALTHCARE, ("nicu",)),
    ("BLS", HEALTHCARE, ("bls", "basic life support")),
    ("ACLS", HEALTHCARE, ("acls",)),
    ("PALS", HEALTHCARE, ("pals",)),
    ("CPR", HEALTHCARE, ("cpr",)),
    ("Epic", HEALTHCARE, ("epic",)),
    ("Cerner", HEALTHCARE, ("cerner",)),
    ("EHR", HEALTHCARE, ("ehr", "emr", "electronic health records")),
    ("Medication Administration", HEALTHCARE, ("medication administration",)),
    ("Wound Care", HEALTHCARE, ("wound care",)),
    ("IV Therapy", HEALTHCARE, ("iv therapy",)),
    ("Telemetry", HEALTHCARE, ("telemetry",)),
    ("Phlebotomy", HEALTHCARE, ("phlebotomy",)),
    ("HIPAA", HEALTHCARE, ("hipaa",)),
)

# Aliases that are ordinary English words (or single letters) in lower case. They only count
# when spelled exactly like this: "Go" but not "go to market", "Epic" but not "an epic launch",
# "Swift" but not "swift delivery", "Excel" but not "excel at". Lower-case spellings of these
# aliases are ignored on purpose: missing a skill is cheaper than inventing one.
CASE_SENSITIVE_ALIASES: frozenset[str] = frozenset(
    {"Go", "R", "C", "Rust", "Swift", "Ruby", "Dart", "Epic", "Excel", "Helm", "Jest", "Gong",
     "REST", "Rails", "Spark", "Agile", "Scala", "PALS"}
)

SOFT_SKILLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Communication", ("communication", "communicator", "communicating", "communication skills")),
    ("Mentoring", ("mentoring", "mentored", "mentorship", "mentor", "mentors")),
    ("Stakeholder Management", ("stakeholder management", "stakeholders", "stakeholder")),
    ("Leadership", ("leadership", "led a team", "led teams", "led the team")),
    ("Collaboration", ("collaboration", "collaborative", "collaborated", "collaborating")),
    ("Cross-functional Collaboration", ("cross-functional", "cross functional")),
    ("Problem Solving", ("problem solving", "problem solver", "troubleshooting")),
    ("Negotiation", ("negotiation", "negotiations", "negotiating", "negotiated")),
    ("Teamwork", ("teamwork", "team player")),
    ("Public Speaking", ("public speaking",)),
    ("Presentation", ("presentation skills", "presentations", "presenting")),
    ("Coaching", ("coaching", "coached")),
    ("Hiring", ("hiring", "hired", "recruited")),
    ("Ownership", ("ownership",)),
    ("Time Management", ("time management",)),
    ("Adaptability", ("adaptability", "adaptable")),
    ("Critical Thinking", ("critical thinking",)),
    ("Analytical Thinking", ("analytical", "analytical thinking")),
    ("Empathy", ("empathy", "empathetic", "compassionate")),
    ("Attention to Detail", ("attention to detail", "detail-oriented", "detail oriented")),
    ("Conflict Resolution", ("conflict resolution",)),
    ("Customer Focus", ("customer focus", "customer-focused", "customer-centric")),
    ("Strategic Thinking", ("strategic thinking", "strategic planning")),
    ("Decision Making", ("decision making", "decision-making")),
)

# Seniority words in titles (regular-expression fragments, case-insensitive, word boundaries).
# The level names are the keys of rules_enricher.LEVEL_RANK.
C_LEVEL_TITLES = (r"C[TEFOIPMSN]O|Chief\s+(?:\w+\s+){1,2}Officer|(?<!vice )President|"
                  r"(?:Co-?)?Founder")
VP_TITLES = r"S?VP|EVP|Vice\s+President"
DIRECTOR_TITLES = r"Director|Head\s+of"
# Product/project/program/account managers manage a product or an account, not people.
MANAGER_TITLES = (r"(?<!product )(?<!project )(?<!program )(?<!account )Manager|Lead|Supervisor|"
                  r"Charge\s+Nurse")
IC_LEVELS: tuple[tuple[str, str], ...] = (  # checked in this order
    ("intern", r"intern|internship|trainee|apprentice"),
    # A staff nurse is a registered nurse, not a staff-level one.
    ("staff", r"staff(?!\s+nurse)|principal|distinguished|fellow|architect"),
    ("senior", r"senior|sr\b\.?"),
    ("junior", r"junior|jr\b\.?|entry[- ]level|graduate\w*|associate\w*"),
    ("mid", r"mid[- ]level|intermediate"),
)
EARLY_CAREER = (r"recent (?:college )?grad(?:uate)?|new grad|entry[- ]level|fresh graduate|"
                r"graduating|looking for (?:a |my )?first")
SEEKING_INTERNSHIP = r"(?:seeking|looking for)\s+(?:an?\s+)?(?:\w+\s+){0,3}internship"

# Degrees. Abbreviations are case-sensitive ("MS" yes, "ms" no), and bare two-letter forms must
# be followed by a capitalised subject so "Boston, MA 02115" is not a Master's. Spelled-out
# degrees are case-insensitive and only tried where one of DEGREE_FIRST_WORDS occurs. Group
# names are the degree levels.
DEGREE_ABBREVIATIONS = (
    r"(?=[PDMBAG])(?:(?P<phd>\bPh\.?\s?D\b\.?|\bD\.Phil\b)"
    r"|(?P<master>\bM\.?B\.?A\b\.?|\bM\.S\.|\bM\.?Sc\b\.?|\bMSN\b|\bMPH\b|\bM\.A\.|\bM\.?Eng\b\.?"
    r"|\b(?:MS|MA)(?=\s+(?:in\s+)?[A-Z])(?!\s+(?:Office|Excel|Word)\b))"
    r"|(?P<bachelor>\bB\.S\.|\bB\.?Sc\b\.?|\bBSN\b|\bB\.A\.|\bB\.?Eng\b\.?|\bB\.?Tech\b\.?"
    r"|\b(?:BS|BA)(?=\s+(?:in\s+)?[A-Z]))"
    r"|(?P<associate>\bA\.A\.S?\.|\bA\.S\.)|(?P<high_school>\bGED\b))")
DEGREE_FIRST_WORDS = ("doctor", "master", "bachelor", "associate", "high school")
DEGREE_PHRASES = (
    r"(?P<phd>\bdoctor(?:ate)?\s+of\s+\w+|\bdoctorate\b)"
    r"|(?P<master>(?<!scrum )\bmaster(?:'?s)?\b(?:\s+degree)?(?:\s+of\s+\w+)?(?!\s+data))"
    r"|(?P<bachelor>\bbachelor(?:'?s)?\b(?:\s+degree)?(?:\s+of\s+\w+)?)"
    r"|(?P<associate>\bassociate(?:'?s)?\s+(?:degree|of\s+\w+))"
    r"|(?P<high_school>\bhigh\s+school(?:\s+diploma)?)")

# Titles, role tracks and schools: regular-expression fragments, matched case-insensitively on
# word boundaries.
# A fragment holding one of these words is a job title ("Staff Account Executive").
TITLE_WORDS = (r"engineer|developer|programmer|nurse|manager|executive|scientist|analyst|designer|"
               r"coordinator|owner|architect|consultant|specialist|administrator|technician|"
               r"representative|physician|therapist|recruiter|director|intern|lead|head|officer|"
               r"president|founder|vp|c[tefoi]o|sre|devops")
# Undated resumes ("iOS Engineer with 1 years of experience"): up to four of these words before a
# role noun make the title; "Motivated"/"Seasoned" are not part of it.
TITLE_MODIFIERS = (r"senior|sr\.?|junior|jr\.?|staff|principal|lead|intern|software|backend|"
                   r"back-end|frontend|front-end|full[- ]?stack|data|ml|machine learning|ai|ios|"
                   r"android|mobile|product|sales|account|registered|clinical|devops|cloud|"
                   r"platform|qa|security|engineering|web|research|solutions|systems|ux|ui|"
                   r"marketing|business")
ROLE_NOUNS = (r"engineer|developer|programmer|nurse|manager|executive|scientist|analyst|designer|"
              r"coordinator|owner|architect|consultant|specialist|technician|representative|"
              r"physician|recruiter|intern|c[tefo]o|(?:head|vp|director) of \w+|"
              r"vice president(?: of \w+)?|chief \w+ officer")
# Coarse role tracks, for career changes. First match wins: "Data Engineer" and "Head of Data"
# are data, "Engineering Manager" is engineering.
ROLE_TRACKS: tuple[tuple[str, str], ...] = (
    ("clinical", r"nurse|clinical|physician|medical|rn"),
    ("sales", r"sales|account executive|account manager|business development"),
    ("product", r"product"),
    ("data", r"data|machine learning|ml|ai|analytics|scientist|analyst"),
    ("design", r"designer|ux|ui"),
    ("engineering",
     r"engineer|engineering|developer|programmer|architect|c[ti]o|technology|devops|sre"),
)
# A job title in one of these domains counts as evidence of that domain.
TITLE_DOMAINS: tuple[tuple[str, str], ...] = (
    (HEALTHCARE, r"nurse|clinical|physician|medical"),
    (SALES, r"sales|account executive|account manager"),
    (PRODUCT, r"product (?:manager|owner|lead)|head of product"),
    (DATA, r"data|machine learning|ml|ai|analytics"),
    (MOBILE, r"ios|android|mobile"),
    (FRONTEND, r"front[- ]?end"),
    (BACKEND, r"back[- ]?end"),
    (CLOUD, r"devops|sre|site reliability|platform|infrastructure"),
)
LEADERSHIP_STYLES: tuple[tuple[str, str], ...] = (
    ("mentoring", r"mentor\w*|coach\w*|trained\s+\d+\s+new|onboarded"),
    ("team building", r"hired|hiring|recruited|built (?:a|the) team|grew the team"),
    ("people management", r"direct reports|performance reviews|(?:managed|supervised)\s+\d+"),
    ("cross-functional", r"cross[- ]functional|stakeholders?"),
    ("strategic", r"strategy|strategic|vision|roadmap|okrs?"),
)
INSTITUTION_WORDS = (r"University|Universit[yàé]|Universidade|Universidad|College|Institute|School|"
                     r"Politecnico|Polytechnic|Academy|MIT|IIT|ETH|UNICAMP|Caltech|EPFL|Sorbonne")
# Employers missing from COMPANY_TIERS get a type from their name, else "Other".
COMPANY_TYPES: tuple[tuple[str, str], ...] = (
    ("Healthcare", r"hospital|clinic|health|medical|care"),
    ("Startup", r"labs?|ai|ventures|\.io"),
    ("Enterprise", r"corp|corporation|inc|industries|systems|retail|group|holdings|llc|ltd|gmbh"),
)

# Company name (normalised: lower case, punctuation dropped) → (tier, company type).
# Tier 1: household-name tech and the hospitals every clinical recruiter knows; tier 2: well
# known scale-ups. Any other named employer is tier 3. Deliberately small: a long list would
# pretend to a precision the rules do not have.
COMPANY_TIERS: dict[str, tuple[int, str]] = {
    "google": (1, "Big Tech"), "alphabet": (1, "Big Tech"), "meta": (1, "Big Tech"),
    "facebook": (1, "Big Tech"), "amazon": (1, "Big Tech"), "aws": (1, "Big Tech"),
    "apple": (1, "Big Tech"), "microsoft": (1, "Big Tech"), "netflix": (1, "Big Tech"),
    "nvidia": (1, "Big Tech"), "openai": (1, "Big Tech"),
    "stripe": (1, "Fintech"), "nubank": (1, "Fintech"),
    "mayo clinic": (1, "Hospital"), "cleveland clinic": (1, "Hospital"),
    "johns hopkins hospital": (1, "Hospital"), "massachusetts general hospital": (1, "Hospital"),
    "mount sinai": (1, "Hospital"), "charité": (1, "Hospital"),
    "hospital sírio-libanês": (1, "Hospital"), "hospital sírio libanês": (1, "Hospital"),
    "st thomas hospital": (1, "Hospital"),
    "shopify": (2, "Scale-up"), "atlassian": (2, "Scale-up"), "twilio": (2, "Scale-up"),
    "datadog": (2, "Scale-up"), "mercadolibre": (2, "Scale-up"), "mercado libre": (2, "Scale-up"),
    "ifood": (2, "Scale-up"), "zalando": (2, "Scale-up"), "spotify": (2, "Scale-up"),
    "uber": (2, "Scale-up"), "airbnb": (2, "Scale-up"), "linkedin": (2, "Scale-up"),
    "salesforce": (2, "Enterprise Software"), "oracle": (2, "Enterprise Software"),
    "sap": (2, "Enterprise Software"), "ibm": (2, "Enterprise Software"),
    "adobe": (2, "Enterprise Software"), "snowflake": (2, "Scale-up"),
    "databricks": (2, "Scale-up"),
}

# Recruiter-comment vocabulary (regular-expression fragments, matched case-insensitively on
# word boundaries). Visa sponsorship and salary expectations are concerns, not red flags:
# they are negotiable facts, not evidence about the person (see LOGISTICS_TERMS).
POSITIVE_TERMS: tuple[str, ...] = (
    "strong", "impressive", "impressed", "great", "excellent", "clear", "outstanding",
    "exceptional", "solid", "good", "sharp", "talented", "passionate", "enthusiastic",
    "thoughtful", "structured", "proactive", "reliable", "skilled", "polished", "articulate",
    "insightful", "creative", "fantastic", "amazing", "highly recommend", "recommend",
    "collaborative", "ownership", "culture add", "team player", "quick learner",
    "well[- ]prepared", "standout", "stellar", "deep expertise", "very good",
)
CONCERN_TERMS: tuple[str, ...] = (
    "concerns?", "concerned", "late", "weak", "weakness", "lacks?", "lacking",
    "needs visa", "visa sponsorship", "visa", "salary expectations?", "compensation expectations?",
    "expensive", "job[- ]hopping", "job[- ]hopper", "short tenures?", "gaps? in employment",
    "employment gaps?", "rusty", "limited experience", "struggled", "nervous", "overqualified",
    "underqualified", "notice period", "counter[- ]?offer", "poor", "below the bar", "mediocre",
    "vague", "shallow", "inconsistent", "arrogant", "relocation", "hesitant", "unclear",
)
# The concerns that are logistics: reported as concerns, but they do not make the sentiment
# negative ("Strong engineer. Needs visa sponsorship." is a positive note).
LOGISTICS_TERMS: tuple[str, ...] = (
    "needs visa", "visa sponsorship", "visa", "salary expectations?", "compensation expectations?",
    "expensive", "notice period", "counter[- ]?offer", "relocation",
)
RED_FLAG_TERMS: tuple[str, ...] = (
    "no[- ]show", "no[- ]showed", "dishonest", "dishonesty", "lied", "lying", "falsified",
    "fabricated", "plagiari[sz]ed", "unresponsive", "ghosted", "rude", "hostile",
    "inappropriate", "harass\\w*", "misrepresented", "cheat\\w*", "discriminat\\w*",
    "red flags?", "failed (?:the )?background check", "fake references?",
)

# Themes a recruiter note is "about": label → pattern.
THEMES: tuple[tuple[str, str], ...] = (
    ("communication", r"communicat\w*|articulate"),
    ("technical depth", r"technical|system design|architecture|coding|algorithms?"),
    ("culture fit", r"culture|cultural|values"),
    ("collaboration", r"collaborat\w*|team player|teamwork"),
    ("ownership", r"ownership|accountab\w*|initiative|proactive"),
    ("structured thinking", r"structured|analytical|problem[- ]solv\w*|thinker"),
    ("compensation", r"salary|compensation|equity|counter[- ]?offer"),
    ("visa and relocation", r"visa|sponsorship|relocat\w*"),
    ("reliability", r"late|no[- ]show|punctual\w*|unresponsive|ghosted|reliab\w*"),
    ("job stability", r"job[- ]hopp\w*|tenures?|stability"),
    ("leadership", r"leader\w*|mentor\w*|managed"),
    ("integrity", r"dishonest\w*|falsif\w*|lied|lying|integrity|honest\w*|fabricat\w*"),
)
CULTURE_POSITIVE = r"culture add|culture fit|great fit|good fit|team player|collaborative|aligned"
CULTURE_NEGATIVE = (r"poor fit|not a (?:good |culture )?fit|culture concerns?|abrasive|arrogant|"
                    r"toxic")
WORK_STYLES: tuple[tuple[str, str], ...] = (
    ("collaborative", r"collaborat\w*|team player|teamwork"),
    ("structured", r"structured|methodical|organi[sz]ed"),
    ("detail-oriented", r"detail[- ]oriented|attention to detail|thorough"),
    ("independent", r"independent\w*|self[- ]starter|autonomous\w*|self[- ]directed"),
    ("ownership-driven", r"ownership|owns outcomes|accountab\w*"),
    ("hands-on", r"hands[- ]on"),
    ("fast-paced", r"fast[- ]paced|moves fast|bias for action"),
)
VALUES: tuple[tuple[str, str], ...] = (
    ("ownership", r"ownership|accountab\w*"),
    ("integrity", r"integrity|honest|transparen\w*"),
    ("customer focus", r"customer\w*|user[- ]centric"),
    ("growth mindset", r"curious|curiosity|eager to learn|quick learner|growth mindset"),
    ("collaboration", r"collaborat\w*|team player"),
    ("excellence", r"high standards|craftsmanship|quality"),
)


# ---------------------------------------------------------------------------------------------
# Matchers over the data above, compiled once at import.


def labelled(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Compile (label, pattern) pairs: case-insensitive, on word boundaries."""
    return tuple((label, re.compile(rf"\b(?:{pattern})\b", re.I)) for label, pattern in pairs)


_C_LEVEL_RE = re.compile(rf"\b(?:{C_LEVEL_TITLES})\b", re.I)
_VP_RE = re.compile(rf"\b(?:{VP_TITLES})\b", re.I)
_DIRECTOR_RE = re.compile(rf"\b(?:{DIRECTOR_TITLES})\b", re.I)
_MANAGER_RE = re.compile(rf"\b(?:{MANAGER_TITLES})\b", re.I)
_IC_LEVEL_RES = labelled(IC_LEVELS)
_TRACK_RES = labelled(ROLE_TRACKS)
_TITLE_DOMAIN_RES = labelled(TITLE_DOMAINS)

_DEGREE_ABBR_RE = re.compile(DEGREE_ABBREVIATIONS)
_DEGREE_WORD_RE = re.compile(DEGREE_PHRASES, re.I)
_COMPANY_KEY_RE = re.compile(r"[^\w\s-]")
_COMPANY_TYPE_RES = labelled(COMPANY_TYPES)


# Titles repeat across candidates ("Senior Software Engineer"), so the per-title rules are
# cached; the caches are bounded and the functions pure, so results do not depend on them.
@lru_cache(maxsize=8192)
def stated_level(title: str) -> str:
    """The level a title states, or "" when it states none."""
    if _C_LEVEL_RE.search(title):
        return "c_level"
    if _VP_RE.search(title):
        return "vp"
    if _DIRECTOR_RE.search(title):
        return "director"
    prefix = next((level for level, regex in _IC_LEVEL_RES if regex.search(title)), "")
    if _MANAGER_RE.search(title):
        # "Intern Sales Manager" is an intern; anyone else with Manager/Lead manages.
        return prefix if prefix in ("intern", "junior") else "manager"
    return prefix


@lru_cache(maxsize=8192)
def role_track(title: str) -> str | None:
    """The coarse role track of a title (ROLE_TRACKS), or None."""
    return next((name for name, regex in _TRACK_RES if regex.search(title)), None)


@lru_cache(maxsize=8192)
def title_domains(title: str) -> tuple[str, ...]:
    """The domains a title is evidence of (TITLE_DOMAINS)."""
    return tuple(domain for domain, regex in _TITLE_DOMAIN_RES if regex.search(title))


def find_degrees(text: str) -> list[re.Match[str]]:
    """Degree mentions in text order. Spelled-out degrees are matched only where str.find saw
    their first word, which is much cheaper than a case-insensitive scan of the whole resume."""
    matches = list(_DEGREE_ABBR_RE.finditer(text))
    lower = text.lower()
    if len(lower) != len(text):  # a few characters change length when lower-cased
        matches += _DEGREE_WORD_RE.finditer(text)
    else:
        for word in DEGREE_FIRST_WORDS:
            pos = lower.find(word)
            while pos >= 0:
                if match := _DEGREE_WORD_RE.match(text, pos):
                    matches.append(match)
                pos = lower.find(word, pos + len(word))
    return sorted(matches, key=lambda m: m.start())


def company_tier(company: str) -> tuple[int, str]:
    """(tier, company type) of an employer: 1 and 2 from COMPANY_TIERS, else 3 and a type
    guessed from the name."""
    words = _COMPANY_KEY_RE.sub("", company.lower()).split()
    for n in range(len(words), 0, -1):  # "Google Cloud" is Google, "Amazon Web Services" Amazon
        known = COMPANY_TIERS.get(" ".join(words[:n]))
        if known:
            return known
    kind = next((label for label, regex in _COMPANY_TYPE_RES if regex.search(company)), "Other")
    return 3, kind


def _compile_matcher() -> tuple[re.Pattern[str], dict[str, tuple[str, str, str | None]]]:
    """One alternation for all skills. Case-insensitive aliases are compiled as a character trie,
    which is several times faster than a flat alternation of ~300 words."""
    lookup: dict[str, tuple[str, str, str | None]] = {}  # key → (kind, canonical, domain)
    spelled = {s.lower(): s for s in CASE_SENSITIVE_ALIASES}
    insensitive: list[str] = []
    sensitive: list[str] = []
    entries = [("tech", c, d, a) for c, d, a in TECHNICAL_SKILLS]
    entries += [("soft", c, None, a) for c, a in SOFT_SKILLS]
    for kind, canonical, domain, aliases in entries:
        for alias in aliases:
            key = skill_key(alias)
            lookup[key] = (kind, canonical, domain)
            (sensitive if alias in spelled else insensitive).append(spelled.get(alias, key))
    # Single letters and "Go" need more context: "C-level" is not C, "R&D" is not R, "Go to
    # market" and "go-live" are not Go.
    guards = {"Go": r"(?![\w+#-])(?!\s+(?:to|live|ahead|back)\b)", "C": r"(?![\w+#-])",
              "R": r"(?![\w+#&'-])"}
    sensitive.sort(key=len, reverse=True)
    cs = "|".join(re.escape(spelling) + guards.get(spelling, "") for spelling in sensitive)
    pattern = rf"(?<![\w+#])(?:(?i:{_trie(insensitive)})|{cs})(?![\w+#])"
    return re.compile(pattern), lookup


def skill_key(text: str) -> str:
    """Lookup key of an alias or a matched text: lower case, runs of "-"/whitespace as one space."""
    return re.sub(r"[\s-]+", " ", text.lower())


def _trie(words: list[str]) -> str:
    root: dict[str, dict] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_node(root)


def _trie_node(node: dict[str, dict]) -> str:
    branches = [(r"[ \t-]+" if ch == " " else re.escape(ch)) + _trie_node(child)
                for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    # Optional continuations are greedy, so the longest alias wins ("react native" over "react").
    return f"(?:{body})?" if "" in node else body


_SKILL_RE, _SKILL_LOOKUP = _compile_matcher()


def find_skills(text: str) -> tuple[list[str], list[str], dict[str, int]]:
    """(technical skills, soft skills, distinct skills per domain), in order of first appearance,
    deduplicated, spelled canonically."""
    technical: dict[str, None] = {}  # insertion-ordered set: order of first appearance
    soft: dict[str, None] = {}
    domains: dict[str, int] = {}
    for match in _SKILL_RE.finditer(text):
        found = match.group(0).lower()
        kind, canonical, domain = _SKILL_LOOKUP.get(found) or _SKILL_LOOKUP[skill_key(found)]
        target = technical if kind == "tech" else soft
        if canonical not in target:
            target[canonical] = None
            if domain:
                domains[domain] = domains.get(domain, 0) + 1
    return list(technical), list(soft), domains
