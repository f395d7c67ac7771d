"""docs/notifications.md documents every key of the notification configuration, and its
complete example loads."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from csflow.notify.config import NotifyConfig, load_notify_config

DOC = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text(
    encoding="utf-8"
)


def test_the_documented_example_loads(tmp_path: Path) -> None:
    block = re.search(r"<!-- notify-example -->\n```toml\n(.*?)```", DOC, re.S)
    assert block is not None
    path = tmp_path / "notify.toml"
    path.write_text(block.group(1), encoding="utf-8")
    config = load_notify_config(path)
    assert config.gateway is not None and config.smtp is not None and config.webhook
    assert config.roles["director"].phone == "+86 138 0000 0001"


def test_every_key_is_documented() -> None:
    def keys(model: type[BaseModel], prefix: str) -> list[str]:
        out = []
        for name, field in model.model_fields.items():
            sub = field.annotation
            for arg in getattr(sub, "__args__", (sub,)):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    out += [f"[{name}] {k}" for k in arg.model_fields]
                    break
            else:
                out.append(f"{prefix}{name}")
        return out

    contacts = {"roles": "`[roles.<role>] email`, `phone`", "ops": "`[ops] email`, `phone`"}
    for key in keys(NotifyConfig, ""):
        table = key.split("]")[0].lstrip("[")
        if table in contacts:
            assert contacts[table] in DOC, f"{table} contacts are not documented"
        else:
            assert f"`{key}`" in DOC, f"{key} is not documented"
