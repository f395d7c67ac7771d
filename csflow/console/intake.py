"""The console's "new request" form → RequestIntake, the same model POST /requests takes.

A phone call or a walk-in is recorded here by the person taking it; they become the
intake's `recorded_by` (bound from their token like the API does) and the request starts
through the starter client's `create`, the one path every channel uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from csflow.console.forms import Invalid
from csflow.contracts import RequestIntake

FIELDS = (
    "customer_id",
    "customer_name",
    "phone",
    "email",
    "tier",
    "language",
    "channel",
    "category",
    "sub_type",
    "priority",
    "description",
    "order_number",
)


def to_intake(posted: Mapping[str, str]) -> RequestIntake:
    """The posted form as an intake; `Invalid` names every field the model refuses."""

    def given(name: str) -> str | None:
        return (posted.get(name) or "").strip() or None

    contact = {k: v for k in ("phone", "email") if (v := given(k))}
    data: dict[str, Any] = {
        "customer": {
            "id": given("customer_id"),
            "name": given("customer_name"),
            "tier": given("tier") or "regular",
            "language": given("language") or "zh-CN",
            "contact": contact,
        },
        "channel": given("channel"),
        "category": given("category"),
        "priority": given("priority") or "P3",
        "description": given("description"),
    }
    for name in ("sub_type", "order_number"):
        if (value := given(name)) is not None:
            data[name] = value
    try:
        return RequestIntake.model_validate(data)
    except ValidationError as err:
        raise Invalid(
            [(_field(e["loc"]), e["msg"].removeprefix("Value error, ")) for e in err.errors()]
        ) from None


def _field(loc: tuple[int | str, ...]) -> str:
    """The model's location as the form's field name (customer.name → customer_name)."""
    parts = [str(p) for p in loc]
    if parts[:2] == ["customer", "contact"]:
        return "phone/email" if len(parts) == 2 else parts[2]
    if parts[:1] == ["customer"] and len(parts) > 1:
        return "customer_" + parts[1] if parts[1] in ("id", "name") else parts[1]
    return ".".join(parts) or "form"
