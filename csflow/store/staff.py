"""The staff directory and assignments: capacity-safe picks under row locks.

Every pick locks the candidate staff rows in id order (`FOR UPDATE`), counts their open
assignments under that lock and inserts the assignment in the same transaction, so two
simultaneous picks can neither put one person over capacity nor hand one request to two
people (the assignments primary key). Locking in one order keeps concurrent picks from
deadlocking each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from csflow.contracts.base import NOT_BOOL, Flag
from csflow.domain.routing import DESK_NAMES, HANDLER_ROLES, SENIOR, Requirement

if TYPE_CHECKING:
    from typing import TypeAlias

    from asyncpg.pool import PoolConnectionProxy

    Pool: TypeAlias = asyncpg.Pool[Any]
    Conn: TypeAlias = asyncpg.Connection[Any] | PoolConnectionProxy[Any]


class StaffMember(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern=r"^(agent|engineer|supervisor|follow_up|analyst|admin)$")
    department: str = Field(min_length=1, max_length=64)
    skills: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50
    )
    seniority: Annotated[int, Field(ge=1, le=3), NOT_BOOL] = 1
    capacity: Annotated[int, Field(ge=0, le=1000), NOT_BOOL] = 5
    on_duty: Flag = True
    email: Annotated[str, Field(max_length=254)] | None = None
    phone: Annotated[str, Field(max_length=32)] | None = None


class StaffView(StaffMember):
    load: int = 0


@dataclass(frozen=True)
class Pick:
    staff_id: str | None  # None: queued
    rule: str
    department: str | None = None


async def upsert_staff(pool: Pool, m: StaffMember, *, keep_contact: bool = False) -> None:
    """Write the whole entry (`PUT /staff/{id}`: an absent email or phone is cleared), or,
    `keep_contact`, keep the stored email and phone where `m` has none (`csflow staff
    add`, which re-adds a member without repeating their contact)."""
    contact = (
        "email = COALESCE($9, staff.email), phone = COALESCE($10, staff.phone)"
        if keep_contact
        else "email = $9, phone = $10"
    )
    await pool.execute(
        f"""INSERT INTO staff (id, name, role, department, skills, seniority, capacity,
                               on_duty, email, phone)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (id) DO UPDATE SET name = $2, role = $3, department = $4, skills = $5,
               seniority = $6, capacity = $7, on_duty = $8, {contact}, updated_at = now()""",
        m.id,
        m.name,
        m.role,
        m.department,
        m.skills,
        m.seniority,
        m.capacity,
        m.on_duty,
        m.email,
        m.phone,
    )


async def set_on_duty(pool: Pool, staff_id: str, on_duty: bool) -> bool:
    result: str = await pool.execute(
        "UPDATE staff SET on_duty = $2, updated_at = now() WHERE id = $1", staff_id, on_duty
    )
    return result.endswith(" 1")


_VIEW = """SELECT s.*, (SELECT count(*) FROM assignments a
                        WHERE a.staff_id = s.id AND a.state = 'active') AS load
           FROM staff s"""


async def list_staff(pool: Pool) -> list[StaffView]:
    rows = await pool.fetch(f"{_VIEW} ORDER BY s.department, s.id")
    return [_view(r) for r in rows]


async def get_staff(pool: Pool, staff_id: str) -> StaffView | None:
    row = await pool.fetchrow(f"{_VIEW} WHERE s.id = $1", staff_id)
    return _view(row) if row else None


def _view(r: asyncpg.Record) -> StaffView:
    fields = {k: r[k] for k in StaffView.model_fields}
    return StaffView(**fields)


async def assign(pool: Pool, number: str, need: Requirement, priority: str, now: datetime) -> Pick:
    """Assign, or queue; a repeat for the same request returns what was decided first."""
    async with pool.acquire() as conn, conn.transaction():
        held = await conn.fetchrow(
            "SELECT a.staff_id, a.state, s.department FROM assignments a "
            "LEFT JOIN staff s ON s.id = a.staff_id WHERE a.number = $1 FOR UPDATE OF a",
            number,
        )
        if held is not None and held["state"] == "active":
            return Pick(held["staff_id"], "already assigned", held["department"])
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM staff)"):
            return Pick(need.desk, f"no staff directory yet: {need.why} → {need.desk}")
        pick = await _pick(conn, need, now)
        if pick is None:
            await conn.execute(
                """INSERT INTO assignments (number, state, skills, senior, priority, queued_at)
                   VALUES ($1, 'queued', $2, $3, $4, $5)
                   ON CONFLICT (number) DO NOTHING""",
                number,
                list(need.skills),
                need.senior,
                priority,
                now,
            )
            return Pick(None, f"nobody free with {need.why}: queued")
        staff_id, department, rule = pick
        await conn.execute(
            """INSERT INTO assignments (number, staff_id, state, skills, senior, priority,
                                        assigned_at)
               VALUES ($1, $2, 'active', $3, $4, $5, $6)
               ON CONFLICT (number) DO UPDATE SET staff_id = $2, state = 'active',
                   assigned_at = $6, released_at = NULL""",
            number,
            staff_id,
            list(need.skills),
            need.senior,
            priority,
            now,
        )
        return Pick(staff_id, rule, department)


async def _pick(
    conn: Conn, need: Requirement, now: datetime, only: str | None = None
) -> tuple[str, str, str] | None:
    """Lock the candidates, then choose: senior if needed, sub-type skill first, least
    loaded, longest since last assignment (round-robin among equals)."""
    rows = await conn.fetch(
        """SELECT s.id, s.department, s.capacity, s.seniority, s.skills, s.last_assigned_at
           FROM staff s
           WHERE s.on_duty AND s.role = ANY($1::text[]) AND s.skills && $2::text[]
             AND ($3::text IS NULL OR s.id = $3)
           ORDER BY s.id
           FOR UPDATE""",
        list(HANDLER_ROLES),
        list(need.skills),
        only,
    )
    if not rows:
        return None
    loads = dict(
        await conn.fetch(
            "SELECT staff_id, count(*) FROM assignments WHERE state = 'active' "
            "AND staff_id = ANY($1::text[]) GROUP BY staff_id",
            [r["id"] for r in rows],
        )
    )
    free = [r for r in rows if loads.get(r["id"], 0) < r["capacity"]]
    if not free:
        return None
    first_skill = need.skills[0]
    senior = [r for r in free if r["seniority"] >= SENIOR]
    pool = senior if need.senior and senior else free

    def rank(r: asyncpg.Record) -> tuple[Any, ...]:
        never = r["last_assigned_at"] is None
        return (
            first_skill not in r["skills"],
            loads.get(r["id"], 0),
            not never,
            r["last_assigned_at"] or now,
            r["id"],
        )

    best = min(pool, key=rank)
    await conn.execute("UPDATE staff SET last_assigned_at = $2 WHERE id = $1", best["id"], now)
    fallback = need.senior and not senior
    rule = (
        f"{need.why} → {best['id']} (load {loads.get(best['id'], 0)}/{best['capacity']}"
        + (", no senior free" if fallback else "")
        + ")"
    )
    return best["id"], best["department"], rule


async def transfer(pool: Pool, number: str, staff_id: str, now: datetime) -> Pick:
    """Hand a request to a named person if they are on duty and have room."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT staff_id, skills, senior, state FROM assignments WHERE number = $1 FOR UPDATE",
            number,
        )
        if row is not None and row["staff_id"] == staff_id and row["state"] == "active":
            dept = await conn.fetchval("SELECT department FROM staff WHERE id = $1", staff_id)
            return Pick(staff_id, "already assigned", dept)
        target = await conn.fetchrow(
            "SELECT id, department, capacity, on_duty, role FROM staff WHERE id = $1 FOR UPDATE",
            staff_id,
        )
        if target is None and staff_id in DESK_NAMES:
            # A desk (the fresh-install holder) has no capacity to count: it takes it back.
            return Pick(staff_id, f"back to {staff_id}")
        if target is None:
            return Pick(None, f"no staff member {staff_id}")
        if not target["on_duty"]:
            return Pick(None, f"{staff_id} is off duty")
        load = await conn.fetchval(
            "SELECT count(*) FROM assignments WHERE state = 'active' AND staff_id = $1", staff_id
        )
        if load >= target["capacity"]:
            return Pick(None, f"{staff_id} is at capacity ({load}/{target['capacity']})")
        await _hand_to(conn, number, staff_id, now)
        return Pick(staff_id, f"handed to {staff_id}", target["department"])


