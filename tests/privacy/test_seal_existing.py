"""`csflow customer seal-existing`: rows written before migration 0016 kept the customer's
personal data in the clear; afterwards it is sealed with the customer's key, reads answer
the same, look-ups by phone and e-mail find them, reports do not move, and neither a
pg_dump nor the table files (after `--vacuum`) hold the plaintext (docs/security.md,
"Upgrading from before sealing")."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import Result

from csflow.activity_io import RecordEvents
from csflow.contracts import SYSTEM, RequestState, TimelineEvent
from csflow.crypto import at_rest
from csflow.domain.lifecycle import Status
from csflow.embedded.postgres import _pg_bin
from csflow.notify.models import Notification, Recipient
from csflow.reports import service
from csflow.store import improvements, outbox, personal
from csflow.store import persist as store
from tests.helpers import intake, run_cli

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WEEK = "2026-W48"
READER = personal.Reader(token_id="t-1", subject="li.na", role="agent", purpose="a test")

# Distinctive strings a leak would show: every one is looked for in the dump and files.
KEPT = {
    "C-ALIVE": {
        "name": "Zhao Qiaoling",
        "phone": "+86 139 7777 1234",
        "email": "qiaoling.zhao@example.org",
        "description": "Kettle-Xylophone arrived cracked",
        "reply": "Quokka-Reply: I am home after six",
        "praise": "Pangolin-Praise for the courier",
        "problem": "Narwhal-Problem with the refund form",
    },
    "C-GONE": {
        "name": "Sun Wukong",
        "phone": "+86 135 5555 9876",
        "email": "wukong.sun@example.org",
        "description": "Axolotl-Description of a lost parcel",
        "reply": "Capybara-Reply: call my office",
        "praise": "Okapi-Praise for nobody",
        "problem": "Tapir-Problem with the address",
    },
}


def secrets_of(customer_id: str) -> list[str]:
    return list(KEPT[customer_id].values())


async def csflow(db: str, *args: str) -> Result:
    result: Result = await run_cli({"DATABASE_URL": db}, "customer", *args)
    return result


async def legacy_request(pool: Any, customer_id: str, number: str, at: datetime) -> str:
    """A closed request as written before migration 0016: every personal value in the
    clear columns, nothing sealed, no blind index; its improvement task and two kept
    messages (one to the customer, one to staff quoting the problem)."""
    p = KEPT[customer_id]
    await pool.execute(
        """INSERT INTO requests (number, customer_id, customer_name, customer_contact,
               customer_tier, channel, category, description, received_at, status, priority,
               sla_state, closed_at, version)
           VALUES ($1, $2, $3, $4, 'regular', 'web', 'complaint', $5, $6, 'closed', 'P2',
                   'ok', $7, 5)""",
        number,
        customer_id,
        p["name"],
        {"phone": p["phone"], "email": p["email"]},
        p["description"],
        at,
        at + timedelta(hours=5),
    )
    task_id = f"{number}-IMP1"
    events = [
        (1, "received", "system", "system", None, {}),
        (2, "customer_replied", customer_id, "customer", p["reply"], {}),
        (3, "follow_up_recorded", customer_id, "customer", None,
         {"score": 2, "nps": 3, "praise": p["praise"], "problem": p["problem"]}),
        (4, "improvement_opened", "system", "system", p["problem"], {"task_id": task_id}),
        (5, "closed", "li.na", "agent", "done", {}),
    ]  # fmt: skip
    await pool.executemany(
        """INSERT INTO request_events (number, seq, at, kind, actor_id, actor_role, reason,
                                       data)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        [(number, seq, at + timedelta(minutes=seq), *rest) for seq, *rest in events],
    )
    await pool.execute(
        """INSERT INTO improvement_tasks (task_id, number, department, problem, score, status,
                                          opened_at, due_at)
           VALUES ($1, $2, 'logistics', $3, 2, 'open', $4, $5)""",
        task_id,
        number,
        p["problem"],
        at + timedelta(hours=1),
        at + timedelta(days=7),
    )
    for kind, rid, extra in (
        ("customer", customer_id, {"email": p["email"], "phone": p["phone"]}),
        ("staff", "li.na", {}),
    ):
        message = Notification(
            key=f"{number}/4/{rid}/questionnaire",
            number=number,
            template="questionnaire",
            recipient=Recipient(kind=kind, id=rid, **extra),
            priority="P2",
            variables={"name": p["name"], "problem": p["problem"]},
        )
        await pool.execute(
            """INSERT INTO outbox (key, number, template, recipient_kind, recipient_id,
                                   status, payload)
               VALUES ($1, $2, 'questionnaire', $3, $4, 'failed', $5)""",
            message.key,
            number,
            kind,
            rid,
            message.model_dump(mode="json"),
        )
    return task_id


