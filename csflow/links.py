"""Signed questionnaire links: the capability to answer one survey, once, for a while.

The token names the request and the SLA cycle the survey is about — nothing personal, so a
link forwarded, logged or scanned leaks no customer data — and carries an HMAC-SHA256 over
both and the expiry, so it cannot be forged or stretched. The workflow refuses a second
answer and an answer about an outcome since re-handled, so a token that leaks is worth one
rating of one past service at most.

The MAC covers a purpose label as well as the payload: if the same secret ever signs
another kind of link, a token of that kind can never pass for a survey link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

_SEP = "."
_PURPOSE = b"csflow-survey-v1\x00"
_INVALID = "not a valid survey link"


class LinkInvalid(ValueError):
    """Tampered, truncated or not a survey link at all."""


class LinkExpired(ValueError):
    """Genuine, but past its expiry."""


@dataclass(frozen=True)
class SurveyClaim:
    """What a genuine, unexpired token vouches for."""

    number: str
    cycle: int
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Decode, accepting only the one spelling `_b64` writes, so no token has variants."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


def _mac(payload: bytes, secret: bytes) -> bytes:
    return hmac.new(secret, _PURPOSE + payload, hashlib.sha256).digest()


def _aware(value: datetime, name: str) -> None:
    # A naive time would be read in the host's zone: links would expire hours off.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone")


def survey_token(number: str, cycle: int, expires_at: datetime, secret: bytes) -> str:
    """The token for one request's survey about one SLA cycle, valid until `expires_at`.

    Expiry is kept to the second, so a token is short enough for an SMS.
    """
    _aware(expires_at, "expires_at")
    if not secret:
        raise ValueError("an empty secret would let anyone sign survey links")
    if not number or "|" in number or cycle < 0:
        raise ValueError(f"cannot sign a survey link for {number!r} cycle {cycle}")
    payload = _b64(f"{number}|{cycle}|{int(expires_at.timestamp())}".encode()).encode("ascii")
    return f"{payload.decode('ascii')}{_SEP}{_b64(_mac(payload, secret))}"


def read_survey_token(token: str, secret: bytes, now: datetime) -> SurveyClaim:
    """The claim a token makes, once its MAC is checked (in constant time) and it is current.

    Raises LinkInvalid for anything not signed with `secret`, LinkExpired for a genuine
    token at or past its expiry.
    """
    _aware(now, "now")
    payload, sep, mac = token.partition(_SEP)
    try:
        # Bytes, not str: compare_digest refuses non-ASCII text, and a URL can hold any.
        given = _unb64(mac) if sep else b""
        body = payload.encode("ascii")
    except (binascii.Error, ValueError) as err:
        raise LinkInvalid(_INVALID) from err
    if not hmac.compare_digest(given, _mac(body, secret)):
        raise LinkInvalid(_INVALID)
    try:
        number, cycle, expires = _unb64(payload).decode().split("|")
        claim = SurveyClaim(number, int(cycle), datetime.fromtimestamp(int(expires), UTC))
    except (ValueError, UnicodeDecodeError) as err:
        raise LinkInvalid(_INVALID) from err
    if now >= claim.expires_at:
        raise LinkExpired(f"the survey link expired at {claim.expires_at.isoformat()}")
    return claim


def survey_url(base_url: str, token: str, *, lang: str | None = None) -> str:
    """The link to send; `lang="en"` opens the page in English (zh-CN is the default).

    The language rides in the query, outside the token, so it needs no signature and the
    customer can switch it on the page.
    """
    url = f"{base_url.rstrip('/')}/survey/{quote(token, safe='.-_')}"
    return f"{url}?lang={quote(lang)}" if lang and lang != "zh-CN" else url
