"""The custom search attributes csflow registers and upserts — the names ops query by.

Values are never encrypted by Temporal, so only codes and staff ids go here: no customer
names, contact details or free text. The SQL visibility store allows 10 Keyword and 3
Datetime attributes per namespace; this list spends 8 and 1.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

REQUEST_STATUS = SearchAttributeKey.for_keyword("RequestStatus")
PRIORITY = SearchAttributeKey.for_keyword("Priority")
CATEGORY = SearchAttributeKey.for_keyword("Category")
CHANNEL = SearchAttributeKey.for_keyword("Channel")
ASSIGNEE = SearchAttributeKey.for_keyword("Assignee")
CUSTOMER_TIER = SearchAttributeKey.for_keyword("CustomerTier")
SLA_STATE = SearchAttributeKey.for_keyword("SlaState")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
# Whether PostgreSQL holds what the workflow knows: `ok`; `rejected` (the last write was
# refused; the events wait and the write is retried); `quarantined` (written, with the
# parts it refused set aside in persist_dead_letters). docs/events.md.
PERSIST_STATE = SearchAttributeKey.for_keyword("PersistState")

ALL: tuple[SearchAttributeKey[Any], ...] = (
    REQUEST_STATUS,
    PRIORITY,
    CATEGORY,
    CHANNEL,
    ASSIGNEE,
    CUSTOMER_TIER,
    SLA_STATE,
    NEXT_DEADLINE,
    PERSIST_STATE,
)


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev`."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={key.indexed_value_type.name.title()}"]
    return flags
