"""What every csflow Temporal client and worker is built with: the sealing data converter
and the actor-signing interceptor, from one place so no process can forget either."""

from __future__ import annotations

from typing import Any

from csflow.crypto import assertions, converter
from csflow.crypto.interceptors import ActorSigning, ActorVerifying
from csflow.settings import Settings


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``Client.connect``: sealed payloads, signed actors."""
    return {
        "data_converter": converter.from_env(settings.keyring_path()),
        "interceptors": [ActorSigning(assertions.load_key(settings.data_dir))],
    }


def worker_interceptors(settings: Settings) -> list[Any]:
    """Interceptors for the worker: verify every Update's actor before its validator."""
    return [ActorVerifying(assertions.load_key(settings.data_dir))]
