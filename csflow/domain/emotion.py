"""Emotion triage a supervisor can trust (docs/policy.md `[intake.emotion]`).

Plain substring matching flagged "issue" for "sue" and every phone number containing 315.
Here English terms match on word boundaries (a phrase's words in order, any spacing), and
Chinese terms match whole segmented words: the text is cut by `jieba` (a maintained
dictionary segmenter from PyPI), with the lexicon's own terms added to its dictionary so
a term is never split. Numbers count only on their own: phone-like digit runs are removed
before matching, so "13831512345" or "0315-1234567" is not the consumer day "315".

The measured precision and recall on the labelled sentences are recorded in
tests/domain/test_emotion.py.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import jieba

from csflow.domain.emotion_lexicon import DEFAULT_EN, DEFAULT_ZH

jieba.setLogLevel(logging.WARNING)

_PHONE = re.compile(r"\+?\d[\d\s\-()]{5,}\d")
_CJK = re.compile(r"[\u3400-\u9fff]")


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


class Matcher:
    """A compiled lexicon: build once per policy, call `hits` per description."""

    def __init__(
        self,
        zh: Iterable[str] = DEFAULT_ZH,
        en: Iterable[str] = DEFAULT_EN,
        extra: Iterable[str] = (),
    ) -> None:
        self._zh: dict[str, str] = {}
        self._en: list[tuple[str, re.Pattern[str]]] = []
        for term in (*zh, *en, *extra):
            norm = _norm(term).strip()
            if not norm:
                continue
            if norm.isdigit():  # a number on its own, never inside a longer one
                self._en.append((term, re.compile(rf"(?<![\d.]){norm}(?![\d])")))
            elif _CJK.search(norm):
                self._zh[norm] = term
            else:
                words = r"\s+".join(re.escape(w) for w in norm.split())
                self._en.append((term, re.compile(rf"(?<![\w]){words}(?![\w])")))
        self._order = list(dict.fromkeys((*zh, *en, *extra)))
        self._tokenizer = jieba.Tokenizer()
        for norm in self._zh:
            self._tokenizer.add_word(norm, freq=100000)

    def hits(self, text: str) -> list[str]:
        """The lexicon terms the customer used, in lexicon order, each once."""
        norm = _PHONE.sub(" ", _norm(text))
        found: set[str] = {term for term, rx in self._en if rx.search(norm)}
        if self._zh:
            tokens = {t.strip() for t in self._tokenizer.cut(norm) if t.strip()}
            found |= {term for n, term in self._zh.items() if n in tokens}
        order = [*self._zh.values(), *(t for t, _ in self._en)]
        order.sort(key=self._order.index)
        return [t for t in dict.fromkeys(order) if t in found]


@lru_cache(maxsize=8)
def matcher(zh: tuple[str, ...], en: tuple[str, ...], extra: tuple[str, ...] = ()) -> Matcher:
    """One compiled matcher per lexicon (jieba's dictionary loads once, ~1 s)."""
    return Matcher(zh, en, extra)
