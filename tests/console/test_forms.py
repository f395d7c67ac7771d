"""The console's forms: which exist for which role (from REQUIRED_ROLES), and how posted
strings become a command's input."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from csflow.commands import BY_COMMAND, COMMANDS
from csflow.console import csrf, forms
from csflow.console.texts import COMMAND_TITLES, LANGS, TEXTS, pick
from csflow.domain.codes import Role
from csflow.domain.lifecycle import REQUIRED_ROLES, Command


@pytest.mark.parametrize("role", [r for r in Role if r not in (Role.SYSTEM, Role.CUSTOMER)])
def test_a_role_gets_exactly_the_forms_the_workflow_lets_it_send(role: Role) -> None:
    got = {f.command for f in forms.forms_for(role)}
    if role is Role.SERVICE:
        assert got == set()  # a relay names its actor through the API, not here
        return
    expected = {c for c in Command if role in REQUIRED_ROLES[c]} - {Command.ASSIGNMENT_MADE}
    assert got == expected


def test_escalation_forms_belong_to_supervisors_only() -> None:
    for role in (Role.AGENT, Role.ENGINEER, Role.FOLLOW_UP, Role.ANALYST):
        assert Command.ESCALATE not in {f.command for f in forms.forms_for(role)}
    assert Command.ESCALATE in {f.command for f in forms.forms_for(Role.SUPERVISOR)}
    assert forms.forms_for(Role.ANALYST) == []


def test_every_command_but_the_internal_one_has_a_form_with_the_models_fields() -> None:
    for spec in COMMANDS:
        if spec.command is Command.ASSIGNMENT_MADE:
            assert spec.command not in forms.FIELDS
            continue
        names = {f.name for f in forms.FIELDS[spec.command]}
        model = set(spec.model.model_fields) - {"actor"}
        assert names <= model, spec.command
        required = {n for n, f in spec.model.model_fields.items() if f.is_required()}
        assert required - {"actor"} <= names, spec.command
        assert forms.by_path(spec.path) is spec


def test_phrases_insert_only_into_words_that_go_to_the_customer_in_writing() -> None:
    inserting = {c for c, fields in forms.FIELDS.items() if any(f.phrases for f in fields)}
    assert inserting == {
        Command.SUBMIT_PLAN,
        Command.POST_PROGRESS,
        Command.RESOLVE,
        Command.WAIT_FOR_CUSTOMER,
        Command.CANCEL,
    }
    # A conversation's record (the customer's words, scores) never gets a phrase typed in.
    for command in (Command.CONFIRM, Command.RECORD_FOLLOW_UP, Command.CUSTOMER_REPLIED):
        assert forms.Form(BY_COMMAND[command], forms.FIELDS[command]).phrase_field is None


def test_posted_strings_become_the_commands_input() -> None:
    plan = forms.to_input(
        Command.SUBMIT_PLAN,
        {
            "measures": "  collect it \n\n send a new one ",
            "eta": "2026-12-01T18:00",
            "owner": "",
            "department": "care",
        },
        "Asia/Shanghai",
    )
    assert plan == {
        "measures": ["collect it", "send a new one"],
        "eta": datetime(2026, 12, 1, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
        "department": "care",
    }
    assert forms.to_input(Command.CONFIRM, {"satisfied": "no", "reason": "broken"}, "UTC") == {
        "satisfied": False,
        "reason": "broken",
    }
    fu = forms.to_input(
        Command.RECORD_FOLLOW_UP, {"score": "4", "nps": "9", "method": "visit"}, "UTC"
    )
    assert fu == {"score": "4", "nps": "9", "method": "visit", "needs_action": False}
    assert forms.to_input(Command.UPDATE_CALENDAR, {"calendar": '{"a": 1}'}, "UTC") == {
        "calendar": {"a": 1}
    }


def test_unreadable_values_are_named() -> None:
    with pytest.raises(forms.Invalid) as err:
        forms.to_input(Command.SUBMIT_PLAN, {"measures": "x", "eta": "tomorrow"}, "UTC")
    assert err.value.errors == [("eta", "not a date and time (YYYY-MM-DDTHH:MM)")]
    with pytest.raises(forms.Invalid) as err:
        forms.to_input(Command.DECIDE_COMPENSATION, {"approve": "maybe", "reason": "r"}, "UTC")
    assert err.value.errors[0][0] == "approve"
    with pytest.raises(forms.Invalid, match="calendar"):
        forms.to_input(Command.UPDATE_CALENDAR, {"calendar": "{"}, "UTC")


def test_the_csrf_field_belongs_to_one_sign_in() -> None:
    mine, other = "csf_a_secret", "csf_b_secret"
    field = csrf.token_for(mine)
    assert csrf.valid(mine, field)
    assert not csrf.valid(other, field)
    assert not csrf.valid(mine, None) and not csrf.valid(mine, "")
    assert mine not in field and len(field) == 64
    assert csrf.same_origin(None, "console.example:8000")
    assert csrf.same_origin("http://console.example:8000", "console.example:8000")
    assert not csrf.same_origin("https://evil.example", "console.example:8000")
    assert not csrf.same_origin("null", "console.example:8000")


def test_every_language_has_every_text_and_none_hides_a_dict_method() -> None:
    keys = [set(TEXTS[lang]) for lang in LANGS]
    assert all(k == keys[0] for k in keys)
    assert all(v.strip() for lang in LANGS for v in TEXTS[lang].values())
    # Templates write `t.key`: Jinja would find dict.clear before the "clear" entry.
    assert not keys[0] & set(dir(dict))
    assert all(set(COMMAND_TITLES[lang]) == set(Command) for lang in LANGS)
    labels = {f"f_{f.name}" for fields in forms.FIELDS.values() for f in fields}
    assert labels <= keys[0]


def test_the_language_is_the_cookie_then_the_browser() -> None:
    assert pick("en", "zh-CN,zh") == "en"
    assert pick(None, "en-US,en;q=0.9") == "en"
    assert pick("fr", "de-DE") == "zh-CN"
    assert pick(None, None) == "zh-CN"


def test_the_improvement_department_is_offered_only_to_who_may_choose_it() -> None:
    """The workflow refuses a follow-up's improvement department from anyone but a
    supervisor or an admin; the console does not offer others a field they cannot use."""

    def follow_up_fields(role: Role) -> set[str]:
        [form] = [f for f in forms.forms_for(role) if f.spec.command is Command.RECORD_FOLLOW_UP]
        return {f.name for f in form.fields}

    for role in (Role.SUPERVISOR, Role.ADMIN):
        assert "improvement_department" in follow_up_fields(role)
    assert "improvement_department" not in follow_up_fields(Role.FOLLOW_UP)
    assert {"score", "nps", "problem"} <= follow_up_fields(Role.FOLLOW_UP)
