"""The console's forms for breach reasons and root causes: who sees which, and the posted
strings become the commands (docs/console.md)."""

from __future__ import annotations

from csflow.console import forms
from csflow.contracts import ReviewBreachCommand
from csflow.domain.codes import Role
from csflow.domain.lifecycle import Command

WHY = {Command.EXPLAIN_BREACH, Command.REVIEW_BREACH, Command.RECORD_CAUSE}


def test_holders_explain_and_supervisors_review_and_record_causes() -> None:
    def seen(role: Role) -> set[Command]:
        return {f.command for f in forms.forms_for(role)} & WHY

    assert seen(Role.AGENT) == seen(Role.ENGINEER) == {Command.EXPLAIN_BREACH}
    assert seen(Role.SUPERVISOR) == seen(Role.ADMIN) == WHY
    assert seen(Role.FOLLOW_UP) == seen(Role.ANALYST) == seen(Role.SERVICE) == set()


def test_a_posted_review_becomes_the_command() -> None:
    posted = {"clock": " resolution#2 ", "verdict": "rejected", "note": "logistics answered"}
    data = forms.to_input(Command.REVIEW_BREACH, posted, "Asia/Shanghai")
    assert data == {"clock": "resolution#2", "verdict": "rejected", "note": "logistics answered"}
    review = ReviewBreachCommand(actor={"id": "sup-1", "role": "supervisor"}, **data)
    assert review.verdict == "rejected"
    resolve = forms.to_input(
        Command.RESOLVE, {"summary": "done", "cause": "", "responsible_department": ""}, "UTC"
    )
    assert resolve == {"summary": "done"}  # blank cause fields: none given
