"""Code lists in English, Chinese and Japanese mapped to the canonical codes (DESIGN §2).

Upstream systems write codes in their own words: 対面, 面对面 and face-to-face all mean the
channel `face_to_face`. `config/codes.yaml` lists, per code list, each canonical value with its
aliases; `CodeBook.normalise` puts the canonical value in place of an alias before validation,
and leaves any value it does not know as it is, so that validation names it in the dead letter.

Matching ignores case, surrounding spaces and the difference between ' ', '-' and '_' (and the
Unicode dashes ‐ ‑ ‒ – −), after Unicode NFKC, so full-width ＦＡＣＥ－ＴＯ－ＦＡＣＥ matches too.
Every canonical value is an alias of itself.
"""

import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final, overload

from shared.config import ConfigIssue, InvalidConfig, read_yaml
from shared.config.issues import did_you_mean, shown
from shared.events import (
    Channel,
    ComplaintAction,
    ComplaintKind,
    PolicyAction,
    RenewalAction,
    SurveyChannel,
)
from shared.events.fields import CODE_PATTERN

CODES_FILE: Final = "codes.yaml"

# Code list → its enum, or None for an open list whose values are any lower-case code.
CODE_LISTS: Final[Mapping[str, type[StrEnum] | None]] = MappingProxyType(
    {
        "channel": Channel,
        "survey_channel": SurveyChannel,
        "policy_action": PolicyAction,
        "renewal_action": RenewalAction,
        "complaint_kind": ComplaintKind,
        "complaint_action": ComplaintAction,
        "product_line": None,
        "complaint_category": None,
    }
)
# event_type → field → the code list its values come from.
CODED_FIELDS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        "policy": {"action": "policy_action", "channel": "channel", "product_line": "product_line"},
        "renewal": {"action": "renewal_action", "channel": "channel"},
        "complaint": {
            "kind": "complaint_kind",
            "action": "complaint_action",
            "category": "complaint_category",
        },
        # A survey's channel is how it reached the customer, not how the policy was sold.
        "survey": {"channel": "survey_channel"},
    }
)

_SEPARATORS: Final = re.compile(r"[\s_\-\u2010-\u2013\u2212]+")
_CODE: Final = re.compile(CODE_PATTERN)


# Upstream repeats a handful of spellings millions of times; bounded, so odd input cannot grow it.
@lru_cache(maxsize=4096)
def match_key(text: str) -> str:
    """The form two spellings share when they match: NFKC, case-folded, one '_' per separator."""
    # NFKC again after case folding, which can leave a string denormalised (Unicode §3.13).
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return _SEPARATORS.sub("_", folded).strip("_")


@dataclass(frozen=True, slots=True)
class CodeBook:
    """Every code list's aliases by match key; immutable. Build it with `load_codebook`."""

    lists: Mapping[str, Mapping[str, str]]
    """Code list → match key of an alias → canonical value."""

    @classmethod
    def from_document(cls, document: object, *, source: str = CODES_FILE) -> "CodeBook":
        """Validate a parsed codes.yaml (None, an empty file, means canonical spellings only).

        Raises `InvalidConfig` (a `ConfigError`) with one line per problem, each naming the
        file, the code list and the entry.
        """
        if document is None:
            document = {}
        if not isinstance(document, dict):
            expected = ", ".join(CODE_LISTS)
            raise InvalidConfig(
                source,
                [
                    ConfigIssue(
                        "", f"expected a mapping of code lists ({expected}), got {shown(document)}"
                    )
                ],
            )
        issues: list[ConfigIssue] = []
        for name in document:
            if name not in CODE_LISTS:
                issues.append(ConfigIssue(str(name), _unknown_list(name)))
        lists = {
            name: _build_list(name, document.get(name), issues, enum)
            for name, enum in CODE_LISTS.items()
        }
        if issues:
            raise InvalidConfig(source, issues)
        return cls(MappingProxyType({k: MappingProxyType(v) for k, v in lists.items()}))

    def canonical(self, code_list: str, value: str) -> str | None:
        """The canonical value `value` stands for in `code_list`, or None if it is unknown."""
        return self.lists[code_list].get(match_key(value))

    @overload
    def normalise(self, document: dict[str, Any]) -> dict[str, Any]: ...
    @overload
    def normalise(self, document: object) -> object: ...
    def normalise(self, document: object) -> object:
        """A copy of a raw event document with every known alias replaced by its canonical value.

        Only the coded fields of the document's `event_type` change; unknown values, unknown
        event types and anything that is not a JSON object come back as they were, for
        validation to reject with its own reason.
        """
        if not isinstance(document, dict):
            return document
        result = dict(document)
        event_type = result.get("event_type")
        fields = CODED_FIELDS.get(event_type) if isinstance(event_type, str) else None
        for field, code_list in (fields or {}).items():
            value = result.get(field)
            if isinstance(value, str):
                canonical = self.canonical(code_list, value)
                if canonical is not None:
                    result[field] = canonical
        return result


