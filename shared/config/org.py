"""The organisation of DESIGN §4 and §11: company › region › branch › team › agent.

`org.yaml` lists the entities level by level under a top-level `company` id::

    company: ACME
    company_name: ACME損害保険代理店     # optional, a display name
    currency: JPY                        # optional, ISO 4217, default JPY
    regions:  [{id: R1, coefficient: 1.1, name: {en: Kanto, zh: 关东, ja: 関東}}]  # name optional
    branches: [{id: B01, region: R1, headcount: 42}]
    teams:    [{id: T01, branch: B01}]
    agents:   [{id: A0001, team: T01, phone: "+81-90-0000-0001", from: 2019-04-01}]

An agent belongs to a team from the date in `from`; an agent who moves appears again with a
later `from`, and the assignment valid on a date is the one with the latest `from` not after it.
A `name` (and `company_name`) is one text or a form per language (`entity_names`); `OrgChart.name`
picks one: the language asked for, else English, else None (show the id alone).
`OrgChart` is the validated, immutable chart with the look-ups the services need; build it with
`OrgChart.from_document` (pure) or `shared.config.loading.load_org` (reads the file). The
document's entries and their validation are in `org_document`.
"""

import functools
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from .entity_names import LocalizedName
from .issues import InvalidConfig
from .org_document import (
    AgentAssignment,
    Branch,
    OrgDocument,
    Region,
    Team,
    check_references,
    parse_document,
)


class Level(StrEnum):
    """The levels of the hierarchy, top-down; an entity is written ``LEVEL:ID``."""

    COMPANY = "company"
    REGION = "region"
    BRANCH = "branch"
    TEAM = "team"
    AGENT = "agent"


def entity_key(level: Level, entity_id: str) -> str:
    """``entity_key(Level.BRANCH, "B01")`` → ``"branch:B01"``."""
    return f"{level.value}:{entity_id}"


@functools.lru_cache(maxsize=65536)
def parse_entity(key: str) -> tuple[Level, str]:
    """``"branch:B01"`` → ``(Level.BRANCH, "B01")``; `ValueError` for anything else."""
    level, sep, entity_id = key.partition(":")
    try:
        parsed = Level(level)
    except ValueError:
        parsed = None
    if not sep or parsed is None or not entity_id:
        levels = ", ".join(item.value for item in Level)
        raise ValueError(f"entity {key!r} is not written LEVEL:ID with LEVEL one of {levels}")
    return parsed, entity_id


@dataclass(frozen=True, slots=True)
class OrgPath:
    """Where an agent (or a branch) sits in the hierarchy; `team`/`agent` are None for a branch."""

    company: str
    region: str
    branch: str
    team: str | None = None
    agent: str | None = None

    def entities(self) -> tuple[str, ...]:
        """The path top-down in ``LEVEL:ID`` form, e.g. ``("company:ACME", ..., "agent:A0001")``.

        Every counter of the event's owner rolls up to each of these entities.
        """
        keys = [
            entity_key(Level.COMPANY, self.company),
            entity_key(Level.REGION, self.region),
            entity_key(Level.BRANCH, self.branch),
        ]
        if self.team is not None:
            keys.append(entity_key(Level.TEAM, self.team))
        if self.agent is not None:
            keys.append(entity_key(Level.AGENT, self.agent))
        return tuple(keys)

    def id_at(self, level: Level) -> str | None:
        """The id of the entity at `level` on this path (None below a branch path's end)."""
        return {
            Level.COMPANY: self.company,
            Level.REGION: self.region,
            Level.BRANCH: self.branch,
            Level.TEAM: self.team,
            Level.AGENT: self.agent,
        }[level]


@dataclass(frozen=True, slots=True)
class _AgentHistory:
    starts: tuple[date, ...]
    assignments: tuple[AgentAssignment, ...]


def _histories(agents: tuple[AgentAssignment, ...]) -> dict[str, _AgentHistory]:
    grouped: dict[str, list[AgentAssignment]] = {}
    for assignment in agents:
        grouped.setdefault(assignment.id, []).append(assignment)
    histories: dict[str, _AgentHistory] = {}
    for agent_id in sorted(grouped):
        ordered = tuple(sorted(grouped[agent_id], key=lambda a: a.valid_from))
        histories[agent_id] = _AgentHistory(tuple(a.valid_from for a in ordered), ordered)
    return histories


