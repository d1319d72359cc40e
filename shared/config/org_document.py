"""The `org.yaml` document: its entries, each validated, and the checks between entries
(duplicate ids, unknown references), with messages naming the field and the fix.

`OrgChart` (in `org`) is built from an `OrgDocument` and holds the look-ups the services need.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from shared.events.fields import CURRENCY_PATTERN, IDENTIFIER_PATTERN, PHONE_PATTERN

from .entity_names import EntityName
from .issues import ConfigIssue, FieldHelp, InvalidConfig, issues_from

EntityId = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
PhoneNumber = Annotated[str, StringConstraints(pattern=PHONE_PATTERN)]
CurrencyCode = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Region(_Entry):
    """A sales region; its coefficient scales the baseline targets (1.1 strong, 0.9 developing)."""

    id: EntityId
    coefficient: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
    name: EntityName | None = None


class Branch(_Entry):
    """A branch office of a region; `headcount` is its staff count for per-capita KPIs."""

    id: EntityId
    region: EntityId
    headcount: Annotated[int, Field(ge=0, strict=True)]
    name: EntityName | None = None


class Team(_Entry):
    """A team of a branch."""

    id: EntityId
    branch: EntityId
    name: EntityName | None = None


class AgentAssignment(_Entry):
    """An agent's membership of a team from `from` (``valid_from`` in Python) onwards."""

    id: EntityId
    team: EntityId
    phone: PhoneNumber
    valid_from: date = Field(alias="from")
    name: EntityName | None = None


class OrgDocument(_Entry):
    """The fields of `org.yaml`, checked one by one (references are checked by `OrgChart`)."""

    company: EntityId
    company_name: EntityName | None = None
    currency: CurrencyCode = "JPY"
    regions: tuple[Region, ...]
    branches: tuple[Branch, ...]
    teams: tuple[Team, ...]
    agents: tuple[AgentAssignment, ...]


_ALLOWED_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "": frozenset(
        {"company", "company_name", "currency", "regions", "branches", "teams", "agents"}
    ),
    "regions": frozenset({"id", "coefficient", "name"}),
    "branches": frozenset({"id", "region", "headcount", "name"}),
    "teams": frozenset({"id", "branch", "name"}),
    "agents": frozenset({"id", "team", "phone", "from", "name"}),
    "name": frozenset({"en", "zh", "ja"}),
    "company_name": frozenset({"en", "zh", "ja"}),
}
_FIELD_HELP: Final[Mapping[str, FieldHelp]] = {
    "company": FieldHelp("ACME"),
    "currency": FieldHelp("JPY"),
    "coefficient": FieldHelp(
        "1.1", "use e.g. 1.1 for a strong region, 1.0 for the baseline, 0.9 for a developing one"
    ),
    "headcount": FieldHelp("42", "the branch's number of staff; 0 if it has none yet"),
    "region": FieldHelp("R1"),
    "branch": FieldHelp("B01"),
    "team": FieldHelp("T01"),
    "phone": FieldHelp("'+81-90-1234-5678'"),
    "from": FieldHelp("2024-04-01"),
    "name": FieldHelp("{en: Kanto Region, zh: 关东区域, ja: 関東本部}"),
    "company_name": FieldHelp("{en: ACME Non-Life Agency, ja: ACME損害保険代理店}"),
    "regions": FieldHelp("[{id: R1, coefficient: 1.0}]"),
    "branches": FieldHelp("[{id: B01, region: R1, headcount: 42}]"),
    "teams": FieldHelp("[{id: T01, branch: B01}]"),
    "agents": FieldHelp("[{id: A0001, team: T01, phone: '+81-90-0000-0001', from: 2024-04-01}]"),
}


def parse_document(document: object, *, source: str = "org.yaml") -> OrgDocument:
    """Validate a parsed YAML/JSON document entry by entry; `InvalidConfig` lists every problem."""
    if not isinstance(document, dict):
        shown = "an empty file" if document is None else f"a {type(document).__name__}"
        raise InvalidConfig(
            source,
            [
                ConfigIssue(
                    "",
                    f"expected a mapping with company, regions, branches, teams and agents "
                    f"at the top level, got {shown}",
                )
            ],
        )
    try:
        parsed = OrgDocument.model_validate(document)
    except ValidationError as exc:
        raise InvalidConfig(
            source, issues_from(exc, allowed_fields=_ALLOWED_FIELDS, field_help=_FIELD_HELP)
        ) from None
    return parsed


def _duplicates(section: str, ids: list[str], noun: str) -> list[ConfigIssue]:
    first: dict[str, int] = {}
    issues: list[ConfigIssue] = []
    for index, entity_id in enumerate(ids):
        if entity_id in first:
            issues.append(
                ConfigIssue(
                    f"{section}[{index}].id",
                    f"{noun} '{entity_id}' is already defined at {section}[{first[entity_id]}]; "
                    "give each one its own id",
                )
            )
        else:
            first[entity_id] = index
    return issues


def _missing(section: str, index: int, field_name: str, target: str, ref: str) -> ConfigIssue:
    return ConfigIssue(
        f"{section}[{index}].{field_name}", f"{field_name} '{ref}' is not defined under {target}"
    )


def check_references(document: OrgDocument) -> list[ConfigIssue]:
    """Issues that involve more than one entry: duplicate ids and unknown references."""
    issues: list[ConfigIssue] = []
    if not document.regions:
        issues.append(
            ConfigIssue(
                "regions",
                "must not be empty; add at least one region, e.g. regions: [{id: R1, "
                "coefficient: 1.0}]",
            )
        )
    issues += _duplicates("regions", [r.id for r in document.regions], "region")
    issues += _duplicates("branches", [b.id for b in document.branches], "branch")
    issues += _duplicates("teams", [t.id for t in document.teams], "team")
    regions = {r.id for r in document.regions}
    branches = {b.id for b in document.branches}
    teams = {t.id for t in document.teams}
    for index, branch in enumerate(document.branches):
        if branch.region not in regions:
            issues.append(_missing("branches", index, "region", "regions", branch.region))
    for index, team in enumerate(document.teams):
        if team.branch not in branches:
            issues.append(_missing("teams", index, "branch", "branches", team.branch))
    first: dict[tuple[str, date], int] = {}
    for index, agent in enumerate(document.agents):
        if agent.team not in teams:
            issues.append(_missing("agents", index, "team", "teams", agent.team))
        key = (agent.id, agent.valid_from)
        if key in first:
            issues.append(
                ConfigIssue(
                    f"agents[{index}].from",
                    f"agent '{agent.id}' already has an assignment starting "
                    f"{agent.valid_from.isoformat()} at agents[{first[key]}]; keep one of them "
                    "or give the move a later date",
                )
            )
        else:
            first[key] = index
    return issues
