"""Composition root for the worker: settings → pool → activities → Temporal worker."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from activities.assignment import AssignmentActivities
from activities.followup import FollowUpActivities
from activities.notify import NotifyActivities
from activities.numbering import NumberingActivities
from activities.reports import ReportActivities
from activities.store import StoreActivities
from activities.terms import TermsActivities
from csflow import logs, memory
from csflow.collector import scheduled_full_collections
from csflow.config.horizon import horizon_warning
from csflow.config.policy import policy_from_env
from csflow.config.terms import TermsProvider
from csflow.crypto import options
from csflow.domain.policy import DEFAULT_BANNED, DEFAULT_POLICY, Policy
from csflow.notify.config import NotifyConfig, load_notify_config
from csflow.notify.dispatcher import Dispatcher
from csflow.notify.sender import build_sender
from csflow.reports.schedules import ensure_schedules
from csflow.settings import Settings
from csflow.store.pool import create_pool
from workflows import sandbox
from workflows.improvement import ImprovementTaskWorkflow
from workflows.numbering import RequestNumbersWorkflow
from workflows.reports import ReportWorkflow
from workflows.service_request import ServiceRequestWorkflow

log = structlog.get_logger("csflow.worker")

WORKFLOWS: Sequence[type] = (
    ServiceRequestWorkflow,
    ImprovementTaskWorkflow,
    ReportWorkflow,
    RequestNumbersWorkflow,
)


def notify_activities(
    pool: Any, config: NotifyConfig, banned: Iterable[str] = DEFAULT_BANNED
) -> NotifyActivities:
    """The send activity on the configured channels (csflow.notify.sender.build_sender)."""
    return build_sender(pool, config, NotifyActivities, banned)


def activities_for(
    pool: Any,
    client: Client,
    policy: Policy,
    settings: Settings,
    send: NotifyActivities,
    dispatcher: Dispatcher,
) -> list[Any]:
    """Every activity the workflows call, bound to their dependencies."""
    store = StoreActivities(pool, wrote_messages=dispatcher.wake)
    assign = AssignmentActivities(pool, policy.intake, client, policy.organisation, policy.taxonomy)
    terms = TermsProvider(policy)  # one calendar cache for every activity
    follow = FollowUpActivities(
        pool,
        client,
        terms,
        public_url=settings.public_url,
        survey_secret=settings.survey_secret(),
    )
    reports = ReportActivities(pool)
    return [
        store.record_events,
        assign.triage,
        assign.transfer,
        assign.release,
        assign.route_escalation,
        follow.plan_follow_up,
        follow.open_linked_request,
        follow.save_improvement,
        send.send,
        reports.rollup_day,
        reports.publish,
        reports.forecast,
        TermsActivities(terms).resolve_terms,
        NumberingActivities(pool, terms).allocate_number,
    ]


@contextlib.asynccontextmanager
async def build_worker(
    client: Client,
    task_queue: str,
    pool: Any,
    policy: Policy = DEFAULT_POLICY,
    settings: Settings | None = None,
    notify: NotifyActivities | None = None,
) -> AsyncIterator[Worker]:
    """The Temporal worker and, for as long as it runs, the outbox dispatcher that sends
    the messages its requests' writes queue (csflow/notify/dispatcher.py), on the same
    channels as the send activity, and the process's full garbage collections on a
    schedule (csflow/collector.py)."""
    settings = settings or Settings()
    send = notify or notify_activities(pool, load_notify_config(), policy.compliance.banned_phrases)
    dispatcher = Dispatcher(send, pool)
    worker = Worker(
        options.for_worker(client),
        task_queue=task_queue,
        # Every Update's actor must carry an assertion signed by the API, CLI or starter
        # that authenticated it (docs/security.md); checked before the validator runs.
        interceptors=options.worker_interceptors(settings),
        workflows=list(WORKFLOWS),
        activities=activities_for(pool, client, policy, settings, send, dispatcher),
        max_cached_workflows=settings.worker_max_cached_workflows,
        workflow_runner=sandbox.runner(settings.workflow_sandbox),
        # How long a dead worker's requests wait before another worker takes them, and
        # how long a busy worker's backlog may wait before its tasks time out and are
        # replayed from scratch (docs/performance.md "Worker settings").
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=settings.worker_sticky_timeout),
    )
    async with (
        scheduled_full_collections(
            settings.worker_gc_interval,
            cache_bytes=settings.worker_max_cached_workflows * memory.PER_RUN,
        ),
        worker,
        dispatcher.running(),
    ):
        yield worker


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        runtime=runtime,
        **options.client_options(settings),
    )


async def run_worker(settings: Settings) -> None:
    database_url = settings.database_url
    if not database_url:
        raise SystemExit("DATABASE_URL is not set: the worker needs PostgreSQL")
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=f"{settings.metrics_host}:{settings.metrics_port}"
            )
        )
    )
    policy = policy_from_env()  # a bad policy stops the worker here, with the key named
    try:  # the key questionnaire links are signed with: the API must hold the same one
        link_key = settings.survey_secret()
    except ValueError as err:
        raise SystemExit(str(err)) from None
    # Pinned, so the activities sign with exactly the key checked here.
    settings = settings.model_copy(update={"link_secret": link_key.decode("ascii")})
    if (calendar_warning := horizon_warning(policy.calendar, date.today())) is not None:
        log.warning("calendar.horizon", problem=calendar_warning)
    client = await connect(settings, runtime)
    # Idempotent: creates the report schedules once, brings their spec up to date after.
    await ensure_schedules(client, settings.task_queue, policy.calendar.time_zone)
    pool = await create_pool(database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with build_worker(client, settings.task_queue, pool, policy, settings):
            log.info(
                "worker.started",
                task_queue=settings.task_queue,
                temporal=settings.temporal_target,
                namespace=settings.temporal_namespace,
                metrics=f"http://{settings.metrics_host}:{settings.metrics_port}/metrics",
            )
            await stop.wait()
            log.info("worker.stopping")
    finally:
        with contextlib.suppress(Exception):
            await pool.close()


def main() -> None:
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
