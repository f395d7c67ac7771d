"""The standard phrase library: the shipped file loads under the default policy, and a
file with a banned promise, a typo'd key or an unknown placeholder stops the start with
the entry named."""

from __future__ import annotations

from pathlib import Path

import pytest

from csflow.console.phrases import (
    DEFAULT_PATH,
    ENV_VAR,
    STEPS_FOR,
    PhrasesError,
    Step,
    load_phrases,
    phrases_from_env,
)
from csflow.domain.codes import Category
from csflow.domain.lifecycle import Command
from csflow.domain.policy import DEFAULT_BANNED


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "phrases.toml"
    path.write_text(body, encoding="utf-8")
    return path


ONE = """version = "t1"
[[phrase]]
id = "greeting.a"
step = "greeting"
"zh-CN" = "您好，{agent} 为您服务（{number}）"
en = "Hello, {agent} here about {number}"
"""


def test_the_shipped_library_covers_every_step_in_both_languages() -> None:
    library = phrases_from_env(DEFAULT_BANNED, environ={})
    assert library.source == str(DEFAULT_PATH)
    assert {e.step for e in library.entries} == set(Step)
    assert all(e.zh.strip() and e.en.strip() for e in library.entries)


def test_an_upset_customer_gets_the_soothing_phrases_first_on_every_form() -> None:
    library = phrases_from_env(DEFAULT_BANNED, environ={})
    calm = library.offer(
        Command.RESOLVE, Category.COMPLAINT, "en", upset=False, number="N-1", agent="ann"
    )
    assert calm and all(p.step is not Step.SOOTHING for p in calm)
    assert [p.step for p in calm] == sorted(
        (p.step for p in calm), key=list(STEPS_FOR[Command.RESOLVE]).index
    )
    upset = library.offer(
        Command.RESOLVE, Category.COMPLAINT, "zh-CN", upset=True, number="N-1", agent="ann"
    )
    steps = [p.step for p in upset]
    assert steps[0] is Step.SOOTHING
    assert steps.index(Step.PROPOSING) > max(i for i, s in enumerate(steps) if s is Step.SOOTHING)
    assert any("理解" in p.text for p in upset)  # Chinese texts for a Chinese page
    # Internal hand-overs offer nothing: their words never reach the customer.
    assert (
        library.offer(
            Command.REASSIGN, Category.COMPLAINT, "en", upset=True, number="N-1", agent="ann"
        )
        == []
    )


def test_categories_and_commands_narrow_a_phrase_and_placeholders_are_filled() -> None:
    library = phrases_from_env(DEFAULT_BANNED, environ={})
    ids = {
        p.id
        for p in library.offer(
            Command.SUBMIT_PLAN, Category.AFTER_SALES, "en", upset=False, number="N-9", agent="bo"
        )
    }
    assert "restating.after-sales" in ids and "restating.consultation" not in ids
    progress = library.offer(
        Command.POST_PROGRESS, Category.CONSULTATION, "en", upset=False, number="N-9", agent="bo"
    )
    greeting = [p for p in progress if p.step is Step.GREETING]
    assert [p.id for p in greeting] == ["greeting.standard"]  # not the follow-up one
    assert "bo" in greeting[0].text and "N-9" in greeting[0].text
    assert "{" not in greeting[0].text


def test_a_banned_promise_stops_the_load_naming_the_phrase_and_language(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, ONE.replace('en = "Hello', 'en = "Absolute guarantee! Hello'))
    with pytest.raises(PhrasesError) as err:
        load_phrases(path, DEFAULT_BANNED)
    assert "phrase[0] (greeting.a).en" in str(err.value)
    assert "absolute guarantee" in str(err.value)
    # The organisation's own list is the one applied.
    with pytest.raises(PhrasesError, match="为您服务"):
        load_phrases(write(tmp_path, ONE), ["为您服务"])


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (ONE.replace('step = "greeting"', 'step = "greetings"'), "phrase[0].step: Input should be"),
        (
            ONE.replace('en = "Hello', 'english = "x"\nen = "Hello'),
            "phrase[0].english: unknown key",
        ),
        (ONE.replace("{number}", "{order}"), "unknown placeholder {order}"),
        (ONE + ONE.replace('version = "t1"\n', ""), "used twice"),
        (ONE.replace('version = "t1"\n', ""), "version: required key is missing"),
        ("version = ", "not valid TOML"),
        ('version = "t2"', "no [[phrase]] entries"),
    ],
)
def test_a_bad_file_is_refused_with_the_key_named(tmp_path: Path, body: str, named: str) -> None:
    with pytest.raises(PhrasesError) as err:
        load_phrases(write(tmp_path, body), DEFAULT_BANNED)
    assert named in str(err.value)
    assert str(tmp_path) in str(err.value)


def test_the_path_comes_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, ONE)
    library = phrases_from_env(DEFAULT_BANNED, environ={ENV_VAR: str(path)})
    assert (library.version, library.source) == ("t1", str(path))
    with pytest.raises(PhrasesError, match="cannot read"):
        phrases_from_env(DEFAULT_BANNED, environ={ENV_VAR: str(tmp_path / "none.toml")})
