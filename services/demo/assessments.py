"""Monthly assessments: each agent's and each branch's, for the month just ended, given in the
first week of the next month (within the month's allowed lateness: scoring refuses an
assessment given after it as `too_late`).

Ids: ``AS-YYYY-MM-<entity>``.
"""

from datetime import date, timedelta

from .documents import SCHEMA_VERSION, Document
from .profiles import SOURCE_ASSESSMENT
from .sampling import between, workday
from .scheduler import Scheduler


def assessments(schedule: Scheduler, first_of_month: date) -> None:
    """Originate the assessments of the month before `first_of_month`."""
    month_end = first_of_month - timedelta(days=1)
    period = f"{month_end:%Y-%m}"
    rng = schedule.rng("assessment", period)
    roster = schedule.world.roster(month_end)
    for branch_id, members in roster.by_branch.items():
        scores = []
        for member in members:
            score = round(min(100.0, max(30.0, rng.gauss(member.profile.assessment_mean, 6))))
            scores.append(score)
            # By the 6th (the 7th when it falls on a Sunday): August's assessments count in
            # August, which takes late events until 8 September 00:00 (7 days' lateness).
            when = workday(first_of_month + timedelta(days=between(rng, 0, 5)))
            schedule.push(
                schedule.at(when, rng),
                _assessment(period, "agent_id", member.agent_id, score, f"MGR-{branch_id}"),
            )
        branch_score = round(min(100.0, max(30.0, sum(scores) / len(scores) + rng.gauss(0, 3))))
        when = workday(first_of_month + timedelta(days=between(rng, 2, 5)))
        assessor = f"MGR-{schedule.world.region_of[branch_id]}"
        schedule.push(
            schedule.at(when, rng),
            _assessment(period, "branch_id", branch_id, branch_score, assessor),
        )


def _assessment(period: str, owner: str, entity_id: str, score: int, assessor: str) -> Document:
    assessment_id = f"AS-{period}-{entity_id}"
    return {
        "event_type": "assessment",
        "event_id": assessment_id,
        "source": SOURCE_ASSESSMENT,
        "schema_version": SCHEMA_VERSION,
        owner: entity_id,
        "assessment_id": assessment_id,
        "period": period,
        "score": score,
        "assessor_id": assessor,
    }
