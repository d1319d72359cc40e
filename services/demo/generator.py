"""A deterministic, realistic event stream of the demo company (DESIGN §10, `kpi demo`).

`generate_events` yields upstream event documents (the JSON objects upstream systems publish,
DESIGN §3) in non-decreasing `occurred_at` order. The stream is a pure function of the org chart,
the seed and the scale: `start`/`end` select a window of it.

How it is built. Each local day is the *origin* of that day's business: policies issued
(with their survey answer, and, for about one in ten, the lapse, surrender or cancellation
within 13 months and sometimes a reinstatement), renewals falling due 60 days later (notice,
contacts, renewed or lost, the policy-admin `renewed` record, a survey), complaint,
compliment and request cases, and on the 1st of a month the previous month's assessments and
this month's training sessions. Each origin draws from its own random stream, keyed by the
seed and the day, so a day's business is the same whichever window asks for it; events that
fall later wait in a heap, which keeps memory flat (about one entry per renewal in progress).
A window first replays the origins whose events may reach into it, without yielding them.

Windows: consecutive windows split at local midnight concatenate to the longer window, except
that a renewal already in progress when a window starts gets its `due` event restated at the
window's start (same `event_id`, so ingest's de-duplication drops the copy), so that every
renewal outcome in a window has its `due` event in that window. Ids are derived from the origin
day, so two different seeds published into one system would reuse ids.

Business ids: new policies ``PN-YYYYMMDD-nnnnn`` and their customers ``CN-…``; an agent's book
of policies in force ``PB-<agent>-nnnn`` with customers ``CB-<agent>-nnnn`` (renewed each year on
the same date); renewals ``RN-YYYYMMDD-<agent>-nnnn`` (by due date); cases ``CS-YYYYMMDD-nnnn``;
survey responses ``SV-<policy or renewal id>``; assessments ``AS-YYYY-MM-<entity>``; training
sessions ``TR-<branch>-YYYYMM-<course>``. Event ids are ``<business id>:<action>``.
"""

import heapq
import itertools
import json
import math
import os
import random
import zlib
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from shared.config.org import OrgChart

from .profiles import (
    BELOW_TOP_5,
    BELOW_TOP_10,
    BRANCH_COMPLAINT_SHARE,
    CALLBACK_SHARE,
    COMPLAINT_CATEGORIES,
    COMPLAINTS_PER_POLICY_DAY,
    COMPLIMENT_CATEGORIES,
    DEMO_QUIET_BRANCHES,
    DIRECT_CHANNELS,
    ESCALATION_SHARE,
    EXISTING_CUSTOMER_SHARE,
    ISSUE_SURVEY_SHARE,
    LOST_AFTER_DUE_DAYS,
    MONTH_WEIGHTS,
    NOT_NEW_BUSINESS_SHARE,
    OFFICE_HOURS,
    ONLINE_HOURS,
    OTHER_CHANNELS,
    PRODUCT_LINES,
    REINSTATEMENT_SHARE,
    RENEWAL_NOTICE_DAYS,
    RENEWAL_SURVEY_SHARE,
    RENEWED_GRACE_DAYS,
    REQUEST_CATEGORIES,
    REQUESTS_PER_AGENT_YEAR,
    SOURCE_ASSESSMENT,
    SOURCE_COMPLAINT,
    SOURCE_POLICY,
    SOURCE_RENEWAL,
    SOURCE_SURVEY,
    SOURCE_TRAINING,
    SURVEY_CHANNELS,
    SURVEY_SCALES,
    SUSPICIOUS_AGENTS,
    TERMINATION_KINDS,
    WEEKDAY_WEIGHTS,
    AgentProfile,
    ProductLine,
    agent_profile,
    branch_profile,
    intrinsic_skill,
    seeded,
)

Document = dict[str, object]

DEFAULT_TIMEZONE: Final = "Asia/Tokyo"
SCHEMA_VERSION: Final = 1
# How far before a window its origins can still produce events inside it.
ISSUE_LOOKBACK_DAYS: Final = 455  # termination ≤ 390 days after issue, reinstatement ≤ 60 later
ISSUE_DETAIL_LOOKBACK_DAYS: Final = 16  # the issue's survey answer comes ≤ 14 days later
RENEWAL_LOOKBACK_DAYS: Final = 78  # origin = due - 60; lost ≤ due + 14, survey ≤ due + 15
CASE_LOOKBACK_DAYS: Final = 55  # a complaint is resolved ≤ 52 days after opening
MONTHLY_LOOKBACK_DAYS: Final = 40
_RENEWAL_HORIZON: Final = RENEWAL_NOTICE_DAYS[1]
_DAY: Final = 86_400
_RING_PHONES: Final = ("+81-80-9999-0001", "+81-80-9999-0002")


# -- small random helpers ------------------------------------------------------------------------


_TABLE_SIZE: Final = 4096


