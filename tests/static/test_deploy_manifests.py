"""The production deployment in deploy/ hangs together, checked offline (no Docker engine, no
cluster): the image installs from the lock, compose wires existing files and real settings,
every dashboard query parses and names a metric the code exports, every Kubernetes document
is complete, probes the right port and covers every topic, and the optional single-sign-on
overlay lets people reach the console only through its authenticating proxy."""

import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from services.alerts.metrics import AlertGauges, AlertsMetrics, KpiGauges
from services.ingest.metrics import IngestMetrics
from services.scoring.metrics import ScoringMetrics
from shared import topics
from shared.metrics import FrameMetrics
from shared.settings import SERVICE_NAMES, Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
COMPOSE_DIR = DEPLOY / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
GRAFANA = DEPLOY / "grafana"
KUBERNETES = DEPLOY / "kubernetes"
# The optional overlay that puts the console behind single sign-on (docs/deploy.md); kustomize
# refuses an overlay inside its base's directory, so it sits beside it.
KUBERNETES_SSO = DEPLOY / "kubernetes-sso"
MANIFEST_DIRS = ("docker", "compose", "grafana", "kubernetes", "kubernetes-sso")
MANIFEST_SUFFIXES = {".yml", ".yaml", ".json"}

# Every variable the services read (shared/settings.py), by its environment name.
SETTING_NAMES = frozenset(str(field.validation_alias) for field in Settings.model_fields.values())
DEFAULT_PORTS = {name: Settings().http_port_for(name) for name in SERVICE_NAMES}
# Series Prometheus makes itself rather than scrapes from the services.
PROMETHEUS_BUILTINS = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE"})
# Grafana's own variables, replaced by durations before promtool sees a query.
GRAFANA_DURATIONS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
PROMQL_WORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
    | {"and", "or", "unless", "atan2", "inf", "nan"}
)


def _manifests() -> list[Path]:
    return sorted(
        path
        for folder in MANIFEST_DIRS
        for path in (DEPLOY / folder).rglob("*")
        if path.is_file() and path.suffix in MANIFEST_SUFFIXES
    )


def _documents(path: Path) -> list[Any]:
    if path.suffix == ".json":
        return [json.loads(path.read_text())]
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


def _kubernetes() -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, doc)
        for path in sorted(KUBERNETES.rglob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in _documents(path)
    ]


def _kinds(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in _kubernetes() if doc.get("kind") == kind]


