"""A record keeps only the facts its contribution reads (`kept_facts`): merged in any order and
any batches, it ends as the whole set's kept facts, and counts what the whole set counts."""

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain.contributions import kept_facts, merge_facts, record_contribution
from services.scoring.domain.model import Fact
from shared.config import CalendarConfig
from shared.kpi.fiscal_calendar import FiscalCalendar

CALENDAR = FiscalCalendar(CalendarConfig())
ENTITIES = ["company:ACME", "region:R1", "branch:B01", "team:T01", "agent:A1"]


def _fact(kind: str, number: int, tag: str, seconds: int) -> Fact:
    month = ("2024-05", "2024-06", "2024-07")[seconds % 3]
    if kind == "customer":
        return {"k": f"e{number:03d}", "e": ENTITIES, "m": month}
    return {"k": f"e{number:03d}", "e": ENTITIES, "t": tag, "ts": seconds, "m": "2024-06"}


TAGS = {"renewal": ("c", "r"), "case": ("o", "s"), "customer": ("-",)}


@st.composite
def _record(draw: st.DrawFn) -> tuple[str, list[Fact]]:
    kind = draw(st.sampled_from(sorted(TAGS)))
    drawn = draw(
        st.lists(
            st.tuples(st.sampled_from(TAGS[kind]), st.integers(0, 50)), min_size=1, max_size=12
        )
    )
    return kind, [_fact(kind, n, tag, seconds) for n, (tag, seconds) in enumerate(drawn)]


@settings(max_examples=200, deadline=None)
@given(record=_record(), data=st.data())
def test_merging_in_any_order_and_batches_keeps_what_the_whole_set_keeps(
    record: tuple[str, list[Fact]], data: st.DataObject
) -> None:
    kind, facts = record
    order = data.draw(st.permutations(facts))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(order) - 1)), max_size=4)))
    stored: list[Fact] = []
    for start, end in zip([0, *cuts], [*cuts, len(order)], strict=True):
        stored = merge_facts(kind, stored, order[start:end])
    whole = kept_facts(kind, merge_facts("policy", [], facts))  # every fact, then kept
    assert stored == whole
    assert record_contribution(kind, stored, CALENDAR) == record_contribution(
        kind, merge_facts("policy", [], facts), CALENDAR
    )


def test_a_renewal_keeps_its_earliest_contact_and_earliest_outcome() -> None:
    facts = [
        _fact("renewal", 1, "c", 30),
        _fact("renewal", 2, "c", 10),
        _fact("renewal", 3, "r", 40),
        _fact("renewal", 4, "c", 10),
        _fact("renewal", 5, "r", 35),
    ]
    assert [f["k"] for f in merge_facts("renewal", [], facts)] == ["e002", "e005"]


def test_a_policy_keeps_every_fact() -> None:
    facts = [{"k": f"e{n}", "t": "end", "d": "2024-05-01"} for n in range(3)]
    assert merge_facts("policy", [], facts) == facts