@dataclass(frozen=True, slots=True)
class _Choice:
    """A weighted choice among values, drawn with one random number from a lookup table.

    The table has 4,096 cells, so weights are honoured to within 1/4,096.
    """

    values: tuple[object, ...]
    cumulative: tuple[float, ...]
    table: tuple[object, ...]

    @classmethod
    def of(cls, pairs: Iterable[tuple[object, float]]) -> "_Choice":
        values, weights = zip(*pairs, strict=True)
        cumulative = tuple(itertools.accumulate(weights))
        total = cumulative[-1]
        table = tuple(
            values[min(bisect_right(cumulative, (i + 0.5) / _TABLE_SIZE * total), len(values) - 1)]
            for i in range(_TABLE_SIZE)
        )
        return cls(tuple(values), cumulative, table)

    def pick(self, u: float) -> object:
        return self.table[int(u * _TABLE_SIZE)]

    def draw(self, rng: random.Random) -> object:
        return self.table[int(rng.random() * _TABLE_SIZE)]


def _below(rng: random.Random, n: int) -> int:
    """A whole number in [0, n), from one random number."""
    return int(rng.random() * n)


def _between(rng: random.Random, low: int, high: int) -> int:
    """A whole number in [low, high], from one random number."""
    return low + int(rng.random() * (high - low + 1))


_PRODUCTS: Final = _Choice.of((line, line.weight) for line in PRODUCT_LINES)
_DIRECT: Final = _Choice.of(DIRECT_CHANNELS)
_OTHER: Final = _Choice.of(OTHER_CHANNELS)
_SURVEY_CHANNEL: Final = _Choice.of(SURVEY_CHANNELS)
_SCALE: Final = _Choice.of(SURVEY_SCALES)
_BELOW_10: Final = _Choice.of(BELOW_TOP_10)
_BELOW_5: Final = _Choice.of(BELOW_TOP_5)
_COMPLAINT: Final = _Choice.of(COMPLAINT_CATEGORIES)
_COMPLIMENT: Final = _Choice.of(COMPLIMENT_CATEGORIES)
_REQUEST: Final = _Choice.of(REQUEST_CATEGORIES)
_TERMINATION: Final = _Choice.of(TERMINATION_KINDS)
_OFFICE: Final = _Choice.of(OFFICE_HOURS)
_ONLINE: Final = _Choice.of(ONLINE_HOURS)
_WEEKLY_MEAN: Final = sum(WEEKDAY_WEIGHTS) / 7


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _premium(rng: random.Random, line: ProductLine) -> int:
    amount = line.median_premium * math.exp(line.spread * rng.gauss(0.0, 1.0))
    return max(1_000, int(round(amount, -1)))


def _channel(rng: random.Random, direct_share: float) -> str:
    table = _DIRECT if rng.random() < direct_share else _OTHER
    return str(table.draw(rng))


def _activity(day: date) -> float:
    """Relative business on a day: weekday, fiscal-year rush and the New Year holidays."""
    if (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3):
        return 0.1
    return WEEKDAY_WEIGHTS[day.weekday()] / _WEEKLY_MEAN * MONTH_WEIGHTS.get(day.month, 1.0)


def _workday(day: date) -> date:
    """Offices are closed on Sundays: their work lands on Monday."""
    return day + timedelta(days=1) if day.weekday() == 6 else day


def _workday_ordinal(ordinal: int) -> int:
    """`_workday` on proleptic ordinals (ordinal 1, 0001-01-01, is a Monday)."""
    return ordinal + 1 if ordinal % 7 == 0 else ordinal


def _customer_phone(customer_id: str) -> str:
    number = zlib.crc32(customer_id.encode()) % 100_000_000
    return f"+81-80-{number // 10_000:04d}-{number % 10_000:04d}"


# -- who works where ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Member:
    """An agent at work in a period between two assignment changes, with scaled rates."""

    agent_id: str
    branch_id: str
    phone: str
    profile: AgentProfile
    book: int


@dataclass(frozen=True, slots=True)
class _Roster:
    """Everyone at work between two assignment changes, with their draw weights."""

    members: tuple[_Member, ...]
    by_branch: Mapping[str, tuple[_Member, ...]]
    issues: tuple[float, ...]
    complaints: tuple[float, ...]
    compliments: tuple[float, ...]
    requests: tuple[float, ...]

    @staticmethod
    def total(cumulative: Sequence[float]) -> float:
        return cumulative[-1] if cumulative else 0.0

    def pick(self, cumulative: Sequence[float], rng: random.Random) -> _Member:
        index = bisect_right(cumulative, rng.random() * cumulative[-1])
        return self.members[min(index, len(self.members) - 1)]


