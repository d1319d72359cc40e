"""The organisation as ingest sees it: `org.yaml` with the changes from `kpi.org.v1` on top.

Each change is validated by rebuilding the whole chart, so a change that would leave an agent
in a team that does not exist is refused and the previous chart stays in force.
"""

import copy
import logging
import os
from datetime import date
from typing import Any

from pydantic import ValidationError

from shared.config import OrgChart, OrgPath
from shared.config.issues import path_of
from shared.config.loading import read_yaml
from shared.config.org import parse_entity
from shared.errors import ConfigError, KpiError
from shared.messages.org import ORG_RECORD_MODELS, AgentRecord

logger = logging.getLogger(__name__)

_SECTIONS = {"team": "teams", "branch": "branches", "region": "regions"}


class OrgChangeRejected(KpiError):
    """A `kpi.org.v1` record that cannot be applied; the message says why."""


class OrgDirectory:
    """Resolves an event's owner to its path in the hierarchy on the event's local date."""

    def __init__(self, base_document: dict[str, Any], source: str) -> None:
        self._base = base_document
        self._source = source
        self._overlays: dict[str, dict[str, Any] | None] = {}
        self.chart = OrgChart.from_document(base_document, source=source)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> "OrgDirectory":
        """The directory of an `org.yaml` file with no changes applied yet."""
        document = read_yaml(path)
        if not isinstance(document, dict):
            raise ConfigError(f"{os.fspath(path)}: expected a mapping with company, regions, ...")
        return cls(document, os.fspath(path))

    def resolve_agent(self, agent_id: str, day: date) -> OrgPath | None:
        """The agent's path on a local date, or None if not assigned then."""
        return self.chart.resolve(agent_id, day)

    def knows_agent(self, agent_id: str) -> bool:
        """True when the agent has any assignment, at any date."""
        return bool(self.chart.assignments(agent_id))

    def resolve_branch(self, branch_id: str) -> OrgPath | None:
        """A branch's path, or None if the branch is unknown."""
        return self.chart.branch_path(branch_id)

    def apply(self, key: str, value: bytes | None) -> None:
        """Apply one `kpi.org.v1` record; raise `OrgChangeRejected` and keep the old chart."""
        try:
            level, _ = parse_entity(key)
        except ValueError as exc:
            raise OrgChangeRejected(f"kpi.org.v1 key {key!r}: {exc}") from exc
        model = ORG_RECORD_MODELS.get(level.value)
        if model is None:
            raise OrgChangeRejected(f"kpi.org.v1 key {key!r}: level {level.value} cannot change")
        overlay: dict[str, Any] | None = None
        if value is not None:
            try:
                record = model.model_validate_json(value)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = path_of(first["loc"])
                field = f"{where}: " if where else ""
                raise OrgChangeRejected(f"kpi.org.v1 {key}: {field}{first['msg']}") from exc
            overlay = record.model_dump(mode="json", by_alias=True, exclude_none=True)
        overlays = {**self._overlays, key: overlay}
        try:
            chart = OrgChart.from_document(self._merged(overlays), source=f"kpi.org.v1 {key}")
        except ConfigError as exc:
            raise OrgChangeRejected(str(exc)) from exc
        self._overlays = overlays
        self.chart = chart
        logger.info("applied organisation change %s", key, extra={"org_key": key})

    def _merged(self, overlays: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
        document = copy.deepcopy(self._base)
        for key, overlay in overlays.items():
            level, entity_id = parse_entity(key)
            if overlay is None:
                continue  # a tombstone: the file's entry (if any) stands
            if level.value == "agent":
                record = AgentRecord.model_validate(overlay)
                document["agents"] = [a for a in document["agents"] if a["id"] != entity_id] + [
                    {"id": entity_id, **a.model_dump(mode="json", by_alias=True, exclude_none=True)}
                    for a in record.assignments
                ]
            else:
                section = _SECTIONS[level.value]
                document[section] = [e for e in document[section] if e["id"] != entity_id] + [
                    {"id": entity_id, **overlay}
                ]
        return document
