"""Score revisions for a change of definitions, when live scoring follows a generation switch.

At the switch the live instance holds both answers: the previous generation's state with the
score builder of the definitions it ran with, and the new generation's state with the builder
of the files now. For every (entity, period) the new generation has counters for, both compute
every KPI; each score whose figures (value, numerator, denominator, target, attainment)
differ, or that did not exist before (a new KPI), is published again with the reason
`definition_change` and both versions. Work goes in chunks, so memory stays bounded however
long the history. One instance does it (the owner of partition 0 of `kpi.events.v1`), so a
group of several does not publish each revision several times. A recomputation `--from PERIOD`
republishes only the periods `shared.kpi.republication` says (the caller's `periods`). The
pairs go in sorted order, and the caller records the last of each chunk sent (`on_chunk`), so
that a run stopped by a crash goes on after it (`after_pair`; following.py).
"""

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from shared import topics
from shared.kafka_output import Outbound, OutputPort
from shared.messages.definitions import DefinitionsFields, RevisionReason
from shared.messages.score import Score, ScoreFields, encode_score

logger = logging.getLogger(__name__)
CHUNK = 2_000  # (entity, period) pairs computed and compared at a time
FIGURES = ("value", "numerator", "denominator", "target", "attainment")


class ScoreSource(Protocol):
    """What is compared: a score builder on one generation's state."""

    @property
    def definitions(self) -> DefinitionsFields | None: ...

    def changed_buckets(
        self, touched: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], set[str]]: ...

    async def fields(
        self, changed: Mapping[tuple[str, str], set[str]], stream_time: datetime | None
    ) -> list[ScoreFields]: ...


def _key(fields: ScoreFields) -> tuple[str, str, str]:
    return (fields["entity"], fields["period"], fields["kpi"])


def _figures(fields: ScoreFields) -> tuple[object, ...]:
    return tuple(fields[name] for name in FIGURES)  # type: ignore[literal-required]


def revisions(
    before: Sequence[ScoreFields],
    after: Sequence[ScoreFields],
    previous: DefinitionsFields | None,
) -> list[ScoreFields]:
    """The scores of `after` whose figures differ from `before`'s (or that `before` lacks),
    marked as republished for a change of definitions."""
    old = {_key(fields): _figures(fields) for fields in before}
    changed: list[ScoreFields] = []
    for fields in after:
        if old.get(_key(fields)) == _figures(fields):
            continue
        new_hash = fields["definitions"]["hash"] if fields["definitions"] else None
        revised = ScoreFields(
            **{
                **fields,
                "score_id": Score.make_id(
                    fields["entity"],
                    fields["period"],
                    fields["kpi"],
                    numerator=fields["numerator"],
                    denominator=fields["denominator"],
                    revision=fields["revision"],
                    definitions_change=new_hash or "unknown",
                ),
                "revision_reason": RevisionReason.DEFINITION_CHANGE.value,
                "previous_definitions": previous,
            }
        )
        changed.append(revised)
    return changed


async def republish(
    before: ScoreSource,
    after: ScoreSource,
    keys: Iterable[tuple[str, str]],
    *,
    stream_times: tuple[datetime | None, datetime | None],
    output: OutputPort,
    periods: Callable[[str], bool] | None = None,
    chunk: int = CHUNK,
    after_pair: tuple[str, str] | None = None,
    on_chunk: Callable[[tuple[str, str]], Awaitable[None]] | None = None,
) -> int:
    """Publish the new generation's changed scores (`keys`: its (entity, bucket) pairs) of
    the periods `periods` accepts (None: every period); returns how many. The (entity,
    period) pairs go in their sorted order, from the one after `after_pair` (a run that
    stopped part-way), and `on_chunk` is told the last pair of each chunk once it is sent."""
    changed = after.changed_buckets(keys)
    pairs = sorted(
        pair
        for pair in changed
        if (periods is None or periods(pair[1])) and (after_pair is None or pair > after_pair)
    )
    sent = 0
    for start in range(0, len(pairs), chunk):
        last = pairs[start : start + chunk]
        part = {pair: changed[pair] for pair in last}
        old = await before.fields(part, stream_times[0])
        # A builder adds later periods a prefix sum reaches; those are another chunk's.
        computed = await after.fields(part, stream_times[1])
        new = [f for f in computed if (f["entity"], f["period"]) in part]
        found = revisions(old, new, before.definitions)
        await output.send_all(
            [Outbound(topics.SCORES, f["entity"].encode(), encode_score(f)) for f in found]
        )
        sent += len(found)
        if on_chunk is not None:
            await on_chunk(last[-1])
    logger.info("definitions changed: %d scores republished as revisions", sent)
    return sent
