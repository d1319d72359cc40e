"""The published contract in docs/ matches the models, and names every topic it must."""

import json
from pathlib import Path
from typing import Any, Final

import pytest
import yaml

from shared import contract_docs, topics
from shared.events import MODELS_BY_EVENT_TYPE, KpiEvent
from shared.messages import DeadLetter, Score

DOCS: Final = Path(__file__).resolve().parents[2] / "docs"
SCHEMA_FILES: Final = [
    "policy.v1.json",
    "renewal.v1.json",
    "complaint.v1.json",
    "survey.v1.json",
    "assessment.v1.json",
    "training.v1.json",
    "events.v1.json",
    "deadletter.v1.json",
    "scores.v1.json",
    "alerts.v1.json",
    "scorecards.v1.json",
]


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(contract_docs.build_asyncapi())
    return document


@pytest.mark.parametrize("relative", sorted(contract_docs.rendered_docs(), key=str))
def test_committed_docs_are_current(relative: Path) -> None:
    on_disk = DOCS / relative
    assert on_disk.is_file(), f"{on_disk} is missing; run `make docs`"
    assert on_disk.read_text(encoding="utf-8") == contract_docs.rendered_docs()[relative], (
        f"{on_disk} is stale; run `make docs` and commit the result"
    )


def test_no_leftover_schema_files_and_check_passes() -> None:
    assert contract_docs.stale_docs(DOCS) == []
    assert contract_docs.main(["--check", "--docs-dir", str(DOCS)]) == 0


def test_generation_is_deterministic() -> None:
    assert contract_docs.build_asyncapi() == contract_docs.build_asyncapi()
    assert contract_docs.rendered_docs() == contract_docs.rendered_docs()
    assert all(text.endswith("\n") for text in contract_docs.rendered_docs().values())


def test_asyncapi_names_every_upstream_topic_the_event_and_dead_letter_topics(
    asyncapi: dict[str, Any],
) -> None:
    assert asyncapi["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in asyncapi["channels"].values()}
    assert addresses == {
        *topics.UPSTREAM,
        topics.EVENTS,
        topics.DEADLETTER,
        topics.SCORES,
        topics.ALERTS,
        topics.SCORECARDS,
    }
    assert len(topics.UPSTREAM) == 6


@pytest.mark.parametrize(
    ("topic", "schema_name"),
    [
        *(
            (topic, MODELS_BY_EVENT_TYPE[kind].__name__)
            for kind, topic in topics.UPSTREAM_BY_EVENT_TYPE.items()
        ),
        (topics.EVENTS, KpiEvent.__name__),
        (topics.DEADLETTER, DeadLetter.__name__),
        (topics.SCORES, Score.__name__),
    ],
)
def test_each_channel_carries_its_model(
    asyncapi: dict[str, Any], topic: str, schema_name: str
) -> None:
    channel = asyncapi["channels"][topic]
    message_ref = next(iter(channel["messages"].values()))["$ref"]
    message = asyncapi["components"]["messages"][message_ref.rsplit("/", 1)[1]]
    assert message["payload"] == {"$ref": f"#/components/schemas/{schema_name}"}
    assert schema_name in asyncapi["components"]["schemas"]
    assert channel["description"]


def test_json_schemas_cover_every_message_type() -> None:
    schemas = contract_docs.json_schemas()
    assert list(schemas) == SCHEMA_FILES
    for file_name, schema in schemas.items():
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["additionalProperties"] is False, file_name
    assert schemas["policy.v1.json"]["properties"]["event_type"]["const"] == "policy"
    assert schemas["deadletter.v1.json"]["x-topic"] == topics.DEADLETTER
    assert schemas["events.v1.json"]["x-topic"] == topics.EVENTS
    assert set(schemas["events.v1.json"]["$defs"]) >= {"PolicyEvent", "SurveyEvent", "EventOrg"}
    reasons = schemas["deadletter.v1.json"]["$defs"]["RejectReason"]["enum"]
    assert "too_large" in reasons


def test_check_reports_stale_missing_and_leftover_files_without_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert contract_docs.main(["--check", "--docs-dir", str(tmp_path)]) == 1
    assert list(tmp_path.iterdir()) == []  # --check writes nothing
    written = contract_docs.write_docs(tmp_path)
    assert len(written) == len(SCHEMA_FILES) + 1
    assert contract_docs.main(["--check", "--docs-dir", str(tmp_path)]) == 0

    policy = tmp_path / "schemas" / "policy.v1.json"
    policy.write_text(json.dumps({"stale": True}), encoding="utf-8")
    leftover = tmp_path / "schemas" / "claim.v1.json"
    leftover.write_text("{}", encoding="utf-8")
    capsys.readouterr()
    assert contract_docs.main(["--check", "--docs-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"stale: {policy} (run `make docs`)" in err
    assert f"stale: {leftover} (run `make docs`)" in err
    assert "asyncapi.yaml" not in err

    assert contract_docs.main(["--docs-dir", str(tmp_path)]) == 0
    assert not leftover.exists()
    assert contract_docs.stale_docs(tmp_path) == []
