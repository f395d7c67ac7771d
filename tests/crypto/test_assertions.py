"""Signed actor assertions, on their own: what verifies and what each refusal says."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csflow.crypto import assertions
from csflow.crypto.assertions import AssertionRefused, Claims

KEY = b"k" * 32
NOW = 1_800_000_000.0


def _claims(**over: object) -> Claims:
    base: dict[str, object] = {
        "actor": "sup-wu",
        "role": "supervisor",
        "workflow_id": "CS20261130-WEB-0001",
        "update": "decide_compensation",
        "expires": int(NOW) + 60,
    }
    return Claims(**{**base, **over})  # type: ignore[arg-type]


def _verify(token: str | None, **over: object) -> Claims:
    target: dict[str, object] = {
        "actor": "sup-wu",
        "role": "supervisor",
        "workflow_id": "CS20261130-WEB-0001",
        "update": "decide_compensation",
        "now": NOW,
    }
    return assertions.verify(KEY, token, **{**target, **over})  # type: ignore[arg-type]


def test_a_signed_assertion_verifies_for_exactly_its_actor_request_and_command() -> None:
    assert _verify(assertions.sign(KEY, _claims())) == _claims()
    wildcard = assertions.sign(KEY, _claims(workflow_id="*", update="*"))
    assert _verify(wildcard, workflow_id="CS20261130-TEL-0002", update="escalate")


@pytest.mark.parametrize(
    ("token_claims", "target", "reason"),
    [
        ({}, {"role": "agent", "actor": "sup-wu"}, "not for the named actor"),
        ({}, {"actor": "someone-else"}, "not for the named actor"),
        ({}, {"workflow_id": "CS20261130-WEB-0002"}, "is for CS20261130-WEB-0001"),
        ({}, {"update": "escalate"}, "is for decide_compensation"),
        ({"expires": int(NOW)}, {}, "expired"),
    ],
)
def test_each_mismatch_is_refused_with_its_reason(
    token_claims: dict[str, object], target: dict[str, object], reason: str
) -> None:
    with pytest.raises(AssertionRefused, match=reason):
        _verify(assertions.sign(KEY, _claims(**token_claims)), **target)


def test_a_missing_forged_or_foreign_assertion_is_refused() -> None:
    with pytest.raises(AssertionRefused, match="no signed actor assertion"):
        _verify(None)
    with pytest.raises(AssertionRefused, match="does not verify"):
        _verify(assertions.sign(b"x" * 32, _claims()))
    body, _ = assertions.sign(KEY, _claims(role="agent")).split(".")
    _, mac = assertions.sign(KEY, _claims()).split(".")
    with pytest.raises(AssertionRefused, match="does not verify"):
        _verify(f"{body}.{mac}", role="agent")


@given(st.text(max_size=300))
def test_garbage_never_verifies_and_never_crashes(token: str) -> None:
    with pytest.raises(AssertionRefused):
        _verify(token)


def test_the_key_file_is_created_once_with_mode_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(assertions.ENV_KEY, raising=False)
    key = assertions.load_key(tmp_path)
    assert len(key) == 32 and assertions.load_key(tmp_path) == key
    assert stat.S_IMODE((tmp_path / "actor-key").stat().st_mode) == 0o600
    monkeypatch.setenv(assertions.ENV_KEY, "c2hvcnQ=")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        assertions.load_key(tmp_path)
