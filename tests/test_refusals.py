"""One refusal vocabulary: each kind has one HTTP status and one exit code, and the wire
type strings other-language callers and recorded histories use never change."""

from __future__ import annotations

import json

from csflow.api.errors import refusal
from csflow.refusals import ANSWERS, OTHER, Exit, Refusal, answer


def test_every_kind_has_an_answer_and_keeps_its_wire_value() -> None:
    assert set(ANSWERS) == set(Refusal)
    assert {r.value for r in Refusal} >= {
        "IllegalTransition",
        "Forbidden",
        "Compliance",
        "NotPersisted",
        "InvalidStart",
        "TermsUnavailable",
    }
    assert [
        ANSWERS[r].http
        for r in (
            Refusal.ILLEGAL_STATE,
            Refusal.FORBIDDEN_ROLE,
            Refusal.UNKNOWN,
            Refusal.INVALID,
            Refusal.UNAVAILABLE,
        )
    ] == [409, 403, 404, 422, 503]


def test_a_refused_database_write_is_never_invalid_input() -> None:
    assert answer("NotPersisted").http == 503
    assert answer("NotPersisted").exit is Exit.UNAVAILABLE
    response = refusal("NotPersisted", "accepted, but not yet persisted")
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert json.loads(response.body) == {
        "detail": "accepted, but not yet persisted",
        "type": "NotPersisted",
    }


def test_a_type_outside_the_vocabulary_is_a_refusal_not_bad_input() -> None:
    assert answer("DataError") == answer(None) == OTHER
    assert OTHER.http == 409 and OTHER.exit is Exit.REFUSED


def test_the_error_a_workflow_raises_carries_the_wire_type() -> None:
    err = Refusal.COMPLIANCE.error("banned promise")
    assert (err.type, err.message, err.non_retryable) == ("Compliance", "banned promise", True)


def test_the_numbering_speaks_the_same_vocabulary() -> None:
    from csflow.domain import numbering

    assert Refusal.NUMBERING_UNAVAILABLE.value == numbering.NUMBERING_UNAVAILABLE
