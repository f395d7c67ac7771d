"""Hand-made import files with known good, bad and duplicate rows, and generated ones.

The two literal files are written the way an outage produces them — a quoted cell over
two lines, a blank line, a forgotten zone, a duplicated row — and the expectations next
to them are the exact lines and reasons an operator will read.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from csflow.imports import COLUMNS

HEADER = (
    "external_id,received_at,customer_id,customer_name,customer_tier,"
    "customer_contact_phone,customer_contact_email,channel,category,sub_type,priority,"
    "description,amount_in_dispute,related_to"
)

CSV_LINES = [
    HEADER,  # line 1
    "OUT-001,2026-11-20T09:30:00+08:00,C-1001,Li Lei,vip,+86 138 0000 0000,,phone,complaint,"
    'logistics,P1,"Parcel arrived broken,',  # line 2, the cell goes on …
    'box crushed; 包裹破损",120.50,',  # … to line 3
    "OUT-002,2026-11-20T10:05:00+08:00,C-1002,Han Meimei,,,han@example.com,email,"
    "consultation,,,How do I change my address?,,",  # line 4
    "OUT-003,2026-11-20 11:00:00,C-1003,Wang Fang,,+86 139 1111 2222,,phone,complaint,,P2,"
    "Refund not received,,",  # line 5: no zone
    "OUT-004,2026-11-20T11:20:00+08:00,C-1004,Zhao Lei,,,,fax,complaint,,P9,No contact,,",
    "",  # line 7: blank
    "OUT-001,2026-11-20T09:31:00+08:00,C-1001,Li Lei,vip,+86 138 0000 0000,,phone,complaint,"
    'logistics,P2,"Parcel arrived broken,',  # line 8: OUT-001 again, changed
    'box crushed; 包裹破损",120.50,',  # line 9
    ",2026-11-20T12:00:00+08:00,C-1005,Sun Li,,+86 137 0000 1111,,chat,suggestion,,P3,"
    "Add dark mode,,",  # line 10: no external id
    "OUT-006,2026-11-21T08:00:00+08:00,C-1006,Zhou Min,regular,+86 136 0000 2222,,app,"
    'after_sales,repair,P3,"Screen flickers, ""sometimes""",,CS20261119-APP-0001',  # line 11
    "OUT-007,,C-1007,Wu Gang,,+86 135 0000 3333,,web,complaint,,P1,Payment failed twice,-5,",
    "OUT-002,2026-11-20T10:05:00+08:00,C-1002,Han Meimei,,,han@example.com,email,"
    "consultation,,,How do I change my address?,,",  # line 13: OUT-002 again, identical
]

REQUIRED_EXTERNAL_ID = (
    "external_id: required for imports (the key that keeps a re-run "
    "from creating the request twice)"
)
REQUIRED_RECEIVED_AT = (
    "received_at: required for imports (the original time of receipt; SLA clocks count from it)"
)
DUPLICATE = (
    "duplicate of line {} (same external_id); only the first row with an external_id is imported"
)

CSV_GOOD = {2: "OUT-001", 4: "OUT-002", 11: "OUT-006"}
CSV_BAD = {
    5: ("OUT-003", "received_at: timestamp must carry a time zone, e.g. 2026-11-23T09:30:00+08:00"),
    6: (
        "OUT-004",
        "customer_contact_phone/customer_contact_email: give at least one of "
        "phone or email; channel: Input should be 'phone', 'chat', 'email', 'app', "
        "'social' or 'web'; priority: Input should be 'P1', 'P2' or 'P3'",
    ),
    10: (None, REQUIRED_EXTERNAL_ID),
    12: (
        "OUT-007",
        f"{REQUIRED_RECEIVED_AT}; amount_in_dispute: Input should be greater than or equal to 0",
    ),
}
CSV_DUPLICATES = {
    8: ("OUT-001", DUPLICATE.format(2) + "; this row differs in received_at, priority"),
    13: ("OUT-002", DUPLICATE.format(4)),
}


