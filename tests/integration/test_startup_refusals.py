"""A service process refuses to start, naming the fix and never echoing a secret: ingest in
production mode (KPI_LOCAL_STACK=false) without KPI_PHONE_HASH_KEY, and every service whose
configuration directory (files tracked by git) holds a credential. Neither needs a broker:
both stop before anything connects."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
# Built at run time so that this file holds no credential-shaped text.
PASSWORD = "".join(["hunter", "2-", "correct-horse"])


def _serve(name: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Nothing listens on port 1: a service that got as far as connecting would hang or fail
    # differently, never with the message asserted.
    base = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "MONGODB_URI": "mongodb://127.0.0.1:1/?retryWrites=false",
        "KPI_STARTUP_TIMEOUT_S": "5",
    }
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", "serve", name],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


def test_ingest_refuses_production_mode_without_the_phone_hash_key() -> None:
    ran = _serve("ingest", KPI_LOCAL_STACK="false", KPI_PHONE_HASH_KEY="")
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "KPI_PHONE_HASH_KEY is not set" in ran.stdout + ran.stderr


def test_ingest_refuses_a_short_key_without_showing_it() -> None:
    too_short = "tooshort"  # credential-scan: allow (a key too short to be accepted)
    ran = _serve("ingest", KPI_LOCAL_STACK="false", KPI_PHONE_HASH_KEY=too_short)
    assert ran.returncode == 2
    assert "KPI_PHONE_HASH_KEY is too short" in ran.stdout + ran.stderr
    assert too_short not in ran.stdout + ran.stderr


def test_a_credential_in_the_configuration_files_stops_the_service(tmp_path: Path) -> None:
    # Every service checks at build time (tests/unit/test_startup_refusals.py); here one
    # process shows the exit status and the message an operator sees.
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    org = config / "org.yaml"
    lines = org.read_text(encoding="utf-8").splitlines()
    org.write_text(
        "\n".join([*lines, f"# backup: mongodb://kpi:{PASSWORD}@mongo:27017/kpi"]) + "\n",
        encoding="utf-8",
    )

    ran = _serve("scoring", KPI_CONFIG_DIR=str(config))

    output = ran.stdout + ran.stderr
    assert ran.returncode == 2, output
    assert f"org.yaml:{len(lines) + 1}: a URI with a password in it" in output
    assert "Secrets come from the environment only" in output
    assert PASSWORD not in output
