"""The production deployment kept correct without Docker: docker-compose.yml, the Dockerfile,
.env.example and what deploy/ holds (Caddy, PostgreSQL, Temporal, Prometheus, Grafana), read
and checked against the code they deploy."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

import temporal_client
from codec import new_key, new_key_id
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ALLIANCE_SERVICES = ("worker", "mail-worker", "api", "codec", "inbound")

# Variables the compose file reads for itself or hands to the proxy and the databases, never
# settings of Alliance: none may be given to the worker, the API or the codec server.
COMPOSE_ONLY = {
    "ALLIANCE_PUBLIC_URL",
    "ALLIANCE_OPS_USER",
    "ALLIANCE_OPS_PASSWORD_HASH",
    "ALLIANCE_CODEC_TOKEN",
    "ALLIANCE_GRAFANA_ADMIN_PASSWORD",
    "ALLIANCE_POSTGRES_PASSWORD",
    "ALLIANCE_DIRECTORY_DB_PASSWORD",
    "ALLIANCE_TEMPORAL_CERTS_DIR",
}

# What the API serves on /metrics (api/observability.py).
API_METRICS = {
    "alliance_http_requests_total",
    "alliance_http_request_duration_seconds_bucket",
    "alliance_http_request_duration_seconds_sum",
    "alliance_http_request_duration_seconds_count",
    "alliance_partner_actions_total",
    "alliance_partner_action_duration_seconds_bucket",
    "alliance_partner_action_duration_seconds_sum",
    "alliance_partner_action_duration_seconds_count",
    "alliance_projects",
    "alliance_projects_past_deadline",
}
# What a worker serves on its metrics port: the workflow's counters (workflows/observed.py) and
# Temporal's SDK metrics, in seconds, counters with _total (telemetry.worker_runtime).
WORKER_METRICS = {
    "alliance_answers_recorded_total",
    "alliance_decisions_total",
    "alliance_notifications_failed_total",
    "alliance_partner_actions_recorded_total",
    "temporal_workflow_task_execution_latency_seconds_bucket",
    "temporal_workflow_task_schedule_to_start_latency_seconds_bucket",
    "temporal_activity_execution_latency_seconds_bucket",
    "temporal_activity_schedule_to_start_latency_seconds_bucket",
    "temporal_activity_execution_failed_total",
    "temporal_local_activity_execution_failed_total",
    "temporal_local_activity_execution_latency_seconds_bucket",
    "temporal_workflow_task_execution_failed_total",
    "temporal_num_pollers",
    "temporal_worker_task_slots_available",
    "temporal_sticky_cache_size",
    "temporal_request_total",
    "temporal_request_failure_total",
}
# Temporal server's own metrics used by the dashboard or the alerts: none (its `up` only).
TEMPORAL_SERVER_METRICS: set[str] = set()
KNOWN_METRICS = API_METRICS | WORKER_METRICS | TEMPORAL_SERVER_METRICS
_METRIC = re.compile(r"(?<![A-Za-z0-9_:])((?:alliance|temporal)_[A-Za-z0-9_:]*)")

# The dashboard's panels ops asked for, and a metric each must show.
REQUIRED_PANELS = {
    "Projects by phase": "alliance_projects",
    "Partner actions per second": "alliance_partner_actions_total",
    "Partner action answer latency (p50/p95)": "alliance_partner_action_duration_seconds_bucket",
    "Activity failures": "temporal_activity_execution_failed_total",
    "Notifications failed": "alliance_notifications_failed_total",
    "Projects past their deadline": "alliance_projects_past_deadline",
    "Workflow task latency": "temporal_workflow_task_schedule_to_start_latency_seconds_bucket",
}

_INTERPOLATION = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(ROOT / "docker-compose.yml")


@pytest.fixture(scope="module")
def services(compose) -> dict[str, Any]:
    return compose["services"]


@pytest.fixture(scope="module")
def caddyfile() -> str:
    """The Caddyfile without its comments."""
    text = (DEPLOY / "caddy" / "Caddyfile").read_text()
    return re.sub(r"^\s*#.*$", "", text, flags=re.M)


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads((DEPLOY / "grafana" / "dashboards" / "alliance.json").read_text())


@pytest.fixture(scope="module")
def alerts() -> list[dict[str, Any]]:
    rules = load_yaml(DEPLOY / "prometheus" / "alerts.yml")
    return [rule for group in rules["groups"] for rule in group["rules"]]


def interpolate(value: str, env: dict[str, str]) -> str:
    """What compose makes of a value, given the variables of .env."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        given = env.get(name)
        if operator in (":?", "?") and not given:
            raise KeyError(f"{name}: {argument}")
        if operator == ":-" and not given:
            return argument
        if operator == "-" and given is None:
            return argument
        return given or ""

    return _INTERPOLATION.sub(one, value).replace("$$", "$")


