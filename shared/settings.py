"""Configuration as validated data: every endpoint and secret comes from the environment.

Names follow DESIGN §11 (`KAFKA_BOOTSTRAP_SERVERS`, `MONGODB_URI`, `KPI_CONFIG_DIR`,
`KPI_PHONE_HASH_KEY`, `KPI_STATE_DIR`). Nothing is read at import time; call `load_settings()`.
"""

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

SERVICE_NAMES: tuple[str, ...] = ("ingest", "scoring", "alerts", "reporting")


class Settings(BaseSettings):
    """Settings shared by every service and the `kpi` command."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, validation_alias="KAFKA_SASL_MECHANISM"
    )
    kafka_sasl_username: str | None = Field(default=None, validation_alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr | None = Field(
        default=None, validation_alias="KAFKA_SASL_PASSWORD"
    )
    kafka_ssl_cafile: Path | None = Field(default=None, validation_alias="KAFKA_SSL_CAFILE")
    kafka_idempotent_producer: bool = Field(
        default=False,
        validation_alias="KAFKA_IDEMPOTENT_PRODUCER",
        description="Enable on real Kafka; the local Tansu broker rejects InitProducerId.",
    )
    kafka_session_timeout_ms: int = Field(
        default=10_000, ge=1_000, validation_alias="KAFKA_SESSION_TIMEOUT_MS"
    )
    topic_partitions: int = Field(default=6, ge=1, le=1000, validation_alias="KPI_PARTITIONS")

    mongodb_uri: SecretStr = Field(
        default=SecretStr("mongodb://127.0.0.1:27017/?retryWrites=false"),
        validation_alias="MONGODB_URI",
    )
    mongodb_database: str = Field(default="kpi", validation_alias="MONGODB_DATABASE")

    config_dir: Path = Field(default=Path("config"), validation_alias="KPI_CONFIG_DIR")
    runbooks_dir: Path = Field(
        default=Path("docs/runbooks"),
        validation_alias="KPI_RUNBOOKS_DIR",
        description="Where reporting's console finds the runbooks the alerts link to.",
    )
    state_dir: Path = Field(default=Path(".kpi"), validation_alias="KPI_STATE_DIR")
    phone_hash_key: SecretStr | None = Field(default=None, validation_alias="KPI_PHONE_HASH_KEY")
    dedup_horizon_days: int = Field(
        default=35,
        ge=1,
        le=3650,
        validation_alias="KPI_DEDUP_HORIZON_DAYS",
        description="How long ingest remembers an accepted (source, event_id).",
    )
    local_stack: bool = Field(
        default=True,
        validation_alias="KPI_LOCAL_STACK",
        description="True when running against the embedded local stack (relaxes secrets).",
    )

    http_host: str = Field(default="127.0.0.1", validation_alias="KPI_HTTP_HOST")
    http_port_base: int = Field(
        default=8101,
        ge=1,
        le=65531,
        validation_alias="KPI_HTTP_PORT_BASE",
        description="ingest listens on the base port, scoring +1, alerts +2, reporting +3.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias="KPI_LOG_LEVEL"
    )
    readiness_timeout_s: float = Field(
        default=2.0, gt=0, le=30, validation_alias="KPI_READINESS_TIMEOUT_S"
    )
    startup_timeout_s: float = Field(
        default=120.0,
        gt=0,
        validation_alias="KPI_STARTUP_TIMEOUT_S",
        description="How long a starting service waits for Kafka before it gives up.",
    )
    shutdown_timeout_s: float = Field(
        default=8.0, gt=0, le=60, validation_alias="KPI_SHUTDOWN_TIMEOUT_S"
    )
    metric_levels: str = Field(
        default="company,region,branch",
        validation_alias="KPI_METRIC_LEVELS",
        description="Entity levels whose KPI values the alerts service exports as gauges.",
    )
    alerts_tick_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        validation_alias="KPI_ALERTS_TICK_S",
        description="How often alerts checks staleness and refreshes the rolling-window gauges.",
    )

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _servers_have_ports(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port...], got {value!r}")
        return value

    @field_validator("mongodb_uri")
    @classmethod
    def _uri_is_mongodb(cls, value: SecretStr) -> SecretStr:
        scheme = urlsplit(value.get_secret_value()).scheme
        if scheme not in {"mongodb", "mongodb+srv"}:
            raise ValueError("expected a mongodb:// or mongodb+srv:// URI")
        return value

    reporting_tick_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        validation_alias="KPI_REPORTING_TICK_S",
        description="How often reporting checks the close clock for periods to close or revise.",
    )
    scoring_max_batch: int = Field(
        default=50_000,
        ge=100,
        le=500_000,
        validation_alias="KPI_SCORING_MAX_BATCH",
        description=(
            "The most canonical events scoring reads and commits at once (it cuts smaller "
            "ones when a commit is too long for the database). Bounds scoring's memory in a "
            "backlog of any size: about 2 KiB an event, 100 MiB at the default."
        ),
    )
    scoring_cache_mb: int = Field(
        default=128,
        ge=0,
        le=65_536,
        validation_alias="KPI_SCORING_CACHE_MB",
        description=(
            "MiB of counter and record documents (their BSON) scoring keeps in memory between "
            "batches, so that a batch does not read back what it wrote; 0 reads every one. "
            "Scoring's memory is bounded by this and a batch (KPI_SCORING_MAX_BATCH)."
        ),
    )
    gc_young_threshold: int = Field(
        default=50_000,
        ge=0,
        le=10_000_000,
        validation_alias="KPI_GC_YOUNG_THRESHOLD",
        description=(
            "Allocations between two collections of Python's youngest generation in a service "
            "(the first figure of gc.set_threshold); 0 keeps Python's default of 700, which "
            "spent about a third of the time of decoding a batch in the cycle collector."
        ),
    )
    scoring_summary_s: float = Field(
        default=2.0,
        ge=0,
        le=300,
        validation_alias="KPI_SCORING_SUMMARY_S",
        description=(
            "Live, scoring publishes the months a batch changed at once, and their quarters, "
            "halves, years and the later months a prefix sum reaches at most this often."
        ),
    )
    scoring_flush_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        validation_alias="KPI_SCORING_FLUSH_S",
        description=(
            "While scoring catches up, how often it publishes the score updates of what it "
            "applied (once caught up it publishes after every batch)."
        ),
    )
    idle_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=86_400,
        validation_alias="KPI_IDLE_TIMEOUT_S",
        description=(
            "Wall-clock seconds after which an input channel or partition with no new record "
            "stops holding the low watermark (event time) back."
        ),
    )

    stall_timeout_s: float = Field(
        default=60.0,
        ge=2,
        le=3600,
        validation_alias="KPI_STALL_TIMEOUT_S",
        description=(
            "Seconds a consumer may leave records waiting on an assigned partition without "
            "processing any before /readyz answers 503 and kpi_consumer_stalled turns 1."
        ),
    )

    @field_validator("metric_levels")
    @classmethod
    def _bounded_levels(cls, value: str) -> str:
        levels = [level.strip() for level in value.split(",") if level.strip()]
        allowed = ("company", "region", "branch", "team")
        for level in levels:
            if level not in allowed:
                raise ValueError(
                    f"unknown or unbounded level {level!r}: choose from {', '.join(allowed)} "
                    "(agent-level values travel on kpi.scores.v1, never as Prometheus labels)"
                )
        return ",".join(levels)

    def metric_level_set(self) -> frozenset[str]:
        """The levels of `KPI_METRIC_LEVELS` (company, region, branch by default)."""
        return frozenset(self.metric_levels.split(",")) - {""}

    def http_port_for(self, service: str) -> int:
        """The HTTP port of a service: `KPI_HTTP_PORT_BASE` plus its place in the flow."""
        return self.http_port_base + SERVICE_NAMES.index(service)

    def kafka_endpoint(self) -> tuple[str, int]:
        """Host and port of the first bootstrap server (where the local broker listens)."""
        host, _, port = self.kafka_bootstrap_servers.split(",")[0].strip().rpartition(":")
        return host, int(port)

    def mongodb_endpoint(self) -> tuple[str, int]:
        """Host and port of the first MongoDB host (where the local database listens)."""
        netloc = urlsplit(self.mongodb_uri.get_secret_value()).netloc
        hosts = netloc.rpartition("@")[2]
        first = hosts.split(",")[0]
        host, sep, port = first.rpartition(":")
        return (host, int(port)) if sep else (first, 27017)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise `ConfigError` naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid environment: {problems}") from exc
