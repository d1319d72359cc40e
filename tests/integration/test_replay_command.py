"""`kpi replay FILE.jsonl` against the real broker: sends what it can, reports the rest by line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared import topics
from shared.settings import Settings
from tests.support.stack_fixtures import service_env
from tests.support.topics_io import read_until

pytestmark = pytest.mark.integration


def test_replay_reports_bad_lines_with_their_numbers_and_sends_the_rest(
    settings: Settings, tmp_path: Path, unique: str
) -> None:
    good = {"event_type": "training", "event_id": f"replay-{len(unique)}", "agent_id": "A0001"}
    lines = [
        json.dumps(good),
        "{not json",
        "",
        json.dumps([1, 2]),
        json.dumps({"event_type": "claim", "event_id": "x"}),
        json.dumps({**good, "event_type": "policy"}),
    ]
    file = tmp_path / "events.jsonl"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "replay", str(file)],
        env=service_env(settings),
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1, "a file with bad lines is not a clean replay"
    assert done.stdout.strip().splitlines()[-1] == "sent 2, failed 3"
    assert "line 2: not valid JSON" in done.stderr
    assert "line 4: an event is a JSON object" in done.stderr
    assert "line 5: event_type 'claim' is not one of policy" in done.stderr


async def test_replayed_lines_land_on_the_topic_of_their_event_type(
    settings: Settings, tmp_path: Path
) -> None:
    marker = "replay-topic-check"
    file = tmp_path / "one.jsonl"
    file.write_text(json.dumps({"event_type": "survey", "event_id": marker}) + "\n")
    done = subprocess.run(  # noqa: ASYNC221 - the command under test, run to completion
        [sys.executable, "-m", "services.cli.main", "replay", str(file)],
        env=service_env(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    def found(records: list[object]) -> bool:
        return any(marker.encode() in r.value for r in records)  # type: ignore[attr-defined]

    records = await read_until(settings, [topics.SURVEY], found)
    assert found(records)