def _tool(name: str) -> str | None:
    """A command-line tool; missing is a skip on a workstation and a failure in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed: run `make tools`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


# --- every file parses ---------------------------------------------------------------------


def test_deploy_holds_the_expected_manifests() -> None:
    names = {path.relative_to(DEPLOY).as_posix() for path in _manifests()}
    for expected in (
        "compose/docker-compose.yml",
        "grafana/provisioning/datasources/prometheus.yml",
        "grafana/provisioning/dashboards/kpi.yml",
        "grafana/dashboards/kpi-overview.json",
        "grafana/dashboards/pipeline-health.json",
        "kubernetes/kustomization.yaml",
    ):
        assert expected in names, f"deploy/{expected} is missing"


@pytest.mark.parametrize("path", _manifests(), ids=lambda path: path.relative_to(DEPLOY).as_posix())
def test_manifest_parses(path: Path) -> None:
    documents = _documents(path)
    assert documents, f"{path.relative_to(ROOT)} holds no document"
    assert all(isinstance(doc, dict) for doc in documents), path


# --- the image -----------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_installs_from_the_lock_without_the_local_stand_ins() -> None:
    runs = [args for op, args in _dockerfile_instructions() if op == "RUN"]
    syncs = [args for args in runs if "uv sync" in args]
    assert syncs, "the Dockerfile never runs `uv sync`"
    for sync in syncs:
        assert "--frozen" in sync, f"uv sync without --frozen re-resolves the lock: {sync}"
        assert "--no-default-groups" in sync, f"uv sync installs the default groups: {sync}"
    assert any("--no-editable" in sync for sync in syncs)
    # --no-default-groups drops the local stand-ins only while they are a default group.
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r"default-groups\s*=\s*\[[^\]]*\"localstack\"", pyproject)


def test_dockerfile_runs_kpi_as_a_non_root_user_with_a_health_check() -> None:
    instructions = _dockerfile_instructions()
    ops = dict(instructions)  # the last of each instruction wins, as in the final stage
    arguments = dict(args.split("=", 1) for op, args in instructions if op == "ARG" and "=" in args)
    bases = {
        re.sub(r"\$\{(\w+)\}", lambda m: arguments[m[1]], args.split()[0])
        for op, args in instructions
        if op == "FROM"
    }
    assert bases == {"python:3.11-slim"}, bases
    user = ops["USER"].split(":")[0]
    assert user not in {"root", "0"}, "the image must not run as root"
    assert json.loads(ops["ENTRYPOINT"]) == ["kpi"]
    assert json.loads(ops["CMD"]) == ["serve", "ingest"]
    assert "healthcheck.py" in ops["HEALTHCHECK"]
    exposed = {int(port) for port in ops["EXPOSE"].split()}
    assert exposed == set(DEFAULT_PORTS.values())


def test_dockerfile_copies_only_files_that_exist_and_are_not_ignored() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for op, args in _dockerfile_instructions():
        if op != "COPY" or args.startswith("--from"):
            continue
        *sources, _ = args.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            top = source.split("/")[0]
            assert top not in ignored or f"!{source}" in ignored, f".dockerignore drops {source}"
    for needed in (".git", ".venv", ".kpi", "**/.env", "tests"):
        assert needed in ignored, f".dockerignore should exclude {needed}"


def test_healthcheck_probes_the_port_of_the_served_service() -> None:
    spec = importlib.util.spec_from_file_location(
        "healthcheck", DEPLOY / "docker" / "healthcheck.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["/app/.venv/bin/python", "/app/.venv/bin/kpi", "serve", "reporting"]
    assert module._served(argv) == ("reporting", None)
    assert module._served([*argv, "--port", "9000"]) == ("reporting", 9000)
    assert module._served(["kpi", "serve", "scoring", "--port=9001"]) == ("scoring", 9001)


# --- docker compose ------------------------------------------------------------------------


def _mount_source(volume: str | dict[str, Any]) -> str:
    return str(volume["source"]) if isinstance(volume, dict) else volume.split(":")[0]


def test_compose_runs_every_piece() -> None:
    services = _compose()["services"]
    for name in (
        *SERVICE_NAMES,
        "kafka",
        "kafka-topics",
        "mongo",
        "mongo-init",
        "prometheus",
        "alertmanager",
        "grafana",
    ):
        assert name in services, f"docker-compose.yml has no service {name}"
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    mongod = " ".join(services["mongo"]["command"])
    assert "--replSet" in mongod, "MongoDB transactions need a replica set"


def test_compose_refers_only_to_files_that_exist() -> None:
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = _mount_source(volume)
            if source.startswith((".", "/")):
                assert (COMPOSE_DIR / source).exists(), f"{name} mounts missing {source}"
        build = service.get("build")
        if build:
            context = COMPOSE_DIR / build["context"]
            assert context.is_dir(), f"{name}: no build context {context}"
            assert (context / build["dockerfile"]).resolve() == DOCKERFILE


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_compose_app_service_reads_only_real_settings(name: str) -> None:
    service = _compose()["services"][name]
    assert service["command"] == ["serve", name]
    environment = service["environment"]
    unknown = sorted(set(environment) - SETTING_NAMES)
    assert not unknown, f"{name} sets variables shared/settings.py does not read: {unknown}"
    assert environment["KPI_LOCAL_STACK"] == "false"
    assert environment["KPI_HTTP_HOST"] == "0.0.0.0"
    port = int(environment["KPI_HTTP_PORT_BASE"]) + SERVICE_NAMES.index(name)
    published = {int(str(mapping).rsplit(":", 1)[1]) for mapping in service["ports"]}
    assert published == {port}, f"{name} listens on {port}, compose publishes {published}"


def test_compose_secrets_come_from_the_untracked_env_file() -> None:
    lines = COMPOSE_FILE.read_text().splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    environment = _compose()["services"]["ingest"]["environment"]
    for secret in ("KPI_PHONE_HASH_KEY", "MONGODB_URI"):
        assert "${" in environment[secret], f"{secret} must come from the environment, not git"
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert "KPI_PHONE_HASH_KEY" in required
    example = (COMPOSE_DIR / ".env.example").read_text()
    documented = set(re.findall(r"^(\w+)=", example, flags=re.MULTILINE))
    interpolated = set(re.findall(r"\$\{(\w+)", text))
    assert interpolated <= documented, f".env.example lacks {sorted(interpolated - documented)}"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(COMPOSE_DIR / ".env")], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, "deploy/compose/.env must be git-ignored"


def test_prometheus_targets_are_compose_services_on_their_ports() -> None:
    services = _compose()["services"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                if host == "localhost":
                    continue
                assert host in services, f"Prometheus scrapes {target}: no such compose service"
                if host in SERVICE_NAMES:
                    assert int(port) == DEFAULT_PORTS[host], target
    for alertmanagers in config["alerting"]["alertmanagers"]:
        for static in alertmanagers["static_configs"]:
            for target in static["targets"]:
                assert target.split(":")[0] in services, target
    mounts = {_mount_source(v): v for v in services["prometheus"]["volumes"]}
    assert "../prometheus" in mounts, "compose Prometheus must use deploy/prometheus"
    assert "../alertmanager" in {_mount_source(v) for v in services["alertmanager"]["volumes"]}


def test_topic_job_creates_every_topic() -> None:
    script = (COMPOSE_DIR / "kafka" / "create-topics.sh").read_text()
    created = {
        match[1]: (match[2], match[3])
        for match in re.finditer(r"^create (\S+) (\S+)(.*)$", script, flags=re.MULTILINE)
    }
    assert set(created) == set(topics.ALL)
    for topic, (partitions, options) in created.items():
        if topic in topics.COMPACTED:
            assert partitions == "1", f"{topic} must have one partition"
            assert "cleanup.policy=compact" in options, f"{topic} must be compacted"
        else:
            assert partitions == '"$PARTITIONS"', topic
    # Scoring's state is rebuilt from kpi.events.v1 (docs/deploy.md, "Topic retention").
    assert "retention.ms=-1" in created[topics.EVENTS][1]


# --- Grafana -------------------------------------------------------------------------------


def _dashboards() -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text())
        for path in sorted((GRAFANA / "dashboards").glob("*.json"))
    }


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def _queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and every query variable of every dashboard."""
    queries: list[tuple[str, str]] = []
    for name, dashboard in _dashboards().items():
        for panel in _panels(dashboard):
            for target in panel.get("targets", []):
                queries.append((f"{name}: {panel['title']}", target["expr"]))
        for variable in dashboard["templating"]["list"]:
            if variable["type"] != "query":
                continue
            query = variable["query"]
            query = query["query"] if isinstance(query, dict) else query
            label_values = re.fullmatch(r"label_values\((.+),\s*\w+\)", query)
            queries.append(
                (f"{name}: ${variable['name']}", label_values[1] if label_values else query)
            )
    return queries


