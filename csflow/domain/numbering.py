"""Request numbers: `CS` + business date + channel code + daily serial (docs/requirements.md §2).

`CS20261123-WEB-0001` sorts by day, shows the channel, and is unique because the serial
comes from one counter per (day, channel) in PostgreSQL, which only the worker reaches: a
caller asks the numbering workflow (`workflows/numbering.py`, docs/contract.md) for the
next number and then starts the request under it. Four digits are a minimum width, not a
cap: the 10,000th request of a day is `-10000` and still sorts after `-9999` within the
day only by length, which is why parsing, not string order, is used for serials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from csflow.domain.codes import Channel

NUMBERS_WORKFLOW = "RequestNumbers"
"""The numbering workflow's type: a few long-lived executions per task queue."""
NEXT_NUMBER = "next_number"
"""Its Update: hands out the next number for a channel and day (docs/contract.md)."""
NUMBERING_UNAVAILABLE = "NumberingUnavailable"
"""The failure type of a `next_number` the worker's database did not answer in time."""
NUMBERS_PRIORITY = 1
"""The numbering workflows' task priority (1 is the highest, 3 the default): a create waits
for its number, so an ask goes ahead of the intake backlog on the shared task queue."""
NUMBER_SHARDS = 8
"""How many numbering executions serve a task queue. Temporal admits at most 10 Updates in
flight per execution; the counters are in PostgreSQL, so any shard hands out correct
numbers and callers spread over them (docs/architecture.md)."""


def numbers_workflow_id(task_queue: str, shard: int = 0) -> str:
    """`csflow-numbers-service-requests-3`: shard 3 of the deployment's numbering.

    The task queue is in the id because it names the deployment whose workers (and their
    PostgreSQL, which holds the counters) serve it; two deployments sharing a namespace
    never share an execution running on the other's workers.
    """
    if shard not in range(NUMBER_SHARDS):
        raise ValueError(f"shard {shard} is not in 0-{NUMBER_SHARDS - 1}")
    return f"csflow-numbers-{task_queue}-{shard}"


class NumbersInput(BaseModel):
    """The numbering workflow's start input; callers send `{}` (its state is in PostgreSQL)."""

    model_config = ConfigDict(extra="forbid")

    numbers_per_run: int = Field(
        default=250,
        ge=1,
        le=1000,
        description="Asks a run answers before it continues "
        "as new: a short history keeps a replay cheap.",
    )


class NumberRequest(BaseModel):
    """The `next_number` Update's argument: what a number depends on, nothing personal."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Channel
    received_at: AwareDatetime = Field(
        description="When the request was received; its business day (in the "
        "organisation's time zone, from the worker's policy) is the number's date."
    )
    external_id: (
        Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")] | None
    ) = Field(
        default=None,
        description="The caller's own id for the request: asking again "
        "with the same external id returns the same number (`existing` true).",
    )


class IssuedNumber(BaseModel):
    """The `next_number` Update's result."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(
        description="The request number: start the ServiceRequest "
        "workflow with it as workflow id and `number`."
    )
    existing: bool = Field(
        description="True when the external id was given a number "
        "before; the request may already be running."
    )


_PATTERN = re.compile(r"^CS(?P<day>\d{8})-(?P<code>[A-Z]{3})-(?P<serial>\d{4,})$")
_BY_CODE = {c.code: c for c in Channel}


@dataclass(frozen=True)
class RequestNumber:
    day: date
    channel: Channel
    serial: int

    def __str__(self) -> str:
        return f"CS{self.day:%Y%m%d}-{self.channel.code}-{self.serial:04d}"


def business_day(at: datetime, tz: str) -> date:
    """The calendar day in the organisation's zone — a 23:30 UTC request is tomorrow in Shanghai."""
    if at.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return at.astimezone(ZoneInfo(tz)).date()


def format_number(day: date, channel: Channel, serial: int) -> str:
    if serial < 1:
        raise ValueError("serial starts at 1")
    return str(RequestNumber(day, channel, serial))


def parse_number(text: str) -> RequestNumber:
    """Raise ValueError for anything that is not a well-formed request number."""
    m = _PATTERN.match(text)
    if not m or m["code"] not in _BY_CODE:
        raise ValueError(f"not a request number: {text!r}")
    day = datetime.strptime(m["day"], "%Y%m%d").date()
    return RequestNumber(day, _BY_CODE[m["code"]], int(m["serial"]))


def parse_start_number(text: str, channel: Channel) -> RequestNumber:
    """A number a workflow was started under: well-formed, canonical, on the intake's channel.

    Raises ValueError saying what to fix, since the message ends up in the failed
    workflow a caller reads.
    """
    number = parse_number(text)
    if str(number) != text:  # "-00012" and "-0012" would be one serial, two ids
        raise ValueError(f"{text}: write the number as {number}")
    if number.channel is not channel:
        raise ValueError(
            f"{text}: the code {number.channel.code} is not the intake's channel "
            f"{channel.value} ({channel.code})"
        )
    return number


def is_request_number(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True
