"""Effective-dated survey boxes end to end: one kpis.yaml states the top box from 9 (FY2024)
and from 8 (FY2025 on). A history across the fiscal year's start (Tokyo midnight of 1 April
2025) is replayed through ingest and scoring; every counter equals the reference
recomputation with the old box for answers of FY2024's months and the new one for FY2025's,
and the new box changes FY2025's counts (so the test would see the wrong box)."""

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from services.demo.generator import generate_events, write_jsonl
from shared.config.loading import load_calendar, load_org
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.localstack import LocalStack
from tests.support.config_copies import config_with_agent_share
from tests.support.pipeline_runs import (
    assert_same,
    dead_letters,
    kpi,
    reference,
    scoring_state,
    serve,
    stop,
    wait_idle,
)
from tests.support.reference_scoring import Counters
from tests.support.stack_fixtures import service_env

pytestmark = pytest.mark.e2e

TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2025, 3, 1, tzinfo=TOKYO)
END = datetime(2025, 5, 3, tzinfo=TOKYO)  # March (FY2024) and April (FY2025) close
CALENDAR = FiscalCalendar(load_calendar(Path("config/calendar.yaml")))
OLD = {"survey_top_box": {10: 9, 5: 5, 100: 90}}
NEW = {"survey_top_box": {10: 8, 5: 5, 100: 80}}
TOP_BOX_FROM_8 = {
    "id": "survey_top_box",
    "effective_from": "FY2025",
    "at_least": NEW["survey_top_box"],
}


def _dated(config: Path) -> None:
    kpis = yaml.safe_load((config / "kpis.yaml").read_text(encoding="utf-8"))
    kpis.setdefault("survey_boxes", []).append(TOP_BOX_FROM_8)
    (config / "kpis.yaml").write_text(
        yaml.safe_dump(kpis, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )


def _by_fiscal_year(old: Counters, new: Counters) -> Counters:
    """The top box counts of FY2024's buckets from `old`, FY2025's from `new`; every other
    counter is the same in both."""
    keys = set(old) | set(new)
    merged: Counters = {}
    for key in keys:
        _, bucket, component = key
        source = new if CALENDAR.bucket_fiscal_year(bucket) >= "FY2025" else old
        if component != "survey_top_box":
            assert old.get(key) == new.get(key), key
        if source.get(key):
            merged[key] = source[key]
    return merged


async def test_an_answer_counts_with_the_box_in_force_in_its_month(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    config = config_with_agent_share(tmp_path, 8)
    _dated(config)
    env: dict[str, Any] = service_env(settings) | {"KPI_CONFIG_DIR": str(config)}
    history = tmp_path / "history.jsonl"
    events = list(
        generate_events(load_org(config / "org.yaml"), start=START, end=END, seed=31,
                        events_per_day=60)
    )  # fmt: skip
    write_jsonl(events, history)
    logs = tmp_path / "services.log"
    children = [serve(name, env, logs) for name in ("ingest", "scoring")]
    try:
        published = await asyncio.to_thread(kpi, env, "replay", str(history))
        assert published.returncode == 0, published.stdout + published.stderr
        await wait_idle(env, "ingest", "scoring")
        assert await dead_letters(settings) == []
        old = await reference(settings, CALENDAR, boxes=OLD)
        new = await reference(settings, CALENDAR, boxes=NEW)
        assert_same(await scoring_state(settings), _by_fiscal_year(old, new))
        moved = {
            key
            for key in set(old) | set(new)
            if key[2] == "survey_top_box" and old.get(key) != new.get(key)
        }
        assert any(CALENDAR.bucket_fiscal_year(bucket) == "FY2025" for _, bucket, _ in moved)
    finally:
        stop(children)