class _World:
    """The org chart seen by the demo: rosters per period, traits per agent and branch."""

    def __init__(self, org: OrgChart, seed: int, quiet: Collection[str]) -> None:
        self.org = org
        self.seed = seed
        self.quiet = frozenset(quiet)
        self.scale = 1.0
        self._team_branch = {team.id: team.branch for team in org.teams}
        self._coefficient = {
            branch.id: float(org.coefficient(f"branch:{branch.id}") or 1) for branch in org.branches
        }
        self.region_of = {branch.id: branch.region for branch in org.branches}
        self._branches = {branch.id: branch_profile(seed, branch.id) for branch in org.branches}
        self._skill = {agent_id: intrinsic_skill(seed, agent_id) for agent_id in org.agent_ids}
        self._boundaries = sorted(
            {a.valid_from for agent_id in org.agent_ids for a in org.assignments(agent_id)}
        )
        never_quiet = [
            agent_id
            for agent_id in org.agent_ids
            if all(self._team_branch[a.team] not in self.quiet for a in org.assignments(agent_id))
        ]
        picks = seeded(f"{seed}:suspicious").sample(
            never_quiet, min(SUSPICIOUS_AGENTS, len(never_quiet))
        )
        self.suspicious = frozenset(picks)
        self._profiles: dict[tuple[str, str], AgentProfile] = {}
        self._rosters: dict[int, _Roster] = {}

    def profile(self, agent_id: str, branch_id: str) -> AgentProfile:
        key = (agent_id, branch_id)
        found = self._profiles.get(key)
        if found is None:
            found = agent_profile(
                self._skill[agent_id],
                self._branches[branch_id],
                self._coefficient[branch_id],
                suspicious=agent_id in self.suspicious,
            )
            self._profiles[key] = found
        return found

    def branch_at(self, agent_id: str, day: date) -> str | None:
        """The agent's branch on a day, None when unassigned or in a quiet branch."""
        assignment = self.org.assignment_at(agent_id, day)
        if assignment is None:
            return None
        branch = self._team_branch[assignment.team]
        return None if branch in self.quiet else branch

    def _members(self, day: date) -> list[tuple[str, str, str, AgentProfile]]:
        found = []
        for agent_id in self.org.agent_ids:
            assignment = self.org.assignment_at(agent_id, day)
            if assignment is None:
                continue
            branch = self._team_branch[assignment.team]
            if branch not in self.quiet:
                found.append((agent_id, branch, assignment.phone, self.profile(agent_id, branch)))
        return found

    def roster(self, day: date) -> _Roster:
        period = bisect_right(self._boundaries, day)
        cached = self._rosters.get(period)
        if cached is not None:
            return cached
        s = self.scale
        members = tuple(
            _Member(agent_id, branch, phone, profile, round(profile.book_size * s))
            for agent_id, branch, phone, profile in self._members(day)
        )
        by_branch: dict[str, list[_Member]] = {}
        for member in members:
            by_branch.setdefault(member.branch_id, []).append(member)
        roster = _Roster(
            members=members,
            by_branch={branch: tuple(group) for branch, group in sorted(by_branch.items())},
            issues=tuple(itertools.accumulate(m.profile.new_policies_per_day * s for m in members)),
            complaints=tuple(
                itertools.accumulate(
                    m.book * COMPLAINTS_PER_POLICY_DAY * m.profile.complaint_factor for m in members
                )
            ),
            compliments=tuple(
                itertools.accumulate(m.profile.compliments_per_year / 365 * s for m in members)
            ),
            requests=tuple(
                itertools.accumulate(REQUESTS_PER_AGENT_YEAR / 365 * s for _ in members)
            ),
        )
        self._rosters[period] = roster
        return roster

    def expected_per_day(self) -> tuple[float, float]:
        """(business events a day at scale 1, monthly assessment and training events a day).

        Every agent counts once, in the branch of their latest assignment, so that the scale
        (and so the stream) does not depend on the window asked for.
        """
        extra_contacts = sum(math.exp(-1.3 * k) for k in range(1, 4))
        business = 0.0
        attendance = 0.0
        members: list[tuple[str, AgentProfile]] = []
        for agent_id in self.org.agent_ids:
            branch = self._team_branch[self.org.assignments(agent_id)[-1].team]
            if branch not in self.quiet:
                members.append((branch, self.profile(agent_id, branch)))
        for _branch, p in members:
            business += p.new_policies_per_day * (
                1 + ISSUE_SURVEY_SHARE + p.termination_rate * (1 + 0.6 * REINSTATEMENT_SHARE)
            )
            business += (p.book_size / 365) * (
                3 + extra_contacts + p.renewal_rate * (1 + RENEWAL_SURVEY_SHARE)
            )
            business += 2 * p.book_size * COMPLAINTS_PER_POLICY_DAY * p.complaint_factor
            business += 2 * (p.compliments_per_year + REQUESTS_PER_AGENT_YEAR) / 365
            attendance += p.attendance
        branches = len({branch for branch, _p in members})
        fixed = (len(members) + 1.5 * attendance + branches) / 30.44
        return business, fixed


# -- renewals in progress -------------------------------------------------------------------------


