"""Versioned SQL migrations, applied in order, each once, under an advisory lock.

Files are `migrations/NNNN_name.sql`. A checksum per applied file turns an edited, already
applied migration into a loud error instead of a silent schema drift between machines.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import asyncpg

_LOCK_KEY = 0x6373666C6F77  # "csflow": one migrator at a time across processes


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    """The database's migration record disagrees with the files shipped."""


def available() -> list[Migration]:
    folder = resources.files("csflow.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append(Migration(version, rest.removesuffix(".sql"), entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)


async def apply_migrations(dsn: str) -> list[str]:
    """Apply what is missing; return the versions applied now (empty when up to date)."""
    conn: asyncpg.Connection[Any] = await asyncpg.connect(dsn)
    try:
        return await apply_on(conn)
    finally:
        await conn.close()


async def apply_on(conn: asyncpg.Connection[Any]) -> list[str]:
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    text PRIMARY KEY,
                   name       text NOT NULL,
                   checksum   text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
        applied = {r["version"]: r["checksum"] for r in rows}
        done: list[str] = []
        for m in available():
            if m.version in applied:
                if applied[m.version] != m.checksum:
                    raise MigrationError(
                        f"migration {m.version}_{m.name} was edited after it was applied; "
                        "add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    m.version,
                    m.name,
                    m.checksum,
                )
            done.append(m.version)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def current_version(conn: asyncpg.Connection[Any]) -> str | None:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return None
    version: str | None = await conn.fetchval("SELECT max(version) FROM schema_migrations")
    return version
