"""The ingest composition root: configuration is validated when the app is created, with
messages naming the file or variable, and creating the app connects to nothing."""

import shutil
from pathlib import Path
from typing import Final

import pytest

from services.ingest.app import create_app
from shared.errors import ConfigError
from shared.settings import Settings, load_settings
from tests.support.fakes import MemoryClaimStore, RecordingOutput

CONFIG: Final = Path(__file__).resolve().parents[3] / "config"
# Nothing listens on port 1: if creating the app tried to connect, it would fail or hang.
NOWHERE: Final = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
    "MONGODB_URI": "mongodb://127.0.0.1:1/?retryWrites=false",
}
KEY: Final = "0123456789abcdef" * 4  # 64 characters


@pytest.fixture(autouse=True)
def _no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KPI_PHONE_HASH_KEY", raising=False)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the repository's config/ that a test may break."""
    for name in ("calendar.yaml", "codes.yaml", "org.yaml"):
        shutil.copy(CONFIG / name, tmp_path / name)
    return tmp_path


def settings(config_dir: Path = CONFIG, **overrides: object) -> Settings:
    return load_settings(KPI_CONFIG_DIR=config_dir, **NOWHERE, **overrides)


class TestPhoneHashKey:
    def test_outside_the_local_stack_a_missing_key_stops_the_service(self) -> None:
        with pytest.raises(ConfigError) as refused:
            create_app(settings(KPI_LOCAL_STACK=False))

        assert str(refused.value).startswith("KPI_PHONE_HASH_KEY is not set")

    def test_outside_the_local_stack_a_short_key_stops_the_service(self) -> None:
        with pytest.raises(ConfigError) as refused:
            create_app(settings(KPI_LOCAL_STACK=False, KPI_PHONE_HASH_KEY="short"))

        assert str(refused.value).startswith("KPI_PHONE_HASH_KEY is too short (5 bytes)")

    def test_the_key_is_read_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("KPI_PHONE_HASH_KEY", KEY)

        app = create_app(settings(KPI_LOCAL_STACK=False))

        assert app.name == "ingest"

    def test_the_local_stack_runs_without_a_key(self) -> None:
        app = create_app(
            settings(KPI_LOCAL_STACK=True), output=RecordingOutput(), claims=MemoryClaimStore()
        )

        assert app.name == "ingest"


class TestCreation:
    def test_the_app_is_built_outside_an_event_loop_without_connecting(self) -> None:
        # `kpi serve` builds the app first and starts the event loop afterwards.
        app = create_app(settings(KPI_LOCAL_STACK=False, KPI_PHONE_HASH_KEY=KEY))

        assert app.registry.get_sample_value("kpi_ingest_retries_total") == 0.0
        (subscriber,) = app.broker.subscribers
        assert sorted(topic.name for topic in subscriber.topics) == sorted(  # type: ignore[attr-defined]
            [
                "insurance.assessment.v1",
                "insurance.complaint.v1",
                "insurance.policy.v1",
                "insurance.renewal.v1",
                "insurance.survey.v1",
                "insurance.training.v1",
            ]
        )


class TestBadConfiguration:
    def test_a_missing_config_dir_names_the_first_file_it_needs(self, tmp_path: Path) -> None:
        missing = tmp_path / "nowhere"

        with pytest.raises(ConfigError) as refused:
            create_app(settings(missing))

        assert str(refused.value).startswith(f"{missing / 'calendar.yaml'}: file not found")

    def test_a_broken_org_file_is_named_with_the_field(self, config_dir: Path) -> None:
        org = config_dir / "org.yaml"
        org.write_text(
            org.read_text(encoding="utf-8").replace(
                '{id: A0001, team: T01, phone: "+81-90-0000-0001"',
                '{id: A0001, team: T99, phone: "+81-90-0000-0001"',
            ),
            encoding="utf-8",
        )

        with pytest.raises(ConfigError) as refused:
            create_app(settings(config_dir))

        assert str(refused.value) == f"{org}: agents[0].team: team 'T99' is not defined under teams"

    def test_a_broken_calendar_file_is_named_with_the_field(self, config_dir: Path) -> None:
        calendar = config_dir / "calendar.yaml"
        calendar.write_text("fiscal_year_start_month: 13\n", encoding="utf-8")

        with pytest.raises(ConfigError) as refused:
            create_app(settings(config_dir))

        message = str(refused.value)
        assert message.startswith(f"{calendar}: fiscal_year_start_month: ")

    def test_a_broken_code_list_file_is_named(self, config_dir: Path) -> None:
        codes = config_dir / "codes.yaml"
        codes.write_text("channel:\n  face_to_face: [対面\n", encoding="utf-8")

        with pytest.raises(ConfigError) as refused:
            create_app(settings(config_dir))

        assert str(refused.value).startswith(f"{codes}: line ")
        assert "invalid YAML" in str(refused.value)