class _RenewalFlow:
    """One renewal, from its `due` notice to its outcome; sits in the heap at its next step."""

    __slots__ = (
        "book_index",
        "channel",
        "due",
        "index",
        "member",
        "premium",
        "product",
        "steps",
        "times",
    )

    def __init__(
        self,
        *,
        member: _Member,
        book_index: int,
        due: date,
        product: str,
        premium: int,
        channel: str,
        times: tuple[int, ...],
        steps: str,
    ) -> None:
        self.member = member
        self.book_index = book_index
        self.due = due
        self.product = product
        self.premium = premium
        self.channel = channel
        self.times = times
        self.steps = steps  # D due, C contacted, R renewed, L lost, P policy record renewed
        self.index = 0

    @property
    def renewal_id(self) -> str:
        return _renewal_id(self.member.agent_id, self.due, self.book_index)

    @property
    def policy_id(self) -> str:
        return _book_policy(self.member.agent_id, self.book_index)

    def document(self, step: int, currency: str) -> Document:
        code = self.steps[step]
        renewal_id = self.renewal_id
        if code == "P":
            return {
                "event_type": "policy",
                "event_id": f"{self.policy_id}:renewed:{self.due:%Y%m%d}",
                "source": SOURCE_POLICY,
                "schema_version": SCHEMA_VERSION,
                "agent_id": self.member.agent_id,
                "policy_id": self.policy_id,
                "customer_id": _book_customer(self.member.agent_id, self.book_index),
                "action": "renewed",
                "product_line": self.product,
                "premium": str(self.premium),
                "currency": currency,
                "channel": self.channel,
                "new_business": False,
                "referral": False,
            }
        action = {"D": "due", "C": "contacted", "R": "renewed", "L": "lost"}[code]
        event_id = f"{renewal_id}:{action}" + (f":{step}" if code == "C" else "")
        return {
            "event_type": "renewal",
            "event_id": event_id,
            "source": SOURCE_RENEWAL,
            "schema_version": SCHEMA_VERSION,
            "agent_id": self.member.agent_id,
            "renewal_id": renewal_id,
            "policy_id": self.policy_id,
            "action": action,
            "due_date": self.due.isoformat(),
            "premium": str(self.premium),
            "currency": currency,
            "channel": self.channel,
        }


def _renewal_id(agent_id: str, due: date, book_index: int) -> str:
    return f"RN-{due:%Y%m%d}-{agent_id}-{book_index:04d}"


def _book_policy(agent_id: str, book_index: int) -> str:
    return f"PB-{agent_id}-{book_index:04d}"


def _book_customer(agent_id: str, book_index: int) -> str:
    # About three book policies in ten belong to a customer with another policy in the book.
    return f"CB-{agent_id}-{book_index * 7 // 10:04d}"


def _book_product(agent_id: str, book_index: int) -> ProductLine:
    u = zlib.crc32(f"{agent_id}:{book_index}".encode()) / 2**32
    line = _PRODUCTS.pick(u)
    assert isinstance(line, ProductLine)
    return line


# -- the stream ----------------------------------------------------------------------------------


