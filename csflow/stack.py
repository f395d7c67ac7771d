"""`csflow up`: the whole system on one machine, with nothing to install or configure.

It runs an embedded PostgreSQL and the Temporal dev server (each only when its address is
not given), applies migrations, then runs the worker and the HTTP API as child processes,
all kept under one data dir so that running `csflow up` again resumes where it stopped.
What it makes ready in that data dir first (lock, keys, schema, tokens) is in
`first_run.py`; this module plans, starts and watches the processes.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import structlog
from temporalio.service import RPCError

from csflow import first_run
from csflow.config.horizon import horizon_warning
from csflow.config.policy import PolicyError, policy_from_env
from csflow.crypto.keyring import ENV_RING, KeyRingError
from csflow.embedded.ports import PortClaim, port_accepts, port_problems
from csflow.embedded.postgres import EmbeddedPostgres, ensure_database
from csflow.embedded.process import EmbeddedStartError
from csflow.embedded.supervisor import ProcessSpec, RestartPolicy, Supervisor, http_ok
from csflow.embedded.temporal import (
    TemporalDevServer,
    ensure_search_attributes,
    wait_for_frontend,
)
from csflow.settings import Settings

log = structlog.get_logger("csflow.stack")

DATABASE = "csflow"
Migrate = Callable[[str], Awaitable[list[str]]]
Bootstrap = Callable[[str, Path], Awaitable[dict[str, Path]]]


def _local(host: str) -> str:
    """A host a browser on this machine can open, for wildcard bind addresses."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def redact(dsn: str) -> str:
    """The DSN with any password replaced, fit to print."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass
class StackPlan:
    """Where every part of the stack lives, decided from settings before anything starts."""

    settings: Settings
    data_dir: Path
    postgres: EmbeddedPostgres | None
    temporal: TemporalDevServer | None
    token_files: dict[str, Path] = field(default_factory=dict)  # filled at start-up

    @classmethod
    def from_settings(cls, settings: Settings) -> StackPlan:
        data_dir = settings.data_dir.expanduser().absolute()
        logs = data_dir / "logs"
        postgres = None
        if not settings.database_url:
            postgres = EmbeddedPostgres(
                data_dir / "postgres", settings.postgres_port, log_path=logs / "postgres.log"
            )
        temporal = None
        if not settings.temporal_address:
            temporal = TemporalDevServer(
                data_dir / "temporal.db",
                settings.temporal_port,
                settings.temporal_ui_port,
                namespace=settings.temporal_namespace,
                log_path=logs / "temporal.log",
                # The UI decodes sealed payloads through csflow's codec server, for people
                # whose token may read them; without it the UI shows ciphertext.
                extra_args=["--ui-codec-endpoint", codec_url(settings)],
            )
        return cls(settings, data_dir, postgres, temporal)

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def database_url(self) -> str:
        return self.postgres.dsn(DATABASE) if self.postgres else str(self.settings.database_url)

    @property
    def temporal_address(self) -> str:
        return self.temporal.target if self.temporal else self.settings.temporal_target

    @property
    def api_url(self) -> str:
        return f"http://{_local(self.settings.api_host)}:{self.settings.api_port}"

    @property
    def codec_url(self) -> str:
        return codec_url(self.settings)

    @property
    def keyring_file(self) -> Path:
        return self.settings.keyring_file or self.data_dir / "keyring.json"

    @property
    def metrics_url(self) -> str:
        return f"http://{_local(self.settings.metrics_host)}:{self.settings.metrics_port}/metrics"

    def port_claims(self) -> list[PortClaim]:
        """Ports of the embedded servers; app processes declare theirs in their specs."""
        claims: list[PortClaim] = []
        if self.temporal is not None:
            claims += [
                PortClaim(self.temporal.port, "Temporal frontend", "CSFLOW_TEMPORAL_PORT"),
                PortClaim(self.temporal.ui_port, "Temporal UI", "CSFLOW_TEMPORAL_UI_PORT"),
            ]
        if self.postgres is not None:
            claims.append(
                PortClaim(self.postgres.port, "embedded PostgreSQL", "CSFLOW_POSTGRES_PORT")
            )
        return claims

    def child_env(self) -> dict[str, str]:
        """The environment for worker and API: every address spelled out explicitly."""
        s = self.settings
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "TEMPORAL_NAMESPACE": s.temporal_namespace,
            "CSFLOW_TASK_QUEUE": s.task_queue,
            "CSFLOW_DATA_DIR": str(self.data_dir),
            "CSFLOW_API_HOST": s.api_host,
            "CSFLOW_API_PORT": str(s.api_port),
            "CSFLOW_METRICS_HOST": s.metrics_host,
            "CSFLOW_METRICS_PORT": str(s.metrics_port),
            "CSFLOW_CODEC_HOST": s.codec_host,
            "CSFLOW_CODEC_PORT": str(s.codec_port),
            "CSFLOW_KEYRING_FILE": str(self.keyring_file),
            "PYTHONUNBUFFERED": "1",
        }


def app_processes(plan: StackPlan) -> list[ProcessSpec]:
    """The codec server, the API, then the worker (so the worker is stopped first)."""
    s, env = plan.settings, plan.child_env()
    return [
        ProcessSpec(
            "codec",
            [sys.executable, "-m", "csflow", "codec-server"],
            plan.log_dir / "codec.log",
            env=env,
            ready=partial(http_ok, f"{plan.codec_url}/healthz"),
            ports=(PortClaim(s.codec_port, "codec server", "CSFLOW_CODEC_PORT", s.codec_host),),
        ),
        ProcessSpec(
            "api",
            [sys.executable, "-m", "csflow", "api"],
            plan.log_dir / "api.log",
            env=env,
            ready=partial(http_ok, f"{plan.api_url}/healthz"),
            ports=(PortClaim(s.api_port, "HTTP API", "CSFLOW_API_PORT", s.api_host),),
        ),
        ProcessSpec(
            "worker",
            [sys.executable, "-m", "csflow", "worker"],
            plan.log_dir / "worker.log",
            env=env,
            ready=partial(port_accepts, s.metrics_host, s.metrics_port),
            ports=(
                PortClaim(s.metrics_port, "worker metrics", "CSFLOW_METRICS_PORT", s.metrics_host),
            ),
        ),
    ]


def _host(server: EmbeddedPostgres | TemporalDevServer) -> str:
    return server.host if isinstance(server, EmbeddedPostgres) else server.ip


def restart_policy() -> RestartPolicy:
    """CSFLOW_RESTART: `on-failure` (default) restarts a dead child with backoff; `never`
    stops the whole stack when one dies (for a process manager that restarts `csflow up`
    itself)."""
    value = os.environ.get("CSFLOW_RESTART", "on-failure").strip().lower()
    if value not in ("on-failure", "never"):
        raise ValueError(f"CSFLOW_RESTART must be on-failure or never, not {value[:40]!r}")
    return RestartPolicy(enabled=value == "on-failure")


def run_up(
    settings: Settings,
    *,
    processes: Callable[[StackPlan], Sequence[ProcessSpec]] = app_processes,
    migrate: Migrate = first_run.apply_migrations,
    bootstrap: Bootstrap = first_run.ensure_dev_tokens,
) -> int:
    """Run the stack until Ctrl-C/SIGTERM (exit 0), a failure (1) or a config clash (2)."""
    # The policy is checked before anything starts: a typo stops `csflow up` with the key
    # named, never a stack that runs half-configured.
    try:
        policy = policy_from_env()
        restart = restart_policy()
    except (PolicyError, ValueError) as err:
        print(f"csflow up: {err}", file=sys.stderr, flush=True)
        return 2
    log.info(
        "policy loaded",
        version=policy.effective_version,
        source=os.environ.get("CSFLOW_POLICY") or "built-in defaults",
    )
    if (calendar_warning := horizon_warning(policy.calendar, date.today())) is not None:
        print(f"csflow up: warning: {calendar_warning}", file=sys.stderr, flush=True)
        log.warning("calendar.horizon", problem=calendar_warning)
    plan = StackPlan.from_settings(settings)
    try:
        ring_note = first_run.ensure_keys(plan.data_dir, plan.keyring_file)
    except (KeyRingError, ValueError, OSError) as err:
        print(f"csflow up: {err}", file=sys.stderr, flush=True)
        return 2
    if ring_note:
        log.info(ring_note)
    specs = list(processes(plan))
    problems = port_problems([*plan.port_claims(), *(c for sp in specs for c in sp.ports)])
    if problems:
        for problem in problems:
            print(f"csflow up: {problem}", file=sys.stderr, flush=True)
        return 2
    with first_run.data_dir_lock(plan.data_dir) as locked:
        if not locked:
            print(
                f"csflow up: another `csflow up` is already using {plan.data_dir}; stop it "
                "first or set CSFLOW_DATA_DIR to another folder.",
                file=sys.stderr,
                flush=True,
            )
            return 2
        supervisor = Supervisor(restart)
        return asyncio.run(
            supervisor.run(
                partial(_startup, plan, specs, supervisor, migrate, bootstrap),
                partial(_print_addresses, plan, specs),
            )
        )


async def _startup(
    plan: StackPlan,
    specs: Sequence[ProcessSpec],
    supervisor: Supervisor,
    migrate: Migrate,
    bootstrap: Bootstrap,
) -> None:
    servers: list[EmbeddedPostgres | TemporalDevServer] = [
        server for server in (plan.postgres, plan.temporal) if server is not None
    ]
    for server in servers:  # both boot in parallel; initdb runs here on first use
        # Restarted in place if they die later: same data dir, same port.
        supervisor.add(
            server.launch(),
            respawn=server.launch,
            ready=partial(port_accepts, _host(server), server.port),
        )
    await asyncio.gather(*(asyncio.to_thread(server.wait_ready) for server in servers))
    if plan.postgres is not None:
        if await ensure_database(plan.postgres.dsn("postgres"), DATABASE):
            log.info("created database", database=DATABASE)
        log.info("postgres ready", dsn=plan.database_url)
    if plan.temporal is None:
        await _check_external_temporal(plan)
    log.info("temporal ready", address=plan.temporal_address)
    try:
        applied = await migrate(plan.database_url)
    except Exception as exc:
        raise EmbeddedStartError(
            f"applying migrations to {redact(plan.database_url)} failed: {exc!r}"
        ) from exc
    if applied:
        log.info("migrations applied", versions=applied)
    else:
        log.info("database schema up to date")
    plan.token_files = await bootstrap(plan.database_url, plan.data_dir)
    started = [(spec, supervisor.spawn(spec)) for spec in specs]
    await asyncio.gather(*(supervisor.wait_ready(spec, child) for spec, child in started))


async def _check_external_temporal(plan: StackPlan) -> None:
    """Fail early and clearly when TEMPORAL_ADDRESS does not answer; add missing attributes."""
    namespace = plan.settings.temporal_namespace
    client = await wait_for_frontend(
        plan.temporal_address,
        namespace,
        wait_seconds=15,
        hint=lambda: " (check TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE)",
    )
    try:
        added = await ensure_search_attributes(client, namespace)
    except RPCError as exc:
        log.warning(
            "could not check or register csflow's search attributes; register them "
            "yourself (see csflow/search_attributes.py)",
            error=str(exc),
        )
        return
    if added:
        log.info("registered search attributes", names=added)


def _print_addresses(plan: StackPlan, specs: Sequence[ProcessSpec]) -> None:
    temporal = plan.temporal
    rows = [
        ("API", plan.api_url),
        ("Console", f"{plan.api_url}/console"),
        ("OpenAPI docs", f"{plan.api_url}/docs"),
        (
            "Temporal",
            f"{plan.temporal_address}  (namespace {plan.settings.temporal_namespace})"
            + ("" if temporal else "  [external]"),
        ),
        ("Temporal UI", temporal.ui_url if temporal else "(external server: see its own UI)"),
        ("Codec server", f"{plan.codec_url}  (the UI decodes through it for signed-in staff)"),
        (
            "Key ring",
            "CSFLOW_KEYRING (environment)" if os.environ.get(ENV_RING) else str(plan.keyring_file),
        ),
        ("PostgreSQL", redact(plan.database_url) + ("" if plan.postgres else "  [external]")),
        ("Worker metrics", plan.metrics_url),
        ("Data dir", str(plan.data_dir)),
        *((f"API token ({role})", str(path)) for role, path in plan.token_files.items()),
    ]
    logs = [c.log_path for c in (plan.postgres, plan.temporal) if c is not None]
    rows += [("Log", str(path)) for path in [*logs, *(spec.log_path for spec in specs)]]
    width = max(len(label) for label, _ in rows)
    lines = ["", "csflow is up.", *(f"  {label:<{width}}  {value}" for label, value in rows)]
    lines += ["Press Ctrl-C to stop; run `csflow up` again to resume where it stopped.", ""]
    print("\n".join(lines), flush=True)


def codec_url(settings: Settings) -> str:
    return f"http://{_local(settings.codec_host)}:{settings.codec_port}"
