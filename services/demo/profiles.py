"""The demo company's behaviour: rates, distributions and per-agent traits, from the seeds.

Numbers and where they come from (see /work/shared/seeds and DESIGN §5):

- survey top box (9–10 on 0–10) 57.66%–81% in the Japanese agency's FY2021–FY2023 results
  (seed 000), target 70%: agents range 50%–80%, about 65% overall;
- face-to-face/online procedures target 60%, 70% achieved in FY2023 H2 (000): agents 45%–80%;
- compliments 64–113 a year for one agency (000): 2–12 a year per agent;
- monthly product training, quarterly compliance training (000); monthly manager interviews,
  which are the monthly assessment events here;
- renewal rate: ≥ 90% full marks, 80–90% partial (001): agents 80%–95%, about 88% overall;
  first contact → renewed about 8–22 days (target ≤ 14);
- referral rate target 20% (002), 13-month persistency target 92%, veto below 85% (002):
  10% of new policies end within 13 months on average (4%–16% by agent), some reinstated;
- complaints a few per 10,000 policies (002), resolved in about 3–7 days (target ≤ 5, 004);
- fake callbacks (004): one phone number used by 3+ policyholders, or the agent's own number —
  a couple of suspicious agents show both patterns in their survey callbacks.
"""

import random
from dataclasses import dataclass
from typing import Final

SOURCE_POLICY: Final = "policy-admin"
SOURCE_RENEWAL: Final = "renewal-desk"
SOURCE_COMPLAINT: Final = "complaint-desk"
SOURCE_SURVEY: Final = "survey-tool"
SOURCE_ASSESSMENT: Final = "hr-assessment"
SOURCE_TRAINING: Final = "training-portal"

# The branch of config/org.yaml that is staffed but sends nothing in the demo stream, so that
# empty KPIs (null, never 0) and staleness can be seen.
DEMO_QUIET_BRANCHES: Final = frozenset({"B12"})
SUSPICIOUS_AGENTS: Final = 2


@dataclass(frozen=True, slots=True)
class ProductLine:
    """A line of business: its share of policies and its annual premium (log-normal, JPY)."""

    code: str
    weight: float
    median_premium: int
    spread: float


PRODUCT_LINES: Final = (
    ProductLine("auto", 0.58, 78_000, 0.35),
    ProductLine("fire", 0.18, 42_000, 0.60),
    ProductLine("personal_accident", 0.12, 24_000, 0.40),
    ProductLine("liability", 0.06, 12_000, 0.50),
    ProductLine("travel", 0.03, 4_500, 0.40),
    ProductLine("marine", 0.03, 150_000, 0.70),
)

DIRECT_CHANNELS: Final = (("face_to_face", 0.70), ("online", 0.30))
OTHER_CHANNELS: Final = (("phone", 0.65), ("mail", 0.20), ("bank", 0.10), ("other", 0.05))
# How the survey reached the customer (its own list, not the sales channel): mostly digital.
SURVEY_CHANNELS: Final = (
    ("web", 0.40),
    ("email", 0.15),
    ("sms", 0.15),
    ("phone", 0.20),
    ("mail", 0.10),
)
SURVEY_SCALES: Final = ((10, 0.60), (5, 0.25), (100, 0.15))
# Answers below the top box, per scale: value → weight.
BELOW_TOP_10: Final = ((0, 1), (1, 1), (2, 1), (3, 2), (4, 3), (5, 8), (6, 10), (7, 20), (8, 26))
BELOW_TOP_5: Final = ((1, 1), (2, 3), (3, 10), (4, 30))

COMPLAINT_CATEGORIES: Final = (
    ("sales_explanation", 0.25),
    ("claims_handling", 0.25),
    ("renewal_procedure", 0.15),
    ("billing", 0.12),
    ("staff_attitude", 0.13),
    ("contact_delay", 0.10),
)
COMPLIMENT_CATEGORIES: Final = (
    ("claims_support", 0.35),
    ("clear_explanation", 0.25),
    ("prompt_response", 0.25),
    ("courtesy", 0.15),
)
REQUEST_CATEGORIES: Final = (
    ("document_request", 0.40),
    ("coverage_change", 0.35),
    ("contact_preference", 0.25),
)