async def transfer_to_department(pool: Pool, number: str, department: str, now: datetime) -> Pick:
    """Hand a request to the least-loaded on-duty handler of a department."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """SELECT s.id, s.capacity,
                      (SELECT count(*) FROM assignments a
                       WHERE a.staff_id = s.id AND a.state = 'active') AS load
               FROM staff s
               WHERE s.on_duty AND s.department = $1 AND s.role = ANY($2::text[])
               ORDER BY s.id FOR UPDATE""",
            department,
            list(HANDLER_ROLES),
        )
        free = sorted(
            (r for r in rows if r["load"] < r["capacity"]), key=lambda r: (r["load"], r["id"])
        )
        if not free:
            return Pick(None, f"nobody on duty with room in {department}")
        best = free[0]["id"]
        await _hand_to(conn, number, best, now)
        return Pick(best, f"handed to {department}: {best}", department)


async def _hand_to(conn: Conn, number: str, staff_id: str, now: datetime) -> None:
    """`staff_id` holds the request from `now` — a named handover, a department's pick or
    a takeover: the one row per request is (re)made active, whatever it was before."""
    await conn.execute(
        """INSERT INTO assignments (number, staff_id, state, priority, assigned_at)
           VALUES ($1, $2, 'active', '', $3)
           ON CONFLICT (number) DO UPDATE SET staff_id = $2, state = 'active',
               assigned_at = $3, released_at = NULL""",
        number,
        staff_id,
        now,
    )


async def release(pool: Pool, number: str, now: datetime) -> bool:
    result: str = await pool.execute(
        "UPDATE assignments SET state = 'released', staff_id = NULL, released_at = $2 "
        "WHERE number = $1 AND state IN ('active', 'queued')",
        number,
        now,
    )
    return result.endswith(" 1")


async def drain_queue(pool: Pool, now: datetime, limit: int = 100) -> list[tuple[str, Pick]]:
    """Assign queued requests, most urgent and oldest first, while anyone has room."""
    done: list[tuple[str, Pick]] = []
    queued = await pool.fetch(
        "SELECT number, skills, senior, priority FROM assignments WHERE state = 'queued' "
        "ORDER BY priority, queued_at LIMIT $1",
        limit,
    )
    for q in queued:
        need = Requirement(tuple(q["skills"]), q["senior"], "queued request")
        async with pool.acquire() as conn, conn.transaction():
            still = await conn.fetchval(
                "SELECT state FROM assignments WHERE number = $1 FOR UPDATE", q["number"]
            )
            if still != "queued":
                continue
            pick = await _pick(conn, need, now)
            if pick is None:
                continue
            staff_id, department, rule = pick
            await conn.execute(
                "UPDATE assignments SET staff_id = $2, state = 'active', assigned_at = $3 "
                "WHERE number = $1",
                q["number"],
                staff_id,
                now,
            )
        done.append((q["number"], Pick(staff_id, f"from the queue: {rule}", department)))
    return done


async def duty_roster(pool: Pool) -> dict[str, tuple[bool, str, str]]:
    """Everyone in the directory: id → (on duty, department, role). Small (one row per
    person), read once per ladder step to resolve its recipients."""
    rows = await pool.fetch("SELECT id, on_duty, department, role FROM staff")
    return {r["id"]: (r["on_duty"], r["department"], r["role"]) for r in rows}


async def seniors_above(pool: Pool, department: str | None, holder: str | None) -> list[str]:
    """On-duty handlers of the department more senior than the holder — handlers before
    supervisors, nearest rank first, then least loaded: where the ladder's `reassign` step
    sends a request."""
    rows = await pool.fetch(
        """WITH h AS (SELECT seniority FROM staff WHERE id = $2)
           SELECT s.id FROM staff s
           WHERE s.on_duty AND s.role = ANY($3::text[]) AND s.id IS DISTINCT FROM $2
             AND ($1::text IS NULL OR s.department = $1)
             AND s.seniority > COALESCE((SELECT seniority FROM h), $4 - 1)
           ORDER BY s.role = 'supervisor', s.seniority,
                    (SELECT count(*) FROM assignments a
                     WHERE a.staff_id = s.id AND a.state = 'active'), s.id""",
        department,
        holder,
        list(HANDLER_ROLES),
        SENIOR,
    )
    return [r["id"] for r in rows]


async def take_over(pool: Pool, number: str, staff_id: str, now: datetime) -> Pick:
    """A ladder takeover: the named person holds the request whatever their load — an
    escalation must not bounce off a full in-tray. Refused only if they are unknown."""
    async with pool.acquire() as conn, conn.transaction():
        dept = await conn.fetchval("SELECT department FROM staff WHERE id = $1", staff_id)
        if dept is None:
            return Pick(None, f"no staff member {staff_id}")
        await _hand_to(conn, number, staff_id, now)
        return Pick(staff_id, f"taken over by {staff_id}", dept)
