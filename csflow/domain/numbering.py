"""Request numbers: `CS` + business date + channel code + daily serial (SPEC §2).

`CS20261123-WEB-0001` sorts by day, shows the channel, and is unique because the serial
comes from one counter per (day, channel) in PostgreSQL. Four digits are a minimum width,
not a cap: the 10,000th request of a day is `-10000` and still sorts after `-9999` within
the day only by length, which is why parsing, not string order, is used for serials.

Callers that start the workflow themselves (Go, Java, the `temporal` CLI — see
docs/contract.md) cannot ask the counter, so the serial space is split: the counter hands
out 1–899999 and refuses to go further, callers choose from 900000–999999. The two can
then never produce the same number, whatever either side does on any day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from csflow.domain.codes import Channel

COUNTER_SERIALS = range(1, 900_000)
"""Serials `csflow.store.requests.allocate_serial` may hand out, per (day, channel)."""
CALLER_SERIALS = range(900_000, 1_000_000)
"""Serials reserved for callers that number their own requests (docs/contract.md)."""

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


def check_counter_serial(serial: int) -> int:
    """The counter's side of the split: past its range it would collide with callers."""
    if serial not in COUNTER_SERIALS:
        raise ValueError(f"daily serial {serial} is outside the counter's range "
                         f"{COUNTER_SERIALS.start}-{COUNTER_SERIALS.stop - 1}")
    return serial


def parse_caller_number(text: str, channel: Channel) -> RequestNumber:
    """A number a caller chose: well-formed, in the callers' range, on the intake's channel.

    Raises ValueError saying what to fix, since the message ends up in the failed
    workflow a caller reads.
    """
    number = parse_number(text)
    if str(number) != text:  # "-0900001" and "-900001" would be one serial, two ids
        raise ValueError(f"{text}: write the number as {number}")
    if number.serial not in CALLER_SERIALS:
        raise ValueError(
            f"{text}: a request number chosen by the caller needs a serial in "
            f"{CALLER_SERIALS.start}-{CALLER_SERIALS.stop - 1}; the others belong to "
            "csflow's own counter")
    if number.channel is not channel:
        raise ValueError(f"{text}: the code {number.channel.code} is not the intake's channel "
                         f"{channel.value} ({channel.code})")
    return number


def is_request_number(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True
