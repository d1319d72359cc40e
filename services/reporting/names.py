"""How an entity is named on the console and in the API: its name from org.yaml, with its id.

`display_name` is the one place the console and the API take names from (`OrgChart.name`:
the language asked for, else English); org.yaml's `name` is optional, so an entity without one
is shown by its id alone.
"""

from shared.config import OrgChart

from .render.entity_label import entity_label
from .render.page import Language


def display_name(org: OrgChart, entity: str, language: Language) -> str | None:
    """The name org.yaml gives a ``LEVEL:ID`` entity in `language` (else its English name),
    None for an entity without a name, an unknown one or a malformed key."""
    return org.name(entity, language)


def labelled(org: OrgChart, entity: str, language: Language) -> str:
    """The entity as a person reads it: ``Yokohama Branch (branch:B03)``, or the id alone
    (`render.entity_label`, as the scorecard writes it)."""
    return entity_label(entity, display_name(org, entity, language))
