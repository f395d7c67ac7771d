"""Banned promises (SPEC §5): words a company may not put in writing to a customer.

Checked when templates load and on every free text staff send to a customer (a progress
note, say), so a message that promises "永久有效" never leaves — refused with the phrase.
Matching ignores case and full-/half-width differences (ＡＢＳＯＬＵＴＥ is absolute).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

DEFAULT_BANNED = (
    "绝对保证", "永久有效", "百分之百解决", "保证不再发生", "终身免费",
    "absolute guarantee", "absolutely guarantee", "permanently valid", "100% guaranteed",
    "guaranteed forever", "never happen again",
)


class ComplianceError(ValueError):
    def __init__(self, phrase: str) -> None:
        super().__init__(f"banned promise: {phrase!r}")
        self.phrase = phrase


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def check_compliance(text: str, banned: Iterable[str] = DEFAULT_BANNED) -> None:
    """Raise ComplianceError naming the first banned phrase found."""
    norm = _norm(text)
    for phrase in banned:
        if _norm(phrase) in norm:
            raise ComplianceError(phrase)