def _j(**fields: Any) -> str:
    return json.dumps(fields, ensure_ascii=False)


_LI = {"id": "C-1", "name": "Li Lei", "tier": "vip", "contact": {"phone": "+86 138 0000 0000"}}
_HAN = {"id": "C-2", "name": "Han", "contact": {"email": "han@example.com"}}
JSONL_LINES = [
    _j(
        external_id="J-001",
        received_at="2026-11-20T09:30:00+08:00",
        customer=_LI,
        channel="phone",
        category="complaint",
        priority="P1",
        description="Parcel broken",
        amount_in_dispute=120.5,
    ),  # line 1
    "",  # line 2
    _j(
        external_id="J-002",
        received_at="2026-11-20T10:00:00Z",
        customer=_HAN,
        channel="email",
        category="consultation",
        description="Address change",
        related_to=["CS20261119-EML-0001", "bad id!"],
    ),  # line 3
    _j(
        external_id="J-003",
        received_at="2026-11-20T10:00:00+08:00",
        customer=_HAN,
        chanel="email",
        category="complaint",
        description="typo in a key",
    ),  # line 4
    "not json at all",  # line 5
    '["J-004"]',  # line 6
    _j(
        external_id="J-001",
        received_at="2026-11-20T09:30:00+08:00",
        customer=_LI,
        channel="phone",
        category="complaint",
        priority="P1",
        description="Parcel broken",
        amount_in_dispute=120.5,
    ),  # line 7: identical to line 1
    _j(
        received_at="2026-11-20T10:30:00+08:00",
        customer=_HAN,
        channel="email",
        category="complaint",
        description="no id",
    ),  # line 8
    _j(
        external_id="J-005",
        received_at="2026-11-20T11:00:00+08:00",
        customer=_LI,
        channel="web",
        category="after_sales",
        sub_type="repair",
        description="Screen flickers",
    ),  # line 9
]

JSONL_GOOD = {1: "J-001", 9: "J-005"}
JSONL_BAD = {
    3: ("J-002", "related_to[1]: String should match pattern '^[A-Za-z0-9_.:@-]+$'"),
    4: ("J-003", "channel: required; chanel: unknown field"),
    5: (None, "not valid JSON (Expecting value at column 1)"),
    6: (None, "not a JSON object"),
    8: (None, REQUIRED_EXTERNAL_ID),
}
JSONL_DUPLICATES = {7: ("J-001", DUPLICATE.format(1))}


def csv_text(newline: str = "\n") -> str:
    return newline.join(CSV_LINES) + newline


def jsonl_text() -> str:
    return "\n".join(JSONL_LINES) + "\n"


# ---- generated files ----

CHANNELS = ("phone", "email", "chat", "web", "app", "social")
CATEGORIES = ("complaint", "consultation", "after_sales", "suggestion")


def good_row(i: int, *, prefix: str = "GEN", day: str = "2026-11-20") -> dict[str, str]:
    """A valid flat row; times spread over the day so numbers span its serials."""
    minute = i % (24 * 60)
    return {
        "external_id": f"{prefix}-{i:05d}",
        "received_at": f"{day}T{minute // 60:02d}:{minute % 60:02d}:00+08:00",
        "customer_id": f"C-{i % 97:04d}",
        "customer_name": f"客户 {i}",
        "customer_tier": "vip" if i % 10 == 0 else "regular",
        "customer_contact_phone": f"+86 138 {i % 10000:04d} {i % 97:04d}",
        "channel": CHANNELS[i % len(CHANNELS)],
        "category": CATEGORIES[i % len(CATEGORIES)],
        "priority": ("P1", "P2", "P3")[i % 3],
        "description": f"Recorded by hand during the outage: case {i}",
    }


def csv_of(rows: list[dict[str, str]]) -> str:
    names = [c.name for c in COLUMNS]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
