"""Message templates for every event × language, checked when they load.

A sandboxed Jinja2 environment renders them with StrictUndefined; at load each template's
variables are compared with the ones its event declares (a typo like {{ numbr }} is refused
then, not at 3 a.m. when the message is due), and its text passes the compliance check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import StrictUndefined, meta
from jinja2.sandbox import SandboxedEnvironment

from csflow.notify.compliance import DEFAULT_BANNED, check_compliance
from csflow.notify.models import Language

# template → (variables it may use, {language: (subject, body)})
Spec = tuple[frozenset[str], Mapping[str, tuple[str, str]]]

_V = frozenset
TEMPLATES: dict[str, Spec] = {
    "acknowledgement": (
        _V({"number", "eta"}),
        {
            "zh-CN": (
                "已收到您的服务请求 {{ number }}",
                "您好，我们已收到您的请求，单号 {{ number }}。预计在 {{ eta }} 前给您答复。",
            ),
            "en": (
                "We received your request {{ number }}",
                "Hello, we received your request {{ number }}. You will hear from us by {{ eta }}.",
            ),
        },
    ),
    "progress_update": (
        _V({"number", "note"}),
        {
            "zh-CN": ("服务请求 {{ number }} 的进展", "您的请求 {{ number }} 有新进展：{{ note }}"),
            "en": ("Progress on {{ number }}", "News on your request {{ number }}: {{ note }}"),
        },
    ),
    "resolution": (
        _V({"number", "summary"}),
        {
            "zh-CN": (
                "服务请求 {{ number }} 已处理，请确认",
                "您的请求 {{ number }} 已处理：{{ summary }}。请回复确认是否满意。",
            ),
            "en": (
                "{{ number }} is resolved — please confirm",
                "Your request {{ number }} is resolved: {{ summary }}. Please tell us whether "
                "you are satisfied.",
            ),
        },
    ),
    "follow_up_questionnaire": (
        _V({"number", "survey_url"}),
        {
            "zh-CN": (
                "请评价服务 {{ number }}",
                "感谢您的耐心。请花一分钟评价本次服务：{{ survey_url }}",
            ),
            "en": (
                "How did we do on {{ number }}?",
                "Thank you for your patience. One minute to rate our service: {{ survey_url }}",
            ),
        },
    ),
    "reactivation": (
        _V({"number", "survey_url"}),
        {
            "zh-CN": (
                "我们想听听您的意见",
                "您对服务 {{ number }} 满意吗？欢迎评价：{{ survey_url }}",
            ),
            "en": (
                "We would love your opinion",
                "Were you happy with {{ number }}? Tell us here: {{ survey_url }}",
            ),
        },
    ),
    "improvement_outcome": (
        _V({"number", "what_changed"}),
        {
            "zh-CN": (
                "根据您的反馈我们做了改进",
                "感谢您对 {{ number }} 的反馈。我们的改进：{{ what_changed }}",
            ),
            "en": (
                "What we changed after your feedback",
                "Thank you for your feedback on {{ number }}. What we changed: {{ what_changed }}",
            ),
        },
    ),
    "staff_assignment": (
        _V({"number", "priority", "category"}),
        {
            "zh-CN": (
                "新分配：{{ number }}",
                "{{ priority }} {{ category }} 请求 {{ number }} 已分配给您。",
            ),
            "en": (
                "Assigned to you: {{ number }}",
                "{{ priority }} {{ category }} request {{ number }} is yours.",
            ),
        },
    ),
    "staff_warning": (
        _V({"number", "clock", "due_at"}),
        {
            "zh-CN": ("预警：{{ number }}", "{{ number }} 的 {{ clock }} 将于 {{ due_at }} 到期。"),
            "en": (
                "Deadline approaching: {{ number }}",
                "{{ number }}: {{ clock }} is due at {{ due_at }}.",
            ),
        },
    ),
    "staff_breach": (
        _V({"number", "clock", "due_at"}),
        {
            "zh-CN": ("超时：{{ number }}", "{{ number }} 的 {{ clock }} 已于 {{ due_at }} 超时。"),
            "en": (
                "Deadline missed: {{ number }}",
                "{{ number }}: {{ clock }} was due at {{ due_at }} and is breached.",
            ),
        },
    ),
    "staff_escalation": (
        _V({"number", "clock", "priority", "action"}),
        {
            "zh-CN": (
                "升级：{{ number }}",
                "{{ priority }} 请求 {{ number }} 的 {{ clock }} 已超时升级（{{ action }}）。",
            ),
            "en": (
                "Escalation: {{ number }}",
                "{{ priority }} request {{ number }}: {{ clock }} overdue, escalated "
                "({{ action }}).",
            ),
        },
    ),
    "staff_alert": (
        _V({"number", "reason"}),
        {
            "zh-CN": ("需要处理：{{ number }}", "{{ number }}：{{ reason }}"),
            "en": ("Needs attention: {{ number }}", "{{ number }}: {{ reason }}"),
        },
    ),
    "staff_reminder": (
        _V({"number", "due_at"}),
        {
            "zh-CN": ("回访提醒：{{ number }}", "请在 {{ due_at }} 前完成 {{ number }} 的回访。"),
            "en": (
                "Follow-up reminder: {{ number }}",
                "Please follow up {{ number }} before {{ due_at }}.",
            ),
        },
    ),
    # ---- handovers (issue 18): the new holder hears it is theirs; the customer hears what
    # the standard script says (升级处理, the plan's ETA and every revision, compensation).
    "staff_handover": (
        _V({"number", "priority", "category", "reason", "previous"}),
        {
            "zh-CN": (
                "转交给您：{{ number }}",
                "{{ priority }} {{ category }} 请求 {{ number }} 现由您负责（{{ reason }}）。"
                "原处理人：{{ previous }}。",
            ),
            "en": (
                "Handed to you: {{ number }}",
                "{{ priority }} {{ category }} request {{ number }} is now yours ({{ reason }})."
                " Previously with: {{ previous }}.",
            ),
        },
    ),
    "staff_decision": (
        _V({"number", "decision", "amount", "currency", "reason"}),
        {
            "zh-CN": (
                "补偿审批结果：{{ number }}",
                "{{ number }} 的补偿 {{ amount }} {{ currency }}："
                "{{ '已批准' if decision == 'approved' else '未批准' }}（{{ reason }}）。",
            ),
            "en": (
                "Compensation decided: {{ number }}",
                "Compensation of {{ amount }} {{ currency }} on {{ number }}: {{ decision }} "
                "({{ reason }}).",
            ),
        },
    ),
    "customer_escalated": (
        _V({"number"}),
        {
            "zh-CN": (
                "您的请求 {{ number }} 已升级处理",
                "您好，您的请求 {{ number }} 已升级处理，由更资深的同事跟进，我们会尽快给您答复。",
            ),
            "en": (
                "Your request {{ number }} has been escalated",
                "Hello, your request {{ number }} has been escalated to a senior colleague, "
                "who will get back to you as soon as possible.",
            ),
        },
    ),
    "plan_eta": (
        _V({"number", "eta"}),
        {
            "zh-CN": (
                "服务请求 {{ number }} 的处理方案",
                "您的请求 {{ number }} 已制定处理方案，预计在 {{ eta }} 前处理完毕。",
            ),
            "en": (
                "Our plan for {{ number }}",
                "We have a plan for your request {{ number }} and expect to finish by {{ eta }}.",
            ),
        },
    ),
    "eta_revised": (
        _V({"number", "eta", "previous_eta"}),
        {
            "zh-CN": (
                "服务请求 {{ number }} 的预计完成时间有变",
                "您的请求 {{ number }} 的预计完成时间由 {{ previous_eta }} 调整为 {{ eta }}。"
                "给您带来不便，敬请谅解。",
            ),
            "en": (
                "New expected time for {{ number }}",
                "The expected time for your request {{ number }} moves from {{ previous_eta }}"
                " to {{ eta }}. We are sorry for the change.",
            ),
        },
    ),
    "compensation_granted": (
        _V({"number", "amount", "currency"}),
        {
            "zh-CN": (
                "服务请求 {{ number }} 的补偿",
                "关于您的请求 {{ number }}，我们为您提供 {{ amount }} {{ currency }} 的补偿。",
            ),
            "en": (
                "Compensation for {{ number }}",
                "For your request {{ number }} we are granting you {{ amount }} {{ currency }}.",
            ),
        },
    ),
}


def declared_variables(template: str) -> frozenset[str] | None:
    """The variables `template` may use (what a compact message keeps of its variables);
    None for a template this code does not know."""
    spec = TEMPLATES.get(template)
    return spec[0] if spec else None


class TemplateError(ValueError):
    """A template that would fail or mislead at send time, refused at load."""


class Templates:
    def __init__(
        self, specs: Mapping[str, Spec] = TEMPLATES, banned: Iterable[str] = DEFAULT_BANNED
    ) -> None:
        self._env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        self._compiled: dict[tuple[str, str], tuple[Any, Any]] = {}
        for name, (declared, langs) in specs.items():
            for lang, (subject, body) in langs.items():
                for part in (subject, body):
                    used = meta.find_undeclared_variables(self._env.parse(part))
                    if unknown := used - declared:
                        raise TemplateError(
                            f"template {name} ({lang}) uses unknown variable(s): "
                            f"{', '.join(sorted(unknown))}"
                        )
                    try:
                        check_compliance(part, banned)
                    except ValueError as err:
                        raise TemplateError(f"template {name} ({lang}): {err}") from err
                self._compiled[(name, lang)] = (
                    self._env.from_string(subject),
                    self._env.from_string(body),
                )
        self.names = frozenset(specs)

    def render(self, name: str, lang: Language, variables: Mapping[str, Any]) -> tuple[str, str]:
        subject, body = self._compiled[(name, lang)]
        return subject.render(**variables), body.render(**variables)
