"""Which scores are republished after a change of definitions (definition_change.py)."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest

from services.scoring.definition_change import republish, revisions
from shared.config.loading import load_calendar
from shared.kafka_output import Outbound
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.kpi.republication import republishes, settled
from shared.messages.definitions import DefinitionsFields
from shared.messages.score import Score, ScoreFields, encode_score
from tests.support.fakes import RecordingOutput

OLD = DefinitionsFields(hash="0123456789abcdef", label="FY2024")
NEW = DefinitionsFields(hash="fedcba9876543210", label="FY2024 restated")
AS_OF = datetime(2025, 3, 31, tzinfo=UTC)


def _score(
    kpi: str,
    numerator: int,
    target: str = "0.7",
    definitions: DefinitionsFields = NEW,
    period: str = "2024-05",
) -> ScoreFields:
    value = Decimal(numerator) / 10
    return ScoreFields(
        schema_version=1,
        score_id=Score.make_id(
            "branch:B01", period, kpi, numerator=Decimal(numerator), denominator=Decimal(10),
            revision=1,
        ),
        entity="branch:B01",
        period=period,
        kpi=kpi,
        value=value,
        numerator=Decimal(numerator),
        denominator=Decimal(10),
        target=Decimal(target),
        attainment=None,
        revision=1,
        as_of=AS_OF,
        definitions=definitions,
        revision_reason=None,
        previous_definitions=None,
    )  # fmt: skip


def test_changed_and_new_scores_are_revisions_naming_both_versions() -> None:
    before = [
        _score("survey_top_box", 6, definitions=OLD),
        _score("nps", 3, definitions=OLD),
        _score("renewal_rate", 9, definitions=OLD),
    ]
    after = [
        _score("survey_top_box", 8),  # the top box moved from 9 to 8: more answers in it
        _score("nps", 3),  # unchanged figures: a new version alone is no revision
        _score("renewal_rate", 9, target="0.95"),  # a restated target
        _score("survey_top2_share", 9),  # a new KPI
    ]
    found = revisions(before, after, OLD)
    assert [f["kpi"] for f in found] == ["survey_top_box", "renewal_rate", "survey_top2_share"]
    for fields in found:
        assert fields["revision_reason"] == "definition_change"
        assert (fields["definitions"], fields["previous_definitions"]) == (NEW, OLD)
        score = Score.model_validate_json(encode_score(fields))
        assert score.previous_definitions is not None
        assert score.previous_definitions.hash == OLD["hash"]
    # Same figures but the target: a consumer dropping copies by id must not drop it.
    restated = found[1]
    assert restated["score_id"] != after[2]["score_id"]
    assert restated["score_id"] == revisions(before, after, OLD)[1]["score_id"]  # deterministic


def test_nothing_changed_nothing_republished() -> None:
    same = [_score("survey_top_box", 6)]
    assert revisions(same, same, OLD) == []


CALENDAR: Final = FiscalCalendar(load_calendar(Path("config") / "calendar.yaml"))

# FY2024's twelve months, and the 19 periods they make (with quarters, halves and the year).
FY2024_MONTHS: Final = [f"2024-{m:02d}" for m in range(4, 13)] + ["2025-01", "2025-02", "2025-03"]
FY2024_PERIODS: Final = {p for month in FY2024_MONTHS for p in CALENDAR.periods_of_month(month)}


class Generation:
    """A `ScoreSource`: one top-box numerator per period, as a generation's builder sums it."""

    def __init__(self, numerators: Mapping[str, int], definitions: DefinitionsFields) -> None:
        self.numerators = numerators
        self._definitions = definitions

    @property
    def definitions(self) -> DefinitionsFields | None:
        return self._definitions

    def changed_buckets(
        self, touched: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], set[str]]:
        return {
            (entity, period): {"survey_top_box"}
            for entity, month in touched
            for period in CALENDAR.periods_of_month(month)
        }

    async def fields(
        self, changed: Mapping[tuple[str, str], set[str]], stream_time: datetime | None
    ) -> list[ScoreFields]:
        return [
            _score("survey_top_box", self.numerators[period], definitions=self._definitions,
                   period=period)
            for _, period in changed
        ]  # fmt: skip


