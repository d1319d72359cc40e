"""State generations: scoring's state collections side by side, one of them active.

A generation is a complete scoring state (counters, records, positions, group clock) in
collections of its own, named by the generation's id. The first generation, `g0`, is the state
written before generations existed: it keeps the plain names (`scoring_counters`, ...), so a
database upgraded to this code needs no migration. A recomputation (`kpi recompute`) builds a
new one (`g20250401T091500`: `scoring_counters__g20250401T091500`, ...) beside the active one
and switches to it once it has caught up.

One control document (`scoring_generations`, `_id: "scoring"`) names the active generation,
the previous one (the target of a rollback, until it is dropped) and the one being built. A
switch, a rollback and a drop are each one conditional update of that document, so every
reader sees either the old generation or the new one, never a mixture. Everything here is
pure: the decisions (`start_build`, `switch`, `rollback`, `drop_previous`, `abandon`) take the
control state and return the next one, or raise `GenerationError` saying why not.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

from shared.errors import KpiError

FIRST: Final = "g0"  # the state written before generations existed: the plain names
CONTROL: Final = "scoring_generations"
CONTROL_ID: Final = "scoring"
COUNTERS: Final = "scoring_counters"
RECORDS: Final = "scoring_records"
POSITIONS: Final = "scoring_positions"
GROUPS: Final = "scoring_groups"
_ID = re.compile(r"^g(0|\d{8}T\d{6})$")


class GenerationError(KpiError):
    """A generation operation that the control state does not allow (the message says what
    to do instead)."""


@dataclass(frozen=True, slots=True)
class StateCollections:
    """The names of one generation's four state collections."""

    counters: str
    records: str
    positions: str
    groups: str

    def all(self) -> tuple[str, str, str, str]:
        return (self.counters, self.records, self.positions, self.groups)


def is_generation_id(text: str) -> bool:
    """`g0`, or `g` and a UTC time to the second (`g20250401T091500`)."""
    return _ID.match(text) is not None


def collections_of(generation: str) -> StateCollections:
    """The collections of a generation: the plain names for `g0`, a `__{id}` suffix after."""
    if not is_generation_id(generation):
        raise GenerationError(f"{generation!r} is not a generation id (g0, g20250401T091500)")
    suffix = "" if generation == FIRST else f"__{generation}"
    return StateCollections(
        COUNTERS + suffix, RECORDS + suffix, POSITIONS + suffix, GROUPS + suffix
    )


def new_generation_id(now: datetime) -> str:
    """The id of a generation begun at `now` (aware; named in UTC to the second)."""
    if now.tzinfo is None:
        raise ValueError("a generation is named by an aware time")
    return "g" + now.astimezone(UTC).strftime("%Y%m%dT%H%M%S")


@dataclass(frozen=True, slots=True)
class GenerationInfo:
    """What is known of one generation: the definitions it was built with (hash, label; None
    for `g0`, built before anyone recorded them), when it was begun and last switched to, and
    the first period a switch to it republishes (`kpi recompute --from`; None: every one)."""

    definitions_hash: str | None = None
    label: str | None = None
    created_at: datetime | None = None
    switched_at: datetime | None = None
    republish_from: str | None = None


@dataclass(frozen=True, slots=True)
class Generations:
    """The control document: the active generation, the previous (rollback target) and the
    one being built, and what is known of each."""

    active: str = FIRST
    previous: str | None = None
    building: str | None = None
    known: dict[str, GenerationInfo] = field(default_factory=dict)

    def info(self, generation: str) -> GenerationInfo:
        return self.known.get(generation, GenerationInfo())


def start_build(
    state: Generations,
    *,
    now: datetime,
    definitions_hash: str,
    label: str | None,
    republish_from: str | None = None,
) -> tuple[Generations, str, bool]:
    """Begin a recomputation, or resume the one under way: the next state, the generation to
    build and whether it resumes one. A resumed build must be of the same definitions (its
    stored counters were computed with them) and keeps its `--from` period (`republish_from`
    None: the stored one; another one is refused); and a new one needs the previous
    generation dropped first, since a switch makes the active one the previous (the rollback
    target)."""
    if state.building is not None:
        building = state.info(state.building)
        if building.definitions_hash not in (None, definitions_hash):
            raise GenerationError(
                f"generation {state.building} is being built with definitions "
                f"{building.definitions_hash}, and the files now hash to {definitions_hash}; "
                "put the files back, or abandon it with `kpi recompute --abandon`"
            )
        if republish_from is not None and republish_from != building.republish_from:
            raise GenerationError(
                f"generation {state.building} is being built to republish "
                f"{_from_text(building.republish_from)}, not from {republish_from}; run it "
                "again without --from (or with the same one), or abandon it with "
                "`kpi recompute --abandon`"
            )
        return state, state.building, True
    if state.previous is not None:
        raise GenerationError(
            f"generation {state.previous} is still kept for a rollback; drop it first with "
            "`kpi recompute --drop-previous` (or roll back to it with `--rollback`)"
        )
    generation = new_generation_id(now)
    if generation == state.active or generation in state.known:
        raise GenerationError(f"generation {generation} exists; try again in a second")
    info = GenerationInfo(
        definitions_hash=definitions_hash,
        label=label,
        created_at=now,
        republish_from=republish_from,
    )
    return (
        replace(state, building=generation, known={**state.known, generation: info}),
        generation,
        False,
    )


