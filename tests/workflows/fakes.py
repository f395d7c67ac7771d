"""In-memory stand-ins for the activities, registered under the real activity names.

Workflow tests check orchestration; the real activities are tested against a real
PostgreSQL in tests/activities and tests/integration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.assignment import AssignmentActivities
from csflow.contracts import AssignInput, Assignment, RecordEvents


@dataclass
class FakeStore:
    batches: list[RecordEvents] = field(default_factory=list)
    calls: int = 0
    refuse_next: int = 0  # how many calls the "database" refuses outright

    @activity.defn(name="record_events")
    async def record_events(self, batch: RecordEvents) -> int:
        self.calls += 1
        if self.refuse_next > 0:
            self.refuse_next -= 1
            raise ApplicationError("refused by the database", type="DataError",
                                   non_retryable=True)
        self.batches.append(batch)
        return len(batch.events)

    def seqs(self, number: str) -> list[int]:
        return [e.seq for b in self.batches if b.state.number == number for e in b.events]

    def kinds(self, number: str) -> list[str]:
        return [e.kind for b in self.batches if b.state.number == number for e in b.events]


class FakeAssignment:
    """The real rule, so the routing tests exercise the shipped table."""

    def __init__(self) -> None:
        self._real = AssignmentActivities()

    @activity.defn(name="pick_assignee")
    async def pick_assignee(self, req: AssignInput) -> Assignment:
        return await self._real.pick_assignee(req)
