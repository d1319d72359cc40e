"""Generate the published contract: `docs/asyncapi.yaml` and `docs/schemas/*.json`.

Run `python -m shared.contract_docs` (`make docs`) after changing an event or message model;
`--check` writes nothing and exits 1 when a committed file is stale, so CI catches a model
change whose documentation was not regenerated.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

import yaml
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel

from shared import topics
from shared.events import (
    AssessmentEvent,
    ComplaintEvent,
    KpiEvent,
    PolicyEvent,
    RenewalEvent,
    SurveyEvent,
    TrainingEvent,
)
from shared.messages import Alert, DeadLetter, Score, Scorecard

CONTRACT_VERSION: Final = "1.0.0"
DOCS_DIR: Final = Path(__file__).resolve().parent.parent / "docs"
ASYNCAPI_FILE: Final = "asyncapi.yaml"
SCHEMAS_DIR: Final = "schemas"
JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

# Topic, model and the schema file name; one row per published message type.
_MESSAGES: Final[tuple[tuple[str, type[BaseModel], str], ...]] = (
    (topics.POLICY, PolicyEvent, "policy.v1.json"),
    (topics.RENEWAL, RenewalEvent, "renewal.v1.json"),
    (topics.COMPLAINT, ComplaintEvent, "complaint.v1.json"),
    (topics.SURVEY, SurveyEvent, "survey.v1.json"),
    (topics.ASSESSMENT, AssessmentEvent, "assessment.v1.json"),
    (topics.TRAINING, TrainingEvent, "training.v1.json"),
    (topics.EVENTS, KpiEvent, "events.v1.json"),
    (topics.DEADLETTER, DeadLetter, "deadletter.v1.json"),
    (topics.SCORES, Score, "scores.v1.json"),
    (topics.ALERTS, Alert, "alerts.v1.json"),
    (topics.SCORECARDS, Scorecard, "scorecards.v1.json"),
)

_UPSTREAM_NOTE: Final = (
    "Published by upstream systems as UTF-8 JSON, at most 64 KiB, keyed by agent_id (or "
    "branch_id). A record that breaks this schema goes to kpi.deadletter.v1 with a reason."
)
_DEADLETTER_NOTE: Final = (
    "Published by ingest for every record it cannot accept: the reason, a detail naming the "
    "field, where the record came from, and its original bytes in base64."
)
_EVENTS_NOTE: Final = (
    "Published by ingest for every accepted record, keyed by agent_id (or branch_id): the "
    "validated event with code lists mapped to canonical values, occurred_at in UTC (the "
    "original offset in occurred_at_offset), money as decimal strings, phone numbers replaced "
    "by keyed hashes, and the owner's place in the organisation. Consumers de-duplicate by key."
)
_NOTES: Final = {
    topics.SCORES: (
        "Published by scoring after every batch: one message per changed (entity, KPI, "
        "period), keyed by entity. Values are decimal strings, ratios as fractions 0–1, null "
        "when the KPI has no denominator; score_id is deterministic, so consumers drop copies."
    ),
    topics.ALERTS: (
        "Published by alerts, keyed by entity: an alert when it fires, again only when its "
        "severity changes, and once when it resolves. alert_id is deterministic per (rule, "
        "entity, KPI, period); a later episode keeps the id and has a new started_at."
    ),
    topics.SCORECARDS: (
        "Published by reporting, keyed by entity: a provisional scorecard when the period "
        "closes on the fiscal calendar, a revised one (revision + 1) when late events change "
        "its figures, and a final one after the allowed lateness. scorecard_id is "
        "deterministic per (entity, period, profile, revision)."
    ),
}
_DESCRIPTION: Final = (
    "The v1 event contract of the insurance KPI platform. Upstream core-insurance systems "
    "send events to the insurance.*.v1 topics; ingest validates and normalises them, publishes "
    "the canonical events to kpi.events.v1 and sends every record it rejects to "
    "kpi.deadletter.v1. The server address below is the local default; set "
    "KAFKA_BOOTSTRAP_SERVERS for any other cluster."
)


def _first_line(model: type[BaseModel]) -> str:
    return (model.__doc__ or model.__name__).strip().splitlines()[0]


def build_asyncapi() -> str:
    """The AsyncAPI 3.0 document of the upstream, canonical-event and dead-letter topics (YAML)."""
    # Never connected: the broker only collects publishers for the specification.
    broker = KafkaBroker("127.0.0.1:9092", description="Apache Kafka (or any Kafka-wire broker)")
    for topic, model, _ in _MESSAGES:
        if topic == topics.DEADLETTER:
            description = _DEADLETTER_NOTE
        elif topic == topics.EVENTS:
            description = _EVENTS_NOTE
        elif topic in _NOTES:
            description = _NOTES[topic]
        else:
            description = f"{_first_line(model)} {_UPSTREAM_NOTE}"
        broker.publisher(topic, schema=model, title=topic, description=description)
    specification = AsyncAPI(
        broker,
        title="Insurance KPI platform: event contract",
        version=CONTRACT_VERSION,
        description=_DESCRIPTION,
        schema_version="3.0.0",
    ).to_specification()
    # Sorted keys and no line folding keep the file byte-identical between runs.
    return yaml.safe_dump(
        specification.to_jsonable(), sort_keys=True, allow_unicode=True, width=1_000_000
    )


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema (draft 2020-12) per message type, by file name, e.g. `policy.v1.json`."""
    schemas: dict[str, dict[str, Any]] = {}
    for topic, model, file_name in _MESSAGES:
        schema = model.model_json_schema(mode="validation")
        schemas[file_name] = {
            "$schema": JSON_SCHEMA_DIALECT,
            "x-topic": topic,
            **schema,
        }
    return schemas


