"""Who may take a request (docs/requirements.md §3.2): skills for its category and
sub-type, seniority.

Pure: the assignment activity turns this into a locked, capacity-checked pick in
PostgreSQL. Skill tags are plain strings so a team can name its own (e.g. "logistics").
"""

from __future__ import annotations

from dataclasses import dataclass

from csflow.domain.codes import Category, Priority, Tier

SENIOR = 3  # seniority levels: 1 junior, 2 regular, 3 senior
HANDLER_ROLES = ("agent", "engineer", "supervisor")

# Before anyone is in the staff directory (a fresh install), requests go to desks.
DESKS = {
    Category.CONSULTATION: "service-desk",
    Category.COMPLAINT: "complaints-desk",
    Category.SUGGESTION: "product-desk",
    Category.AFTER_SALES: "after-sales-desk",
}
SENIOR_DESK = "senior-desk"
DESK_NAMES = frozenset({*DESKS.values(), SENIOR_DESK})


@dataclass(frozen=True)
class Requirement:
    skills: tuple[str, ...]  # any one of them qualifies
    senior: bool
    why: str
    desk: str = SENIOR_DESK


def requirement(
    category: Category,
    sub_type: str | None,
    priority: Priority,
    tier: Tier,
    repeat: bool,
    *,
    upset: bool = False,
) -> Requirement:
    """The skills a handler needs, and whether the request needs senior staff.

    A sub-type skill (e.g. "logistics") is preferred; the category's own tag (e.g.
    "complaint") always qualifies too, so a sub-type nobody has still finds a handler.
    """
    skills = tuple(s for s in (sub_type, category.value) if s)
    reasons = []
    if tier is Tier.VIP:
        reasons.append("VIP customer")
    if priority in (Priority.P1, Priority.P2):
        reasons.append(f"{priority.value} priority")
    if repeat:
        reasons.append("repeat complaint")
    if upset:
        reasons.append("upset customer")
    why = f"skills {'/'.join(skills)}" + (f"; senior: {', '.join(reasons)}" if reasons else "")
    desk = SENIOR_DESK if reasons else DESKS[category]
    return Requirement(skills=skills, senior=bool(reasons), why=why, desk=desk)
