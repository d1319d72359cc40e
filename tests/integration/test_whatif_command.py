"""`kpi whatif` on the real local database: the scoring service applies the read-model scenario
to `MongoStateStore` (agent A1's satisfaction 80 in May 2024), and the command, a process of its
own, reads scoring's read model and prints the draft's scorecards beside the official ones with
exact figures (`tests/support/whatif_case.py`), leaving no scorecard behind."""

import asyncio
import csv
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.scoring.mongo_store import MongoStateStore
from shared.kpi.config import load_kpi_config
from shared.settings import Settings
from tests.support.score_queries_contract import apply_scenario
from tests.support.stack_fixtures import service_env
from tests.support.whatif_case import company_config, draft_profiles

pytestmark = pytest.mark.integration


def _whatif(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", "whatif", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


async def test_whatif_prints_official_and_draft_scorecards_from_the_read_model(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]], tmp_path: Path, unique: str
) -> None:
    config_dir = company_config(tmp_path)
    config = load_kpi_config(config_dir)
    database = "w_" + unique.removeprefix("test_")[:50]
    state = MongoStateStore(mongo_client, database)
    await state.ensure_schema()
    await apply_scenario(state, config)
    draft = draft_profiles(tmp_path)
    env = service_env(settings) | {"KPI_CONFIG_DIR": str(config_dir), "MONGODB_DATABASE": database}
    try:
        table, as_csv = await asyncio.gather(
            asyncio.to_thread(_whatif, env, "--profiles", str(draft), "--period", "2024-05"),
            asyncio.to_thread(
                _whatif, env, "--profiles", str(draft), "--period", "2024-05", "--format", "csv"
            ),
        )
        default = await asyncio.to_thread(_whatif, env, "--profiles", str(draft))
        collections = set(await mongo_client[database].list_collection_names())
    finally:
        await mongo_client.drop_database(database)

    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    clerk = next(line for line in lines if line.startswith("agent:A1 "))
    assert clerk.split() == [
        "agent:A1", "renewal_clerk", "14.12", "needs_improvement", "renewal_clerk", "15.00",
        "qualified", "+0.88", "up",
    ]  # fmt: skip
    assert lines[-6] == (
        "period 2024-05: 8 entities compared, 1 grades change (1 up, 0 down), 1 final scores differ"
    )
    assert lines[-4] == "draft grades:    excellent 0, qualified 1, needs_improvement 7"
    assert lines[-3] == f"official definitions: {config.definitions.hash} (demo scheme 1)"

    assert as_csv.returncode == 0, as_csv.stderr
    rows = {row["entity"]: row for row in csv.DictReader(io.StringIO(as_csv.stdout))}
    assert len(rows) == 8
    assert (rows["branch:B01"]["official_score"], rows["branch:B01"]["difference"]) == (
        "9.41",
        "0.00",
    )
    assert rows["agent:A1"]["difference"] == "0.88"
    assert sum(1 for row in rows.values() if row["grade_change"]) == 1

    assert default.returncode == 0, default.stderr
    assert "period 2024-04: 8 entities compared, 0 grades change" in default.stdout
    assert not {"scorecards", "reporting_state"} & collections  # nothing stored
