"""Where things are, and secrets — read from the environment at composition roots only.

Business rules (SLA tables, calendars) live in the policy file, never here: the two kinds
of configuration change for different reasons and at different speeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

TASK_QUEUE = "service-requests"


class Settings(BaseSettings):
    """Connection and process settings; each field maps to an environment variable."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    temporal_address: str | None = Field(default=None, alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    task_queue: str = Field(default=TASK_QUEUE, alias="CSFLOW_TASK_QUEUE")

    data_dir: Path = Field(default=Path(".csflow"), alias="CSFLOW_DATA_DIR")
    api_host: str = Field(default="127.0.0.1", alias="CSFLOW_API_HOST")
    api_port: int = Field(default=8000, alias="CSFLOW_API_PORT")
    temporal_port: int = Field(default=7233, alias="CSFLOW_TEMPORAL_PORT")
    temporal_ui_port: int = Field(default=8233, alias="CSFLOW_TEMPORAL_UI_PORT")
    postgres_port: int = Field(default=5433, alias="CSFLOW_POSTGRES_PORT")
    metrics_port: int = Field(default=9464, alias="CSFLOW_METRICS_PORT")
    metrics_host: str = Field(default="127.0.0.1", alias="CSFLOW_METRICS_HOST")

    public_url: str = Field(default="http://127.0.0.1:8000", alias="CSFLOW_PUBLIC_URL")
    link_secret: str | None = Field(default=None, alias="CSFLOW_LINK_SECRET")

    # Payload encryption (docs/security.md): the master key ring, and the codec server that
    # decodes for the Temporal UI and CLI.
    keyring_file: Path | None = Field(default=None, alias="CSFLOW_KEYRING_FILE")
    codec_host: str = Field(default="127.0.0.1", alias="CSFLOW_CODEC_HOST")
    codec_port: int = Field(default=8081, alias="CSFLOW_CODEC_PORT")
    codec_origins: str | None = Field(default=None, alias="CSFLOW_CODEC_ORIGINS")

    # The worker (docs/performance.md "Worker settings"). Cached runs answer their next
    # task without replaying history; each costs memory while its request is open.
    # `auto`: as many as a quarter of the memory holds (csflow/memory.py).
    worker_cache: Annotated[int, Field(ge=0)] | Literal["auto"] = Field(
        default="auto", alias="CSFLOW_WORKER_MAX_CACHED_WORKFLOWS"
    )
    # Seconds a task for a cached run waits on this worker's own (sticky) queue before the
    # server gives it to any worker, with the whole history to replay. Short: a dead
    # worker's requests move on sooner. Too short for the worker's backlog: every task
    # that waits longer times out and is redone from scratch (docs/performance.md).
    worker_sticky_timeout: float = Field(default=10.0, gt=0, alias="CSFLOW_WORKER_STICKY_TIMEOUT")
    # Seconds between the worker's full garbage collections (csflow/collector.py): Python's
    # own rule pauses a worker with thousands of cached runs for seconds, again and again,
    # and SLA firings due meanwhile are late. 0: Python's own rule.
    worker_gc_interval: float = Field(
        default=1800.0, ge=0, le=86400, alias="CSFLOW_WORKER_GC_INTERVAL"
    )
    # How the worker runs workflow code (workflows/sandbox.py): the SDK's sandbox with the
    # ServiceRequest workflow's modules imported once per process (passthrough), the
    # sandbox re-executing them for every run (strict), or no sandbox (off).
    workflow_sandbox: Literal["strict", "passthrough", "off"] = Field(
        default="passthrough", alias="CSFLOW_WORKFLOW_SANDBOX"
    )

    # Admission control of POST /requests (csflow/api/admission.py, docs/performance.md
    # "Admission control"): 429 + Retry-After instead of a start that would starve the
    # clocks. A backlog age limit and a firing-lateness limit in seconds, and a rate
    # ceiling in requests/s; 0 switches each off.
    intake_max_backlog: float = Field(default=1.0, ge=0, alias="CSFLOW_INTAKE_MAX_BACKLOG")
    intake_probe_interval: float = Field(default=1.0, gt=0, alias="CSFLOW_INTAKE_PROBE_INTERVAL")
    intake_max_lateness: float = Field(default=1.0, ge=0, alias="CSFLOW_INTAKE_MAX_LATENESS")
    intake_lateness_window: float = Field(default=60.0, gt=0, alias="CSFLOW_INTAKE_LATENESS_WINDOW")
    intake_rate: float = Field(default=0.0, ge=0, alias="CSFLOW_INTAKE_RATE")
    intake_burst: int = Field(default=0, ge=0, alias="CSFLOW_INTAKE_BURST")
    # `rate`: late firings lower an intake rate, and quiet with callers waiting raises
    # it again up to CSFLOW_INTAKE_RATE (csflow/api/intake_rate.py). `door`: while the
    # lateness reading is over its limit every start is refused. The backlog limit is a
    # door in both. Chosen by measurement (docs/performance.md, "Admission control").
    intake_control: Literal["door", "rate"] = Field(default="rate", alias="CSFLOW_INTAKE_CONTROL")
    intake_min_rate: float = Field(default=1.0, gt=0, le=10_000, alias="CSFLOW_INTAKE_MIN_RATE")
    intake_adjust_interval: float = Field(
        default=10.0, gt=0, le=3600, alias="CSFLOW_INTAKE_ADJUST_INTERVAL"
    )

    log_format: str = Field(default="auto", alias="CSFLOW_LOG_FORMAT")
    log_level: str = Field(default="INFO", alias="CSFLOW_LOG_LEVEL")

    @property
    def worker_max_cached_workflows(self) -> int:
        """The runs the worker caches: the setting, or for `auto` what the memory this
        process may use holds (csflow/memory.py)."""
        if self.worker_cache == "auto":
            from csflow import memory

            return memory.cached_runs(memory.available_bytes())
        return self.worker_cache

    def survey_secret(self) -> bytes:
        """The key that signs questionnaire links: CSFLOW_LINK_SECRET, or one generated
        once into the data dir so links survive restarts of an embedded stack.

        Callers resolve it once at start-up. Under CSFLOW_SECRETS=env there is no
        generated key (csflow/secret_file.py): the worker would sign links with a key
        the API never saw and every link would read "invalid" — the process refuses to
        start instead, as it does without CSFLOW_ACTOR_KEY.
        """
        import secrets

        from csflow import secret_file

        if self.link_secret:
            return self.link_secret.encode()
        stored = secret_file.shared(
            self.data_dir / "link-secret",
            lambda: secrets.token_urlsafe(32).encode("ascii"),
            env_var="CSFLOW_LINK_SECRET",
            doc="docs/deployment.md",
        )
        return stored.strip()

    @property
    def database_dsn(self) -> str:
        """The PostgreSQL to use; the embedded one `csflow up` runs when none is set."""
        return self.database_url or f"postgresql://postgres@127.0.0.1:{self.postgres_port}/csflow"

    @property
    def temporal_target(self) -> str:
        """The Temporal frontend to dial; the embedded server's port when none is set."""
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    def keyring_path(self) -> Path:
        """Where the key ring file is: CSFLOW_KEYRING_FILE, else the data dir's."""
        return self.keyring_file or self.data_dir / "keyring.json"

    def ui_origins(self) -> list[str]:
        """Origins allowed to call the codec server: the Temporal UI's (comma-separated
        in CSFLOW_CODEC_ORIGINS; the embedded UI's by default)."""
        if self.codec_origins:
            return [o.strip() for o in self.codec_origins.split(",") if o.strip()]
        return [f"http://{host}:{self.temporal_ui_port}" for host in ("localhost", "127.0.0.1")]
