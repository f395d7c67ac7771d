"""The one rule for secrets an embedded stack makes for itself (csflow/secret_file.py),
as both of its secrets — the actor key and the link key — follow it."""

from __future__ import annotations

import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from csflow import secret_file
from csflow.crypto import assertions
from csflow.settings import Settings


def test_made_once_mode_0600_and_every_caller_reads_the_same(tmp_path: Path) -> None:
    made: list[int] = []

    def make() -> bytes:
        made.append(1)
        return f"secret-{len(made)}".encode()

    path = tmp_path / "deep" / "a-secret"
    with ThreadPoolExecutor(16) as pool:
        got = set(
            pool.map(lambda _: secret_file.shared(path, make, env_var="X", doc="d"), range(64))
        )
    assert len(got) == 1  # the first file published wins; later makers' copies are dropped
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["a-secret"]  # no temporary left


@pytest.mark.parametrize(
    ("env_var", "resolve", "left_out"),
    [
        ("CSFLOW_ACTOR_KEY", lambda data: assertions.load_key(data), "actor-key"),
        (
            "CSFLOW_LINK_SECRET",
            lambda data: Settings(CSFLOW_DATA_DIR=str(data)).survey_secret(),
            "link-secret",
        ),
    ],
)
def test_environment_only_names_the_variable_and_makes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env_var: str,
    resolve: Callable[[Path], bytes],
    left_out: str,
) -> None:
    monkeypatch.setenv("CSFLOW_SECRETS", "env")
    monkeypatch.delenv(env_var, raising=False)
    with pytest.raises(ValueError, match=f"{env_var} is not set .*CSFLOW_SECRETS=env"):
        resolve(tmp_path)
    assert not (tmp_path / left_out).exists()
