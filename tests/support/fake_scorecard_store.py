"""A hand-written in-memory `ScorecardStore` with `MongoScorecardStore`'s semantics, for unit
tests.

- `save` keeps every revision once by its `scorecard_id`; saving a card twice changes nothing.
- `latest_of_period` and `latest` answer the highest revision of each entity, or of each period
  asked for; `periods` names every period with a scorecard.
- The close state: the horizon (the last one set), the final periods (each once) and the
  scoring generation built from (the last one set).

`tests/support/scorecard_store_contract.py` holds it to the same cases as
`MongoScorecardStore`.
"""

from collections.abc import Iterable, Sequence

from shared.messages.scorecard import Scorecard


class MemoryScorecardStore:
    """`ScorecardStore` in memory: cards by id, the horizon and the final periods."""

    def __init__(self) -> None:
        self.cards: dict[str, Scorecard] = {}
        self.horizon_month: str | None = None
        self.final: set[str] = set()
        self.built_from: str | None = None

    async def ensure_schema(self) -> None:
        return None

    async def save(self, cards: Sequence[Scorecard]) -> None:
        self.cards |= {c.scorecard_id: c for c in cards}

    @staticmethod
    def _newest(cards: Iterable[Scorecard], key: str) -> dict[str, Scorecard]:
        newest: dict[str, Scorecard] = {}
        for card in sorted(cards, key=lambda c: c.revision):
            newest[getattr(card, key)] = card
        return newest

    async def latest_of_period(self, period: str) -> dict[str, Scorecard]:
        return self._newest((c for c in self.cards.values() if c.period == period), "entity")

    async def latest(self, entity: str, periods: Iterable[str]) -> dict[str, Scorecard]:
        wanted = set(periods)
        return self._newest(
            (c for c in self.cards.values() if c.entity == entity and c.period in wanted), "period"
        )

    async def periods(self) -> set[str]:
        return {c.period for c in self.cards.values()}

    async def horizon(self) -> str | None:
        return self.horizon_month

    async def set_horizon(self, month: str) -> None:
        self.horizon_month = month

    async def final_periods(self) -> set[str]:
        return set(self.final)

    async def mark_final(self, period: str) -> None:
        self.final.add(period)

    async def generation(self) -> str | None:
        return self.built_from

    async def set_generation(self, generation: str) -> None:
        self.built_from = generation
