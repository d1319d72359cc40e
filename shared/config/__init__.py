"""Configuration of the platform: the organisation chart and the fiscal calendar (DESIGN §4, §11).

The models are pure; only `loading` reads files. Errors are `InvalidConfig` (a `ConfigError`)
with one line per problem: ``file: field.path: what is wrong and the fix``.
"""

from .calendar import DEFAULT_TIMEZONE, CalendarConfig
from .entity_names import NAME_LANGUAGES, EntityName, LocalizedName, NameLanguage
from .issues import ConfigIssue, InvalidConfig
from .loading import CALENDAR_FILE, ORG_FILE, load_calendar, load_org, read_yaml
from .org import Level, OrgChart, OrgPath, entity_key, parse_entity
from .org_document import AgentAssignment, Branch, OrgDocument, Region, Team

__all__ = [
    "CALENDAR_FILE",
    "DEFAULT_TIMEZONE",
    "NAME_LANGUAGES",
    "ORG_FILE",
    "AgentAssignment",
    "Branch",
    "CalendarConfig",
    "ConfigIssue",
    "EntityName",
    "InvalidConfig",
    "Level",
    "LocalizedName",
    "NameLanguage",
    "OrgChart",
    "OrgDocument",
    "OrgPath",
    "Region",
    "Team",
    "entity_key",
    "load_calendar",
    "load_org",
    "parse_entity",
    "read_yaml",
]
