"""The organisation chart of docs/policy.md: `csflow policy check` accepts it, refuses one
the ladder cannot use, and the ladder table printed under it is what the resolver does."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from csflow.cli import app
from csflow.config.policy import load_policy
from csflow.domain.org import resolve

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def _example(tmp_path: Path) -> Path:
    block = re.search(
        r"<!-- organisation-example -->\n```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S
    )
    assert block is not None
    path = tmp_path / "policy.toml"
    path.write_text(block.group(1), encoding="utf-8")
    return path


def test_policy_check_accepts_the_documented_organisation(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["policy", "check", str(_example(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "department care: head ma.head" in result.output
    assert "department repair: head gao.head" in result.output
    assert "directors (duty order): zhou.director, wu.director" in result.output


def test_the_documented_ladder_follows_from_the_chart(tmp_path: Path) -> None:
    org = load_policy(_example(tmp_path)).organisation
    everyone = org.people()

    def who(
        role: str, dept: str, holder: str, off: frozenset[str] | set[str] = frozenset()
    ) -> str | None:
        return resolve(
            org, role, department=dept, assignee=holder, on_duty=lambda s: s in everyone - off
        ).staff_id

    assert who("supervisor", "care", "ann.agent") == "li.sup"
    assert who("supervisor", "care", "ann.agent", {"li.sup"}) == "chen.sup"
    assert who("director", "care", "ann.agent") == "zhou.director"
    assert who("director", "care", "ann.agent", {"zhou.director"}) == "wu.director"
    assert who("department_head", "repair", "eli.engineer") == "gao.head"
    assert who("department_head", "care", "ann.agent", {"ma.head"}) == "chen.sup"
    # Nobody of the department on duty: the director on duty.
    assert who("supervisor", "repair", "eli.engineer", {"he.sup", "gao.head"}) == ("zhou.director")


def test_a_chart_the_ladder_cannot_use_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        '[organisation]\ndirectors = []\n[organisation.departments.care]\nsupervisors = ["s"]\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 2
    assert "organisation.departments.care: no `head`" in result.output
    assert "organisation.directors: empty" in result.output
    both = tmp_path / "twice.toml"
    both.write_text(
        '[organisation]\ndirectors = ["d"]\n'
        '[organisation.departments.a]\nhead = "h"\n'
        '[organisation.departments.a.teams.x]\nmembers = ["p"]\n'
        '[organisation.departments.a.teams.y]\nmembers = ["p"]\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["policy", "check", str(both)])
    assert result.exit_code == 2 and "p is a member of both a/x and a/y" in result.output