class _Stream:
    def __init__(
        self,
        world: _World,
        *,
        start: datetime,
        end: datetime,
        zone: ZoneInfo,
    ) -> None:
        self.world = world
        self.seed = world.seed
        self.currency = world.org.currency
        self.zone = zone
        self.start_ts = math.ceil(start.timestamp())
        self.end_ts = math.ceil(end.timestamp())
        self.first_day = start.astimezone(zone).date()
        self.last_day = (end - timedelta(microseconds=1)).astimezone(zone).date()
        self._heap: list[tuple[int, int, Document | _RenewalFlow]] = []
        self._sequence = itertools.count()
        self._midnights: dict[int, int] = {}

    # -- time ------------------------------------------------------------------------------------

    def midnight(self, day: date) -> int:
        return self.midnight_of(day.toordinal())

    def midnight_of(self, ordinal: int) -> int:
        """The POSIX second a local day (by its proleptic ordinal) starts at."""
        found = self._midnights.get(ordinal)
        if found is None:
            day = date.fromordinal(ordinal)
            found = int(datetime(day.year, day.month, day.day, tzinfo=self.zone).timestamp())
            self._midnights[ordinal] = found
        return found

    def at(self, day: date, rng: random.Random, hours: _Choice = _OFFICE) -> int:
        """A time on a local day, in the given hours (weighted), as POSIX seconds."""
        return self.at_ordinal(day.toordinal(), rng, hours)

    def at_ordinal(self, ordinal: int, rng: random.Random, hours: _Choice = _OFFICE) -> int:
        hour = hours.draw(rng)
        assert isinstance(hour, int)
        return self.midnight_of(ordinal) + hour * 3600 + int(rng.random() * 3600)

    def rng(self, kind: str, key: object) -> random.Random:
        return seeded(f"{self.seed}:{kind}:{key}")

    def push(self, ts: int, document: Document) -> None:
        """Schedule an event; one outside the window is dropped at once."""
        if self.start_ts <= ts < self.end_ts:
            heapq.heappush(self._heap, (ts, next(self._sequence), document))

    def push_flow(self, flow: _RenewalFlow) -> None:
        """Schedule a renewal at its first step inside the window.

        When the window starts while the renewal is in progress, its `due` notice is restated
        at the window's start, so that its outcome is never counted without it.
        """
        times = flow.times
        index = 0
        while index < len(times) and times[index] < self.start_ts:
            index += 1
        if index == len(times):
            return
        outcome = len(flow.steps.rstrip("P")) - 1
        if 0 < index <= outcome:
            self.push(self.start_ts, flow.document(0, self.currency))
        if times[index] < self.end_ts:
            flow.index = index
            heapq.heappush(self._heap, (times[index], next(self._sequence), flow))

    # -- the day loop ----------------------------------------------------------------------------

    def run(self) -> Iterator[Document]:
        day = self.first_day - timedelta(days=ISSUE_LOOKBACK_DAYS)
        while day <= self.last_day:
            self.originate(day, (self.first_day - day).days)
            yield from self.release(self.midnight(day + timedelta(days=1)), day)
            day += timedelta(days=1)

    def originate(self, day: date, lookback: int) -> None:
        if lookback <= ISSUE_LOOKBACK_DAYS:
            self.issues(day, full=lookback <= ISSUE_DETAIL_LOOKBACK_DAYS)
        if lookback <= RENEWAL_LOOKBACK_DAYS:
            self.renewals(day + timedelta(days=_RENEWAL_HORIZON), day)
        if lookback <= CASE_LOOKBACK_DAYS:
            self.cases(day)
        if lookback <= MONTHLY_LOOKBACK_DAYS and day.day == 1:
            self.assessments(day)
            self.training(day)

    def release(self, before: int, day: date) -> Iterator[Document]:
        """Yield the scheduled events before `before` (the end of local `day`), in order."""
        heap = self._heap
        while heap and heap[0][0] < before:
            ts, _, item = heapq.heappop(heap)
            if isinstance(item, _RenewalFlow):
                document = item.document(item.index, self.currency)
                item.index += 1
                if item.index < len(item.times) and item.times[item.index] < self.end_ts:
                    heapq.heappush(heap, (item.times[item.index], next(self._sequence), item))
            else:
                document = item
            if self.active(document, day):
                document["occurred_at"] = datetime.fromtimestamp(ts, self.zone).isoformat()
                yield document

    def active(self, document: Document, day: date) -> bool:
        agent_id = document.get("agent_id")
        if isinstance(agent_id, str):
            return self.world.branch_at(agent_id, day) is not None
        return document.get("branch_id") not in self.world.quiet

    # -- policies --------------------------------------------------------------------------------

    def issues(self, day: date, *, full: bool) -> None:
        roster = self.world.roster(day)
        if not roster.members:
            return
        rng = self.rng("issue", day)
        count = _poisson(rng, roster.total(roster.issues) * _activity(day))
        drafts = []
        for _ in range(count):
            member = roster.pick(roster.issues, rng)
            drafts.append((member, rng.random() < member.profile.termination_rate))
        ending = self.rng("issue-ending", day)
        lasting = self.rng("issue-lasting", day) if full else None
        for number, (member, terminates) in enumerate(drafts, start=1):
            if terminates:
                self.policy(day, number, member, ending, terminates=True)
            elif lasting is not None:
                self.policy(day, number, member, lasting, terminates=False)

    def policy(
        self, day: date, number: int, member: _Member, rng: random.Random, *, terminates: bool
    ) -> None:
        p = member.profile
        policy_id = f"PN-{day:%Y%m%d}-{number:05d}"
        line = _PRODUCTS.draw(rng)
        assert isinstance(line, ProductLine)
        premium = _premium(rng, line)
        channel = _channel(rng, p.direct_share)
        if rng.random() < EXISTING_CUSTOMER_SHARE and member.book > 0:
            customer_id = _book_customer(member.agent_id, _below(rng, member.book))
        else:
            customer_id = f"CN-{day:%Y%m%d}-{number:05d}"
        new_business = rng.random() >= NOT_NEW_BUSINESS_SHARE
        referral = new_business and rng.random() < p.referral_rate
        issued_ts = self.at(day, rng, _ONLINE if channel == "online" else _OFFICE)
        base: Document = {
            "event_type": "policy",
            "source": SOURCE_POLICY,
            "schema_version": SCHEMA_VERSION,
            "agent_id": member.agent_id,
            "policy_id": policy_id,
            "customer_id": customer_id,
            "product_line": line.code,
            "premium": str(premium),
            "currency": self.currency,
            "channel": channel,
            "issued_at": day.isoformat(),
        }
        issued = base | {
            "event_id": f"{policy_id}:issued",
            "action": "issued",
            "new_business": new_business,
            "referral": referral,
        }
        self.push(issued_ts, issued)
        if rng.random() < ISSUE_SURVEY_SHARE:
            answered = day + timedelta(days=_between(rng, 3, 14))
            self.survey(
                rng,
                day=answered,
                response_id=f"SV-{policy_id}",
                policy_id=policy_id,
                customer_id=customer_id,
                member=member,
            )
        if terminates:
            self.termination(rng, day, policy_id, base)

    def termination(self, rng: random.Random, day: date, policy_id: str, base: Document) -> None:
        kind = str(_TERMINATION.draw(rng))
        lag = {"cancelled": (2, 28), "surrendered": (60, 390)}.get(kind, (30, 390))
        ended = _workday(day + timedelta(days=_between(rng, *lag)))
        ending: Document = base | {"new_business": False, "referral": False}
        self.push(self.at(ended, rng), ending | {"event_id": f"{policy_id}:{kind}", "action": kind})
        if kind == "lapsed" and rng.random() < REINSTATEMENT_SHARE:
            back = _workday(ended + timedelta(days=_between(rng, 7, 60)))
            self.push(
                self.at(back, rng),
                ending | {"event_id": f"{policy_id}:reinstated", "action": "reinstated"},
            )

    def survey(
        self,
        rng: random.Random,
        *,
        day: date,
        response_id: str,
        policy_id: str,
        customer_id: str,
        member: _Member,
    ) -> None:
        scale = _SCALE.draw(rng)
        top = rng.random() < member.profile.top_box
        if scale == 10:
            score = 9 + _below(rng, 2) if top else _BELOW_10.draw(rng)
        elif scale == 5:
            score = 5 if top else _BELOW_5.draw(rng)
        else:
            score = _between(rng, 90, 100) if top else round(rng.triangular(35, 89, 80))
        document: Document = {
            "event_type": "survey",
            "event_id": response_id,
            "source": SOURCE_SURVEY,
            "schema_version": SCHEMA_VERSION,
            "agent_id": member.agent_id,
            "response_id": response_id,
            "policy_id": policy_id,
            "customer_id": customer_id,
            "scale": scale,
            "score": score,
            "channel": _SURVEY_CHANNEL.draw(rng),
            "agent_phone": member.phone,
        }
        if member.profile.suspicious:
            # Fake callbacks (seed 004): the agent's own number, or one number for many customers.
            roll = rng.random()
            if roll < 0.4:
                document["callback_phone"] = member.phone
            elif roll < 0.8:
                document["callback_phone"] = _RING_PHONES[_below(rng, 2)]
        elif rng.random() < CALLBACK_SHARE:
            document["callback_phone"] = _customer_phone(customer_id)
        self.push(self.at(day, rng, _ONLINE), document)

    # -- renewals --------------------------------------------------------------------------------

    def renewals(self, due: date, origin: date) -> None:
        if due.month == 2 and due.day == 29:
            return  # the book renews on a 365-day calendar
        year_day = date(2001, due.month, due.day).timetuple().tm_yday - 1
        roster = self.world.roster(origin)
        rng = self.rng("renewal", due)
        for member in roster.members:
            first = (year_day * member.book + 364) // 365
            last = ((year_day + 1) * member.book + 364) // 365
            for book_index in range(first, last):
                self.renewal(rng, member, due, book_index)

    def renewal(self, rng: random.Random, member: _Member, due: date, book_index: int) -> None:
        p = member.profile
        r = rng.random
        due_day = due.toordinal()
        low, high = RENEWAL_NOTICE_DAYS
        notice = due_day - low - int(r() * (high - low + 1))
        line = _book_product(member.agent_id, book_index)
        premium = _premium(rng, line)
        channel = _channel(rng, p.direct_share)
        renewed = r() < p.renewal_rate
        first_contact = notice + 1 + int(r() * 12)
        if renewed:
            cycle = round(rng.gammavariate(2.0, p.cycle_days / 2))
            outcome = min(first_contact + cycle, due_day + RENEWED_GRACE_DAYS)
        else:
            lost_low, lost_high = LOST_AFTER_DUE_DAYS
            outcome = due_day + lost_low + int(r() * (lost_high - lost_low + 1))
        notice_ts = self.at_ordinal(_workday_ordinal(notice), rng)
        contact_ts = max(self.at_ordinal(_workday_ordinal(first_contact), rng), notice_ts + 600)
        outcome_ts = max(self.at_ordinal(_workday_ordinal(outcome), rng), contact_ts + 600)
        extra = min(3, int(rng.expovariate(1.3)))
        span = outcome_ts - contact_ts - 1
        more = sorted(contact_ts + 1 + int(r() * span) for _ in range(extra))
        times = (notice_ts, contact_ts, *more, outcome_ts)
        steps = "DC" + "C" * extra + ("R" if renewed else "L")
        if renewed:
            times = (*times, outcome_ts + 60 + int(r() * 3540))
            steps += "P"
            if r() < RENEWAL_SURVEY_SHARE:
                answered = datetime.fromtimestamp(outcome_ts, self.zone).date()
                self.survey(
                    rng,
                    day=answered + timedelta(days=_between(rng, 2, 10)),
                    response_id=f"SV-{_renewal_id(member.agent_id, due, book_index)}",
                    policy_id=_book_policy(member.agent_id, book_index),
                    customer_id=_book_customer(member.agent_id, book_index),
                    member=member,
                )
        if times[-1] < self.start_ts:
            return  # over before the window: nothing to schedule
        self.push_flow(
            _RenewalFlow(
                member=member,
                book_index=book_index,
                due=due,
                product=line.code,
                premium=premium,
                channel=channel,
                times=times,
                steps=steps,
            )
        )

    # -- complaint desk --------------------------------------------------------------------------

    def cases(self, day: date) -> None:
        roster = self.world.roster(day)
        if not roster.members:
            return
        rng = self.rng("case", day)
        activity = _activity(day)
        numbers = itertools.count(1)
        for _ in range(_poisson(rng, roster.total(roster.complaints) * activity)):
            self.complaint(rng, day, next(numbers), roster.pick(roster.complaints, rng))
        for _ in range(_poisson(rng, roster.total(roster.compliments) * activity)):
            member = roster.pick(roster.compliments, rng)
            self.simple_case(
                rng,
                day=day,
                number=next(numbers),
                member=member,
                kind="compliment",
                table=_COMPLIMENT,
            )
        for _ in range(_poisson(rng, roster.total(roster.requests) * activity)):
            member = roster.pick(roster.requests, rng)
            self.simple_case(
                rng, day=day, number=next(numbers), member=member, kind="request", table=_REQUEST
            )

    def case(self, case_id: str, kind: str, category: str, owner: Document) -> Document:
        return {
            "event_type": "complaint",
            "source": SOURCE_COMPLAINT,
            "schema_version": SCHEMA_VERSION,
            **owner,
            "case_id": case_id,
            "kind": kind,
            "category": category,
        }

    def complaint(self, rng: random.Random, day: date, number: int, member: _Member) -> None:
        case_id = f"CS-{day:%Y%m%d}-{number:04d}"
        if rng.random() < BRANCH_COMPLAINT_SHARE:
            owner: Document = {"branch_id": member.branch_id}
        else:
            owner = {"agent_id": member.agent_id}
        base = self.case(case_id, "complaint", str(_COMPLAINT.draw(rng)), owner)
        if rng.random() < 0.7 and member.book > 0:
            base["policy_id"] = _book_policy(member.agent_id, _below(rng, member.book))
        opened = self.at(day, rng)
        self.push(opened, base | {"event_id": f"{case_id}:opened", "action": "opened"})
        if rng.random() < ESCALATION_SHARE:
            escalated_day = _workday(day + timedelta(days=_between(rng, 5, 20)))
            escalated = self.at(escalated_day, rng)
            self.push(
                escalated,
                base
                | {
                    "event_id": f"{case_id}:escalated_to_regulator",
                    "action": "escalated_to_regulator",
                },
            )
            resolved_day = escalated_day + timedelta(days=_between(rng, 10, 30))
        else:
            days = min(40, round(rng.gammavariate(2.0, member.profile.resolution_days / 2)))
            resolved_day = day + timedelta(days=days)
        resolved = max(self.at(_workday(resolved_day), rng), opened + 1800)
        self.push(resolved, base | {"event_id": f"{case_id}:resolved", "action": "resolved"})

    def simple_case(
        self,
        rng: random.Random,
        *,
        day: date,
        number: int,
        member: _Member,
        kind: str,
        table: _Choice,
    ) -> None:
        case_id = f"CS-{day:%Y%m%d}-{number:04d}"
        base = self.case(case_id, kind, str(table.draw(rng)), {"agent_id": member.agent_id})
        opened = self.at(day, rng)
        self.push(opened, base | {"event_id": f"{case_id}:opened", "action": "opened"})
        if kind == "compliment":
            resolved = opened + _between(rng, 1800, 4 * 3600)  # thanked the same day
        else:
            later = _workday(day + timedelta(days=_between(rng, 0, 5)))
            resolved = max(self.at(later, rng), opened + 1800)
        self.push(resolved, base | {"event_id": f"{case_id}:resolved", "action": "resolved"})

    # -- monthly: assessments and training -------------------------------------------------------

    def assessments(self, first_of_month: date) -> None:
        month_end = first_of_month - timedelta(days=1)
        period = f"{month_end:%Y-%m}"
        rng = self.rng("assessment", period)
        roster = self.world.roster(month_end)
        for branch_id, members in roster.by_branch.items():
            scores = []
            for member in members:
                score = round(min(100.0, max(30.0, rng.gauss(member.profile.assessment_mean, 6))))
                scores.append(score)
                when = _workday(first_of_month + timedelta(days=_between(rng, 0, 6)))
                assessment_id = f"AS-{period}-{member.agent_id}"
                self.push(
                    self.at(when, rng),
                    {
                        "event_type": "assessment",
                        "event_id": assessment_id,
                        "source": SOURCE_ASSESSMENT,
                        "schema_version": SCHEMA_VERSION,
                        "agent_id": member.agent_id,
                        "assessment_id": assessment_id,
                        "period": period,
                        "score": score,
                        "assessor_id": f"MGR-{branch_id}",
                    },
                )
            branch_score = round(min(100.0, max(30.0, sum(scores) / len(scores) + rng.gauss(0, 3))))
            when = _workday(first_of_month + timedelta(days=_between(rng, 3, 9)))
            assessment_id = f"AS-{period}-{branch_id}"
            self.push(
                self.at(when, rng),
                {
                    "event_type": "assessment",
                    "event_id": assessment_id,
                    "source": SOURCE_ASSESSMENT,
                    "schema_version": SCHEMA_VERSION,
                    "branch_id": branch_id,
                    "assessment_id": assessment_id,
                    "period": period,
                    "score": branch_score,
                    "assessor_id": f"MGR-{self.world.region_of[branch_id]}",
                },
            )

    def training(self, first_of_month: date) -> None:
        month = first_of_month.month
        courses: list[tuple[str, float, int]] = [("product", 2.0, 17 * 3600 + 1800)]
        if month in {3, 6, 9, 12}:
            courses.append(("compliance", 1.5, 14 * 3600))
        if month in {5, 11}:
            courses.append(("claims_handling", 1.0, 10 * 3600))
        rng = self.rng("training", f"{first_of_month:%Y-%m}")
        branches = self.world.roster(first_of_month).by_branch
        for branch_id in branches:
            for course, hours, start in courses:
                held = first_of_month + timedelta(days=_between(rng, 4, 24))
                while held.weekday() >= 5:
                    held += timedelta(days=1)
                session_id = f"TR-{branch_id}-{held:%Y%m}-{course}"
                begins = self.midnight(held) + start
                for member in self.world.roster(held).by_branch.get(branch_id, ()):
                    if rng.random() >= member.profile.attendance:
                        continue
                    self.push(
                        begins + _between(rng, -600, 300),
                        {
                            "event_type": "training",
                            "event_id": f"{session_id}:{member.agent_id}",
                            "source": SOURCE_TRAINING,
                            "schema_version": SCHEMA_VERSION,
                            "agent_id": member.agent_id,
                            "session_id": session_id,
                            "course": course,
                            "hours": hours,
                        },
                    )


