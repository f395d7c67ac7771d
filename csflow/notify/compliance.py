"""Banned promises (docs/requirements.md §5): words a company may not put in writing to a customer.

Checked when templates load and on every free text staff send to a customer (a progress
note, say), so a message that promises "永久有效" never leaves — refused with the phrase.
Matching ignores case and full-/half-width differences (ＡＢＳＯＬＵＴＥ is absolute).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from csflow.domain.policy import DEFAULT_BANNED  # the list is policy: `[compliance]`

__all__ = ["DEFAULT_BANNED", "ComplianceError", "check_compliance"]


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
