"""What is wrong with a configuration document, said so that an operator can fix it.

Every problem becomes one `ConfigIssue` (a field path such as ``agents[3].team`` and a sentence
naming what is wrong and the fix); `InvalidConfig` carries them all and renders one line per
issue, prefixed with the file: ``config/org.yaml: agents[3].team: team 'T99' is not defined
under teams``. List indexes in paths count from 0, as in the YAML list they point into.
"""

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from pydantic import ValidationError

from shared.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a configuration document: where it is and what to do about it."""

    path: str
    message: str

    def render(self, source: str) -> str:
        """The issue as one line: ``source: path: message`` (no path for the whole document)."""
        if self.path:
            return f"{source}: {self.path}: {self.message}"
        return f"{source}: {self.message}"


@dataclass(frozen=True, slots=True)
class ListEntry:
    """Where an entry of a configuration list sits, to name it in messages:
    ``kpis[3] (renewal_rate)``, ``rules[0] (renewal_rate_low)``."""

    list_name: str
    index: int
    entry_id: str | None

    def issue(self, path: str, message: str) -> ConfigIssue:
        where = f"{self.list_name}[{self.index}]"
        if self.entry_id:
            where += f" ({self.entry_id})"
        return ConfigIssue(f"{where}.{path}" if path else where, message)


class InvalidConfig(ConfigError):
    """A configuration document breaks its rules; the message has one line per issue."""

    def __init__(self, source: str, issues: Sequence[ConfigIssue]) -> None:
        self.source = source
        self.issues = tuple(issues)
        super().__init__("\n".join(issue.render(source) for issue in self.issues))


def path_of(loc: Iterable[int | str]) -> str:
    """``("agents", 3, "team")`` → ``agents[3].team``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def shown(value: object) -> str:
    """A value as an operator wrote it, for a message: ``'x'``, ``nothing (null)``, ``a list``…"""
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int | float):
        return f"{value} (a number)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


@dataclass(frozen=True, slots=True)
class FieldHelp:
    """How to write a field correctly: an example value and, optionally, what it means."""

    example: str
    meaning: str = ""


def _help_suffix(help_: FieldHelp | None) -> str:
    if help_ is None:
        return ""
    if help_.meaning:
        return f"; {help_.meaning}"
    return f", e.g. {help_.example}"


@dataclass(frozen=True, slots=True)
class _Error:
    """One pydantic error, with what the message builders need."""

    loc: tuple[int | str, ...]
    name: str
    given: object
    ctx: Mapping[str, Any]
    help: FieldHelp | None

    @property
    def example(self) -> str:
        return f" (e.g. {self.name}: {self.help.example})" if self.help is not None else ""


def _pattern(e: _Error) -> str:
    if e.name == "currency":
        return (
            f"{shown(e.given)} is not an ISO 4217 currency code; use three capital letters, "
            "e.g. 'JPY'"
        )
    if e.name == "phone":
        return (
            f"{shown(e.given)} is not a phone number; use digits with an optional leading '+' "
            "and spaces, '-' or parentheses, e.g. '+81-90-1234-5678'"
        )
    return (
        f"{shown(e.given)} is not a valid id; use letters, digits, '.', '_' or '-', starting "
        "with a letter or digit, at most 64 characters"
    )


def _text(e: _Error) -> str:
    return f"expected text, got {shown(e.given)}; quote it in YAML, e.g. '{e.given}'"


def _whole(e: _Error) -> str:
    return f"expected a whole number, got {shown(e.given)}{e.example}"


def _decimal(e: _Error) -> str:
    return f"expected a decimal number, got {shown(e.given)}{e.example}"


def _date(e: _Error) -> str:
    return f"expected a date written YYYY-MM-DD, got {shown(e.given)}{e.example}"


def _bound(word: str, key: str) -> Callable[[_Error], str]:
    def build(e: _Error) -> str:
        return f"must be {word} {e.ctx.get(key)} (got {e.given}){_help_suffix(e.help)}"

    return build


