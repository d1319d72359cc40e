"""The promises every `ScorecardStore` keeps, written once and run against each implementation.

A test module subclasses `ScorecardStoreContract` as `Test...` and gives the class a `store`
fixture that yields a fresh, empty store with its schema ensured:
`tests/unit/reporting/test_fake_scorecard_store.py` (`MemoryScorecardStore`) and
`tests/integration/test_alert_and_scorecard_stores.py` (`MongoScorecardStore` on the real local
database).
"""

from datetime import UTC, datetime
from decimal import Decimal

from services.reporting.store import ScorecardStore
from shared.messages.scorecard import Grade, Scorecard, ScorecardStatus

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def card(entity: str, period: str, revision: int) -> Scorecard:
    return Scorecard(
        scorecard_id=Scorecard.make_id(entity, period, "branch", revision),
        entity=entity,
        period=period,
        profile="branch",
        revision=revision,
        status=ScorecardStatus.PROVISIONAL if revision == 1 else ScorecardStatus.REVISED,
        quantitative_score=Decimal(80 + revision),
        qualitative_score=None,
        final_score=Decimal(80 + revision),
        grade=Grade.QUALIFIED,
        rank=None,
        peers=0,
        quadrant=None,
        kpis=[],
        activity=True,
        as_of=T0,
    )


def revisions(cards: dict[str, Scorecard]) -> dict[str, int]:
    return {key: c.revision for key, c in cards.items()}


class ScorecardStoreContract:
    """What reporting relies on to revise a scorecard and to resume its close after a restart."""

    async def test_an_empty_store_has_no_cards_and_no_close_state(
        self, store: ScorecardStore
    ) -> None:
        assert await store.latest_of_period("2024-04") == {}
        assert await store.latest("branch:B01", ["2024-04"]) == {}
        assert await store.horizon() is None
        assert await store.final_periods() == set()
        assert await store.periods() == set()

    async def test_the_schema_can_be_ensured_again(self, store: ScorecardStore) -> None:
        await store.save([card("branch:B01", "2024-04", 1)])
        await store.ensure_schema()

        assert await store.latest_of_period("2024-04") == {
            "branch:B01": card("branch:B01", "2024-04", 1)
        }

    async def test_a_period_answers_the_newest_revision_of_each_entity(
        self, store: ScorecardStore
    ) -> None:
        await store.save([card("branch:B01", "2024-04", 2), card("branch:B02", "2024-04", 1)])
        await store.save([card("branch:B01", "2024-04", 1), card("branch:B01", "2024-05", 3)])

        newest = await store.latest_of_period("2024-04")
        assert revisions(newest) == {"branch:B01": 2, "branch:B02": 1}
        assert newest["branch:B01"] == card("branch:B01", "2024-04", 2)

    async def test_an_entity_answers_the_newest_revision_of_each_period_asked_for(
        self, store: ScorecardStore
    ) -> None:
        await store.save([card("branch:B01", "2024-04", 1), card("branch:B01", "2024-04", 2)])
        await store.save([card("branch:B01", "2024-05", 1), card("branch:B01", "2024-06", 1)])
        await store.save([card("branch:B02", "2024-04", 3)])

        asked = (p for p in ["2024-04", "2024-05", "2024-07"])  # any iterable, read once
        assert revisions(await store.latest("branch:B01", asked)) == {"2024-04": 2, "2024-05": 1}
        assert await store.latest("branch:B01", []) == {}

    async def test_a_card_saved_twice_is_stored_once(self, store: ScorecardStore) -> None:
        twice = [card("branch:B01", "2024-04", 1), card("branch:B01", "2024-04", 1)]
        await store.save(twice)
        await store.save(twice[:1])  # a close handled again after a crash
        await store.save([])

        assert await store.latest_of_period("2024-04") == {"branch:B01": twice[0]}

    async def test_the_generation_built_from_is_the_last_one_set(
        self, store: ScorecardStore
    ) -> None:
        assert await store.generation() is None
        await store.set_generation("g0")
        await store.set_generation("g20250401T091500")
        assert await store.generation() == "g20250401T091500"

    async def test_the_horizon_is_the_last_one_set(self, store: ScorecardStore) -> None:
        await store.set_horizon("2023-04")
        await store.set_horizon("2024-04")

        assert await store.horizon() == "2024-04"

    async def test_final_periods_accumulate_once_each(self, store: ScorecardStore) -> None:
        await store.mark_final("2024-04")
        await store.mark_final("2024-04")
        await store.mark_final("2024-05")

        finals = await store.final_periods()
        assert finals == {"2024-04", "2024-05"}
        finals.add("2024-06")  # the answer is the caller's own set
        assert await store.final_periods() == {"2024-04", "2024-05"}

    async def test_the_periods_with_scorecards_are_each_named_once(
        self, store: ScorecardStore
    ) -> None:
        await store.save([card("branch:B01", "2024-04", 1), card("branch:B01", "2024-04", 2)])
        await store.save([card("branch:B02", "2024-04", 1), card("branch:B01", "FY2024-Q1", 1)])

        assert await store.periods() == {"2024-04", "FY2024-Q1"}