def block(text: str, header: str) -> str:
    """The body of the Caddyfile block opened by `header {` (placeholders are braced too, but
    always in pairs)."""
    start = text.index(header)
    opening = text.index("{", start + len(header))
    depth = 0
    for i in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[opening + 1 : i]
    raise AssertionError(f"unclosed block {header}")


def published(service: dict[str, Any]) -> list[str]:
    return [str(port) for port in service.get("ports", [])]


# -- the compose file as a whole ----------------------------------------------------------------


def test_docker_compose_matches_the_compose_schema():
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(ROOT / "docker-compose.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_image_is_pinned_and_only_alliance_is_built(services):
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name} has no image"
        if "@sha256:" in image:
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image}"
        assert re.search(r"\d+\.\d+", tag) or tag.startswith("RELEASE."), f"{name}: {image}"
        if "build" in service:
            assert name in ALLIANCE_SERVICES and repository == "alliance", name
            assert service["build"] == "."
        else:
            assert name not in ALLIANCE_SERVICES, name
    # Temporal from its own images: the dev server is for the local run only.
    for name, service in services.items():
        assert "start-dev" not in json.dumps(service.get("command", "")), name
    assert services["temporal"]["image"].startswith("temporalio/server:")


def test_the_readme_production_section_names_every_service(services):
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Production.*?$(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert section, "README.md has no section headed '## Production' (docker compose) yet"
    line = next((ln for ln in section.group(1).splitlines() if ln.startswith("Services: ")), None)
    assert line, "the Production section has no 'Services: ' line"
    named = re.findall(r"`([a-z-]+)`", line)
    assert len(named) == len(set(named)), line
    assert set(named) == set(services), set(named) ^ set(services)


def test_alliance_variables_are_settings_or_the_compose_files_own(compose, services):
    settings = {f"ALLIANCE_{name.upper()}" for name in Settings.model_fields}
    assert not COMPOSE_ONLY & settings
    for name, service in services.items():
        for variable in service.get("environment", {}):
            if variable.startswith("ALLIANCE_"):
                assert variable in settings | COMPOSE_ONLY, f"{name}: {variable}"
                if name in ALLIANCE_SERVICES:
                    assert variable in settings, f"{name} is given {variable}, not a setting"
    # Every variable read from .env is a setting passed on, or one of the compose file's own.
    text = (ROOT / "docker-compose.yml").read_text()
    for variable, _, _ in _INTERPOLATION.findall(text):
        if variable.startswith("ALLIANCE_"):
            assert variable in settings | COMPOSE_ONLY, variable


def test_the_worker_and_the_api_share_one_environment(services):
    worker, api = services["worker"]["environment"], services["api"]["environment"]
    # The worker signs the links it e-mails with the API's secret, to the API's address; both
    # use the same directory, archive, keys and Temporal.
    for name in (
        "ALLIANCE_TOKEN_SECRET",
        "ALLIANCE_API_URL",
        "ALLIANCE_UI_URL",
        "ALLIANCE_SMTP_HOST",
        "ALLIANCE_SMTP_PORT",
        "ALLIANCE_SMTP_SECURITY",
        "ALLIANCE_MAIL_FROM",
        "ALLIANCE_ARCHIVE_STORE",
        "ALLIANCE_S3_ENDPOINT_URL",
        "ALLIANCE_S3_BUCKET",
        "ALLIANCE_S3_ACCESS_KEY_ID",
        "ALLIANCE_S3_SECRET_ACCESS_KEY",
        "ALLIANCE_DIRECTORY_URL",
        "ALLIANCE_CODEC_KEYS",
        "ALLIANCE_TEMPORAL_ADDRESS",
        "ALLIANCE_NAMESPACE",
        "ALLIANCE_TASK_QUEUE",
        "ALLIANCE_TEMPORAL_TLS",
        "ALLIANCE_TEMPORAL_TLS_CERT",
        "ALLIANCE_TEMPORAL_TLS_KEY",
        "ALLIANCE_TEMPORAL_TLS_CA",
        "ALLIANCE_TEMPORAL_TLS_SERVER_NAME",
        "ALLIANCE_TEMPORAL_API_KEY",
        "ALLIANCE_LOG_FORMAT",
        "ALLIANCE_OTLP_ENDPOINT",
        "ALLIANCE_DATA_DIR",
    ):
        assert name in worker and worker[name] == api[name], name
    assert services["codec"]["environment"]["ALLIANCE_CODEC_KEYS"] == worker["ALLIANCE_CODEC_KEYS"]
    assert worker["ALLIANCE_TEMPORAL_ADDRESS"] == "${ALLIANCE_TEMPORAL_ADDRESS:-temporal:7233}"
    assert worker["ALLIANCE_API_URL"].startswith("${ALLIANCE_PUBLIC_URL")
    assert worker["ALLIANCE_LOG_FORMAT"] == "json"
    assert worker["ALLIANCE_OTLP_ENDPOINT"] == "${ALLIANCE_OTLP_ENDPOINT:-}"
    # E-mail through Mailpit, the archive in MinIO, the directory in PostgreSQL.
    assert "mailpit" in worker["ALLIANCE_SMTP_HOST"] and "1025" in worker["ALLIANCE_SMTP_PORT"]
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    assert "minio:9000" in worker["ALLIANCE_S3_ENDPOINT_URL"]
    assert "s3" in worker["ALLIANCE_ARCHIVE_STORE"]
    assert worker["ALLIANCE_DIRECTORY_URL"].startswith("postgresql+asyncpg://alliance:")
    assert worker["ALLIANCE_DIRECTORY_URL"].endswith("@postgresql/alliance")
    assert (
        services["postgresql"]["environment"]["DIRECTORY_DB_PASSWORD"]
        in (worker["ALLIANCE_DIRECTORY_URL"])
    )


def test_the_alliance_services_start_with_what_env_example_gives(services, monkeypatch):
    """Every Alliance service's environment, interpolated as compose would with the variables
    .env.example lists (secrets filled in), makes valid settings: JSON where JSON is due, blank
    optional values read as unset."""
    env = {
        name: value.strip("'")
        for name, value in re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", _env_example(), re.M)
    }
    env |= {
        "ALLIANCE_PUBLIC_URL": "https://alliance.example.org",
        "ALLIANCE_TOKEN_SECRET": "a-token-secret",
        "ALLIANCE_CODEC_KEYS": json.dumps({new_key_id(): new_key()}),
        "ALLIANCE_COORDINATOR_CREDENTIALS": '{"coord-1": "mda-lyon8"}',
        "ALLIANCE_CODEC_TOKEN": "0123abcd" * 8,
        "ALLIANCE_DIRECTORY_DB_PASSWORD": "directory-password",
        "ALLIANCE_S3_SECRET_ACCESS_KEY": "s3-secret-key",
    }
    made = {}
    for name in ALLIANCE_SERVICES:
        for variable in list(os.environ):
            if variable.startswith("ALLIANCE_"):
                monkeypatch.delenv(variable)
        for variable, value in services[name]["environment"].items():
            monkeypatch.setenv(variable, interpolate(str(value), env))
        made[name] = Settings(_env_file=None)
    worker, api, codec = made["worker"], made["api"], made["codec"]
    assert worker.worker_metrics_port == 9464 and worker.metrics_host == "0.0.0.0"
    assert worker.otlp_endpoint is None and worker.temporal_tls_cert is None
    assert worker.temporal_api_key is None and worker.smtp_username is None
    assert worker.temporal_address == "temporal:7233"
    assert worker.directory_address == (
        "postgresql+asyncpg://alliance:directory-password@postgresql/alliance"
    )
    assert worker.api_url == api.api_url == "https://alliance.example.org"
    assert api.ui_url == codec.ui_url == "https://alliance.example.org/temporal"
    assert (api.api_host, api.api_port, api.forwarded_allow_ips) == ("0.0.0.0", 8000, "*")
    assert api.coordinator_credentials == {"coord-1": "mda-lyon8"}
    assert [t.get_secret_value() for t in codec.codec_tokens] == [env["ALLIANCE_CODEC_TOKEN"]]
    assert (codec.codec_host, codec.codec_port) == ("0.0.0.0", 8234)
    assert codec.plain_codec_keys() == worker.plain_codec_keys() == api.plain_codec_keys()


def test_compose_interpolations_are_well_formed():
    """`${VAR:?message}` ends at the first `}`: a brace in a message would cut it short."""
    text = (ROOT / "docker-compose.yml").read_text()
    for expression in re.findall(r"\$\{([^}]*)\}", text):
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*(:?[-?][^{}\"]*)?", expression), expression
    assert text.count("${") == len(re.findall(r"\$\{[^}]*\}", text))
    for line in text.splitlines():
        if "${" in line:
            # What a cut message would leave behind: a stray closing brace.
            assert "}" not in re.sub(r"\$\{[^}]*\}", "", line), f"a brace in a message: {line}"


def test_env_example_lists_every_variable_the_compose_file_reads():
    text = (ROOT / "docker-compose.yml").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", _env_example(), re.M))
    used = {variable for variable, _, _ in _INTERPOLATION.findall(text)}
    assert used <= listed, used - listed
    # Each with a comment just above it or in its block, and how to make the secrets.
    for secret in ("python -m codec new-key", "caddy hash-password", "openssl rand -base64 32"):
        assert secret in _env_example(), secret


def _env_example() -> str:
    return (ROOT / ".env.example").read_text()


# -- the services one by one --------------------------------------------------------------------


def test_postgresql_holds_temporal_and_the_contact_directory(services):
    postgresql = services["postgresql"]
    assert postgresql["image"].startswith("postgres:16.")
    assert "pg_isready" in postgresql["healthcheck"]["test"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgresql["volumes"])
    assert "ports" not in postgresql
    init = [v for v in postgresql["volumes"] if "/docker-entrypoint-initdb.d/" in v]
    assert len(init) == 1
    script = ROOT / init[0].split(":")[0]
    sql = script.read_text()
    assert script.stat().st_mode & 0o111, "the init script is executable"
    for statement in (
        "CREATE DATABASE temporal_visibility",
        "CREATE USER alliance",
        "CREATE DATABASE alliance OWNER alliance",
    ):
        assert statement in sql, statement
    assert "$DIRECTORY_DB_PASSWORD" in sql and "DIRECTORY_DB_PASSWORD" in postgresql["environment"]
    assert postgresql["environment"]["POSTGRES_DB"] == "temporal"


def test_temporal_runs_on_postgresql_with_its_schema_set_up_first(services):
    schema, temporal = services["temporal-schema"], services["temporal"]
    assert schema["image"].startswith("temporalio/admin-tools:")
    assert schema["depends_on"]["postgresql"]["condition"] == "service_healthy"
    script = " ".join(schema["entrypoint"] + schema["command"])
    for database, directory in (("temporal", "temporal"), ("temporal_visibility", "visibility")):
        assert f"--db {database} setup-schema -v 0.0" in script
        assert (
            f"--db {database} update-schema -d /etc/temporal/schema/postgresql/v12/{directory}/versioned"
            in script
        )
    assert schema["environment"]["SQL_PLUGIN"] == "postgres12"
    assert temporal["depends_on"]["temporal-schema"]["condition"] == (
        "service_completed_successfully"
    )
    env = temporal["environment"]
    assert env["DB"] == "postgres12" and env["POSTGRES_SEEDS"] == "postgresql"
    assert env["POSTGRES_PWD"] == schema["environment"]["SQL_PASSWORD"]
    assert env["POSTGRES_PWD"] == services["postgresql"]["environment"]["POSTGRES_PASSWORD"]
    assert env["POSTGRES_USER"] == services["postgresql"]["environment"]["POSTGRES_USER"]
    assert env["PROMETHEUS_ENDPOINT"] == "0.0.0.0:8000"
    mounted = {v.split(":")[1]: ROOT / v.split(":")[0] for v in temporal["volumes"]}
    dynamic = mounted[env["DYNAMIC_CONFIG_FILE_PATH"]]
    assert isinstance(load_yaml(dynamic), dict)
    assert "healthcheck" in temporal
    assert all(port.startswith("127.0.0.1:") for port in published(temporal))


def test_temporal_setup_registers_the_same_search_attributes_as_the_code(services):
    setup = services["temporal-setup"]
    assert setup["depends_on"]["temporal"]["condition"] == "service_healthy"
    command = setup["command"]
    names = [command[i + 1] for i, arg in enumerate(command) if arg == "--name"]
    kinds = [command[i + 1] for i, arg in enumerate(command) if arg == "--type"]
    registered = [f"{name}={kind}" for name, kind in zip(names, kinds, strict=True)]
    assert registered == temporal_client.search_attribute_args()[1::2]
    script = "\n".join(setup["entrypoint"])
    assert "temporal operator namespace create" in script
    assert "temporal operator search-attribute create" in script and '"$$@"' in script
    # The retention is stated (and the README says the same).
    assert re.fullmatch(r"\d+d", setup["environment"]["RETENTION"])
    for service in ("worker", "api"):
        condition = services[service]["depends_on"]["temporal-setup"]["condition"]
        assert condition == "service_completed_successfully", service


def test_the_temporal_ui_is_served_under_temporal_with_the_codec_on_the_same_origin(services):
    ui = services["temporal-ui"]["environment"]
    assert ui["TEMPORAL_UI_PUBLIC_PATH"] == "/temporal"
    assert ui["TEMPORAL_CODEC_ENDPOINT"].startswith("${ALLIANCE_PUBLIC_URL")
    assert ui["TEMPORAL_CODEC_ENDPOINT"].endswith("}/codec")
    assert "ports" not in services["temporal-ui"]


def test_the_codec_server_runs_on_its_own_with_the_proxys_token(services):
    codec = services["codec"]
    assert codec["command"] == ["python", "-m", "api.codec_server"]
    assert "ports" not in codec
    env, proxy = codec["environment"], services["proxy"]["environment"]
    assert env["ALLIANCE_CODEC_TOKENS"] == f'["{proxy["ALLIANCE_CODEC_TOKEN"]}"]'
    assert env["ALLIANCE_CODEC_HOST"] == "0.0.0.0"


def test_the_codec_servers_main_serves_on_the_codec_settings(monkeypatch, tmp_path):
    from api import codec_server

    monkeypatch.chdir(tmp_path)  # no .env of a developer's
    monkeypatch.setenv("ALLIANCE_CODEC_KEYS", json.dumps({new_key_id(): new_key()}))
    ran = {}
    monkeypatch.setattr(codec_server.uvicorn, "run", lambda app, **kw: ran.update(app=app, **kw))
    monkeypatch.setattr(codec_server, "configure_logging", lambda s: ran.update(logged=True))
    monkeypatch.setenv("ALLIANCE_CODEC_HOST", "0.0.0.0")
    monkeypatch.setenv("ALLIANCE_CODEC_PORT", "18234")
    codec_server.main()
    assert (ran["host"], ran["port"]) == ("0.0.0.0", 18234)
    assert ran["log_config"] is None and ran["access_log"] is False and ran["logged"]


def test_the_worker_scales(services):
    worker = services["worker"]
    assert worker["command"] == ["python", "-m", "worker"]
    assert "container_name" not in worker and "ports" not in worker
    env = worker["environment"]
    assert env["ALLIANCE_METRICS_HOST"] == "0.0.0.0"
    assert env["ALLIANCE_WORKER_METRICS_PORT"] == "9464"
    assert all("container_name" not in s for n, s in services.items() if n in ALLIANCE_SERVICES)


def test_the_api_runs_replicas_reached_only_through_the_proxy(services, caddyfile):
    api = services["api"]
    assert api["command"] == ["python", "-m", "api"]
    assert api["deploy"]["replicas"] >= 2
    assert "ports" not in api and "container_name" not in api
    env = api["environment"]
    assert env["ALLIANCE_API_HOST"] == "0.0.0.0" and env["ALLIANCE_FORWARDED_ALLOW_IPS"] == "*"
    assert re.search(r"/(readyz|healthz)", " ".join(api["healthcheck"]["test"]))
    upstream = block(caddyfile, "dynamic a")
    assert re.search(r"name api\b", upstream)
    assert re.search(rf"port {env['ALLIANCE_API_PORT']}\b", upstream)
    assert "header_up X-Request-ID {http.request.uuid}" in caddyfile
    # Only the proxy (and the inbound mail service, for its domain's MX) is published beyond
    # this machine.
    for name, service in services.items():
        for port in published(service):
            assert (
                name == "proxy"
                or port.startswith("127.0.0.1:")
                or (name == "inbound" and port == "25:2525")
            ), f"{name}: {port}"
    assert {p.split(":")[0] for p in published(services["proxy"])} == {"80", "443"}


def test_the_proxy_refuses_metrics_and_signs_ops_in(services, caddyfile):
    proxy = services["proxy"]
    assert proxy["image"].startswith("caddy:")
    assert "./deploy/caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert re.search(r"respond (403|404)", block(caddyfile, "handle /metrics*"))
    ops = re.search(r"^\s*@ops path (.+)$", caddyfile, re.M)
    assert ops and {"/temporal", "/temporal/*", "/codec", "/codec/*"} <= set(ops.group(1).split())
    credentials = block(caddyfile, "basic_auth @ops")
    assert credentials.split() == ["{$ALLIANCE_OPS_USER}", "{$ALLIANCE_OPS_PASSWORD_HASH}"]
    assert "reverse_proxy temporal-ui:8080" in block(caddyfile, "handle /temporal*")
    codec = block(caddyfile, "handle_path /codec/*")
    port = services["codec"]["environment"]["ALLIANCE_CODEC_PORT"]
    assert f"reverse_proxy codec:{port}" in codec
    assert 'header_up Authorization "Bearer {env.ALLIANCE_CODEC_TOKEN}"' in codec
    # Every variable the Caddyfile reads is given to the proxy.
    read = set(re.findall(r"\{\$([A-Z_]+)\}|\{env\.([A-Z_]+)\}", caddyfile))
    for variable in {name for pair in read for name in pair if name}:
        assert variable in proxy["environment"], variable


def test_mailpit_and_minio_keep_their_consoles_on_this_machine(compose, services):
    worker = services["worker"]["environment"]
    minio = services["minio"]
    assert minio["image"].startswith("minio/minio:RELEASE.")
    assert minio["environment"]["MINIO_ROOT_PASSWORD"] == worker["ALLIANCE_S3_SECRET_ACCESS_KEY"]
    assert minio["environment"]["MINIO_ROOT_USER"] == worker["ALLIANCE_S3_ACCESS_KEY_ID"]
    assert "archive-data:/data" in minio["volumes"] and "archive-data" in compose["volumes"]
    for name in ("mailpit", "minio", "prometheus", "grafana"):
        assert published(services[name]), name
        assert all(port.startswith("127.0.0.1:") for port in published(services[name])), name
    assert "alliance-data:/data" in services["worker"]["volumes"]


# -- Prometheus, the alerts and Grafana ---------------------------------------------------------


def test_prometheus_scrapes_every_replica(services):
    prometheus = services["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    def found(job: str) -> dict[str, Any]:
        (sd,) = jobs[job]["dns_sd_configs"]
        return sd

    worker = found("alliance-worker")
    assert worker["names"] == ["worker"] and worker["type"] == "A"
    assert str(worker["port"]) == services["worker"]["environment"]["ALLIANCE_WORKER_METRICS_PORT"]
    api = found("alliance-api")
    assert api["names"] == ["api"] and api["type"] == "A"
    assert str(api["port"]) == services["api"]["environment"]["ALLIANCE_API_PORT"]
    assert jobs["alliance-api"].get("metrics_path", "/metrics") == "/metrics"
    temporal = found("temporal")
    assert (
        f"0.0.0.0:{temporal['port']}" == services["temporal"]["environment"]["PROMETHEUS_ENDPOINT"]
    )
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_the_alerts_are_well_formed_and_cover_what_ops_watch(alerts):
    names = [rule["alert"] for rule in alerts]
    assert len(names) == len(set(names))
    for rule in alerts:
        assert set(rule) >= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert re.fullmatch(r"\d+[smhd]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]
    expressions = " ".join(rule["expr"] for rule in alerts)
    for watched in (
        'up{job="alliance-worker"}',
        "alliance_partner_action_duration_seconds_bucket",
        "temporal_activity_execution_failed_total",
        "alliance_notifications_failed_total",
        "alliance_projects_past_deadline",
        "temporal_workflow_task_schedule_to_start_latency_seconds_bucket",
        'alliance_http_requests_total{status=~"5.."}',
    ):
        assert watched in expressions, watched


def test_the_dashboard_and_the_alerts_use_only_metrics_that_are_emitted(dashboard, alerts):
    expressions = [rule["expr"] for rule in alerts] + [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    used = {name for expr in expressions for name in _METRIC.findall(expr)}
    assert used and used <= KNOWN_METRICS, used - KNOWN_METRICS
    # Jobs named in expressions are Prometheus's.
    jobs = {
        job["job_name"]
        for job in load_yaml(DEPLOY / "prometheus" / "prometheus.yml")["scrape_configs"]
    }
    for expr in expressions:
        assert set(re.findall(r'job="([^"]+)"', expr)) <= jobs, expr


def test_grafana_provisions_the_dashboard_on_its_datasource(services, dashboard):
    grafana = services["grafana"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"].startswith(
        "${ALLIANCE_GRAFANA_ADMIN_PASSWORD:?"
    )
    provisioning = DEPLOY / "grafana" / "provisioning"
    (source,) = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    (provider,) = load_yaml(provisioning / "dashboards" / "alliance.yml")["providers"]
    dashboards_dir = provider["options"]["path"]
    assert mounts[dashboards_dir] == "./deploy/grafana/dashboards"
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        for target in panel.get("targets", []):
            assert target.get("datasource", panel["datasource"])["uid"] == source["uid"]
    titles = {panel["title"]: panel for panel in dashboard["panels"]}
    for title, metric in REQUIRED_PANELS.items():
        assert title in titles, f"no panel {title!r}"
        exprs = " ".join(target["expr"] for target in titles[title]["targets"])
        assert metric in exprs, title
    latency = " ".join(
        t["expr"] for t in titles["Partner action answer latency (p50/p95)"]["targets"]
    )
    assert "histogram_quantile(0.5," in latency and "histogram_quantile(0.95," in latency


# -- the image ----------------------------------------------------------------------------------


def test_the_dockerfile_copies_files_that_exist():
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is missing"


def test_the_image_installs_every_package_and_runs_unprivileged():
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = {
        source
        for line in dockerfile.splitlines()
        if line.startswith("COPY ")
        for source in line.split()[1:-1]
    }
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for package in {name.split(".")[0] for name in setuptools["packages"]}:
        assert package in copied, package
    for module in setuptools["py-modules"]:
        assert f"{module}.py" in copied, module
    (base,) = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), base
    assert re.search(r"pip install --no-cache-dir \.(\s|$)", dockerfile)
    assert "-e ." not in dockerfile
    assert re.search(r"useradd --uid 10001 .*alliance", dockerfile)
    assert re.search(r"chown alliance:alliance /data", dockerfile)
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] == "alliance"
    assert dockerfile.rstrip().endswith('CMD ["python", "-m", "worker"]')