# -- public API -----------------------------------------------------------------------------------


def _aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a UTC offset)")


def generate_events(
    org: OrgChart,
    *,
    start: datetime,
    end: datetime,
    seed: int,
    events_per_day: int | None = None,
    quiet_branches: Collection[str] = DEMO_QUIET_BRANCHES,
    timezone: str = DEFAULT_TIMEZONE,
) -> Iterator[Document]:
    """The demo company's upstream events with `start` ≤ occurred_at < `end`, oldest first.

    Each item is a JSON-ready upstream event document (money as decimal strings, timestamps
    ISO 8601 with the local offset, `schema_version` 1, unique `event_id`), a fresh dict the
    caller may keep or change. The same arguments always give the same stream. The window
    opens with the `due` notices of the renewals already in progress (about 60 days' worth of
    notices, stamped `start`); after that the volume is steady.

    - `events_per_day`: the average daily volume to aim for; business volumes (policies,
      renewals, cases, surveys) are scaled to reach it, while the monthly assessments and
      training attendances (about two per agent a month) are not. None keeps the natural
      volume (about four events per agent a day: ~3,700 a day for the demo company).
      It is computed from the whole chart, not the window, so windows still compose.
    - `quiet_branches`: branches whose agents and office send nothing (default: the demo's
      B12), so that empty KPIs and staleness can be seen.
    - `timezone`: local time of the events and of day boundaries.
    """
    _aware("start", start)
    _aware("end", end)
    if events_per_day is not None and events_per_day < 0:
        raise ValueError("events_per_day must be ≥ 0")
    zone = ZoneInfo(timezone)
    world = _World(org, seed, quiet_branches)
    if events_per_day is not None:
        business, fixed = world.expected_per_day()
        world.scale = max(0.0, events_per_day - fixed) / business if business > 0 else 0.0
    if end <= start:
        return iter(())
    return _Stream(world, start=start, end=end, zone=zone).run()


def write_jsonl(events: Iterable[Mapping[str, object]], path: str | os.PathLike[str]) -> int:
    """Write one JSON object a line (UTF-8) for `kpi replay`; return how many were written."""
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for event in events:
            out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            count += 1
    return count
