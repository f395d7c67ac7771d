"""The codec and key ring on their own: sealing, rotation, tampering, the ring's file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.api.common.v1 import Payload

from csflow.crypto import keyring
from csflow.crypto.codec import ENCODING, KEY_ID, EncryptionCodec
from csflow.crypto.keyring import KeyRing, KeyRingError


def _payload(data: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


@given(st.binary(max_size=4096))
async def test_sealed_payload_opens_to_the_original_and_shows_nothing(data: bytes) -> None:
    codec = EncryptionCodec(KeyRing.generate())
    [sealed] = await codec.encode([_payload(data)])
    assert sealed.metadata["encoding"] == ENCODING
    assert set(sealed.metadata) == {"encoding", KEY_ID}
    if len(data) >= 8:
        assert data not in sealed.data
    [opened] = await codec.decode([sealed])
    assert opened == _payload(data)


async def test_a_rotated_ring_reads_payloads_sealed_before_the_rotation() -> None:
    old = KeyRing.generate()
    [sealed] = await EncryptionCodec(old).encode([_payload(b'{"name": "Wang Fang"}')])
    new = old.rotated()
    assert new.current != old.current and old.current in new.keys
    [again] = await EncryptionCodec(new).encode([_payload(b"x")])
    assert again.metadata[KEY_ID] == new.current.encode()
    [opened] = await EncryptionCodec(new).decode([sealed])
    assert opened.data == b'{"name": "Wang Fang"}'


async def test_a_payload_from_before_encryption_passes_through() -> None:
    plain = _payload(b'"legacy"')
    assert await EncryptionCodec(KeyRing.generate()).decode([plain]) == [plain]


async def test_nothing_stays_nothing_and_anything_else_is_sealed() -> None:
    """A `None` (an activity that answers nothing) holds nothing to hide: left unsealed,
    it saves its envelope in every history. A payload that only looks like one — with
    data, or with more metadata — is sealed as any other; both kinds of `None` open."""
    codec = EncryptionCodec(KeyRing.generate())
    none = Payload(metadata={"encoding": b"binary/null"})
    with_data = Payload(metadata={"encoding": b"binary/null"}, data=b"x")
    with_more = Payload(metadata={"encoding": b"binary/null", "note": b"y"})
    kept, *sealed = await codec.encode([none, with_data, with_more])
    assert kept == none
    assert all(p.metadata["encoding"] == ENCODING for p in sealed)
    assert await codec.decode([kept, *sealed]) == [none, with_data, with_more]
    [old] = await codec.decode([EncryptionCodec(codec.ring).seal(none)])  # sealed before
    assert old == none


async def test_an_altered_payload_or_a_foreign_key_is_refused_by_name() -> None:
    codec = EncryptionCodec(KeyRing.generate())
    [sealed] = await codec.encode([_payload(b"abc")])
    # Flip a bit of the tag (setting the last byte to a fixed value left it unchanged one
    # time in 256, and the payload then opened).
    flipped = bytes([sealed.data[-1] ^ 0x01])
    tampered = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + flipped)
    with pytest.raises(KeyRingError, match="does not authenticate"):
        await codec.decode([tampered])
    with pytest.raises(KeyRingError, match="not in the key ring"):
        await EncryptionCodec(KeyRing.generate()).decode([sealed])


def test_the_dev_ring_is_created_once_with_mode_0600_and_rotates(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "keyring.json"
    ring, created = keyring.ensure_dev_ring(path)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = keyring.ensure_dev_ring(path)
    assert not created_again and again == ring
    rotated = keyring.rotate(path)
    assert set(rotated.keys) > set(ring.keys)
    assert KeyRing.from_json(path.read_text()) == rotated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_environment_ring_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_ring, _ = keyring.ensure_dev_ring(tmp_path / "ring.json")
    env_ring = KeyRing.generate()
    monkeypatch.setenv(keyring.ENV_RING, env_ring.to_json())
    assert keyring.load(tmp_path / "ring.json") == env_ring
    monkeypatch.delenv(keyring.ENV_RING)
    monkeypatch.setenv(keyring.ENV_FILE, str(tmp_path / "ring.json"))
    assert keyring.load() == file_ring
    monkeypatch.delenv(keyring.ENV_FILE)
    with pytest.raises(KeyRingError, match="no key ring"):
        keyring.load()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}",
        '{"current": "a", "keys": {}}',
        '{"current": "a", "keys": {"a": "!!"}}',
        '{"current": "a", "keys": {"a": "' + "QUJD" + '"}}',
    ],
)
def test_a_malformed_ring_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(KeyRingError):
        KeyRing.from_json(text)
