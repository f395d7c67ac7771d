"""Signed survey links: forged, stretched or expired links are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csflow.links import LinkExpired, LinkInvalid, read_survey_token, survey_token, survey_url

KEY = b"k" * 32
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@given(st.from_regex(r"CS\d{8}-[A-Z]{3}-\d{4,6}", fullmatch=True), st.integers(1, 50),
       st.integers(1, 10**7))
def test_a_token_reads_back_what_it_was_given(number: str, cycle: int, seconds: int) -> None:
    expires = NOW + timedelta(seconds=seconds)
    claim = read_survey_token(survey_token(number, cycle, expires, KEY), KEY, NOW)
    assert (claim.number, claim.cycle) == (number, cycle)
    assert claim.expires_at == expires.replace(microsecond=0)


def test_tampering_expiry_and_wrong_keys_are_refused() -> None:
    token = survey_token("CS20261123-WEB-0001", 1, NOW + timedelta(days=5), KEY)
    payload, mac = token.split(".")
    forged = survey_token("CS20261123-WEB-0002", 1, NOW + timedelta(days=5), b"other")
    with pytest.raises(LinkInvalid):
        read_survey_token(f"{forged.split('.')[0]}.{mac}", KEY, NOW)
    with pytest.raises(LinkInvalid):
        read_survey_token(token, b"another key", NOW)
    with pytest.raises(LinkInvalid):
        read_survey_token(payload, KEY, NOW)
    with pytest.raises(LinkExpired):
        read_survey_token(token, KEY, NOW + timedelta(days=6))
    assert "Li" not in token and "@" not in token, "no personal data in the link"
    assert survey_url("https://cs.example.com/", token) == f"https://cs.example.com/survey/{token}"
