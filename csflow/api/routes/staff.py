"""/staff: the directory supervisors and admins manage (issue 4).

Putting someone on duty, or giving them more capacity, drains the waiting queue at once:
the requests it assigns are told through their workflows, so nobody polls for work.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from csflow.api import auth
from csflow.api.deps import Pool
from csflow.contracts import Flag
from csflow.services.assignment import drain_and_notify
from csflow.store import staff
from csflow.store.staff import StaffMember, StaffView

router = APIRouter(prefix="/staff", tags=["staff"])
_READ = [Depends(auth.require(auth.READERS, "reading the staff directory"))]
_MANAGE = [Depends(auth.require(auth.STAFF_ADMINS, "managing the staff directory"))]


class Duty(BaseModel):
    on_duty: Flag  # strictly true/false: `0` or "no" is refused, not guessed


class Saved(BaseModel):
    staff: StaffView
    assigned_from_queue: list[str]


@router.get("", response_model=list[StaffView], dependencies=_READ)
async def list_staff(pool: Pool) -> list[StaffView]:
    return await staff.list_staff(pool)


@router.get(
    "/{staff_id}",
    response_model=StaffView,
    dependencies=_READ,
    responses={404: {"description": "Unknown"}},
)
async def get_staff(staff_id: str, pool: Pool) -> StaffView:
    found = await staff.get_staff(pool, staff_id)
    if found is None:
        raise HTTPException(404, f"no staff member {staff_id}")
    return found


@router.put("/{staff_id}", response_model=Saved, dependencies=_MANAGE)
async def put_staff(staff_id: str, member: StaffMember, pool: Pool, request: Request) -> Saved:
    if member.id != staff_id:
        raise HTTPException(422, f"the body's id {member.id!r} differs from the path's")
    await staff.upsert_staff(pool, member)
    return await _saved(staff_id, pool, request)


@router.post("/{staff_id}/duty", response_model=Saved, dependencies=_MANAGE)
async def set_duty(staff_id: str, duty: Duty, pool: Pool, request: Request) -> Saved:
    if not await staff.set_on_duty(pool, staff_id, duty.on_duty):
        raise HTTPException(404, f"no staff member {staff_id}")
    return await _saved(staff_id, pool, request)


async def _saved(staff_id: str, pool: Pool, request: Request) -> Saved:
    # The chart names the new holder's team first (`team_supervisor`, docs/policy.md).
    org = request.app.state.policy.organisation
    assigned = await drain_and_notify(pool, request.app.state.temporal, org)
    view = await staff.get_staff(pool, staff_id)
    assert view is not None
    return Saved(staff=view, assigned_from_queue=assigned)