def _json_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered_docs() -> dict[Path, str]:
    """Every generated file, by path relative to the docs directory, with its exact text."""
    files = {Path(ASYNCAPI_FILE): build_asyncapi()}
    for file_name, schema in json_schemas().items():
        files[Path(SCHEMAS_DIR) / file_name] = _json_text(schema)
    return files


def _unexpected_schemas(docs_dir: Path, expected: dict[Path, str]) -> list[Path]:
    # docs/schemas is wholly generated: a schema no model produces is a leftover of a rename.
    on_disk = sorted((docs_dir / SCHEMAS_DIR).glob("*.json"))
    return [path for path in on_disk if path.relative_to(docs_dir) not in expected]


def stale_docs(docs_dir: Path) -> list[Path]:
    """Files under `docs_dir` that are missing, differ from the models, or are left over."""
    expected = rendered_docs()
    stale = [
        docs_dir / relative
        for relative, text in expected.items()
        if not (docs_dir / relative).is_file()
        or (docs_dir / relative).read_text(encoding="utf-8") != text
    ]
    return stale + _unexpected_schemas(docs_dir, expected)


def write_docs(docs_dir: Path) -> list[Path]:
    """Write every generated file under `docs_dir`, remove left-over schemas; return written."""
    expected = rendered_docs()
    for leftover in _unexpected_schemas(docs_dir, expected):
        leftover.unlink()
    written: list[Path] = []
    for relative, text in expected.items():
        path = docs_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        # newline="\n" keeps the bytes identical on every platform.
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Write the docs, or with `--check` report stale ones and return 1."""
    parser = argparse.ArgumentParser(
        prog="python -m shared.contract_docs", description="Generate the contract docs."
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    parser.add_argument("--docs-dir", type=Path, default=DOCS_DIR, help="default: %(default)s")
    args = parser.parse_args(argv)
    docs_dir: Path = args.docs_dir
    if args.check:
        stale = stale_docs(docs_dir)
        for path in stale:
            sys.stderr.write(f"stale: {path} (run `make docs`)\n")
        return 1 if stale else 0
    for path in write_docs(docs_dir):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