@dataclass(frozen=True)
class OrgChart:
    """The validated organisation: immutable, with look-ups by id, date and level.

    Construct it from an `OrgDocument`; references are checked here, so an `OrgChart` is
    always consistent (`InvalidConfig` otherwise).
    """

    document: OrgDocument
    source: str = field(default="org.yaml", compare=False)
    _regions: Mapping[str, Region] = field(init=False, repr=False, compare=False)
    _branches: Mapping[str, Branch] = field(init=False, repr=False, compare=False)
    _teams: Mapping[str, Team] = field(init=False, repr=False, compare=False)
    _agents: Mapping[str, _AgentHistory] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        issues = check_references(self.document)
        if issues:
            raise InvalidConfig(self.source, issues)
        doc = self.document
        object.__setattr__(self, "_regions", MappingProxyType({r.id: r for r in doc.regions}))
        object.__setattr__(self, "_branches", MappingProxyType({b.id: b for b in doc.branches}))
        object.__setattr__(self, "_teams", MappingProxyType({t.id: t for t in doc.teams}))
        object.__setattr__(self, "_agents", MappingProxyType(_histories(doc.agents)))

    @classmethod
    def from_document(cls, document: object, *, source: str = "org.yaml") -> "OrgChart":
        """Validate a parsed YAML/JSON document; `InvalidConfig` lists every problem found."""
        return cls(parse_document(document, source=source), source)

    # -- the company -------------------------------------------------------------------------

    @property
    def company(self) -> str:
        return self.document.company

    @property
    def company_name(self) -> str | None:
        """The company's name in English (or its one text), None when it has none."""
        name = self.document.company_name
        return name.in_language("en") if name is not None else None

    @property
    def currency(self) -> str:
        return self.document.currency

    # -- entities by id ----------------------------------------------------------------------

    @property
    def regions(self) -> tuple[Region, ...]:
        return self.document.regions

    @property
    def branches(self) -> tuple[Branch, ...]:
        return self.document.branches

    @property
    def teams(self) -> tuple[Team, ...]:
        return self.document.teams

    @property
    def agent_ids(self) -> tuple[str, ...]:
        """Every agent id that appears in the chart, sorted."""
        return tuple(self._agents)

    def region(self, region_id: str) -> Region | None:
        return self._regions.get(region_id)

    def branch(self, branch_id: str) -> Branch | None:
        return self._branches.get(branch_id)

    def team(self, team_id: str) -> Team | None:
        return self._teams.get(team_id)

    def assignments(self, agent_id: str) -> tuple[AgentAssignment, ...]:
        """An agent's assignments, oldest first (empty for an unknown agent)."""
        history = self._agents.get(agent_id)
        return history.assignments if history is not None else ()

    # -- resolution --------------------------------------------------------------------------

    def assignment_at(self, agent_id: str, day: date) -> AgentAssignment | None:
        """The assignment valid on local date `day`: the latest `from` not after it.

        None when the agent is unknown or not yet assigned on that date. `day` is a local
        date (convert a timestamp with `CalendarConfig.local_date` first); a datetime is refused
        because its UTC date may not be the local one.
        """
        if isinstance(day, datetime):
            raise TypeError("assignment_at takes a local date, not a datetime")
        history = self._agents.get(agent_id)
        if history is None:
            return None
        index = bisect_right(history.starts, day)
        return history.assignments[index - 1] if index else None

    def resolve(self, agent_id: str, day: date) -> OrgPath | None:
        """agent → team → branch → region → company, valid on local date `day`."""
        assignment = self.assignment_at(agent_id, day)
        if assignment is None:
            return None
        team = self._teams[assignment.team]
        branch = self._branches[team.branch]
        return OrgPath(self.company, branch.region, branch.id, team.id, agent_id)

    def branch_path(self, branch_id: str) -> OrgPath | None:
        """branch → region → company, for events that belong to a branch and no agent."""
        branch = self._branches.get(branch_id)
        if branch is None:
            return None
        return OrgPath(self.company, branch.region, branch.id)

    def agents_on(self, day: date) -> tuple[OrgPath, ...]:
        """Every agent assigned on local date `day`, with their path, sorted by agent id."""
        paths = (self.resolve(agent_id, day) for agent_id in self._agents)
        return tuple(path for path in paths if path is not None)

    # -- names -------------------------------------------------------------------------------

    def name(self, entity: str, language: str = "en") -> str | None:
        """The display name of a ``LEVEL:ID`` entity in `language` (en, zh or ja), else its
        English name, else None: for an entity without a name, an unknown one or a malformed key.

        An agent's name is the one of their latest assignment that gives one.
        """
        names = self.names_of(entity)
        return names.in_language(language) if names is not None else None

    def names_of(self, entity: str) -> LocalizedName | None:
        """Every language's form of an entity's name, None when it has none."""
        try:
            level, entity_id = parse_entity(entity)
        except ValueError:
            return None
        match level:
            case Level.COMPANY:
                return self.document.company_name if entity_id == self.company else None
            case Level.REGION:
                region = self._regions.get(entity_id)
                return region.name if region is not None else None
            case Level.BRANCH:
                branch = self._branches.get(entity_id)
                return branch.name if branch is not None else None
            case Level.TEAM:
                team = self._teams.get(entity_id)
                return team.name if team is not None else None
            case Level.AGENT:
                named = (a.name for a in reversed(self.assignments(entity_id)) if a.name)
                return next(named, None)

    # -- levels ------------------------------------------------------------------------------

    def entities(self, level: Level) -> tuple[str, ...]:
        """Every entity of a level in ``LEVEL:ID`` form, in file order (agents sorted by id)."""
        match level:
            case Level.COMPANY:
                ids: tuple[str, ...] = (self.company,)
            case Level.REGION:
                ids = tuple(self._regions)
            case Level.BRANCH:
                ids = tuple(self._branches)
            case Level.TEAM:
                ids = tuple(self._teams)
            case Level.AGENT:
                ids = tuple(self._agents)
        return tuple(entity_key(level, entity_id) for entity_id in ids)

    def children(self, entity: str) -> tuple[str, ...]:
        """The regions of the company, branches of a region, teams of a branch (``LEVEL:ID``).

        A team's members change over time: use `agents_on` for them.
        """
        level, entity_id = parse_entity(entity)
        match level:
            case Level.COMPANY:
                ids = tuple(self._regions) if entity_id == self.company else ()
                return tuple(entity_key(Level.REGION, i) for i in ids)
            case Level.REGION:
                ids = tuple(b.id for b in self.branches if b.region == entity_id)
                return tuple(entity_key(Level.BRANCH, i) for i in ids)
            case Level.BRANCH:
                ids = tuple(t.id for t in self.teams if t.branch == entity_id)
                return tuple(entity_key(Level.TEAM, i) for i in ids)
            case _:
                return ()

    def contains(self, entity: str) -> bool:
        """Whether a ``LEVEL:ID`` entity is defined in the chart."""
        try:
            level, entity_id = parse_entity(entity)
        except ValueError:
            return False
        match level:
            case Level.COMPANY:
                return entity_id == self.company
            case Level.REGION:
                return entity_id in self._regions
            case Level.BRANCH:
                return entity_id in self._branches
            case Level.TEAM:
                return entity_id in self._teams
            case Level.AGENT:
                return entity_id in self._agents

    def headcount(self, entity: str) -> int | None:
        """Staff of a branch, or summed over a region's branches or the company's.

        None for teams, agents and unknown entities (headcount is kept per branch).
        """
        level, entity_id = parse_entity(entity)
        match level:
            case Level.COMPANY if entity_id == self.company:
                return sum(b.headcount for b in self.branches)
            case Level.REGION if entity_id in self._regions:
                return sum(b.headcount for b in self.branches if b.region == entity_id)
            case Level.BRANCH if entity_id in self._branches:
                return self._branches[entity_id].headcount
            case _:
                return None

    def branch_of(self, entity: str, on: date | None = None) -> str | None:
        """The ``branch:ID`` a branch, team or agent belongs to (an agent by its assignment on
        local date `on`, else its latest); None for other levels and unknown entities."""
        try:
            level, entity_id = parse_entity(entity)
        except ValueError:
            return None
        if level is Level.BRANCH:
            return entity if entity_id in self._branches else None
        team_id = entity_id
        if level is Level.AGENT:
            assignment = (self.assignment_at(entity_id, on) if on is not None else None) or next(
                reversed(self.assignments(entity_id)), None
            )
            if assignment is None:
                return None
            team_id = assignment.team
        elif level is not Level.TEAM:
            return None
        team = self._teams.get(team_id)
        return None if team is None else entity_key(Level.BRANCH, team.branch)

    def coefficient(self, entity: str) -> Decimal | None:
        """The target coefficient of a region, or of the region a branch belongs to."""
        level, entity_id = parse_entity(entity)
        if level is Level.REGION:
            region = self._regions.get(entity_id)
            return region.coefficient if region is not None else None
        if level is Level.BRANCH:
            branch = self._branches.get(entity_id)
            return self._regions[branch.region].coefficient if branch is not None else None
        return None
