"""Signed survey links: what is signed reads back; forged, altered, stretched or expired
links are refused; nothing personal is in them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csflow.links import (
    LinkExpired,
    LinkInvalid,
    SurveyClaim,
    read_survey_token,
    survey_token,
    survey_url,
)

KEY = b"k" * 32
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NUMBER = "CS20261123-WEB-0001"
TOKEN_CHARS = string.ascii_letters + string.digits + "-_."
numbers = st.from_regex(r"CS\d{8}-[A-Z]{3}-\d{4,6}", fullmatch=True)


@given(numbers, st.integers(1, 50), st.integers(1, 10**8))
def test_a_token_reads_back_what_it_was_given(number: str, cycle: int, seconds: int) -> None:
    expires = NOW + timedelta(seconds=seconds, microseconds=123)
    token = survey_token(number, cycle, expires, KEY)
    assert set(token) <= set(TOKEN_CHARS), "URL-safe as it is, no escaping needed"
    claim = read_survey_token(token, KEY, NOW)
    assert claim == SurveyClaim(number, cycle, expires.replace(microsecond=0))


@given(numbers, st.data())
def test_any_altered_character_is_refused(number: str, data: st.DataObject) -> None:
    token = survey_token(number, 2, NOW + timedelta(days=5), KEY)
    i = data.draw(st.integers(0, len(token) - 1))
    c = data.draw(st.sampled_from(TOKEN_CHARS).filter(lambda ch: ch != token[i]))
    with pytest.raises(LinkInvalid):
        read_survey_token(token[:i] + c + token[i + 1 :], KEY, NOW)


@given(st.text(max_size=120))
def test_arbitrary_text_is_refused_as_invalid_never_crashes(text: str) -> None:
    with pytest.raises(LinkInvalid):
        read_survey_token(text, KEY, NOW)


def test_non_ascii_and_padded_variants_are_invalid_not_errors() -> None:
    token = survey_token(NUMBER, 1, NOW + timedelta(days=5), KEY)
    for bad in (
        f"{token}é",
        f"é{token}",
        f"{token}=",
        f"{token}!",
        token.replace(".", ".."),
        token.split(".")[0],
        "",
        ".",
    ):
        with pytest.raises(LinkInvalid):
            read_survey_token(bad, KEY, NOW)


def test_a_payload_with_another_links_mac_or_key_is_refused() -> None:
    token = survey_token(NUMBER, 1, NOW + timedelta(days=5), KEY)
    payload, mac = token.split(".")
    other = survey_token("CS20261123-WEB-0002", 1, NOW + timedelta(days=5), KEY)
    with pytest.raises(LinkInvalid):
        read_survey_token(f"{other.split('.')[0]}.{mac}", KEY, NOW)
    with pytest.raises(LinkInvalid):
        read_survey_token(token, b"another key", NOW)
    # A bare HMAC of the same payload — what another kind of link signed with the same
    # secret could look like — is not a survey link: the MAC covers the purpose too.
    bare = (
        base64.urlsafe_b64encode(hmac.new(KEY, payload.encode(), hashlib.sha256).digest())
        .rstrip(b"=")
        .decode()
    )
    with pytest.raises(LinkInvalid):
        read_survey_token(f"{payload}.{bare}", KEY, NOW)


def test_expiry_is_exact_to_the_second_in_any_zone() -> None:
    shanghai = timezone(timedelta(hours=8))
    expires = datetime(2026, 11, 28, 17, 0, tzinfo=shanghai)
    token = survey_token(NUMBER, 1, expires, KEY)
    claim = read_survey_token(token, KEY, expires - timedelta(seconds=1))
    assert claim.expires_at == expires
    with pytest.raises(LinkExpired):
        read_survey_token(token, KEY, expires)
    with pytest.raises(LinkExpired):
        read_survey_token(token, KEY, expires.astimezone(UTC) + timedelta(days=1))


def test_naive_times_empty_keys_and_odd_numbers_are_refused_when_signing() -> None:
    with pytest.raises(ValueError, match="time zone"):
        survey_token(NUMBER, 1, datetime(2026, 11, 28), KEY)
    with pytest.raises(ValueError, match="time zone"):
        read_survey_token(survey_token(NUMBER, 1, NOW, KEY), KEY, datetime(2026, 11, 1))
    with pytest.raises(ValueError, match="empty secret"):
        survey_token(NUMBER, 1, NOW, b"")
    with pytest.raises(ValueError, match="cannot sign"):
        survey_token("CS1|2", 1, NOW, KEY)


def test_the_link_holds_no_personal_data_only_number_cycle_and_expiry() -> None:
    token = survey_token(NUMBER, 3, NOW + timedelta(days=5), KEY)
    payload = base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()
    assert payload == f"{NUMBER}|3|{int((NOW + timedelta(days=5)).timestamp())}"


def test_the_url_is_the_public_base_plus_the_token_and_an_optional_language() -> None:
    token = survey_token(NUMBER, 1, NOW + timedelta(days=5), KEY)
    base = "https://cs.example.com/"
    assert survey_url(base, token) == f"https://cs.example.com/survey/{token}"
    assert survey_url(base, token, lang="zh-CN") == f"https://cs.example.com/survey/{token}"
    assert survey_url(base, token, lang="en") == f"https://cs.example.com/survey/{token}?lang=en"


def test_a_generated_secret_is_one_key_for_every_process(tmp_path: Path) -> None:
    """API and worker resolve it at the same moment on a fresh data dir: one file, 0600."""
    from concurrent.futures import ThreadPoolExecutor

    from csflow.settings import Settings

    settings = Settings(CSFLOW_DATA_DIR=str(tmp_path / "data"))
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: settings.survey_secret(), range(32)))
    assert len(keys) == 1 and len(keys.pop()) >= 32
    path = tmp_path / "data" / "link-secret"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["link-secret"]
