"""What every csflow Temporal client and worker is built with: the sealing data converter
and the actor interceptors, from one place so no process can forget either.

A client that skipped the codec would write plaintext into histories; one that skipped
the signing interceptor would have every Update refused by the worker.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.common import HeaderCodecBehavior
from temporalio.converter import DataConverter

from csflow.crypto import assertions, converter
from csflow.crypto.interceptors import ActorSigning, ActorVerifying
from csflow.settings import Settings


def data_converter(settings: Settings) -> DataConverter:
    """pydantic payloads sealed with the key ring (CSFLOW_KEYRING, CSFLOW_KEYRING_FILE, or
    the data dir's keyring.json); CSFLOW_ENCRYPTION=off for plaintext."""
    return converter.from_env(settings.keyring_path())


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``Client.connect``: sealed payloads, signed actors."""
    return {
        "data_converter": data_converter(settings),
        "interceptors": [ActorSigning(assertions.load_key(settings.data_dir))],
    }


def for_worker(client: Client) -> Client:
    """The worker's view of `client`: headers through the codec.

    The `temporal` CLI with a codec endpoint seals Update headers too, so the worker must
    open them before the interceptor reads the actor assertion; headers that were never
    sealed (csflow's own clients send them plain) pass through the codec unchanged.
    """
    config = client.config()
    config["header_codec_behavior"] = HeaderCodecBehavior.CODEC
    return Client(**config)


def worker_interceptors(settings: Settings) -> list[Any]:
    """Interceptors for the worker: verify every Update's actor before its validator."""
    return [ActorVerifying(assertions.load_key(settings.data_dir))]