def _unknown_list(name: object) -> str:
    known = list(CODE_LISTS)
    return f"unknown code list{did_you_mean(str(name), known)}; expected one of {', '.join(known)}"


def _canonical_issue(name: str, canonical: object, enum: type[StrEnum] | None) -> str | None:
    if enum is not None:
        values = [member.value for member in enum]
        if canonical in values:
            return None
        return f"{shown(canonical)} is not a {name} value; expected one of {', '.join(values)}"
    if isinstance(canonical, str) and _CODE.match(canonical):
        return None
    return (
        f"{shown(canonical)} is not a valid code; use lower-case letters, digits and '_', "
        "starting with a letter, e.g. personal_accident"
    )


def _build_list(
    name: str, section: object, issues: list[ConfigIssue], enum: type[StrEnum] | None
) -> dict[str, str]:
    """One code list's match keys; problems are appended to `issues`."""
    keys: dict[str, str] = {}
    origin: dict[str, str] = {}  # match key → where it was given, for duplicate messages
    for member in enum or ():
        keys[match_key(member.value)] = member.value
        origin[match_key(member.value)] = f"the canonical value {member.value}"
    if section is None:
        return keys
    if not isinstance(section, dict):
        issues.append(
            ConfigIssue(
                name,
                "expected a mapping of canonical value to a list of aliases, "
                f"e.g. face_to_face: [対面, 面对面], got {shown(section)}",
            )
        )
        return keys
    for canonical, aliases in section.items():
        path = f"{name}.{canonical}"
        problem = _canonical_issue(name, canonical, enum)
        if problem is not None or not isinstance(canonical, str):
            issues.append(ConfigIssue(path, problem or "expected text"))
            continue
        if enum is None:
            _add(keys, origin, issues, alias=canonical, canonical=canonical, where=path)
        if not isinstance(aliases, list):
            issues.append(
                ConfigIssue(
                    path, f"expected a list of aliases, e.g. [対面, 面对面], got {shown(aliases)}"
                )
            )
            continue
        for index, alias in enumerate(aliases):
            where = f"{path}[{index}]"
            if not isinstance(alias, str):
                issues.append(
                    ConfigIssue(
                        where, f"expected text, got {shown(alias)}; quote the alias in YAML"
                    )
                )
            elif not match_key(alias):
                issues.append(
                    ConfigIssue(where, f"alias {alias!r} is empty once spaces, '-' and '_' go")
                )
            else:
                _add(keys, origin, issues, alias=alias, canonical=canonical, where=where)
    return keys


def _add(
    keys: dict[str, str],
    origin: dict[str, str],
    issues: list[ConfigIssue],
    *,
    alias: str,
    canonical: str,
    where: str,
) -> None:
    key = match_key(alias)
    if keys.get(key, canonical) == canonical:
        keys[key] = canonical
        origin.setdefault(key, where)
        return
    read_as = f" (read as {key!r})" if key != alias else ""
    issues.append(
        ConfigIssue(
            where,
            f"alias {alias!r}{read_as} would stand for both {keys[key]} ({origin[key]}) and "
            f"{canonical}; keep it under one of them",
        )
    )


def load_codebook(path: str | os.PathLike[str]) -> CodeBook:
    """Read and validate codes.yaml; `ConfigError` naming the file, the field and the entry."""
    return CodeBook.from_document(read_yaml(path), source=os.fspath(path))
