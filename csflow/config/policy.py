"""Reading the policy file — the one place the SLA policy touches the disk.

Called at start-up by the worker, the API and the CLI. Any problem is a `PolicyError`
whose message names the file and every bad key as a dotted path, so a typo stops the
process before anything starts half-configured:

    policy.toml: sla.P1.first_responce: unknown key
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from csflow.domain.policy import DEFAULT_POLICY, Policy, policy_from_mapping

ENV_VAR = "CSFLOW_POLICY"


class PolicyError(Exception):
    """The policy file cannot be used; the message says where and why."""


def load_policy(path: Path | None) -> Policy:
    """The policy in `path` laid over the built-in defaults; `None` means the defaults."""
    if path is None:
        return DEFAULT_POLICY
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise PolicyError(f"{path}: cannot read the policy file: {e.strerror or e}") from e
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"{path}: not valid TOML: {e}") from e
    try:
        return policy_from_mapping(data)
    except ValidationError as e:
        raise PolicyError(describe(e, path)) from None


def policy_from_env(environ: Mapping[str, str] | None = None) -> Policy:
    """The policy named by CSFLOW_POLICY, or the defaults when it is unset or empty."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    return load_policy(Path(value) if value else None)


def describe(error: ValidationError, source: Path | str) -> str:
    """One line per problem: `file: dotted.key: what is wrong`."""
    lines = [f"{source}: {len(error.errors())} problem(s) in the policy"]
    for err in error.errors():
        loc = list(err["loc"])
        if loc and loc[-1] == "[key]":
            loc.pop()
            message = f"unknown name — {err['msg']}"
        elif err["type"] == "extra_forbidden":
            message = "unknown key"
        elif err["type"] == "missing":
            message = "required key is missing"
        else:
            message = err["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {_dotted(loc)}: {message}")
    return "\n".join(lines)


def _dotted(loc: list[int | str]) -> str:
    """('escalation', 'P1', 0, 'notify') → 'escalation.P1[0].notify'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else part
    return out or "(top level)"
