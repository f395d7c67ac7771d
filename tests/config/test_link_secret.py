"""The key questionnaire links are signed with, where secrets come from the environment.

An embedded stack generates it once into its data dir (tests/test_links.py). Containers
(CSFLOW_SECRETS=env) each have their own data dir: a generated key would differ between
the worker that signs links and the API that checks them, and every link would read
"invalid". So there the worker and the API refuse to start without CSFLOW_LINK_SECRET.
"""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from csflow.settings import Settings


@pytest.fixture
def env_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """CSFLOW_SECRETS=env with the actor key given and no link secret; the data dir."""
    monkeypatch.setenv("CSFLOW_SECRETS", "env")
    monkeypatch.setenv("CSFLOW_ACTOR_KEY", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.delenv("CSFLOW_LINK_SECRET", raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("CSFLOW_DATA_DIR", str(data))
    return data


def test_without_it_nothing_is_generated_and_the_key_is_named(env_secrets: Path) -> None:
    with pytest.raises(ValueError, match="CSFLOW_LINK_SECRET is not set"):
        Settings().survey_secret()
    assert not (env_secrets / "link-secret").exists()


def test_given_it_is_the_key(env_secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSFLOW_LINK_SECRET", "s" * 32)
    assert Settings().survey_secret() == b"s" * 32
    assert not (env_secrets / "link-secret").exists()


def test_the_api_refuses_to_start_with_the_reason(env_secrets: Path) -> None:
    from csflow.cli import app

    result = CliRunner().invoke(app, ["api"])
    assert result.exit_code == 2, result.output
    assert "CSFLOW_LINK_SECRET is not set" in result.output


def test_the_worker_refuses_to_start_with_the_reason(
    env_secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker import run_worker

    # Never reached: the refusal comes before any connection.
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(SystemExit, match="CSFLOW_LINK_SECRET is not set"):
        asyncio.run(run_worker(Settings()))