async def sealed_request(pool: Any) -> str:
    """A request written after migration 0016, through the store's own write path."""
    number = "CS20261123-WEB-0099"
    state = RequestState(
        number=number, status=Status.RECEIVED, priority="P2", category="complaint",
        channel="web", tier="regular", customer_id="C-1001", received_at=T0,
    )  # fmt: skip
    received = TimelineEvent(
        seq=1, at=T0, kind="received", actor=SYSTEM,
        status_to=Status.RECEIVED,
    )  # fmt: skip
    batch = RecordEvents(state=state, events=[received], intake=intake())
    assert await store.record_events(pool, batch) == 1
    return number


async def clear_hits(pool: Any, needles: list[str]) -> list[str]:
    """What a SELECT of every clear column of the four tables shows of `needles`."""
    text = "\n".join(
        str(v)
        for v in await pool.fetch(
            """SELECT concat_ws('|', customer_name, customer_contact::text, description)
               FROM requests
               UNION ALL SELECT concat_ws('|', reason, data::text) FROM request_events
               UNION ALL SELECT problem FROM improvement_tasks
               UNION ALL SELECT payload::text FROM outbox"""
        )
    )
    return [n for n in needles if n in text]


def pg_dump(dsn: str) -> str:
    out = subprocess.run(
        [str(_pg_bin() / "pg_dump"), "--dbname", dsn, "--no-owner", "--data-only"],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return out.stdout.decode()


async def table_files(pool: Any) -> bytes:
    """The current files of the four tables (and their TOAST), after a checkpoint."""
    await pool.execute("CHECKPOINT")
    data_dir = Path(await pool.fetchval("SHOW data_directory"))
    blob = b""
    for table in personal.SEALED_TABLES:
        for rel in await pool.fetch(
            """SELECT pg_relation_filepath(c.oid) AS path FROM pg_class c
               WHERE c.oid = $1::regclass
                  OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = $1::regclass)""",
            table,
        ):
            path = data_dir / rel["path"]
            blob += path.read_bytes() if path.exists() else b""
    return blob


async def weekly(pool: Any) -> dict[str, Any]:
    report = await service.produce(
        pool, "weekly", WEEK, "Asia/Shanghai", datetime(2026, 1, 1, tzinfo=UTC), refresh=True
    )
    return report.model_dump(mode="json", exclude={"generated_at"})


async def snapshot(pool: Any) -> dict[str, Any]:
    """Every row of the four tables, to prove a run wrote nothing."""
    return {
        t: [dict(r) for r in await pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")]
        for t in personal.SEALED_TABLES
    }


async def test_old_rows_are_sealed_read_the_same_and_leave_no_plaintext(pool: Any, db: str) -> None:
    alive = ["CS20261123-WEB-0001", "CS20261124-WEB-0002"]
    gone = "CS20261123-WEB-0003"
    tasks = [await legacy_request(pool, "C-ALIVE", n, T0 + timedelta(days=i))
             for i, n in enumerate(alive)]  # fmt: skip
    await legacy_request(pool, "C-GONE", gone, T0)
    new = await sealed_request(pool)
    new_row = dict(await pool.fetchrow("SELECT * FROM requests WHERE number = $1", new))
    # Erased before the upgrade: erasure blanked the request row, the customer's words
    # in events and tasks and every kept message of theirs.
    assert await personal.erase_customer(pool, "C-GONE", T0 + timedelta(days=2)) == [gone]
    assert await clear_hits(pool, ["Capybara-Reply", "Tapir-Problem"]) == []

    before = {n: await personal.read_customer(pool, n, READER) for n in alive}
    sending = {n: await personal.contact_for_sending(pool, n, "C-ALIVE") for n in alive}
    payloads = {
        r["key"]: r["payload"]
        for r in await pool.fetch("SELECT key, payload FROM outbox WHERE payload IS NOT NULL")
    }
    report = await weekly(pool)
    assert report != {}
    assert await personal.requests_by_contact(pool, phone="+86 139 7777 1234") == []

    # A dry run counts and writes nothing, not even a data key.
    untouched = await snapshot(pool)
    dry = await csflow(db, "seal-existing", "--dry-run", "--batch", "3")
    assert dry.exit_code == 0, dry.output
    assert "requests: 2 would seal, 0 would blank" in dry.stdout
    # received, customer_replied, follow_up_recorded, improvement_opened: 3 hold words
    assert "request_events: 6 would seal, 0 would blank" in dry.stdout
    assert "improvement_tasks: 2 would seal, 1 would blank" in dry.stdout
    assert "outbox: 4 would seal, 0 would blank" in dry.stdout
    assert (
        "1 to seal with their own key (1 data key(s) to create), 1 erased (to blank" in dry.stdout
    )
    assert await snapshot(pool) == untouched
    assert await pool.fetchval("SELECT array_agg(customer_id) FROM customer_keys") == ["C-1001"]

    # Small batches: the walk crosses several transactions in every table.
    run = await csflow(db, "seal-existing", "--batch", "3")
    assert run.exit_code == 0, run.output
    assert "requests: 2 sealed, 0 blanked" in run.stdout
    assert "request_events: 6 sealed, 0 blanked" in run.stdout
    assert "improvement_tasks: 2 sealed, 1 blanked" in run.stdout
    assert "outbox: 4 sealed, 0 blanked" in run.stdout
    assert "1 sealed with their own key (1 data key(s) created), 1 erased (blanked" in run.stdout
    assert "VACUUM FULL requests, request_events, improvement_tasks, outbox" in run.stdout

    # Nothing in the clear columns, nothing in a dump of the data.
    everything = secrets_of("C-ALIVE") + secrets_of("C-GONE")
    assert await clear_hits(pool, everything) == []
    dump = pg_dump(db)
    assert [s for s in everything if s in dump] == []
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM requests "
            "WHERE customer_sealed IS NULL AND customer_id = 'C-ALIVE'"
        )
        == 0
    )

    # The same personal data through the audited read; replies, once in the timeline's
    # clear `reason`, are now among the customer's words like a new request's.
    for n in alive:
        after = await personal.read_customer(pool, n, READER)
        earlier = before[n]
        assert after is not None and earlier is not None
        assert after.model_dump(exclude={"words"}) == earlier.model_dump(exclude={"words"})
        words = {(w.seq, w.field): w.text for w in after.words}
        assert {(w.seq, w.field): w.text for w in earlier.words}.items() <= words.items()
        assert len(earlier.words) == 2  # the follow-up's praise and problem
        assert words[(2, "reason")] == KEPT["C-ALIVE"]["reply"]
        assert words[(4, "reason")] == KEPT["C-ALIVE"]["problem"]
        assert await personal.contact_for_sending(pool, n, "C-ALIVE") == sending[n]
    for task_id in tasks:
        assert await personal.improvement_problem(pool, task_id) == KEPT["C-ALIVE"]["problem"]
        listed = improvements.as_row(
            await pool.fetchrow("SELECT * FROM improvement_tasks WHERE task_id = $1", task_id)
        )
        assert listed.problem == improvements.WITHHELD
    for row in await pool.fetch("SELECT key, payload_sealed FROM outbox"):
        if row["key"].startswith(gone):
            assert row["payload_sealed"] is None  # erased: blanked, never re-sealed
        else:
            assert await at_rest.open_sealed(pool, row["payload_sealed"]) == payloads[row["key"]]
    retried = await outbox.take_for_retry(pool, number=alive[0])
    assert sorted(m.recipient.kind for m in retried) == ["customer", "staff"]
    assert await personal.requests_by_contact(pool, phone="+86 139-7777-1234") == alive
    assert await personal.requests_by_contact(pool, email="Qiaoling.Zhao@example.org") == alive
    assert await personal.requests_by_contact(pool, phone=KEPT["C-GONE"]["phone"]) == []
    # The erased customer stays erased: no new key, every word answers nothing readable.
    assert (
        await pool.fetchval("SELECT count(*) FROM customer_keys WHERE customer_id = 'C-GONE'") == 0
    )
    erased = await personal.read_customer(pool, gone, READER)
    assert erased is not None and (erased.name, erased.contact) == (personal.ERASED, {})
    assert await personal.improvement_problem(pool, f"{gone}-IMP1") == personal.ERASED
    assert await weekly(pool) == report, "reports count codes and times, which stay"
    assert dict(await pool.fetchrow("SELECT * FROM requests WHERE number = $1", new)) == new_row

    # The old row versions are still in the table files until VACUUM FULL …
    assert KEPT["C-ALIVE"]["name"].encode() in await table_files(pool)
    # … a re-run finds nothing left to do and writes nothing …
    sealed = await snapshot(pool)
    again = await csflow(db, "seal-existing", "--vacuum")
    assert again.exit_code == 0, again.output
    for table in personal.SEALED_TABLES:
        assert f"{table}: 0 sealed, 0 blanked" in again.stdout
    assert "VACUUM FULL done" in again.stdout and "stay in PostgreSQL" not in again.stdout
    assert await snapshot(pool) == sealed
    # … and its --vacuum rewrote the files without them.
    files = await table_files(pool)
    assert [s for s in everything if s.encode() in files] == []


