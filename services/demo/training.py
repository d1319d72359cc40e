"""Training sessions of the month: product monthly, compliance quarterly, claims twice a year.

Ids: sessions ``TR-<branch>-YYYYMM-<course>``, attendances ``<session>:<agent>``.
"""

from datetime import date, timedelta

from .documents import SCHEMA_VERSION
from .profiles import SOURCE_TRAINING
from .sampling import between
from .scheduler import Scheduler


def training(schedule: Scheduler, first_of_month: date) -> None:
    """Originate the training sessions of the month, with each member's attendance."""
    month = first_of_month.month
    courses: list[tuple[str, float, int]] = [("product", 2.0, 17 * 3600 + 1800)]
    if month in {3, 6, 9, 12}:
        courses.append(("compliance", 1.5, 14 * 3600))
    if month in {5, 11}:
        courses.append(("claims_handling", 1.0, 10 * 3600))
    rng = schedule.rng("training", f"{first_of_month:%Y-%m}")
    branches = schedule.world.roster(first_of_month).by_branch
    for branch_id in branches:
        for course, hours, start in courses:
            held = first_of_month + timedelta(days=between(rng, 4, 24))
            while held.weekday() >= 5:
                held += timedelta(days=1)
            session_id = f"TR-{branch_id}-{held:%Y%m}-{course}"
            begins = schedule.midnight(held) + start
            for member in schedule.world.roster(held).by_branch.get(branch_id, ()):
                if rng.random() >= member.profile.attendance:
                    continue
                schedule.push(
                    begins + between(rng, -600, 300),
                    {
                        "event_type": "training",
                        "event_id": f"{session_id}:{member.agent_id}",
                        "source": SOURCE_TRAINING,
                        "schema_version": SCHEMA_VERSION,
                        "agent_id": member.agent_id,
                        "session_id": session_id,
                        "course": course,
                        "hours": hours,
                    },
                )
