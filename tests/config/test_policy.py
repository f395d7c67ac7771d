from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from csflow.config.policy import ENV_VAR, PolicyError, load_policy, policy_from_env
from csflow.domain.policy import DEFAULT_POLICY, Policy

EXAMPLE = Path(__file__).resolve().parents[2] / "policy.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_file_is_complete_and_equals_the_defaults() -> None:
    assert load_policy(EXAMPLE) == DEFAULT_POLICY
    # complete on its own, without being laid over the defaults:
    assert Policy.model_validate(tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))) == (
        DEFAULT_POLICY
    )
    assert load_policy(EXAMPLE).effective_version == DEFAULT_POLICY.effective_version


def test_no_path_and_an_empty_file_give_the_defaults(tmp_path: Path) -> None:
    assert load_policy(None) == DEFAULT_POLICY
    assert load_policy(write(tmp_path, "# nothing to change\n")) == DEFAULT_POLICY


def test_a_typo_is_refused_with_the_key_and_file_named(tmp_path: Path) -> None:
    path = write(tmp_path, '[sla.P1]\nfirst_responce = "15m"\n')
    with pytest.raises(PolicyError) as e:
        load_policy(path)
    assert f"{path}: sla.P1.first_responce: unknown key" in str(e.value)


def test_a_wrong_type_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[compensation]\nagent_limit = "lots"\n[sla.P2]\nplan = "1 hour"\n')
    with pytest.raises(PolicyError) as e:
        load_policy(path)
    message = str(e.value)
    assert "2 problem(s)" in message
    assert "compensation.agent_limit: Input should be a valid decimal" in message
    assert "sla.P2.plan.duration: '1 hour' is not a duration" in message


def test_list_positions_and_unknown_names_read_naturally(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[escalation.P1]]\nafter = "5m"\nnotify = ["boss"]\n'
        'channels = ["sms"]\n[channels.fax]\nfirst_response = "1h"\n',
    )
    with pytest.raises(PolicyError) as e:
        load_policy(path)
    assert "escalation.P1[0].notify[0]: Input should be 'owner'" in str(e.value)
    assert "channels.fax: unknown name" in str(e.value)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "missing.toml")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(write(tmp_path, "[sla\n"))


def test_policy_from_env(tmp_path: Path) -> None:
    path = write(tmp_path, 'version = "ops-7"\n[confirmation]\nwindow = "48h"\n')
    p = policy_from_env({ENV_VAR: str(path)})
    assert p.effective_version == "ops-7" and p.confirmation.window.duration.days == 2
    assert policy_from_env({}) == DEFAULT_POLICY
    assert policy_from_env({ENV_VAR: "  "}) == DEFAULT_POLICY