async def test_a_recomputation_from_a_period_republishes_only_the_periods_from_it() -> None:
    months, periods = FY2024_MONTHS, FY2024_PERIODS
    old = Generation(dict.fromkeys(periods, 5), OLD)
    new = Generation(dict.fromkeys(periods, 6), NEW)  # every period's top box moved
    stream_time = datetime(2025, 4, 20, tzinfo=UTC)  # March 2025 settled (lateness: 7 days)

    def from_october(period: str) -> bool:
        return republishes(
            CALENDAR, period, "2024-10", settled=settled(CALENDAR, period, stream_time)
        )

    output = RecordingOutput()
    sent = await republish(
        old,
        new,
        [("branch:B01", month) for month in months],
        stream_times=(stream_time, stream_time),
        output=output,
        periods=from_october,
        chunk=3,
    )
    published = [Score.model_validate_json(m.value) for m in output.sent]
    assert {s.period for s in published} == {
        "2024-10", "2024-11", "2024-12", "2025-01", "2025-02", "2025-03",
        "FY2024-Q3", "FY2024-Q4", "FY2024-H2", "FY2024",
    }  # fmt: skip
    assert sent == len(published) == 10
    assert {s.revision_reason for s in published} == {"definition_change"}

    # Without --from, all 19 periods of FY2024 (12 months, 4 quarters, 2 halves, the year).
    everything = RecordingOutput()
    assert (
        await republish(
            old,
            new,
            [("branch:B01", month) for month in months],
            stream_times=(stream_time, stream_time),
            output=everything,
        )
        == len(periods)
        == 19
    )


async def test_a_period_before_the_from_period_still_open_to_late_events_is_republished() -> None:
    old = Generation({"2025-03": 5, "FY2024-Q4": 5, "FY2024-H2": 5, "FY2024": 5}, OLD)
    new = Generation({"2025-03": 6, "FY2024-Q4": 6, "FY2024-H2": 6, "FY2024": 6}, NEW)
    stream_time = datetime(2025, 4, 3, tzinfo=UTC)  # March's lateness runs to 8 April

    def from_april(period: str) -> bool:
        return republishes(
            CALENDAR, period, "2025-04", settled=settled(CALENDAR, period, stream_time)
        )

    output = RecordingOutput()
    sent = await republish(
        old,
        new,
        [("branch:B01", "2025-03")],
        stream_times=(stream_time, stream_time),
        output=output,
        periods=from_april,
    )
    assert sent == 4  # March and its quarter, half and year: none settled yet
    later = datetime(2025, 4, 8, tzinfo=UTC)  # 09:00 on 8 April in Tokyo: settled
    assert not republishes(
        CALENDAR, "2025-03", "2025-04", settled=settled(CALENDAR, "2025-03", later)
    )


class DiesAfter(RecordingOutput):
    """Acknowledges `calls` sends, then the process dies (a kill -9 between two chunks)."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.left = calls

    async def send_all(self, messages: Sequence[Outbound]) -> None:
        if self.left == 0:
            raise SystemExit("killed")
        self.left -= 1
        await super().send_all(messages)


async def test_revisions_stopped_part_way_go_on_from_the_last_chunk_sent() -> None:
    """What the next owner of partition 0 publishes after a crash, with the progress recorded
    after each chunk, adds up to one uninterrupted run: every changed score once."""
    months, periods = FY2024_MONTHS, FY2024_PERIODS
    old = Generation(dict.fromkeys(periods, 5), OLD)
    new = Generation(dict.fromkeys(periods, 6), NEW)
    keys = [("branch:B01", month) for month in months]
    stream_time = datetime(2025, 4, 20, tzinfo=UTC)
    recorded: list[tuple[str, str]] = []

    async def note(pair: tuple[str, str]) -> None:
        recorded.append(pair)

    dying = DiesAfter(calls=3)
    with pytest.raises(SystemExit):
        await republish(
            old, new, keys, stream_times=(stream_time, stream_time), output=dying,
            chunk=4, on_chunk=note,
        )  # fmt: skip
    assert len(recorded) == 3
    resumed = RecordingOutput()
    await republish(
        old, new, keys, stream_times=(stream_time, stream_time), output=resumed,
        chunk=4, after_pair=recorded[-1], on_chunk=note,
    )  # fmt: skip

    def sent(output: RecordingOutput) -> list[str]:
        return [Score.model_validate_json(m.value).period for m in output.sent]

    assert sorted(sent(dying) + sent(resumed)) == sorted(periods)
    assert len(sent(dying)) == 12
    assert len(sent(resumed)) == 19 - 12
