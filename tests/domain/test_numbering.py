from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csflow.domain.codes import Channel
from csflow.domain.numbering import business_day, format_number, is_request_number, parse_number


def test_format_matches_the_spec_example_shape() -> None:
    assert format_number(date(2023, 10, 15), Channel.WEB, 1) == "CS20231015-WEB-0001"
    assert format_number(date(2026, 11, 23), Channel.PHONE, 12345) == "CS20261123-TEL-12345"


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    st.sampled_from(list(Channel)),
    st.integers(min_value=1, max_value=10**7),
)
def test_parse_round_trips(day: date, channel: Channel, serial: int) -> None:
    parsed = parse_number(format_number(day, channel, serial))
    assert (parsed.day, parsed.channel, parsed.serial) == (day, channel, serial)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 30)),
    st.sampled_from(list(Channel)),
    st.integers(1, 9999),
    st.integers(1, 9999),
)
def test_numbers_sort_by_day(day: date, channel: Channel, a: int, b: int) -> None:
    later = date.fromordinal(day.toordinal() + 1)
    assert format_number(day, channel, a) < format_number(later, channel, b)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "CS2023-WEB-1",
        "CS20231015-XXX-0001",
        "CS20231015-WEB-01",
        "cs20231015-WEB-0001",
        "CS20231315-WEB-0001",
    ],
)
def test_malformed_numbers_are_refused(text: str) -> None:
    assert not is_request_number(text)


def test_the_business_day_is_the_organisations_day() -> None:
    late_utc = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)  # 01:30 on the 24th in Shanghai
    assert business_day(late_utc, "Asia/Shanghai") == date(2026, 11, 24)
    assert business_day(late_utc, "Europe/London") == date(2026, 11, 23)
    with pytest.raises(ValueError, match="time zone"):
        business_day(datetime(2026, 11, 23, 12, 0), "Asia/Shanghai")
