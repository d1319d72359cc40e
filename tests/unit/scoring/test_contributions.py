"""What events add to the counters: hand-computed cases of DESIGN §5."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from services.scoring.domain.batch import InputRecord, Position, apply_batch
from services.scoring.domain.contributions import anniversary_13m, normalised_score, stateless
from shared.config import CalendarConfig
from shared.events import KpiEvent
from shared.kpi.components import C
from shared.kpi.fiscal_calendar import FiscalCalendar
from tests.support.scoring_events import complaint, policy, renewal, survey

CALENDAR = FiscalCalendar(CalendarConfig())
JST = timezone(timedelta(hours=9))


def counters(*events: KpiEvent) -> dict[tuple[str, str, str], int]:
    outcome = apply_batch(
        [InputRecord("kpi.events.v1", 0, i, e) for i, e in enumerate(events)],
        positions={("kpi.events.v1", 0): Position(None, {})},
        record_state={},
        calendar=CALENDAR,
    )
    return outcome.deltas.nonzero()


def cohort(*events: KpiEvent) -> tuple[int, int]:
    found = counters(*events)
    return (
        found.get(("agent:A1", "2023-06", C.COHORT_SIZE), 0),
        found.get(("agent:A1", "2023-06", C.COHORT_PERSISTING), 0),
    )


ISSUED = policy(1, "A1", datetime(2022, 5, 10, 10, tzinfo=JST), "issued", policy_id="P1")


def test_the_13_month_anniversary_of_2022_05_10_is_2023_06_10() -> None:
    assert anniversary_13m(date(2022, 5, 10)) == date(2023, 6, 10)
    assert anniversary_13m(date(2023, 1, 31)) == date(2024, 2, 29)


def test_a_policy_lapsed_before_its_anniversary_counts_against_its_cohort() -> None:
    lapsed = policy(
        2,
        "A1",
        datetime(2023, 6, 1, 10, tzinfo=JST),
        "lapsed",
        issued=date(2022, 5, 10),
        policy_id="P1",
    )
    assert cohort(ISSUED, lapsed) == (1, 0)


def test_a_policy_lapsed_after_its_anniversary_persisted() -> None:
    lapsed = policy(
        2,
        "A1",
        datetime(2023, 6, 20, 10, tzinfo=JST),
        "lapsed",
        issued=date(2022, 5, 10),
        policy_id="P1",
    )
    assert cohort(ISSUED, lapsed) == (1, 1)


def test_a_policy_lapsed_and_reinstated_inside_13_months_persisted() -> None:
    lapsed = policy(
        2,
        "A1",
        datetime(2022, 11, 1, 10, tzinfo=JST),
        "lapsed",
        issued=date(2022, 5, 10),
        policy_id="P1",
    )
    reinstated = policy(
        3,
        "A1",
        datetime(2022, 12, 1, 10, tzinfo=JST),
        "reinstated",
        issued=date(2022, 5, 10),
        policy_id="P1",
    )
    assert cohort(ISSUED, lapsed, reinstated) == (1, 1)
    assert cohort(ISSUED, reinstated, lapsed) == (1, 1), "the order of arrival does not matter"


def test_renewals_count_in_the_month_they_are_due_not_when_they_happen() -> None:
    due = date(2024, 6, 30)
    found = counters(
        renewal(1, "A1", datetime(2024, 5, 20, tzinfo=UTC), "due", due, "R1"),
        renewal(2, "A1", datetime(2024, 7, 2, tzinfo=UTC), "renewed", due, "R1"),
    )
    assert found[("agent:A1", "2024-06", C.RENEWAL_DUE)] == 1
    assert found[("agent:A1", "2024-06", C.RENEWAL_RENEWED)] == 1
    assert ("agent:A1", "2024-07", C.RENEWAL_RENEWED) not in found


def test_first_contact_to_renewal_takes_the_earliest_contact() -> None:
    due = date(2024, 6, 30)
    found = counters(
        renewal(1, "A1", datetime(2024, 6, 3, tzinfo=UTC), "contacted", due, "R1"),
        renewal(2, "A1", datetime(2024, 6, 1, tzinfo=UTC), "contacted", due, "R1"),
        renewal(3, "A1", datetime(2024, 6, 11, tzinfo=UTC), "renewed", due, "R1"),
    )
    assert found[("agent:A1", "2024-06", C.RENEWAL_CYCLE_SECONDS)] == 10 * 86400
    assert found[("agent:A1", "2024-06", C.RENEWAL_CYCLE_COUNT)] == 1
    assert found[("agent:A1", "2024-06", C.RENEWAL_CONTACTS)] == 2


def test_counters_roll_up_to_every_level_and_days_only_from_branch_up() -> None:
    found = counters(survey(1, "A1", datetime(2024, 5, 17, 3, tzinfo=UTC), score=10))
    for entity in ("agent:A1", "team:T01", "branch:B01", "region:R1", "company:ACME"):
        assert found[(entity, "2024-05", C.SURVEY_TOP_BOX)] == 1
    assert found[("branch:B01", "2024-05-17", C.SURVEY_RESPONSES)] == 1
    assert ("agent:A1", "2024-05-17", C.SURVEY_RESPONSES) not in found


def test_survey_scales_are_normalised_to_0_100_and_top_box_per_scale() -> None:
    assert normalised_score(Decimal(9), 10) == 90
    assert normalised_score(Decimal(4), 5) == 75
    five = stateless(survey(1, "A1", datetime(2024, 5, 1, tzinfo=UTC), 5, scale=5), CALENDAR)
    four = stateless(survey(2, "A1", datetime(2024, 5, 1, tzinfo=UTC), 4, scale=5), CALENDAR)
    assert five[("agent:A1", "2024-05", C.SURVEY_TOP_BOX)] == 1
    assert four.get(("agent:A1", "2024-05", C.SURVEY_TOP_BOX), 0) == 0
    assert four[("agent:A1", "2024-05", C.SURVEY_SCORE_E2)] == 7500
    assert ("agent:A1", "2024-05", C.NPS_RESPONSES) not in four, "NPS takes 0–10 answers only"


def test_nps_promoters_and_detractors_on_0_10() -> None:
    found = counters(
        *(
            survey(i, "A1", datetime(2024, 5, 1, tzinfo=UTC), s)
            for i, s in enumerate([10, 9, 8, 6, 0])
        )
    )
    assert found[("agent:A1", "2024-05", C.NPS_RESPONSES)] == 5
    assert found[("agent:A1", "2024-05", C.NPS_PROMOTERS)] == 2
    assert found[("agent:A1", "2024-05", C.NPS_DETRACTORS)] == 2


def test_complaint_resolution_time_counts_in_the_month_it_is_resolved() -> None:
    found = counters(
        complaint(1, "A1", datetime(2024, 5, 30, tzinfo=UTC), "complaint", "opened", "K1"),
        complaint(2, "A1", datetime(2024, 6, 2, tzinfo=UTC), "complaint", "resolved", "K1"),
    )
    assert found[("agent:A1", "2024-05", C.COMPLAINTS_OPENED)] == 1
    assert found[("agent:A1", "2024-06", C.RESOLUTION_SECONDS)] == 3 * 86400
    assert found[("agent:A1", "2024-06", C.RESOLUTION_COUNT)] == 1


def test_in_force_moves_with_issues_reinstatements_and_terminations() -> None:
    may = datetime(2024, 5, 3, tzinfo=UTC)
    found = counters(
        policy(1, "A1", may, "issued", policy_id="P1"),
        policy(2, "A1", may, "issued", policy_id="P2"),
        policy(3, "A1", may, "surrendered", issued=date(2020, 1, 1), policy_id="P3"),
    )
    assert found[("agent:A1", "2024-05", C.INFORCE_DELTA)] == 1
    assert found[("agent:A1", "2024-05", C.POLICY_SURRENDERED)] == 1


def test_a_second_purchase_by_an_existing_customer_counts_as_repeat() -> None:
    found = counters(
        policy(1, "A1", datetime(2024, 4, 3, tzinfo=UTC), "issued", customer_id="C9"),
        policy(2, "A1", datetime(2024, 6, 3, tzinfo=UTC), "issued", customer_id="C9"),
        policy(3, "A1", datetime(2024, 6, 4, tzinfo=UTC), "issued", customer_id="C8"),
    )
    assert found[("agent:A1", "2024-04", C.CUSTOMERS_NEW)] == 1
    assert found[("agent:A1", "2024-06", C.CUSTOMERS_NEW)] == 1
    assert found[("agent:A1", "2024-06", C.CUSTOMERS_REPEAT)] == 1
