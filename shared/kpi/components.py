"""The counters KPI state is made of (DESIGN §5, §7).

Every counter is an integer, so that `$inc` in MongoDB is exact and commutative: money is kept
in ten-thousandths (`*_e4`, the contract allows four decimal places), scores in hundredths
(`*_e2`), durations in seconds. Counters live in *buckets*: a local calendar month
(`2024-05`), a local day (`2024-05-17`, branch level and above, for rolling windows), or a
named period (`FY2024-Q1`) for assessments given for a whole period.
"""

from enum import StrEnum


class C(StrEnum):
    """Counter components."""

    # policy events, by occurred month
    POLICY_ISSUED = "policy_issued"
    NB_ISSUED = "nb_issued"
    NB_REFERRAL = "nb_referral"
    NB_PREMIUM_E4 = "nb_premium_e4"
    PREMIUM_WRITTEN_E4 = "premium_written_e4"
    SALES_EVENTS = "sales_events"
    DIRECT_SALES = "direct_sales"
    POLICY_LAPSED = "policy_lapsed"
    POLICY_SURRENDERED = "policy_surrendered"
    POLICY_CANCELLED = "policy_cancelled"
    POLICY_REINSTATED = "policy_reinstated"
    INFORCE_DELTA = "inforce_delta"  # issued + reinstated − terminated; prefix-summed
    # policy cohorts, by the month of the 13-month anniversary
    COHORT_SIZE = "cohort_size"
    COHORT_PERSISTING = "cohort_persisting"
    # renewals, by due month (contacts by occurred month)
    RENEWAL_DUE = "renewal_due"
    RENEWAL_RENEWED = "renewal_renewed"
    RENEWAL_LOST = "renewal_lost"
    RENEWAL_PREMIUM_E4 = "renewal_premium_e4"
    RENEWAL_CONTACTS = "renewal_contacts"
    RENEWAL_CYCLE_SECONDS = "renewal_cycle_seconds"
    RENEWAL_CYCLE_COUNT = "renewal_cycle_count"
    # complaint desk, by occurred month (resolution by resolved month)
    COMPLAINTS_OPENED = "complaints_opened"
    COMPLIMENTS = "compliments"
    REQUESTS_OPENED = "requests_opened"
    COMPLAINTS_ESCALATED = "complaints_escalated"
    RESOLUTION_SECONDS = "resolution_seconds"
    RESOLUTION_COUNT = "resolution_count"
    # surveys, by occurred month
    SURVEY_RESPONSES = "survey_responses"
    SURVEY_TOP_BOX = "survey_top_box"
    SURVEY_SCORE_E2 = "survey_score_e2"  # normalised to 0–100
    NPS_RESPONSES = "nps_responses"
    NPS_PROMOTERS = "nps_promoters"
    NPS_DETRACTORS = "nps_detractors"
    # customers, by month
    CUSTOMERS_NEW = "customers_new"  # first purchase; prefix-summed into existing customers
    CUSTOMERS_REPEAT = "customers_repeat"
    # qualitative and capability
    ASSESSMENT_SCORE_E2 = "assessment_score_e2"
    ASSESSMENT_COUNT = "assessment_count"
    TRAINING_SESSIONS = "training_sessions"
    TRAINING_HOURS_E2 = "training_hours_e2"
    # bookkeeping: batches that changed a bucket after its period had closed (late events)
    REVISIONS = "revisions"


# Components whose value at a period's start is the sum of every earlier bucket.
PREFIX_SUMMED = frozenset({C.INFORCE_DELTA, C.CUSTOMERS_NEW})
