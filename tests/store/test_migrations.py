"""Migrations from an empty database: applied once, in order, guarded against edits."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from csflow.store.migrations import MigrationError, apply_migrations, available, current_version


async def test_from_empty_database_creates_the_schema_once(empty_db: str) -> None:
    versions = [m.version for m in available()]
    assert versions == sorted(versions) and versions[0] == "0001"
    assert await apply_migrations(empty_db) == versions
    assert await apply_migrations(empty_db) == []
    conn = await asyncpg.connect(empty_db)
    try:
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert {
            "requests",
            "request_events",
            "request_counters",
            "request_keys",
            "schema_migrations",
        } <= tables
        assert await current_version(conn) == versions[-1]
    finally:
        await conn.close()


async def test_concurrent_migrators_apply_each_version_once(empty_db: str) -> None:
    results = await asyncio.gather(*(apply_migrations(empty_db) for _ in range(4)))
    applied = [v for r in results for v in r]
    assert sorted(applied) == [m.version for m in available()]


async def test_an_edited_applied_migration_is_refused(empty_db: str) -> None:
    await apply_migrations(empty_db)
    conn = await asyncpg.connect(empty_db)
    try:
        await conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = '0001'")
    finally:
        await conn.close()
    with pytest.raises(MigrationError, match="edited after it was applied"):
        await apply_migrations(empty_db)
