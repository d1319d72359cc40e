"""The version of the KPI definitions a service has loaded: a content hash and a label.

What is hashed: the parsed YAML of `kpis.yaml`, `targets.yaml` and `scorecards.yaml` (a missing
targets file counts as empty), as one JSON document ``{"kpis": …, "scorecards": …, "targets":
…}`` with keys sorted, no whitespace and non-ASCII kept (UTF-8). Comments, indentation, quoting
style, key order and flow-versus-block style therefore do not change the hash; any change to a
value does, including one that validates to the same thing (``"90"`` for ``90``). The hash is
the first 16 hex digits of the SHA-256 of those bytes. `org.yaml`, `calendar.yaml` and
`alerts.yaml` are not definitions of a KPI and are not hashed.

The label comes from an optional `definitions.yaml` beside them (``label: FY2024 scheme``); it
names the version for people and is not part of the hash.
"""

import hashlib
import json
import os
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.config.issues import ConfigIssue, InvalidConfig, issues_from
from shared.config.loading import read_yaml
from shared.messages.definitions import Definitions

DEFINITIONS_FILE: Final = "definitions.yaml"
HASHED_FILES: Final = {
    "kpis": "kpis.yaml",
    "targets": "targets.yaml",
    "scorecards": "scorecards.yaml",
}
_OPTIONAL: Final = frozenset({"targets"})


def _plain(value: object) -> object:
    # YAML's own types that JSON lacks: timestamps and dates, as ISO text.
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot hash a {type(value).__name__} of a definitions file")


def canonical(documents: Mapping[str, object]) -> bytes:
    """The bytes that are hashed: the documents as sorted, compact UTF-8 JSON."""
    return json.dumps(
        documents, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    ).encode()


def definitions_hash(documents: Mapping[str, object]) -> str:
    """16 hex digits of the SHA-256 of `canonical(documents)`."""
    return hashlib.sha256(canonical(documents)).hexdigest()[:16]


class _LabelDocument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str | None = None


def load_label(path: str | os.PathLike[str]) -> str | None:
    """The `label` of `definitions.yaml` (None without the file or the field); `ConfigError`
    naming the file and field."""
    source = os.fspath(path)
    if not os.path.exists(source):
        return None
    document = read_yaml(source) or {}
    try:
        parsed = _LabelDocument.model_validate(document)
        return Definitions(hash="0" * 16, label=parsed.label).label
    except ValidationError as exc:
        issues = issues_from(exc, allowed_fields={"": ("label",)}, field_help={})
        raise InvalidConfig(
            source,
            [ConfigIssue(issue.path or "label", issue.message) for issue in issues],
        ) from exc


def load_definitions(
    config_dir: str | os.PathLike[str], *, scorecards: str | os.PathLike[str] | None = None
) -> Definitions:
    """The definitions version of a configuration directory; `scorecards` replaces its
    `scorecards.yaml` (a what-if's draft profiles)."""
    directory = Path(config_dir)
    documents: dict[str, object] = {}
    for key, name in HASHED_FILES.items():
        path = (
            Path(scorecards) if key == "scorecards" and scorecards is not None else directory / name
        )
        if key in _OPTIONAL and not path.exists():
            documents[key] = None
            continue
        documents[key] = read_yaml(path)
    return Definitions(
        hash=definitions_hash(documents), label=load_label(directory / DEFINITIONS_FILE)
    )