def _from_text(period: str | None) -> str:
    return "every period" if period is None else f"from {period}"


def _age(generation: str) -> str:
    """A key that orders generations by when they were begun (`g0` first)."""
    return "" if generation == FIRST else generation


def republish_from(state: Generations, one: str, other: str) -> str | None:
    """The first period republished for a move between two generations (a switch or a
    rollback, either way): the `--from` of the newer one, since the move is the switch to it
    or the undoing of that switch. None: every period (and when the newer one is forgotten)."""
    return state.info(max(one, other, key=_age)).republish_from


def switch(state: Generations, *, now: datetime) -> Generations:
    """The built generation becomes the active one; the active one becomes the previous."""
    if state.building is None:
        raise GenerationError("no generation is being built: nothing to switch to")
    built = replace(state.info(state.building), switched_at=now)
    return Generations(
        active=state.building,
        previous=state.active,
        building=None,
        known={**state.known, state.building: built},
    )


def rollback(state: Generations, *, now: datetime) -> Generations:
    """Back to the previous generation; the one rolled back from becomes the previous, so that
    a rollback can itself be undone, or the generation dropped with `--drop-previous`."""
    if state.previous is None:
        raise GenerationError(
            f"there is no previous generation to roll back to (active: {state.active})"
        )
    if state.building is not None:
        raise GenerationError(
            f"generation {state.building} is being built; let it finish or abandon it "
            "(`kpi recompute --abandon`) before rolling back"
        )
    back = replace(state.info(state.previous), switched_at=now)
    return replace(
        state,
        active=state.previous,
        previous=state.active,
        known={**state.known, state.previous: back},
    )


def drop_previous(state: Generations) -> tuple[Generations, str]:
    """Forget the previous generation (its collections are dropped after the update)."""
    if state.previous is None:
        raise GenerationError("there is no previous generation to drop")
    dropped = state.previous
    known = {k: v for k, v in state.known.items() if k != dropped}
    return replace(state, previous=None, known=known), dropped


def abandon(state: Generations) -> tuple[Generations, str]:
    """Forget the generation being built (its collections are dropped after the update)."""
    if state.building is None:
        raise GenerationError("no generation is being built")
    dropped = state.building
    known = {k: v for k, v in state.known.items() if k != dropped}
    return replace(state, building=None, known=known), dropped


# -- the score revisions of a switch -----------------------------------------------------------

REVISIONS_ID: Final = "revisions"


@dataclass(frozen=True, slots=True)
class RevisionProgress:
    """How far the score revisions of the last switch (or rollback) went: from `previous` to
    `to`, every (entity, period) up to `after` in their sorted order sent; `finished` once
    all were. Kept beside the control document (`_id: revisions`), so that the next owner of
    partition 0 goes on after a crash rather than leaving the rest unpublished."""

    to: str
    previous: str
    after: tuple[str, str] | None = None
    finished: bool = False

    def is_of(self, to: str, previous: str) -> bool:
        return (self.to, self.previous) == (to, previous)


def progress_document(progress: RevisionProgress) -> dict[str, object]:
    return {
        "to": progress.to,
        "previous": progress.previous,
        "after": list(progress.after) if progress.after is not None else None,
        "finished": progress.finished,
    }


def progress_from(document: Mapping[str, Any] | None) -> RevisionProgress | None:
    if document is None:
        return None
    after = document.get("after")
    return RevisionProgress(
        to=str(document["to"]),
        previous=str(document["previous"]),
        after=(str(after[0]), str(after[1])) if after else None,
        finished=bool(document.get("finished", False)),
    )


# -- the control document ---------------------------------------------------------------------


def to_document(state: Generations) -> dict[str, Any]:
    """The control document's fields (without `_id`)."""
    return {
        "active": state.active,
        "previous": state.previous,
        "building": state.building,
        "known": {
            generation: {
                "definitions_hash": info.definitions_hash,
                "label": info.label,
                "created_at": info.created_at,
                "switched_at": info.switched_at,
                "republish_from": info.republish_from,
            }
            for generation, info in sorted(state.known.items())
        },
    }


def from_document(document: dict[str, Any] | None) -> Generations:
    """The control state a document holds (none yet: `g0` active, nothing else)."""
    if document is None:
        return Generations()
    return Generations(
        active=document.get("active", FIRST),
        previous=document.get("previous"),
        building=document.get("building"),
        known={
            generation: GenerationInfo(
                definitions_hash=info.get("definitions_hash"),
                label=info.get("label"),
                created_at=info.get("created_at"),
                switched_at=info.get("switched_at"),
                republish_from=info.get("republish_from"),
            )
            for generation, info in (document.get("known") or {}).items()
        },
    )