def _promql(expr: str) -> str:
    for variable, duration in GRAFANA_DURATIONS.items():
        expr = expr.replace(variable, duration)
    return expr


def _metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (strings, matchers and label lists removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', _promql(expr))
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    words = re.findall(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()", text)
    return {word for word in words if word.lower() not in PROMQL_WORDS}


def _exported_metrics() -> set[str]:
    """Sample names the services' metric classes export, plus those the rules use or record."""
    registries = [CollectorRegistry() for _ in range(4)]
    FrameMetrics(registries[0], "test", "0")
    IngestMetrics(registries[1])
    ScoringMetrics(registries[2])
    levels = frozenset({"company", "region", "branch"})
    AlertsMetrics(registries[3])
    KpiGauges(registries[3], levels)
    AlertGauges(registries[3], levels, lambda _: None)
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "info": ("_info",),
    }
    names: set[str] = set()
    for family in (family for registry in registries for family in registry.collect()):
        for suffix in suffixes.get(family.type, ("",)):
            names.add(family.name + suffix)
    for path in sorted((DEPLOY / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    names.add(rule["record"])
                names |= _metric_names(rule["expr"])
    return names


def test_dashboards_are_the_two_promised_and_use_the_provisioned_datasource() -> None:
    dashboards = _dashboards()
    assert {d["title"] for d in dashboards.values()} == {"KPI overview", "Pipeline health"}
    assert len({d["uid"] for d in dashboards.values()}) == len(dashboards)
    datasources = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    uids = {
        source["uid"] for source in datasources["datasources"] if source["type"] == "prometheus"
    }
    for name, dashboard in dashboards.items():
        ids = [panel["id"] for panel in _panels(dashboard)]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        for panel in _panels(dashboard):
            for target in panel.get("targets", []):
                assert target["datasource"]["uid"] in uids, f"{name}: {panel['title']}"


def test_dashboards_are_provisioned_from_where_compose_mounts_them() -> None:
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "kpi.yml").read_text())
    mounts = {
        str(volume).split(":")[0]: str(volume).split(":")[1]
        for volume in _compose()["services"]["grafana"]["volumes"]
    }
    assert mounts["../grafana/provisioning"] == "/etc/grafana/provisioning"
    paths = {provider["options"]["path"] for provider in providers["providers"]}
    assert paths == {mounts["../grafana/dashboards"]}


def test_dashboards_cover_kpis_and_pipeline_health() -> None:
    used: dict[str, set[str]] = {}
    for where, expr in _queries():
        used.setdefault(where.split(":")[0], set()).update(_metric_names(expr))
    assert {"kpi_value", "kpi_alert_firing"} <= used["kpi-overview.json"]
    assert {
        "job_topic:kpi_consumer_lag_records:sum",
        "job_reason:kpi_deadletter:rate5m",
        "job:kpi_scoring_batch_seconds:p99_5m",
        "kpi_service_ready",
        "up",
    } <= used["pipeline-health.json"]


def test_dashboard_queries_name_only_exported_metrics() -> None:
    known = _exported_metrics() | PROMETHEUS_BUILTINS
    unknown = {
        f"{where}: {name}"
        for where, expr in _queries()
        for name in _metric_names(expr)
        if name not in known
    }
    assert not unknown, f"dashboards query metrics nothing exports: {sorted(unknown)}"


def test_dashboard_queries_parse(tmp_path: Path) -> None:
    promtool = _tool("promtool")
    assert promtool is not None
    queries = _queries()
    rules = {
        "groups": [
            {
                "name": "grafana-dashboards",
                "rules": [
                    {"record": f"grafana:query_{index}:check", "expr": _promql(expr)}
                    for index, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    for index, (where, expr) in enumerate(queries):
        output = output.replace(f"grafana:query_{index}:check", f"{where}: {expr}")
    assert result.returncode == 0, f"a dashboard query does not parse:\n{output}"


# --- Kubernetes ----------------------------------------------------------------------------


def test_every_kubernetes_document_is_complete() -> None:
    documents = _kubernetes()
    assert documents
    for path, doc in documents:
        where = path.relative_to(KUBERNETES).as_posix()
        assert doc.get("apiVersion"), f"{where}: a document without apiVersion"
        assert doc.get("kind"), f"{where}: a document without kind"
        assert doc.get("metadata", {}).get("name"), f"{where}: {doc.get('kind')} without a name"


def test_kustomization_lists_every_manifest_and_every_config_file() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {
        path.relative_to(KUBERNETES).as_posix()
        for path in KUBERNETES.rglob("*.yaml")
        if path.name != "kustomization.yaml"
    }
    assert listed == on_disk
    generated = {gen["name"]: gen["files"] for gen in kustomization["configMapGenerator"]}
    for files in generated.values():
        for file in files:
            assert (KUBERNETES / file).is_file(), f"configMapGenerator: no file {file}"
    config_files = {(KUBERNETES / file).resolve() for file in generated["kpi-config"]}
    assert config_files == set((ROOT / "config").glob("*.yaml"))


def test_kustomization_builds() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed; the file-by-file checks above still ran")
    result = subprocess.run(
        [kubectl, "kustomize", "--load-restrictor=LoadRestrictionsNone", str(KUBERNETES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    kinds = [doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc]
    assert kinds.count("Deployment") == len(SERVICE_NAMES)


def _deployments() -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in _kinds("Deployment")}


def _env_config() -> dict[str, str]:
    maps = {doc["metadata"]["name"]: doc for doc in _kinds("ConfigMap")}
    data: dict[str, str] = maps["kpi-env"]["data"]
    return data


def test_every_topic_has_a_kafka_topic() -> None:
    declared = {
        doc["spec"].get("topicName", doc["metadata"]["name"]): doc["spec"]
        for doc in _kinds("KafkaTopic")
    }
    assert set(declared) == set(topics.ALL)
    partitions = int(_env_config()["KPI_PARTITIONS"])
    for topic, spec in declared.items():
        if topic in topics.COMPACTED:
            assert spec["partitions"] == 1, topic
            assert spec["config"]["cleanup.policy"] == "compact", topic
        else:
            assert spec["partitions"] == partitions, topic
    assert declared[topics.EVENTS]["config"]["retention.ms"] == -1


def test_kafka_runs_in_kraft_mode_and_mongodb_as_a_replica_set() -> None:
    (kafka,) = _kinds("Kafka")
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    assert "zookeeper" not in kafka["spec"]
    roles = {role for pool in _kinds("KafkaNodePool") for role in pool["spec"]["roles"]}
    assert roles == {"controller", "broker"}
    (mongodb,) = _kinds("MongoDBCommunity")
    assert mongodb["spec"]["type"] == "ReplicaSet"
    assert mongodb["spec"]["members"] >= 3


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_deployment_probes_its_own_port(name: str) -> None:
    deployment = _deployments()[name]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["serve", name]
    port = int(_env_config()["KPI_HTTP_PORT_BASE"]) + SERVICE_NAMES.index(name)
    ports = {entry["name"]: entry["containerPort"] for entry in container["ports"]}
    assert ports == {"http": port}
    for probe, path in (
        ("readinessProbe", "/readyz"),
        ("livenessProbe", "/healthz"),
        ("startupProbe", "/healthz"),
    ):
        get = container[probe]["httpGet"]
        assert get["path"] == path, f"{name} {probe}"
        assert ports.get(get["port"], get["port"]) == port, f"{name} {probe} on the wrong port"
    assert container["resources"]["requests"]["cpu"]
    assert container["resources"]["requests"]["memory"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_deployment_reads_real_settings_and_secrets_by_reference(name: str) -> None:
    (container,) = _deployments()[name]["spec"]["template"]["spec"]["containers"]
    names = set(_env_config()) | {env["name"] for env in container["env"]}
    unknown = sorted(names - SETTING_NAMES)
    assert not unknown, f"{name} sets variables shared/settings.py does not read: {unknown}"
    for env in container["env"]:
        assert "value" not in env, f"{name}: {env['name']} must reference a Secret"
        assert env["valueFrom"]["secretKeyRef"]["name"], env
    assert not _kinds("Secret"), "Secrets are created out of band, never committed"
    secrets = {env["name"] for env in container["env"]}
    assert "MONGODB_URI" in secrets
    assert ("KPI_PHONE_HASH_KEY" in secrets) == (name == "ingest")


def test_only_scoring_and_ingest_scale_out() -> None:
    deployments = _deployments()
    partitions = int(_env_config()["KPI_PARTITIONS"])
    for name in ("ingest", "scoring"):
        assert 1 < deployments[name]["spec"]["replicas"] <= partitions, name
    for name in ("alerts", "reporting"):
        spec = deployments[name]["spec"]
        assert spec["replicas"] == 1, f"{name} must run one replica"
        assert spec["strategy"]["type"] == "Recreate", f"{name} must never run two at once"


def test_every_deployment_has_a_service_and_a_disruption_budget() -> None:
    for kind in ("Service", "PodDisruptionBudget"):
        selectors = {
            doc["metadata"]["name"]: doc["spec"]["selector"].get(
                "matchLabels", doc["spec"]["selector"]
            )
            for doc in _kinds(kind)
        }
        for name, deployment in _deployments().items():
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            selector = selectors.get(name)
            assert selector, f"{name} has no {kind}"
            assert selector.items() <= labels.items(), f"{kind} {name} selects no {name} pod"


def test_prometheus_scrapes_every_pod_with_the_service_as_job() -> None:
    (monitor,) = _kinds("PodMonitor")
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/component"
    selector = monitor["spec"]["selector"]["matchLabels"]
    for name, deployment in _deployments().items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), f"the PodMonitor misses {name}"
        assert labels["app.kubernetes.io/component"] == name
    assert {endpoint["port"] for endpoint in monitor["spec"]["podMetricsEndpoints"]} == {"http"}


def test_prometheus_rule_equals_the_rule_files() -> None:
    (rule,) = _kinds("PrometheusRule")
    groups = [
        group
        for path in sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
    ]
    assert rule["spec"]["groups"] == groups, (
        "monitoring/prometheusrule.yaml is stale: run "
        ".venv/bin/python deploy/kubernetes/monitoring/render_prometheusrule.py"
    )


# --- the console behind single sign-on (deploy/kubernetes-sso) ---------------------------------


def _sso() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted(KUBERNETES_SSO.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in _documents(path)
    ]


def _sso_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in _sso() if doc["kind"] == kind]


def test_the_sso_overlay_lists_its_manifests_over_the_whole_base() -> None:
    kustomization = yaml.safe_load((KUBERNETES_SSO / "kustomization.yaml").read_text())
    on_disk = {p.name for p in KUBERNETES_SSO.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert kustomization["resources"][0] == "../kubernetes"
    assert set(kustomization["resources"][1:]) == on_disk
    assert kustomization["namespace"] == "kpi"
    for doc in _sso():
        assert doc.get("apiVersion"), doc
        assert doc.get("metadata", {}).get("name"), doc
    assert not _sso_kind("Secret"), "Secrets are created out of band, never committed"


def test_the_sso_overlay_builds() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed; the file-by-file checks still ran")
    result = subprocess.run(
        [kubectl, "kustomize", "--load-restrictor=LoadRestrictionsNone", str(KUBERNETES_SSO)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    deployments = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    assert deployments == {*SERVICE_NAMES, "oauth2-proxy"}
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"kpi"}


def _reporting_port() -> int:
    return int(_env_config()["KPI_HTTP_PORT_BASE"]) + SERVICE_NAMES.index("reporting")


def test_the_proxy_signs_people_in_and_forwards_to_reporting_only() -> None:
    (deployment,) = _sso_kind("Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = dict(arg.removeprefix("--").split("=", 1) for arg in container["args"])
    assert args["upstream"] == f"http://reporting.kpi.svc.cluster.local:{_reporting_port()}/"
    assert args["provider"] == "oidc"
    assert args["cookie-secure"] == "true"
    # Nothing of the person's token goes on to reporting, which needs no identity.
    assert args["pass-access-token"] == args["pass-authorization-header"] == "false"
    for env in container["env"]:
        assert "value" not in env, f"{env['name']} must reference a Secret"
        assert env["valueFrom"]["secretKeyRef"]["name"] == "kpi-console-sso"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert args["http-address"].endswith(f":{ports['http']}")
    assert container["readinessProbe"]["httpGet"]["port"] == "http"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    # Not a service of the platform: the PodMonitor of the four services must not scrape it.
    (monitor,) = _kinds("PodMonitor")
    assert not monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for kind in ("Service", "PodDisruptionBudget"):
        (doc,) = _sso_kind(kind)
        selector = doc["spec"]["selector"].get("matchLabels", doc["spec"]["selector"])
        assert selector.items() <= labels.items(), kind


def test_the_ingress_leads_to_the_proxy_never_to_reporting() -> None:
    (ingress,) = _sso_kind("Ingress")
    backends = [
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert backends == ["oauth2-proxy"]
    assert ingress["spec"]["tls"]


def test_only_the_proxy_and_prometheus_reach_reporting() -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in _sso_kind("NetworkPolicy")}
    reporting = _deployments()["reporting"]["spec"]["template"]["metadata"]["labels"]
    guarding = [
        spec
        for spec in policies.values()
        if spec["podSelector"]["matchLabels"].items() <= reporting.items()
    ]
    assert len(guarding) == 1
    (policy,) = guarding
    assert policy["policyTypes"] == ["Ingress"]
    (proxy,) = _sso_kind("Deployment")
    proxy_labels = proxy["spec"]["template"]["metadata"]["labels"]
    sources = [source for rule in policy["ingress"] for source in rule["from"]]
    in_namespace = [s for s in sources if "namespaceSelector" not in s]
    assert [s["podSelector"]["matchLabels"] for s in in_namespace] == [
        {k: v for k, v in proxy_labels.items() if k != "app.kubernetes.io/part-of"}
    ]
    # Prometheus from its own namespace, selected by namespace and pod together.
    for source in sources:
        if "namespaceSelector" in source:
            assert source["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
        assert source.get("ipBlock") is None, "no address range may reach reporting"
    for rule in policy["ingress"]:
        assert [p["port"] for p in rule["ports"]] == ["http"]
