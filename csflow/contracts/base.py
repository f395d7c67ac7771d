"""The types every contract model is built from: the base model and the checked scalars.

Every model forbids unknown fields (a typo in a caller's JSON is a 422 naming the field,
not a silently ignored value) and refuses text PostgreSQL cannot store (NUL, lone UTF-16
surrogates). The scalar types are strict where JSON's loose readings would change the
meaning: `0` is not a time, `0` or `"yes"` is not a boolean, `false` is not a number.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from csflow.contracts.bounds import MAX_TEXT, out_of_range
from csflow.domain.codes import Role

WORKFLOW_TYPE = "ServiceRequest"


_NUMBER = re.compile(r"[-+]?\d+(\.\d*)?([eE][-+]?\d+)?")


def _a_time_not_a_number(value: Any) -> Any:
    # pydantic would read 0 (or "0") as 1970-01-01 and 1e12 as a date: a caller who sends a number
    # meant something else, so it is refused rather than guessed.
    if isinstance(value, bool | int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value.strip())
    ):
        raise ValueError(
            "a timestamp is ISO 8601 text with a time zone, "
            "e.g. 2026-11-23T09:30:00+08:00, not a number"
        )
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a time zone, e.g. 2026-11-23T09:30:00+08:00")
    problem = out_of_range(value)
    if problem:
        raise ValueError(problem)
    return value


def _only_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


AwareDatetime = Annotated[datetime, BeforeValidator(_a_time_not_a_number), AfterValidator(_aware)]
Flag = Annotated[bool, BeforeValidator(_only_bool)]
# Put after a number's Field(ge=..., le=...) so the bounds still show in the JSON schema.
NOT_BOOL = BeforeValidator(_not_bool)
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]
Reason = Annotated[str, Field(min_length=1, max_length=2000, description="Why; audited.")]


def unstorable(value: object) -> str | None:
    """Why `value` (or text inside it) cannot be stored as PostgreSQL text, or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return "text must not contain the NUL character (U+0000)"
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            return "text must be valid Unicode (no lone surrogate such as \\ud800)"
        return None
    if isinstance(value, list | tuple | set | frozenset):
        return next((p for p in map(unstorable, value) if p), None)
    if isinstance(value, dict):
        return next(
            (p for k, v in value.items() for p in (unstorable(k), unstorable(v)) if p), None
        )
    return None


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=False, str_strip_whitespace=True, str_max_length=MAX_TEXT
    )

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # PostgreSQL text and jsonb cannot hold U+0000 or a lone surrogate: refused at the
        # edge, such text can never make a persistence activity fail forever later.
        problem = unstorable(value)
        if problem:
            raise ValueError(problem)
        return value


class Actor(Model):
    """Who did something; recorded on every timeline event."""

    id: Identifier
    role: Role


SYSTEM = Actor(id="csflow", role=Role.SYSTEM)