# Rates at scale 1.
NEW_POLICIES_PER_AGENT_DAY: Final = 0.20
COMPLAINTS_PER_POLICY_DAY: Final = 4.0e-6  # ≈ 1.4 a month per 10,000 policies in force
REQUESTS_PER_AGENT_YEAR: Final = 2.0
BRANCH_COMPLAINT_SHARE: Final = 0.10  # complaints about the branch office, not an agent
ESCALATION_SHARE: Final = 0.03
EXISTING_CUSTOMER_SHARE: Final = 0.04  # second purchases by customers of the agent's book
NOT_NEW_BUSINESS_SHARE: Final = 0.06  # transfers and conversions
ISSUE_SURVEY_SHARE: Final = 0.22
RENEWAL_SURVEY_SHARE: Final = 0.18
CALLBACK_SHARE: Final = 0.40
REINSTATEMENT_SHARE: Final = 0.15  # of lapses
TERMINATION_KINDS: Final = (("lapsed", 0.60), ("surrendered", 0.30), ("cancelled", 0.10))
RENEWAL_NOTICE_DAYS: Final = (30, 60)  # the renewal is due this many days after its `due` event
LOST_AFTER_DUE_DAYS: Final = (0, 14)
RENEWED_GRACE_DAYS: Final = 5

# Business hours (local) and their weights; online activity spreads into the evening.
OFFICE_HOURS: Final = (
    (9, 0.8),
    (10, 1.1),
    (11, 1.1),
    (12, 0.5),
    (13, 1.0),
    (14, 1.1),
    (15, 1.1),
    (16, 1.0),
    (17, 0.8),
    (18, 0.4),
)
ONLINE_HOURS: Final = tuple((hour, 1.0 if 9 <= hour <= 21 else 0.4) for hour in range(7, 24))
WEEKDAY_WEIGHTS: Final = (1.0, 1.0, 1.0, 1.0, 1.0, 0.45, 0.15)  # Monday … Sunday
MONTH_WEIGHTS: Final = {3: 1.2, 4: 1.15, 8: 0.85, 12: 0.95}  # fiscal year end/start rush


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """How one agent performs; `skill` (0–1) drives every trait, so scorecards differ."""

    skill: float
    new_policies_per_day: float
    book_size: int
    renewal_rate: float
    cycle_days: float
    referral_rate: float
    direct_share: float
    top_box: float
    complaint_factor: float
    resolution_days: float
    termination_rate: float
    attendance: float
    assessment_mean: float
    compliments_per_year: float
    suspicious: bool = False


@dataclass(frozen=True, slots=True)
class BranchProfile:
    """A branch's culture: a shift of its agents' skill and a productivity factor."""

    skill_shift: float
    productivity: float


def seeded(key: str) -> random.Random:
    """A random stream fully determined by `key` (demo data, never security)."""
    return random.Random(key)  # noqa: S311 - reproducible simulation, not cryptography


def branch_profile(seed: int, branch_id: str) -> BranchProfile:
    rng = seeded(f"{seed}:branch:{branch_id}")
    return BranchProfile(skill_shift=rng.uniform(-0.08, 0.08), productivity=rng.uniform(0.85, 1.15))


def intrinsic_skill(seed: int, agent_id: str) -> float:
    """An agent's own skill, 0–1, centred on 0.5; the same for a seed wherever the agent works."""
    return seeded(f"{seed}:agent:{agent_id}").betavariate(2.2, 2.2)


def _clip(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def agent_profile(
    skill: float, branch: BranchProfile, coefficient: float, *, suspicious: bool = False
) -> AgentProfile:
    """The traits of an agent of intrinsic `skill` working in `branch` of a region."""
    s = _clip(skill + branch.skill_shift, 0.0, 1.0)
    return AgentProfile(
        skill=s,
        new_policies_per_day=NEW_POLICIES_PER_AGENT_DAY
        * (0.5 + s)
        * coefficient
        * branch.productivity,
        book_size=round(180 + 240 * s),
        renewal_rate=_clip(0.80 + 0.15 * s, 0.75, 0.97),
        cycle_days=22.0 - 14.0 * s,
        referral_rate=0.10 + 0.20 * s,
        direct_share=0.45 + 0.35 * s,
        top_box=0.95 if suspicious else 0.50 + 0.30 * s,
        complaint_factor=2.0 - 1.6 * s,
        resolution_days=7.0 - 4.0 * s,
        termination_rate=0.16 - 0.12 * s,
        attendance=0.70 + 0.28 * s,
        assessment_mean=62.0 + 30.0 * s,
        compliments_per_year=2.0 + 10.0 * s,
        suspicious=suspicious,
    )
