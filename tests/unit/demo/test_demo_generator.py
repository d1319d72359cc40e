"""The demo company's event stream: deterministic, ordered, valid, complete and plausible."""

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import mean
from zoneinfo import ZoneInfo

import pytest

from services.demo import DEMO_QUIET_BRANCHES, generate_events, write_jsonl
from shared.config import OrgChart, load_org
from shared.events import decode_upstream

TOKYO = ZoneInfo("Asia/Tokyo")
CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"
START = datetime(2024, 4, 1, tzinfo=TOKYO)
END = datetime(2024, 5, 1, tzinfo=TOKYO)

Event = dict[str, object]


def at(value: object) -> datetime:
    assert isinstance(value, str)
    return datetime.fromisoformat(value)


@pytest.fixture(scope="module")
def org() -> OrgChart:
    return load_org(CONFIG_DIR / "org.yaml")


@pytest.fixture(scope="module")
def month(org: OrgChart) -> list[Event]:
    """April 2024 at 1,500 events a day: about 50,000 events."""
    return list(generate_events(org, start=START, end=END, seed=42, events_per_day=1500))


@pytest.fixture(scope="module")
def long_run(org: OrgChart) -> list[Event]:
    """Fourteen months of policy events at a small scale, for 13-month persistency."""
    events = generate_events(
        org,
        start=datetime(2023, 4, 1, tzinfo=TOKYO),
        end=datetime(2024, 6, 1, tzinfo=TOKYO),
        seed=11,
        events_per_day=300,
    )
    return [e for e in events if e["event_type"] == "policy"]


def test_the_same_seed_gives_the_same_stream(org: OrgChart) -> None:
    def run(seed: int) -> list[Event]:
        end = START + timedelta(days=3)
        return list(generate_events(org, start=START, end=end, seed=seed, events_per_day=800))

    first, again, other = run(7), run(7), run(8)
    assert first
    assert first == again
    assert first != other


def test_events_are_in_time_order_inside_the_window_with_tokyo_offsets(
    month: list[Event],
) -> None:
    assert len(month) >= 40_000
    times = [at(e["occurred_at"]) for e in month]
    assert all(a <= b for a, b in itertools.pairwise(times))
    assert times[0] >= START
    assert times[-1] < END
    assert all(str(e["occurred_at"]).endswith("+09:00") for e in month)


