"""State generations: naming, and the decisions of the control document (generations.py)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.scoring import mongo_store
from services.scoring.generations import (
    FIRST,
    GenerationError,
    GenerationInfo,
    Generations,
    abandon,
    collections_of,
    drop_previous,
    from_document,
    is_generation_id,
    new_generation_id,
    republish_from,
    rollback,
    start_build,
    switch,
    to_document,
)

NOW = datetime(2025, 4, 1, 9, 15, 0, tzinfo=UTC)
HASH = "0123456789abcdef"
OTHER = "fedcba9876543210"


def test_the_first_generation_keeps_the_names_written_before_generations() -> None:
    assert collections_of(FIRST).all() == (
        mongo_store.COUNTERS,
        mongo_store.RECORDS,
        mongo_store.POSITIONS,
        mongo_store.GROUPS,
    )


def test_a_later_generation_has_collections_of_its_own() -> None:
    assert collections_of("g20250401T091500").all() == (
        "scoring_counters__g20250401T091500",
        "scoring_records__g20250401T091500",
        "scoring_positions__g20250401T091500",
        "scoring_groups__g20250401T091500",
    )


def test_a_generation_is_named_by_the_utc_second_it_was_begun() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert new_generation_id(NOW.astimezone(tokyo)) == "g20250401T091500"
    assert is_generation_id(new_generation_id(NOW))
    with pytest.raises(ValueError, match="aware"):
        new_generation_id(datetime(2025, 4, 1))


@pytest.mark.parametrize("text", ["", "g1", "scoring", "g2025-04-01", "g20250401T0915", "../x"])
def test_anything_else_is_no_generation(text: str) -> None:
    assert not is_generation_id(text)
    with pytest.raises(GenerationError):
        collections_of(text)


def test_a_build_begins_beside_the_active_generation_and_resumes_later() -> None:
    state, generation, resumed = start_build(
        Generations(), now=NOW, definitions_hash=HASH, label="FY2025"
    )
    assert (generation, resumed) == ("g20250401T091500", False)
    assert (state.active, state.previous, state.building) == (FIRST, None, generation)
    assert state.info(generation) == GenerationInfo(HASH, "FY2025", NOW)
    later = NOW + timedelta(hours=1)
    again, same, resumed = start_build(state, now=later, definitions_hash=HASH, label=None)
    assert (again, same, resumed) == (state, generation, True)


def test_a_build_is_not_resumed_with_other_definitions() -> None:
    state, _, _ = start_build(Generations(), now=NOW, definitions_hash=HASH, label=None)
    with pytest.raises(GenerationError, match="--abandon"):
        start_build(state, now=NOW, definitions_hash=OTHER, label=None)


def test_a_new_build_waits_for_the_previous_generation_to_be_dropped() -> None:
    state = Generations(active="g20250401T091500", previous=FIRST)
    with pytest.raises(GenerationError, match="--drop-previous"):
        start_build(state, now=NOW + timedelta(days=1), definitions_hash=HASH, label=None)


def test_a_switch_makes_the_built_generation_active_and_keeps_the_old_one() -> None:
    state, generation, _ = start_build(Generations(), now=NOW, definitions_hash=HASH, label=None)
    at = NOW + timedelta(minutes=7)
    switched = switch(state, now=at)
    assert (switched.active, switched.previous, switched.building) == (generation, FIRST, None)
    assert switched.info(generation).switched_at == at
    with pytest.raises(GenerationError, match="nothing to switch"):
        switch(switched, now=at)


def test_a_rollback_swaps_active_and_previous_and_can_be_undone() -> None:
    state, generation, _ = start_build(Generations(), now=NOW, definitions_hash=HASH, label=None)
    switched = switch(state, now=NOW)
    back = rollback(switched, now=NOW)
    assert (back.active, back.previous) == (FIRST, generation)
    forth = rollback(back, now=NOW)
    assert (forth.active, forth.previous) == (generation, FIRST)
    with pytest.raises(GenerationError, match="no previous"):
        rollback(Generations(), now=NOW)


def test_no_rollback_while_a_generation_is_being_built() -> None:
    state = Generations(active="g20250401T091500", previous=FIRST, building="g20250402T000000")
    with pytest.raises(GenerationError, match="--abandon"):
        rollback(state, now=NOW)


def test_dropping_the_previous_generation_forgets_it() -> None:
    state, generation, _ = start_build(Generations(), now=NOW, definitions_hash=HASH, label=None)
    switched = switch(state, now=NOW)
    kept, dropped = drop_previous(switched)
    assert dropped == FIRST
    assert (kept.active, kept.previous, set(kept.known)) == (generation, None, {generation})
    with pytest.raises(GenerationError, match="no previous"):
        drop_previous(kept)


def test_abandoning_a_build_forgets_it_and_leaves_the_active_one() -> None:
    state, generation, _ = start_build(Generations(), now=NOW, definitions_hash=HASH, label=None)
    left, dropped = abandon(state)
    assert (dropped, left.active, left.building, left.known) == (generation, FIRST, None, {})
    with pytest.raises(GenerationError, match="no generation is being built"):
        abandon(left)


def test_the_control_document_round_trips() -> None:
    state, _, _ = start_build(
        Generations(), now=NOW, definitions_hash=HASH, label="FY2025", republish_from="2024-10"
    )
    switched = switch(state, now=NOW + timedelta(minutes=3))
    assert from_document({"_id": "scoring", **to_document(switched)}) == switched
    assert from_document(None) == Generations()
    # What scoring records on start, before any recomputation: g0 and its definitions.
    noted = from_document({"active": FIRST, "known": {FIRST: {"definitions_hash": HASH}}})
    assert noted.info(FIRST).definitions_hash == HASH
    assert (noted.previous, noted.building) == (None, None)


def test_a_build_keeps_its_from_period_when_resumed_and_refuses_another() -> None:
    state, generation, _ = start_build(
        Generations(), now=NOW, definitions_hash=HASH, label=None, republish_from="2024-10"
    )
    assert state.info(generation).republish_from == "2024-10"
    # Run again without --from: the build goes on with the period it was begun with.
    again, same, resumed = start_build(state, now=NOW, definitions_hash=HASH, label=None)
    assert (again, same, resumed) == (state, generation, True)
    kept, _, _ = start_build(
        state, now=NOW, definitions_hash=HASH, label=None, republish_from="2024-10"
    )
    assert kept == state
    with pytest.raises(GenerationError, match="republish from 2024-10, not from FY2024"):
        start_build(state, now=NOW, definitions_hash=HASH, label=None, republish_from="FY2024")
    # Begun without --from (every period), it is not resumed with one either.
    whole, _, _ = start_build(Generations(), now=NOW, definitions_hash=HASH, label=None)
    with pytest.raises(GenerationError, match="republish every period, not from 2024-10"):
        start_build(whole, now=NOW, definitions_hash=HASH, label=None, republish_from="2024-10")


def test_a_move_either_way_republishes_from_the_newer_generations_period() -> None:
    state, generation, _ = start_build(
        Generations(), now=NOW, definitions_hash=HASH, label=None, republish_from="2024-10"
    )
    switched = switch(state, now=NOW)
    # The switch to it, and its rollback (the same change undone), from its --from period.
    assert republish_from(switched, FIRST, generation) == "2024-10"
    back = rollback(switched, now=NOW)
    assert republish_from(back, generation, FIRST) == "2024-10"
    # The next recomputation, without --from, republishes every period.
    kept, _ = drop_previous(back)
    later, newer, _ = start_build(
        kept, now=NOW + timedelta(days=1), definitions_hash=OTHER, label=None
    )
    assert republish_from(switch(later, now=NOW), FIRST, newer) is None
    # A generation forgotten (dropped) republishes every period.
    assert republish_from(Generations(), FIRST, "g20250401T091500") is None
