"""Standard phrases: the organisation's words for each step of a conversation.

The library is a TOML file the organisation edits (CSFLOW_PHRASES; the shipped default is
csflow/console/phrases.toml). It is read once when the API starts and checked the way the
policy is — unknown keys named with their dotted path, every text in every language
checked against the policy's banned promises — so a phrase that promises "永久有效" stops
the API at start instead of reaching a customer through a click.

Phrases are grouped by script step (greeting, soothing, restating, proposing, confirming,
closing); each console form offers the steps that fit its command, and a customer flagged
as upset at intake gets the soothing phrases first.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from csflow.config.policy import describe
from csflow.domain.codes import Category
from csflow.domain.lifecycle import Command
from csflow.notify.compliance import ComplianceError, check_compliance

ENV_VAR = "CSFLOW_PHRASES"
DEFAULT_PATH = Path(__file__).with_name("phrases.toml")
LANGS = ("zh-CN", "en")
# What a phrase may leave for the console to fill in; anything else is a typo.
PLACEHOLDERS = frozenset({"number", "agent"})
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class Step(StrEnum):
    """The standard script, in the order a conversation follows it."""

    GREETING = "greeting"
    SOOTHING = "soothing"
    RESTATING = "restating"
    PROPOSING = "proposing"
    CONFIRMING = "confirming"
    CLOSING = "closing"


# Which steps each command's form offers; commands absent here are internal hand-overs
# (reassign, escalate…) whose text never reaches the customer.
STEPS_FOR: dict[Command, tuple[Step, ...]] = {
    Command.SUBMIT_PLAN: (Step.RESTATING, Step.PROPOSING),
    Command.POST_PROGRESS: (Step.GREETING, Step.RESTATING, Step.PROPOSING),
    Command.RESOLVE: (Step.PROPOSING, Step.CONFIRMING),
    Command.CONFIRM: (Step.CONFIRMING,),
    Command.CLOSE: (Step.CLOSING,),
    Command.CANCEL: (Step.CLOSING,),
    Command.WAIT_FOR_CUSTOMER: (Step.RESTATING,),
    Command.CUSTOMER_REPLIED: (Step.GREETING, Step.RESTATING),
    Command.REQUEST_COMPENSATION: (Step.SOOTHING, Step.PROPOSING),
    Command.RECORD_FOLLOW_UP: (Step.GREETING, Step.CONFIRMING, Step.CLOSING),
}


class PhrasesError(Exception):
    """The phrase file cannot be used; the message names the file and the entry."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
    step: Step
    categories: tuple[Category, ...] = Field(
        default=(), description="Categories it suits; empty means every category."
    )
    commands: tuple[Command, ...] = Field(
        default=(),
        description="Forms it is offered beside; empty means every form whose "
        "command uses its step.",
    )
    zh: Annotated[str, Field(min_length=1, max_length=1000, alias="zh-CN")]
    en: Annotated[str, Field(min_length=1, max_length=1000)]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[str, Field(min_length=1, max_length=64)]
    phrase: tuple[_Entry, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> _File:
        if not self.phrase:
            raise ValueError("no [[phrase]] entries: the console would offer nothing")
        seen: set[str] = set()
        for entry in self.phrase:
            if entry.id in seen:
                raise ValueError(f"phrase id {entry.id!r} is used twice")
            seen.add(entry.id)
        return self


@dataclass(frozen=True)
class Phrase:
    """One phrase in one language, placeholders filled, ready to insert."""

    id: str
    step: Step
    text: str


@dataclass(frozen=True)
class PhraseLibrary:
    version: str
    source: str
    entries: tuple[_Entry, ...]

    def offer(
        self,
        command: Command,
        category: Category,
        lang: str,
        *,
        upset: bool,
        number: str,
        agent: str,
    ) -> list[Phrase]:
        """The phrases beside `command`'s form, in script order; soothing first (and
        offered on every form) when the customer was flagged upset at intake."""
        steps = list(STEPS_FOR.get(command, ()))
        if not steps:
            return []
        if upset:
            steps = [Step.SOOTHING, *(s for s in steps if s is not Step.SOOTHING)]
        values = {"number": number, "agent": agent}
        out: list[Phrase] = []
        for step in steps:
            for e in self.entries:
                if (
                    e.step is step
                    and (not e.categories or category in e.categories)
                    and (not e.commands or command in e.commands)
                ):
                    text = e.en if lang == "en" else e.zh
                    out.append(Phrase(e.id, step, _fill(text, values)))
        return out


def _fill(text: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def load_phrases(path: Path, banned: Iterable[str]) -> PhraseLibrary:
    """Read and check the library; any problem is one PhrasesError naming where."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise PhrasesError(f"{path}: cannot read the phrase file: {e.strerror or e}") from e
    except tomllib.TOMLDecodeError as e:
        raise PhrasesError(f"{path}: not valid TOML: {e}") from e
    try:
        parsed = _File.model_validate(data)
    except ValidationError as e:
        raise PhrasesError(describe(e, path).replace("in the policy", "in the phrases")) from None
    banned = tuple(banned)
    for i, entry in enumerate(parsed.phrase):
        for lang, text in (("zh-CN", entry.zh), ("en", entry.en)):
            where = f"{path}: phrase[{i}] ({entry.id}).{lang}"
            unknown = sorted(set(_PLACEHOLDER.findall(text)) - PLACEHOLDERS)
            if unknown:
                raise PhrasesError(
                    f"{where}: unknown placeholder {{{unknown[0]}}}; "
                    f"known: {', '.join(sorted(PLACEHOLDERS))}"
                )
            try:
                check_compliance(text, banned)
            except ComplianceError as err:
                raise PhrasesError(f"{where}: {err}") from None
    return PhraseLibrary(parsed.version, str(path), parsed.phrase)


def phrases_from_env(
    banned: Sequence[str], environ: Mapping[str, str] | None = None
) -> PhraseLibrary:
    """The library named by CSFLOW_PHRASES, or the shipped default when unset or empty."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    return load_phrases(Path(value) if value else DEFAULT_PATH, banned)