def test_every_document_passes_the_v1_contract(month: list[Event]) -> None:
    by_type: dict[object, list[Event]] = defaultdict(list)
    for event in month:
        by_type[event["event_type"]].append(event)
    sample = [e for events in by_type.values() for e in events[:: max(1, len(events) // 800)]]
    assert len(sample) >= 3000
    for event in sample:
        decoded = decode_upstream(json.dumps(event).encode())
        assert decoded.event_id == event["event_id"]
        assert decoded.schema_version == 1


def test_documents_are_json_ready_with_money_as_strings(month: list[Event]) -> None:
    for event in month[::50]:
        json.dumps(event)
        if "premium" in event:
            assert isinstance(event["premium"], str)
            assert event["currency"] == "JPY"


def test_event_ids_are_unique(month: list[Event]) -> None:
    ids = Counter(e["event_id"] for e in month)
    assert ids.most_common(1)[0][1] == 1


def test_all_event_types_and_actions_appear(month: list[Event]) -> None:
    seen = Counter((e["event_type"], e.get("action")) for e in month)
    types = {event_type for event_type, _ in seen}
    assert types == {"policy", "renewal", "complaint", "survey", "assessment", "training"}
    for action in ("issued", "renewed", "lapsed", "surrendered", "reinstated", "cancelled"):
        assert seen["policy", action] > 0, action
    for action in ("due", "contacted", "renewed", "lost"):
        assert seen["renewal", action] > 0, action
    kinds = Counter(e["kind"] for e in month if e["event_type"] == "complaint")
    assert set(kinds) == {"complaint", "compliment", "request"}
    assert kinds["compliment"] > kinds["complaint"]
    sources = {e["source"] for e in month}
    assert sources == {
        "policy-admin",
        "renewal-desk",
        "complaint-desk",
        "survey-tool",
        "hr-assessment",
        "training-portal",
    }


def test_the_quiet_branch_sends_nothing(org: OrgChart, month: list[Event]) -> None:
    assert frozenset({"B12"}) == DEMO_QUIET_BRANCHES
    quiet_agents = [p for p in org.agents_on(START.date()) if p.branch == "B12"]
    assert quiet_agents, "the quiet branch is staffed"
    for event in month:
        assert event.get("branch_id") != "B12"
        agent = event.get("agent_id")
        if isinstance(agent, str):
            path = org.resolve(agent, at(event["occurred_at"]).date())
            assert path is not None
            assert path.branch != "B12"


def test_rates_follow_the_seeds(month: list[Event]) -> None:
    outcomes = Counter(
        e["action"] for e in month if e["event_type"] == "renewal" and e["action"] != "due"
    )
    renewal_rate = outcomes["renewed"] / (outcomes["renewed"] + outcomes["lost"])
    assert 0.8 <= renewal_rate <= 0.95

    new = [
        e
        for e in month
        if e["event_type"] == "policy" and e["action"] == "issued"
        if e["new_business"]
    ]
    assert 0.12 <= sum(bool(e["referral"]) for e in new) / len(new) <= 0.30

    written = [
        e for e in month if e["event_type"] == "policy" and e["action"] in {"issued", "renewed"}
    ]
    direct = sum(e["channel"] in {"face_to_face", "online"} for e in written) / len(written)
    assert 0.5 <= direct <= 0.75

    surveys = [e for e in month if e["event_type"] == "survey"]
    assert {e["scale"] for e in surveys} == {5, 10, 100}

    def top_box(e: Event) -> bool:
        score, scale = e["score"], e["scale"]
        assert isinstance(score, int)
        assert isinstance(scale, int)
        return {10: score >= 9, 5: score == 5, 100: score >= 90}[scale]

    assert 0.55 <= sum(map(top_box, surveys)) / len(surveys) <= 0.8


def test_thirteen_month_persistency_is_about_ninety_percent(long_run: list[Event]) -> None:
    cohort = {
        e["policy_id"]
        for e in long_run
        if e["action"] == "issued" and str(e["occurred_at"]) < "2023-06-01"
    }
    terminated = {
        e["policy_id"] for e in long_run if e["action"] in {"lapsed", "surrendered", "cancelled"}
    }
    reinstated = {e["policy_id"] for e in long_run if e["action"] == "reinstated"}
    lost = cohort & (terminated - reinstated)
    assert len(cohort) > 300
    assert 0.85 <= 1 - len(lost) / len(cohort) <= 0.95


def test_terminations_carry_an_issue_date_within_thirteen_months(long_run: list[Event]) -> None:
    ends = [e for e in long_run if e["action"] in {"lapsed", "surrendered", "cancelled"}]
    assert ends
    for event in ends:
        issued = date.fromisoformat(str(event["issued_at"]))
        days = (at(event["occurred_at"]).date() - issued).days
        assert 1 <= days <= 396


def test_every_renewal_outcome_follows_its_due_notice(month: list[Event]) -> None:
    due: dict[object, datetime] = {}
    for event in month:
        if event["event_type"] != "renewal":
            continue
        when = at(event["occurred_at"])
        if event["action"] == "due":
            due[event["renewal_id"]] = when
        else:
            assert event["renewal_id"] in due
            assert due[event["renewal_id"]] <= when


def test_complaints_are_resolved_a_few_days_later(month: list[Event]) -> None:
    opened: dict[object, datetime] = {}
    days: list[float] = []
    for event in month:
        if event["event_type"] != "complaint" or event["kind"] != "complaint":
            continue
        if event["action"] == "opened":
            opened[event["case_id"]] = at(event["occurred_at"])
        elif event["action"] == "resolved" and event["case_id"] in opened:
            spent = at(event["occurred_at"]) - opened[event["case_id"]]
            days.append(spent.total_seconds() / 86_400)
    assert days
    assert 2 <= mean(days) <= 8


def test_agents_differ_so_scorecards_differ(month: list[Event]) -> None:
    scores = [
        int(str(e["score"])) for e in month if e["event_type"] == "assessment" and "agent_id" in e
    ]
    assert len(scores) > 800
    assert max(scores) - min(scores) >= 25
    branch_scores = [e for e in month if e["event_type"] == "assessment" and "branch_id" in e]
    assert {e["period"] for e in branch_scores} == {"2024-03"}
    assert len(branch_scores) == 11  # every branch but the quiet one


def test_windows_split_at_midnight_concatenate_to_the_whole(org: OrgChart) -> None:
    middle = START + timedelta(days=5)
    end = START + timedelta(days=9)
    whole = list(generate_events(org, start=START, end=end, seed=5, events_per_day=400))
    parts = list(generate_events(org, start=START, end=middle, seed=5, events_per_day=400))
    parts += generate_events(org, start=middle, end=end, seed=5, events_per_day=400)
    first_seen: dict[object, Event] = {}
    for event in parts:
        first_seen.setdefault(event["event_id"], event)
    # Only the restated `due` notices of renewals in progress at `middle` repeat an event_id.
    repeated = [event_id for event_id, n in Counter(e["event_id"] for e in parts).items() if n > 1]
    assert repeated
    assert all(str(event_id).endswith(":due") for event_id in repeated)
    # Events at the same second may come in another order; otherwise the streams are equal.
    assert sorted(first_seen.values(), key=_identity) == sorted(whole, key=_identity)


def _identity(event: Event) -> tuple[str, str]:
    return str(event["occurred_at"]), str(event["event_id"])


def test_events_per_day_sets_the_volume(org: OrgChart) -> None:
    events = list(
        generate_events(
            org, start=START, end=START + timedelta(days=28), seed=3, events_per_day=600
        )
    )
    after_first_day = [e for e in events if at(e["occurred_at"]) >= START + timedelta(days=1)]
    assert 450 <= len(after_first_day) / 27 <= 800


def test_the_stream_is_lazy(org: OrgChart) -> None:
    stream = generate_events(org, start=START, end=END, seed=1)
    assert isinstance(stream, Iterator)
    assert not isinstance(stream, list | tuple)


def test_bad_arguments_are_refused(org: OrgChart) -> None:
    with pytest.raises(ValueError, match="aware"):
        generate_events(org, start=datetime(2024, 4, 1), end=END, seed=1)
    with pytest.raises(ValueError, match="aware"):
        generate_events(org, start=START, end=datetime(2024, 5, 1), seed=1)
    with pytest.raises(ValueError, match="events_per_day"):
        generate_events(org, start=START, end=END, seed=1, events_per_day=-1)
    assert list(generate_events(org, start=END, end=START, seed=1)) == []


def test_write_jsonl_writes_one_valid_event_a_line(org: OrgChart, tmp_path: Path) -> None:
    events = list(
        generate_events(org, start=START, end=START + timedelta(days=2), seed=9, events_per_day=300)
    )
    path = tmp_path / "demo.jsonl"
    assert write_jsonl(iter(events), path) == len(events)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == events
    for line in lines[:: max(1, len(lines) // 200)]:
        decode_upstream(line.encode())
