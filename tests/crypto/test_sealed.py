"""Personal values sealed with the customer's key, and the contract types that carry them:
plaintext checked against its own bounds, a sealed value only for form and size."""

from __future__ import annotations

import os
import uuid

import pytest
from pydantic import ValidationError

from csflow.contracts import Actor, CancelCommand, FollowUpRecord, RequestIntake
from csflow.contracts.personal import personal_values, seal_model, sealed_values
from csflow.crypto import sealed
from csflow.crypto.envelope import DataKey, Erased
from csflow.domain.codes import Role


def _key() -> DataKey:
    return DataKey(str(uuid.uuid4()), os.urandom(32))


def _intake(**customer: object) -> dict[str, object]:
    return {
        "customer": {
            "id": "C-1",
            "name": "Lin Xiaomei",
            "contact": {"phone": "+86 138 0013 8000", "email": "lin@example.cn"},
            **customer,
        },
        "channel": "web",
        "category": "complaint",
        "description": "the kettle whistles in E flat",
    }


class _Keys:
    def __init__(self, *keys: DataKey) -> None:
        self.keys = {k.handle: k for k in keys}

    async def by_handle(self, handle: str) -> DataKey:
        if handle not in self.keys:
            raise Erased(handle)
        return self.keys[handle]


async def test_the_wire_form_round_trips_and_hides_the_text() -> None:
    key = _key()
    value = sealed.seal_text(key, "王小明 +86 138")
    assert value.startswith(f"sealed:c:{key.handle}:") and "王" not in value
    assert sealed.seal_text(key, value) == value, "sealing twice keeps one layer"
    assert sealed.open_with_key(key, value) == "王小明 +86 138"
    assert await sealed.open_text(_Keys(key), value) == "王小明 +86 138"
    assert await sealed.open_text(_Keys(), value) == "(erased)", "no key: erased"
    assert await sealed.open_text(_Keys(), "plain words") == "plain words"
    tampered = value[:-6] + ("AAAA==" if not value.endswith("AAAA==") else "BBBB==")
    with pytest.raises(ValueError, match=r"authenticate|base64|version"):
        await sealed.open_text(_Keys(key), tampered)
    with pytest.raises(ValueError, match="not c:"):
        sealed.open_with_key(_key(), value)
    doc = {"a": [value, {"b": value}], "n": 3, "s": "x"}
    assert await sealed.open_tree(_Keys(key), doc) == {
        "a": ["王小明 +86 138", {"b": "王小明 +86 138"}],
        "n": 3,
        "s": "x",
    }


def test_the_longest_sealing_of_a_bounded_text_fits_its_bound() -> None:
    key = _key()
    for limit in (1, 20, 200, 4000):
        widest = "𝄞" * limit  # four UTF-8 bytes a character: the worst case
        assert len(sealed.seal_text(key, widest)) <= sealed.max_length(limit)
        assert len(sealed.seal_text(key, "a" * limit)) >= sealed.min_length(limit)


def test_plaintext_keeps_its_own_bounds_and_a_sealed_value_is_checked_for_form() -> None:
    RequestIntake.model_validate(_intake())
    problems = {
        "phone": _intake(contact={"phone": "call me maybe"}),
        "name": _intake(name="x" * 201),
        "email": _intake(contact={"email": "not-an-address"}),
    }
    for field, body in problems.items():
        with pytest.raises(ValidationError) as err:
            RequestIntake.model_validate(body)
        assert field in str(err.value)
    key = _key()
    sealed_intake = seal_model(
        RequestIntake.model_validate(_intake(name="y" * 200)),
        lambda text: sealed.seal_text(key, text),
    )
    assert personal_values(sealed_intake) == []
    assert len(sealed_values(sealed_intake)) == 4  # name, phone, e-mail, description
    # What the workflow receives: sealed values accepted as they are, phone included.
    again = RequestIntake.model_validate_json(sealed_intake.model_dump_json())
    assert again.customer.name == sealed_intake.customer.name
    assert sealed.open_with_key(key, again.customer.contact.phone or "") == "+86 138 0013 8000"
    for bad in ("sealed:c:nope:AAAA", f"sealed:c:{key.handle}:not base64!", "sealed:c:"):
        with pytest.raises(ValidationError, match="sealed value"):
            RequestIntake.model_validate(_intake(name=bad))
    # Words that merely begin like it are plaintext.
    assert RequestIntake.model_validate(_intake(name="sealed: a name")).customer.name == (
        "sealed: a name"
    )
    too_long = sealed.seal_text(key, "z" * 10_000)  # sealed, but more than a name holds
    with pytest.raises(ValidationError, match=f"at most {sealed.max_length(200)} char"):
        RequestIntake.model_validate(_intake(name=too_long))


def test_the_customers_words_are_sealed_and_staff_words_are_not() -> None:
    key = _key()

    def seal(text: str) -> str:
        return sealed.seal_text(key, text)

    record = FollowUpRecord.model_validate(
        {
            "actor": {"id": "fu", "role": "follow_up"},
            "score": 2,
            "nps": 3,
            "problem": "the lid rattles",
            "new_needs": [{"category": "consultation", "description": "a spare lid"}],
        }
    )
    done = seal_model(record, seal)
    assert sealed.is_sealed(done.problem) and sealed.is_sealed(done.new_needs[0].description)
    assert done.praise is None and done.score == 2
    by_agent = CancelCommand(actor=Actor(id="a-1", role=Role.AGENT), reason="duplicate of 7")
    assert seal_model(by_agent, seal) is by_agent, "an agent's reason is not personal"
    by_customer = CancelCommand(actor=Actor(id="C-1", role=Role.CUSTOMER), reason="found it")
    assert sealed.is_sealed(seal_model(by_customer, seal).reason)
