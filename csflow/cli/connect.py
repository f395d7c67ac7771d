"""The one way a `csflow` command reaches its services: settings, the policy, one
Temporal connect, one PostgreSQL pool helper, and the starter client built from them.

Every subcommand goes through here, so a connection problem reads — and exits — the
same everywhere: `Unavailable` (exit 3, nothing changed) when Temporal or PostgreSQL
does not answer within `CONNECT_TIMEOUT`, exit 2 when the policy file is refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from csflow import logs
from csflow.cli import exits
from csflow.crypto import options
from csflow.settings import Settings

if TYPE_CHECKING:
    from temporalio.client import Client

    from csflow.config.terms import TermsProvider
    from starter.client import CsflowClient

T = TypeVar("T")

CONNECT_TIMEOUT = 15.0


class Unavailable(RuntimeError):
    """Temporal or PostgreSQL did not answer; nothing was changed."""


def settings(*, configure_logs: bool = True) -> Settings:
    """The environment's settings; long-running commands also configure logging.

    One-shot clients pass `configure_logs=False`: they print their own outcome, and
    leaving logging alone keeps them embeddable (tests run them in-process).
    """
    found = Settings()
    if configure_logs:
        logs.configure(found.log_format, found.log_level)
    return found


def terms() -> TermsProvider:
    """SLA terms from the policy file (CSFLOW_POLICY); a refused file exits 2."""
    from csflow.config.policy import PolicyError, policy_from_env
    from csflow.config.terms import TermsProvider

    try:
        return TermsProvider(policy_from_env())
    except PolicyError as err:
        exits.fail(str(err), exits.BAD_INPUT)


async def temporal(found: Settings) -> Client:
    """The one Temporal connect: address, namespace and csflow's data converter."""
    from temporalio.client import Client

    try:
        return await asyncio.wait_for(
            Client.connect(
                found.temporal_target,
                namespace=found.temporal_namespace,
                **options.client_options(found),
            ),
            CONNECT_TIMEOUT,
        )
    except (RuntimeError, OSError, TimeoutError) as err:
        raise Unavailable(
            f"Temporal at {found.temporal_target} does not answer ({err or type(err).__name__})"
        ) from None


@asynccontextmanager
async def database(found: Settings, *, size: int = 2) -> AsyncIterator[Any]:
    """The one PostgreSQL pool helper: a pool on DATABASE_URL, closed on the way out."""
    from csflow.store.pool import create_pool

    try:
        pool = await asyncio.wait_for(
            create_pool(found.database_dsn, min_size=1, max_size=size), CONNECT_TIMEOUT
        )
    except Exception as err:  # refused, unknown database, bad password, timeout
        raise Unavailable(f"PostgreSQL does not answer ({err or type(err).__name__})") from None
    try:
        yield pool
    finally:
        await pool.close()


@dataclass
class Connection:
    """What a command that steers requests holds: the starter client and its parts."""

    csflow: CsflowClient
    temporal: Client
    pool: Any


@asynccontextmanager
async def services(
    found: Settings, *, with_terms: TermsProvider | None = None, pool_size: int = 4
) -> AsyncIterator[Connection]:
    """Temporal, then PostgreSQL, then the starter client over both — everything dialled
    before the first change, so `Unavailable` means nothing was done."""
    from starter.client import CsflowClient

    resolved = with_terms or terms()
    client = await temporal(found)
    async with database(found, size=pool_size) as pool:
        yield Connection(
            CsflowClient(client, pool, resolved, task_queue=found.task_queue), client, pool
        )


def with_pool(work: Callable[[Any], Awaitable[T]], *, size: int = 2) -> T:
    """Run `work(pool)` on a fresh pool from the environment; unreachable exits 3."""

    async def run() -> T:
        async with database(settings(configure_logs=False), size=size) as pool:
            return await work(pool)

    try:
        return asyncio.run(run())
    except Unavailable as err:
        exits.fail(f"unavailable, nothing was changed: {err}", exits.UNAVAILABLE)
