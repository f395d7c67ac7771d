"""Signed questionnaire links: the capability to answer one survey, once, for a while.

The token names the request and the SLA cycle the survey is about — nothing personal — and
is an HMAC-SHA256 over both and the expiry, so it cannot be forged or stretched. The
workflow refuses a second answer and an answer about an outcome since re-handled, so a
token that leaks is worth one rating of one past service at most.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

_SEP = "."


class LinkInvalid(ValueError):
    """Tampered, truncated or not a survey link at all."""


class LinkExpired(ValueError):
    """Genuine, but past its expiry."""


@dataclass(frozen=True)
class SurveyClaim:
    number: str
    cycle: int
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def survey_token(number: str, cycle: int, expires_at: datetime, secret: bytes) -> str:
    payload = _b64(f"{number}|{cycle}|{int(expires_at.timestamp())}".encode())
    return f"{payload}{_SEP}{_mac(payload, secret)}"


def read_survey_token(token: str, secret: bytes, now: datetime) -> SurveyClaim:
    payload, sep, mac = token.partition(_SEP)
    if not sep or not hmac.compare_digest(mac, _mac(payload, secret)):
        raise LinkInvalid("not a valid survey link")
    try:
        number, cycle, expires = _unb64(payload).decode().split("|")
        claim = SurveyClaim(number, int(cycle), datetime.fromtimestamp(int(expires), UTC))
    except (ValueError, UnicodeDecodeError) as err:
        raise LinkInvalid("not a valid survey link") from err
    if now >= claim.expires_at:
        raise LinkExpired(f"the survey link expired at {claim.expires_at.isoformat()}")
    return claim


def survey_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/survey/{token}"
