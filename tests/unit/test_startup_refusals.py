"""Every service refuses to be built when its configuration directory (files the repository
tracks) holds a credential: the error names the file and line and never the value. Nothing
connects: building a service opens no connection."""

import shutil
from pathlib import Path

import pytest

from services.registry import app_factory
from shared.errors import ConfigError
from shared.settings import SERVICE_NAMES, load_settings

ROOT = Path(__file__).resolve().parents[2]
# Built at run time so that this file holds no credential-shaped text.
PASSWORD = "".join(["hunter", "2-", "correct-horse"])


@pytest.fixture(scope="module")
def config_with_a_password(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = tmp_path_factory.mktemp("leaky") / "config"
    shutil.copytree(ROOT / "config", config)
    alerts = config / "alerts.yaml"
    alerts.write_text(
        alerts.read_text(encoding="utf-8") + f"\n# webhook_password: {PASSWORD}\n",
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_a_service_with_a_credential_in_its_configuration_is_not_built(
    name: str, config_with_a_password: Path
) -> None:
    settings = load_settings(
        KPI_CONFIG_DIR=config_with_a_password,
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        MONGODB_URI="mongodb://127.0.0.1:1/?retryWrites=false",
    )
    with pytest.raises(ConfigError) as refused:
        app_factory(name)(settings)
    message = str(refused.value)
    assert "alerts.yaml:" in message
    assert "a literal value for the secret 'webhook_password'" in message
    assert PASSWORD not in message


def test_the_shipped_configuration_holds_no_credential() -> None:
    settings = load_settings(KPI_CONFIG_DIR=ROOT / "config")
    app_factory("ingest")(settings)  # builds: nothing to refuse
