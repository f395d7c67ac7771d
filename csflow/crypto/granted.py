"""Where an edge gets a customer's data key to seal personal fields before they enter
Temporal (docs/security.md, "Personal fields in Temporal").

- A process with the key ring and a PostgreSQL pool (the API, the CLI, the worker's
  activities) uses `csflow.crypto.at_rest.keys(pool)`: `CustomerKeys`, created on first
  use, cached 60 s.
- A process without a database (a backend using `starter.CsflowClient` with Temporal
  only) asks the codec server: ``POST /customer-keys/{customer id}`` with a service or
  admin token, audited there (who asked for whose key). `GrantedKeys` keeps each answer
  for `envelope.CACHE_SECONDS`, as long as the key tables' own cache, so an erasure reaches
  it within the same minute.

`seal_for` is what the edges call: it seals every plaintext personal field of a contract
model with the customer's key, and checks that values already sealed open with it.
"""

from __future__ import annotations

import base64
import os
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel

from csflow.crypto import sealed
from csflow.crypto.envelope import DataKey, Erased, KeyCache

M = TypeVar("M", bound=BaseModel)

ENV_URL = "CSFLOW_CODEC_URL"  # e.g. http://codec.internal:8081
ENV_TOKEN = "CSFLOW_TOKEN"  # a service (or admin) token of the csflow API


class KeySource(Protocol):
    async def for_customer(self, customer_id: str) -> DataKey: ...

    async def by_handle(self, handle: str) -> DataKey: ...


class KeyRefused(RuntimeError):
    """The codec server would not hand out the key (token, role, or unreachable)."""


class GrantedKeys:
    """Customer keys granted by the codec server, cached `CACHE_SECONDS` each."""

    def __init__(self, url: str, token: str, *, http: httpx.AsyncClient | None = None) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._http = http
        self.cache = KeyCache()

    @classmethod
    def from_env(cls) -> GrantedKeys | None:
        url, token = os.environ.get(ENV_URL), os.environ.get(ENV_TOKEN)
        return cls(url, token) if url and token else None

    async def for_customer(self, customer_id: str) -> DataKey:
        found = self.cache.for_customer(customer_id)
        if found is not None:
            return found
        http = self._http or httpx.AsyncClient(timeout=10.0)
        try:
            answer = await http.post(
                f"{self.url}/customer-keys/{customer_id}",
                headers={"Authorization": f"Bearer {self._token}"},
            )
        except httpx.HTTPError as err:
            raise KeyRefused(f"the codec server at {self.url} is unreachable: {err}") from err
        finally:
            if self._http is None:
                await http.aclose()
        if answer.status_code != 200:
            raise KeyRefused(
                f"the codec server refused the key of customer {customer_id} "
                f"({answer.status_code}): {answer.text[:300]}"
            )
        doc: Any = answer.json()
        key = DataKey(str(doc["handle"]), base64.b64decode(doc["key"]))
        return self.cache.remember(customer_id, key)

    async def by_handle(self, handle: str) -> DataKey:
        found = self.cache.by_handle(handle)
        if found is None:
            raise Erased(f"no granted key {handle} in this process")
        return found


class ForeignValue(ValueError):
    """A value sent as sealed that is not sealed with this customer's live key."""


async def seal_for(keys: KeySource, customer_id: str, model: M) -> M:
    """`model` with every plaintext personal field sealed with the customer's key.

    No key is fetched (nor created) when the model carries no personal text. A value that
    arrives already sealed must open with the customer's key: a caller cannot slip in a
    value sealed for someone else, or a forged one that would fail every reader later.
    """
    from csflow.contracts.personal import personal_values, seal_model, sealed_values

    plain, already = personal_values(model), sealed_values(model)
    if not plain and not already:
        return model
    key = await keys.for_customer(customer_id)
    for value in already:
        try:
            sealed.open_with_key(key, value)
        except ValueError as err:
            raise ForeignValue(
                f"a personal field is sealed but does not open with customer "
                f"{customer_id}'s key: {err}"
            ) from None
    if not plain:
        return model
    return seal_model(model, lambda text: sealed.seal_text(key, text))
