"""Personal fields: plaintext at the edge, sealed with the customer's key in Temporal.

A personal field (a customer's name, phone, e-mail, description, their own words in a
command) holds either

- **plaintext**, checked against the field's own bounds (length, pattern; NUL and lone
  surrogates by `Model`) — what a caller sends the API, and what old histories and a raw
  `temporal workflow start` carry; or
- **a sealed value** ``sealed:c:<handle>:<base64>`` (`csflow.crypto.sealed`), which the
  edge makes after checking the plaintext: the workflow cannot open it, so it accepts it
  when it is well-formed and no longer than the longest sealing of a text within the bound.

The aliases below (`PersonalName`, `CustomerWords`, …) are the field types; `seal_model`
seals every personal field of a model (nested models and lists included) with a sealing
function the edge holds. A field marked ``customer_actor_only`` (a cancel's or close's
reason) is personal only when the command's actor is the customer.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema

from csflow.crypto import sealed
from csflow.domain.codes import Role

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class PersonalMark:
    """Marks a field as personal; carries the plaintext bounds for the checks."""

    max_length: int
    min_length: int = 0
    pattern: str | None = None
    customer_actor_only: bool = False

    def check(self, value: str) -> str:
        if sealed.is_sealed(value):
            try:
                sealed.parse(value)
            except ValueError as err:
                raise ValueError(str(err)) from None
            if len(value) > sealed.max_length(self.max_length):
                raise ValueError(
                    f"a sealed value this long holds more than {self.max_length} characters"
                )
            if len(value) < sealed.min_length(self.min_length):
                raise ValueError(f"a sealed value this short holds less than {self.min_length}")
            return value
        if len(value) < self.min_length:
            raise ValueError(f"must have at least {self.min_length} character(s)")
        if len(value) > self.max_length:
            raise ValueError(f"must have at most {self.max_length} characters")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise ValueError(f"must match {self.pattern}")
        return value

    def schema(self, description: str | None) -> dict[str, Any]:
        plain: dict[str, Any] = {"maxLength": self.max_length}
        if self.min_length:
            plain["minLength"] = self.min_length
        if self.pattern:
            plain["pattern"] = self.pattern
        note = (
            f"Personal data: plaintext of at most {self.max_length} characters"
            + (f" matching `{self.pattern}`" if self.pattern else "")
            + ", or that text sealed with the customer's key, `sealed:c:<handle>:<base64>` "
            "(docs/contract.md, Personal fields)."
        )
        return {
            "type": "string",
            "maxLength": sealed.max_length(self.max_length),
            "x-csflow-personal": plain,
            "description": f"{description} {note}" if description else note,
        }


def _bounds(mark: PersonalMark) -> Any:
    return Field(max_length=sealed.max_length(mark.max_length))


# One type per kind of personal field; mypy takes no call in an annotation, so each is a
# module-level alias built from its mark (plaintext bounds, and when it counts as personal).
_NAME = PersonalMark(200, 1)
_PHONE = PersonalMark(20, 0, r"^\+?[0-9 ()-]{5,20}$")
_EMAIL = PersonalMark(254, 0, r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DESCRIPTION = PersonalMark(10_000, 1)
_WORDS = PersonalMark(4000)
_SHORT_WORDS = PersonalMark(2000)
_CUSTOMERS_REASON = PersonalMark(2000, 0, None, customer_actor_only=True)
_CUSTOMERS_CANCEL = PersonalMark(2000, 1, None, customer_actor_only=True)

PersonalName = Annotated[
    str, _bounds(_NAME), AfterValidator(_NAME.check), WithJsonSchema(_NAME.schema(None)), _NAME
]
PersonalPhone = Annotated[
    str, _bounds(_PHONE), AfterValidator(_PHONE.check), WithJsonSchema(_PHONE.schema(None)), _PHONE
]
PersonalEmail = Annotated[
    str, _bounds(_EMAIL), AfterValidator(_EMAIL.check), WithJsonSchema(_EMAIL.schema(None)), _EMAIL
]
PersonalDescription = Annotated[
    str,
    _bounds(_DESCRIPTION),
    AfterValidator(_DESCRIPTION.check),
    WithJsonSchema(_DESCRIPTION.schema(None)),
    _DESCRIPTION,
]
CustomerWords = Annotated[
    str, _bounds(_WORDS), AfterValidator(_WORDS.check), WithJsonSchema(_WORDS.schema(None)), _WORDS
]
CustomerShortWords = Annotated[
    str,
    _bounds(_SHORT_WORDS),
    AfterValidator(_SHORT_WORDS.check),
    WithJsonSchema(_SHORT_WORDS.schema(None)),
    _SHORT_WORDS,
]
# A close's reason: the customer's words when the customer is the actor.
ReasonMaybeCustomers = Annotated[
    str,
    _bounds(_CUSTOMERS_REASON),
    AfterValidator(_CUSTOMERS_REASON.check),
    WithJsonSchema(_CUSTOMERS_REASON.schema(None)),
    _CUSTOMERS_REASON,
]
# A cancel's reason (required): the customer's words when the customer is the actor.
CancelReason = Annotated[
    str,
    _bounds(_CUSTOMERS_CANCEL),
    AfterValidator(_CUSTOMERS_CANCEL.check),
    WithJsonSchema(_CUSTOMERS_CANCEL.schema("Why; audited.")),
    _CUSTOMERS_CANCEL,
]


def _mark_of(annotation: Any, metadata: list[Any]) -> PersonalMark | None:
    for m in metadata:
        if isinstance(m, PersonalMark):
            return m
    origin = get_origin(annotation)
    if origin is Annotated:
        args = get_args(annotation)
        return _mark_of(args[0], list(args[1:]))
    if origin is Union or origin is types.UnionType:
        for arg in get_args(annotation):
            found = _mark_of(arg, [])
            if found is not None:
                return found
    return None


def _customer_actor(model: BaseModel) -> bool:
    actor = getattr(model, "actor", None)
    return getattr(actor, "role", None) == Role.CUSTOMER


def personal_values(model: BaseModel) -> list[str]:
    """The plaintext personal values `seal_model` would seal (empty: nothing to seal)."""
    found: list[str] = []
    _walk(model, lambda text: found.append(text), lambda _: None)
    return found


def sealed_values(model: BaseModel) -> list[str]:
    """The personal values that arrive already sealed."""
    found: list[str] = []
    _walk(model, lambda text: text, found.append)
    return found


def seal_model(model: M, seal: Callable[[str], str]) -> M:
    """A copy of `model` with every plaintext personal field replaced by `seal(text)`."""
    return _walk(model, seal, lambda _: None)


def _walk(model: M, seal: Callable[[str], Any], seen: Callable[[str], None]) -> M:
    update: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        mark = _mark_of(info.annotation, list(info.metadata))
        if mark is not None:
            if not isinstance(value, str):
                continue
            if sealed.is_sealed(value):
                seen(value)
            elif not mark.customer_actor_only or _customer_actor(model):
                update[name] = seal(value)
        elif isinstance(value, BaseModel):
            walked = _walk(value, seal, seen)
            if walked is not value:
                update[name] = walked
        elif isinstance(value, list) and any(isinstance(v, BaseModel) for v in value):
            items = [_walk(v, seal, seen) if isinstance(v, BaseModel) else v for v in value]
            if any(a is not b for a, b in zip(items, value, strict=True)):
                update[name] = items
    return model.model_copy(update=update) if update else model
