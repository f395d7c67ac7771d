"""The one data converter every csflow client and worker uses.

pydantic models on the wire (csflow's contract), sealed by the codec when a key ring is
configured. Building it in one place keeps the API, CLI, worker, starter, benchmarks and
tests on the same encryption — a client that skipped the codec would write plaintext
into histories the others then fail to read.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from csflow.crypto import keyring
from csflow.crypto.codec import EncryptionCodec

ENV_DISABLE = "CSFLOW_ENCRYPTION"  # "off" turns the codec off (benchmarks compare both)


def data_converter(ring: keyring.KeyRing | None) -> DataConverter:
    """pydantic payloads, sealed with `ring` (plaintext only when `ring` is None)."""
    if ring is None:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(ring))


def from_env(default_file: Path | None = None) -> DataConverter:
    """The converter for this process: the ring from the environment or `default_file`.

    ``CSFLOW_ENCRYPTION=off`` is the explicit way to run without encryption (a benchmark
    comparing both, or a deployment that encrypts elsewhere); a missing ring is an error
    rather than a silent fall back to plaintext.
    """
    import os

    if os.environ.get(ENV_DISABLE, "").strip().lower() == "off":
        return pydantic_data_converter
    return data_converter(keyring.load(default_file))