async def test_an_interrupted_batch_leaves_rows_whole_and_a_rerun_finishes(
    pool: Any, monkeypatch: Any
) -> None:
    """A batch that fails midway rolls back: no row is half-sealed, the batches before it
    stay sealed, and the next run seals the rest (the walk resumes from what is still in
    the clear)."""
    numbers = [f"CS20261123-WEB-{i:04d}" for i in range(1, 4)]
    for i, n in enumerate(numbers):
        await legacy_request(pool, "C-ALIVE", n, T0 + timedelta(hours=i))
    real = at_rest.seal_words
    calls = 0

    async def fails_on_the_fourth(pool: Any, customer_id: str, words: dict[str, Any]) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 4:  # the second row of the second batch of events
            raise ConnectionResetError("the connection dropped")
        return await real(pool, customer_id, words)

    monkeypatch.setattr(at_rest, "seal_words", fails_on_the_fourth)
    try:
        await personal.seal_existing(pool, batch=2)
    except ConnectionResetError:
        pass
    else:
        raise AssertionError("the fault did not reach the run")
    monkeypatch.setattr(at_rest, "seal_words", real)

    # The requests were walked first and are sealed; of the events, the first batch
    # committed (2 rows) and the failed one left its first row as it was.
    assert await pool.fetchval("SELECT count(*) FROM requests WHERE customer_sealed IS NULL") == 0
    assert await pool.fetchval("SELECT count(*) FROM request_events WHERE sealed IS NOT NULL") == 2
    half = await pool.fetchval(
        """SELECT count(*) FROM request_events
           WHERE (sealed IS NOT NULL AND (data ?| $1::text[] OR reason IS NOT NULL))
              OR (sealed IS NULL AND data ? 'sealed')""",
        list(at_rest.WORD_KEYS),
    )
    assert half == 0
    assert await clear_hits(pool, [KEPT["C-ALIVE"]["reply"]]) != []

    done = await personal.seal_existing(pool, batch=2)
    assert done.tables["requests"].sealed == 0  # done by the first run
    assert done.tables["request_events"].sealed == 3 * 3 - 2
    assert done.tables["improvement_tasks"].sealed == 3
    assert await clear_hits(pool, secrets_of("C-ALIVE")) == []
    for n in numbers:
        details = await personal.read_customer(pool, n, READER)
        assert details is not None and details.name == KEPT["C-ALIVE"]["name"]
        assert {w.text for w in details.words} >= {KEPT["C-ALIVE"]["reply"]}
    assert (await personal.seal_existing(pool, batch=2)).changed == 0


async def test_erasing_a_customer_not_yet_sealed_leaves_none_of_their_words(
    pool: Any,
) -> None:
    """An upgrade that has not run `seal-existing` yet: erasure itself blanks what old
    rows kept in the clear — the replies and the problem in event reasons, the follow-up
    words, the improvement task's problem, staff messages quoting it — not only the
    request's name, contact and description. Scores stay for reports."""
    number = "CS20261120-WEB-0007"
    await legacy_request(pool, "C-ALIVE", number, T0)
    assert await clear_hits(pool, secrets_of("C-ALIVE"))
    await personal.erase_customer(pool, "C-ALIVE", T0 + timedelta(days=2))
    assert await clear_hits(pool, secrets_of("C-ALIVE")) == []
    score = await pool.fetchval(
        "SELECT data->>'score' FROM request_events WHERE number = $1 AND kind = $2",
        number,
        "follow_up_recorded",
    )
    assert score == "2"
    closed = await pool.fetchval(
        "SELECT reason FROM request_events WHERE number = $1 AND kind = 'closed'", number
    )
    assert closed == "done", "staff's own words are not the customer's"