def _list(e: _Error) -> str:
    return f"expected a list (one '- ' item per line), got {shown(e.given)}{e.example}"


def _mapping(e: _Error) -> str:
    return f"expected a mapping of fields, got {shown(e.given)}"


def _missing(e: _Error) -> str:
    return f"required field is missing; add it{e.example}"


def _empty(e: _Error) -> str:
    return f"must not be empty; add at least one entry{e.example}"


def _short_text(e: _Error) -> str:
    return f"must not be empty; write the text or remove the field{e.example}"


_BUILDERS: Mapping[str, Callable[[_Error], str]] = {
    "missing": _missing,
    "string_type": _text,
    "string_pattern_mismatch": _pattern,
    "int_type": _whole,
    "int_parsing": _whole,
    "int_from_float": _whole,
    "decimal_type": _decimal,
    "decimal_parsing": _decimal,
    "finite_number": _decimal,
    "date_type": _date,
    "date_parsing": _date,
    "date_from_datetime_parsing": _date,
    "date_from_datetime_inexact": _date,
    "greater_than": _bound("greater than", "gt"),
    "greater_than_equal": _bound("at least", "ge"),
    "less_than_equal": _bound("at most", "le"),
    "list_type": _list,
    "tuple_type": _list,
    "dict_type": _mapping,
    "model_type": _mapping,
    "model_attributes_type": _mapping,
    "too_short": _empty,
    "string_too_short": _short_text,
}


def describe_error(
    error: Mapping[str, Any],
    *,
    allowed_fields: Mapping[str, Collection[str]],
    field_help: Mapping[str, FieldHelp],
) -> ConfigIssue:
    """Turn one pydantic error into an issue an operator can act on.

    `allowed_fields` maps a section (the first path element, or ``""`` for the top level) to
    the field names allowed there, to suggest a spelling for an unknown field; `field_help`
    maps a field name to an example of a valid value and what it means.
    """
    loc = tuple(error["loc"])
    name = next((part for part in reversed(loc) if isinstance(part, str)), "")
    kind = error["type"]
    if kind == "extra_forbidden":
        # The innermost enclosing field with its own list of fields (a `name` mapping inside
        # an entry), else the entry's section.
        parents = [part for part in loc[:-1] if isinstance(part, str)]
        nested = next((part for part in reversed(parents[1:]) if part in allowed_fields), None)
        section = nested or (loc[0] if len(loc) > 1 and isinstance(loc[0], str) else "")
        allowed = sorted(allowed_fields.get(section, ()))
        close = get_close_matches(name, allowed, n=1) or [a for a in allowed if name in a]
        hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed)
        return ConfigIssue(
            path_of(loc), f"unknown field; remove it or correct the spelling ({hint})"
        )
    builder = _BUILDERS.get(kind)
    if builder is None:
        return ConfigIssue(path_of(loc), str(error["msg"]))
    details = _Error(loc, name, error.get("input"), error.get("ctx") or {}, field_help.get(name))
    return ConfigIssue(path_of(loc), builder(details))


def issues_from(
    exc: ValidationError,
    *,
    allowed_fields: Mapping[str, Collection[str]],
    field_help: Mapping[str, FieldHelp],
) -> list[ConfigIssue]:
    """Every error of a pydantic validation as an issue, in document order."""
    return [
        describe_error(error, allowed_fields=allowed_fields, field_help=field_help)
        for error in exc.errors(include_url=False)
    ]


def did_you_mean(name: str, known: Collection[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or nothing."""
    close = get_close_matches(name, sorted(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_kpi(kpi: str, kpi_ids: Collection[str]) -> str:
    """The message for a KPI id the catalogue does not define."""
    return f"unknown KPI {kpi!r}{did_you_mean(kpi, kpi_ids)}; use an id defined in kpis.yaml"
