"""Request numbers: `CS` + business date + channel code + daily serial (SPEC §2).

`CS20261123-WEB-0001` sorts by day, shows the channel, and is unique because the serial
comes from one counter per (day, channel) in PostgreSQL. Four digits are a minimum width,
not a cap: the 10,000th request of a day is `-10000` and still sorts after `-9999` within
the day only by length, which is why parsing, not string order, is used for serials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from csflow.domain.codes import Channel

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


def is_request_number(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True
