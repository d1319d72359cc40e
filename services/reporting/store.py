"""Where reporting keeps its scorecards and how far it has closed the calendar.

`ScorecardStore` is the port; `MongoScorecardStore` keeps every revision in the `scorecards`
collection (one document per `scorecard_id`, so a revision written twice is one document) and
the close state in `reporting_state`: the fiscal year reporting started from and which periods
are final. PyMongo's errors are translated at this boundary (`StoreUnavailable` when a retry
may help, `StoreError` when not).
"""

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReplaceOne

from shared.messages.scorecard import Scorecard
from shared.transient import store_errors

SCORECARDS = "scorecards"
STATE = "reporting_state"


class ScorecardStore(Protocol):
    async def ensure_schema(self) -> None: ...

    async def save(self, cards: Sequence[Scorecard]) -> None: ...

    async def latest_of_period(self, period: str) -> dict[str, Scorecard]:
        """The newest revision of every entity's scorecard for a period, by entity."""
        ...

    async def latest(self, entity: str, periods: Iterable[str]) -> dict[str, Scorecard]:
        """The newest revision of one entity's scorecards for some periods, by period."""
        ...

    async def periods(self) -> set[str]:
        """Every period that has a scorecard (the periods closed so far)."""
        ...

    async def horizon(self) -> str | None:
        """The first month reporting closes from (a fiscal year's first month)."""
        ...

    async def set_horizon(self, month: str) -> None: ...

    async def final_periods(self) -> set[str]: ...

    async def mark_final(self, period: str) -> None: ...

    async def generation(self) -> str | None:
        """The scoring state generation the scorecards were last built from (None: not
        recorded yet)."""
        ...

    async def set_generation(self, generation: str) -> None: ...


class MongoScorecardStore:
    """`ScorecardStore` on MongoDB."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        db = client[database]
        self._cards = db[SCORECARDS]
        self._state = db[STATE]

    async def ensure_schema(self) -> None:
        with store_errors("cannot create the scorecard indexes"):
            await self._cards.create_index(
                [("period", ASCENDING), ("entity", ASCENDING), ("revision", DESCENDING)]
            )
            await self._cards.create_index([("entity", ASCENDING), ("period", ASCENDING)])

    async def save(self, cards: Sequence[Scorecard]) -> None:
        if not cards:
            return
        with store_errors(f"cannot save {len(cards)} scorecards"):
            await self._save(cards)

    async def _save(self, cards: Sequence[Scorecard]) -> None:
        await self._cards.bulk_write(
            [
                ReplaceOne(
                    {"_id": card.scorecard_id},
                    {
                        "entity": card.entity,
                        "period": card.period,
                        "profile": card.profile,
                        "revision": card.revision,
                        "status": card.status.value,
                        "card": card.model_dump_json(),
                    },
                    upsert=True,
                )
                for card in cards
            ],
            ordered=False,
        )

    async def latest_of_period(self, period: str) -> dict[str, Scorecard]:
        newest: dict[str, Scorecard] = {}
        cursor = self._cards.find({"period": period}, {"card": 1, "entity": 1, "revision": 1})
        with store_errors(f"cannot read the scorecards of {period}"):
            async for doc in cursor.sort([("revision", ASCENDING)]):
                newest[doc["entity"]] = Scorecard.model_validate_json(doc["card"])
        return newest

    async def latest(self, entity: str, periods: Iterable[str]) -> dict[str, Scorecard]:
        newest: dict[str, Scorecard] = {}
        cursor = self._cards.find({"entity": entity, "period": {"$in": list(periods)}})
        with store_errors(f"cannot read the scorecards of {entity}"):
            async for doc in cursor.sort([("revision", ASCENDING)]):
                newest[doc["period"]] = Scorecard.model_validate_json(doc["card"])
        return newest

    async def periods(self) -> set[str]:
        with store_errors("cannot list the periods with scorecards"):
            found = await self._cards.distinct("period")
        return {str(period) for period in found}

    async def horizon(self) -> str | None:
        with store_errors("cannot read reporting's horizon"):
            doc = await self._state.find_one({"_id": "horizon"})
        return None if doc is None else str(doc["month"])

    async def set_horizon(self, month: str) -> None:
        with store_errors(f"cannot set reporting's horizon to {month}"):
            await self._state.replace_one({"_id": "horizon"}, {"month": month}, upsert=True)

    async def final_periods(self) -> set[str]:
        with store_errors("cannot read the final periods"):
            doc = await self._state.find_one({"_id": "final"})
        return set() if doc is None else set(doc["periods"])

    async def mark_final(self, period: str) -> None:
        with store_errors(f"cannot mark {period} final"):
            await self._state.update_one(
                {"_id": "final"}, {"$addToSet": {"periods": period}}, upsert=True
            )

    async def generation(self) -> str | None:
        with store_errors("cannot read the generation reporting built from"):
            doc = await self._state.find_one({"_id": "generation"})
        return None if doc is None else str(doc["generation"])

    async def set_generation(self, generation: str) -> None:
        with store_errors(f"cannot record generation {generation} in reporting's state"):
            await self._state.replace_one(
                {"_id": "generation"}, {"generation": generation}, upsert=True
            )
