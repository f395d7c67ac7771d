"""CSRF protection for the console's forms, bound to the sign-in cookie.

The sign-in cookie (csflow.api.auth) is HttpOnly and SameSite=Strict, and the API accepts
it for reads only. The console's forms may also act with it, but only together with a
form field derived from the cookie's own value: `HMAC-SHA256(cookie token, purpose)`.

- A cross-site page cannot read the cookie (HttpOnly, other origin) nor the console's
  pages (same-origin policy), so it cannot compute or copy the field: its forged POST
  carries no valid field and is refused 403 — even in a browser that ignored SameSite.
- The field is one-way: a leaked page (a screenshot, a proxy log) reveals nothing that
  signs in. It changes with every sign-in and dies with the token (revoked, expired).
- No server-side session store: the token row in PostgreSQL already is the session.

A POST whose `Origin` header names another site is refused as well, before any of this.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

FIELD = "csrf"
_PURPOSE = b"csflow console form v1"


def token_for(cookie_token: str) -> str:
    """The form field that goes with this sign-in."""
    return hmac.new(cookie_token.encode(), _PURPOSE, hashlib.sha256).hexdigest()


def valid(cookie_token: str, given: str | None) -> bool:
    """Constant-time comparison: the field must be this sign-in's, not any other."""
    return bool(given) and hmac.compare_digest(token_for(cookie_token), given or "")


def same_origin(origin: str | None, host: str | None) -> bool:
    """No Origin (older browsers, same-origin navigations in some) passes to the field
    check; a present one must name this host."""
    if not origin:
        return True
    if origin == "null" or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()
