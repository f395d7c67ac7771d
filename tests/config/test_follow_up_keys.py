"""docs/policy.md's follow-up example (skip roles, reactivation, soothing openings):
`csflow policy check` accepts it and refuses a bad value with its dotted path."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from csflow.cli import app
from csflow.config.policy import load_policy
from csflow.domain.codes import Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def _example(tmp_path: Path) -> Path:
    block = re.search(
        r"<!-- follow-up-example -->\n```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S
    )
    assert block is not None
    path = tmp_path / "policy.toml"
    path.write_text(block.group(1), encoding="utf-8")
    return path


def test_policy_check_accepts_the_documented_follow_up_keys(tmp_path: Path) -> None:
    path = _example(tmp_path)
    result = CliRunner().invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 0, result.output
    policy = load_policy(path)
    assert policy.follow_up.skip_roles == (Role.SUPERVISOR, Role.ADMIN)
    assert policy.intake.soothing_openings["zh-CN"] == ("非常抱歉", "我们理解您的心情", "深表歉意")


def test_policy_check_refuses_a_customer_skipping_the_follow_up(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[follow_up]\nskip_roles = ["agent", "customer"]\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 2
    assert "follow_up.skip_roles" in result.output and "customer" in result.output


def test_policy_check_refuses_an_empty_list_of_openings(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[intake.soothing_openings]\nen = []\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 2 and "intake.soothing_openings" in result.output
