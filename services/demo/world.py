"""Who works where in the demo: rosters per period between assignment changes, agent traits."""

import itertools
import math
import random
from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from shared.config.org import OrgChart

from .profiles import (
    COMPLAINTS_PER_POLICY_DAY,
    ISSUE_SURVEY_SHARE,
    REINSTATEMENT_SHARE,
    RENEWAL_SURVEY_SHARE,
    REQUESTS_PER_AGENT_YEAR,
    SUSPICIOUS_AGENTS,
    AgentProfile,
    agent_profile,
    branch_profile,
    intrinsic_skill,
    seeded,
)


@dataclass(frozen=True, slots=True)
class Member:
    """An agent at work in a period between two assignment changes, with scaled rates."""

    agent_id: str
    branch_id: str
    phone: str
    profile: AgentProfile
    book: int


@dataclass(frozen=True, slots=True)
class Roster:
    """Everyone at work between two assignment changes, with their draw weights."""

    members: tuple[Member, ...]
    by_branch: Mapping[str, tuple[Member, ...]]
    issues: tuple[float, ...]
    complaints: tuple[float, ...]
    compliments: tuple[float, ...]
    requests: tuple[float, ...]

    @staticmethod
    def total(cumulative: Sequence[float]) -> float:
        return cumulative[-1] if cumulative else 0.0

    def pick(self, cumulative: Sequence[float], rng: random.Random) -> Member:
        index = bisect_right(cumulative, rng.random() * cumulative[-1])
        return self.members[min(index, len(self.members) - 1)]


class World:
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
        self._rosters: dict[int, Roster] = {}

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

    def roster(self, day: date) -> Roster:
        period = bisect_right(self._boundaries, day)
        cached = self._rosters.get(period)
        if cached is not None:
            return cached
        s = self.scale
        members = tuple(
            Member(agent_id, branch, phone, profile, round(profile.book_size * s))
            for agent_id, branch, phone, profile in self._members(day)
        )
        by_branch: dict[str, list[Member]] = {}
        for member in members:
            by_branch.setdefault(member.branch_id, []).append(member)
        roster = Roster(
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
