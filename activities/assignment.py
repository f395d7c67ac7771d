"""Assignment: who gets a new request. A simple, explainable rule for now.

The rule is a table handed in by the composition root, so tests and deployments can swap
it without touching the workflow: VIP and P1 requests go to the senior desk, everything
else to the desk for its category.
"""

from __future__ import annotations

from collections.abc import Mapping

from temporalio import activity

from csflow.contracts import AssignInput, Assignment
from csflow.domain.codes import Category, Priority, Tier

DEFAULT_DESKS: Mapping[Category, str] = {
    Category.CONSULTATION: "service-desk",
    Category.COMPLAINT: "complaints-desk",
    Category.SUGGESTION: "product-desk",
    Category.AFTER_SALES: "after-sales-desk",
}
SENIOR_DESK = "senior-desk"


class AssignmentActivities:
    def __init__(self, desks: Mapping[Category, str] = DEFAULT_DESKS,
                 senior_desk: str = SENIOR_DESK) -> None:
        self._desks = desks
        self._senior = senior_desk

    @activity.defn(name="pick_assignee")
    async def pick_assignee(self, req: AssignInput) -> Assignment:
        if req.tier is Tier.VIP or req.priority is Priority.P1:
            why = "VIP customer" if req.tier is Tier.VIP else "P1 priority"
            return Assignment(assignee=self._senior, rule=f"{why} → senior desk")
        desk = self._desks[req.category]
        return Assignment(assignee=desk, rule=f"{req.category.value} → {desk}")
