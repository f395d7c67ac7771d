"""The plaintext hunt (issue 13): a customer with distinctive details goes through a whole
lifecycle through the API; then their name, phone, e-mail, description, reply, follow-up
words and problem text are searched for where an attacker or an over-curious colleague
would look — Temporal histories exported without the codec, `pg_dump`, PostgreSQL's data
files, the logs, every API answer an analyst gets — and found nowhere. After erasure the
same hunt, with the keys in hand, finds nothing readable, and the weekly report is the same.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from csflow.contracts import Contact, Customer
from csflow.crypto import at_rest
from csflow.crypto.codec import EncryptionCodec
from csflow.crypto.envelope import Erased
from csflow.crypto.server import create_app
from csflow.domain.codes import Tier
from csflow.embedded.postgres import _pg_bin
from csflow.reports import service
from csflow.store import personal
from tests.api.conftest import Api
from tests.helpers import bearer, eventually, intake, token_for

CUSTOMER_ID = "C-HUNT-77"
NAME = "Zephyrine Quillfeather"
PHONE = "+86 139 8765 4321"
EMAIL = "zephyrine.q@hunt-example.org"
DESCRIPTION = "my teapot sings Wagner at midnight"
REPLY = "marmalade photographs attached"
PRAISE = "velvet-voiced courier Bartholomew"
SUGGESTION = "deliver teapots in a padded hatbox"
PROBLEM = "the porcelain choir is still rehearsing"
# What must never be readable; the phone also as bare digits (a normalised copy).
SECRETS = (
    NAME,
    PHONE,
    "13987654321",
    EMAIL,
    DESCRIPTION,
    REPLY,
    PRAISE,
    SUGGESTION,
    PROBLEM,
    "Quillfeather",
    "Wagner at midnight",
    "porcelain choir",
)

AGENT = {"id": "agent-7", "role": "agent"}
ME = {"id": CUSTOMER_ID, "role": "customer"}
FU = {"id": "fu.lin", "role": "follow_up"}
SUPERVISOR = {"id": "boss", "role": "supervisor"}


def found_in(blob: bytes | str) -> list[str]:
    """Which secrets occur in `blob` (as UTF-8 text)."""
    text = blob if isinstance(blob, str) else blob.decode("utf-8", "replace")
    return [s for s in SECRETS if s in text]


async def lifecycle(api: Api) -> tuple[str, str]:
    """Create → wait for the customer → their reply → resolve → confirm → follow-up with
    words and a problem (an improvement task opens) → the task closes → the request closes.
    Returns (request number, improvement task id)."""
    body = intake(
        priority="P3",
        description=DESCRIPTION,
        customer=Customer(
            id=CUSTOMER_ID, name=NAME, tier=Tier.REGULAR, contact=Contact(phone=PHONE, email=EMAIL)
        ),
    )
    created = await api.http.post("/requests", json=body.model_dump(mode="json", exclude_none=True))
    assert created.status_code in (200, 201), created.text
    n = created.json()["number"]
    steps = [
        ("wait-for-customer", {"actor": AGENT, "reason": "need photos of the damage"}),
        ("customer-replied", {"actor": ME, "note": REPLY}),
        ("resolve", {"actor": AGENT, "summary": "replacement sent"}),
        ("confirm", {"actor": ME, "satisfied": True}),
        (
            "follow-up",
            {
                "actor": FU,
                "score": 1,
                "nps": 2,
                "praise": PRAISE,
                "suggestion": SUGGESTION,
                "problem": PROBLEM,
            },
        ),
    ]
    for path, command in steps:
        r = await api.http.post(f"/requests/{n}/{path}", json=command)
        assert r.status_code == 200, (path, r.text)
    task_id = r.json()["improvements"][0]

    async def listed() -> None:
        tasks = (await api.http.get("/improvements?status=open")).json()
        assert [t["task_id"] for t in tasks] == [task_id]

    await eventually(listed)
    r = await api.http.post(
        f"/improvements/{task_id}/complete",
        json={"actor": AGENT, "what_changed": "couriers carry padded boxes"},
    )
    assert r.status_code == 200, r.text

    async def closed() -> None:
        view = (await api.http.get(f"/requests/{n}")).json()
        assert view["status"] == "closed", view["status"]

    await eventually(closed, timeout=20)
    return n, task_id


async def raw_histories(api: Api, workflow_ids: list[str]) -> str:
    """The histories as the server holds them, fetched by a client without csflow's codec
    (what `temporal workflow show --output json` without a codec endpoint prints)."""
    config = api.client.config()
    config["data_converter"] = pydantic_data_converter
    config["interceptors"] = []
    plain = Client(**config)
    texts = []
    for wid in workflow_ids:
        history = await plain.get_workflow_handle(wid).fetch_history()
        exported = history.to_json()
        texts += [exported, *payload_texts(json.loads(exported))]
    return "\n".join(texts)


async def master_opened(api: Api, workflow_ids: list[str]) -> list[Payload]:
    """Every payload of the histories opened with the master key ring — what anyone who
    holds the ring (or reads through the codec's first layer) sees: only the customer-key
    layer is left on the personal fields."""
    config = api.client.config()
    config["data_converter"] = pydantic_data_converter
    config["interceptors"] = []
    plain = Client(**config)
    codec = EncryptionCodec(at_rest.ring())
    found: list[Payload] = []
    for wid in workflow_ids:
        history = await plain.get_workflow_handle(wid).fetch_history()
        for node in payload_nodes(json.loads(history.to_json())):
            found.append(codec.open(json_format.ParseDict(node, Payload())))
    return found


def payload_nodes(node: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "data" in node and isinstance(node.get("metadata"), dict):
            return [node]
        for value in node.values():
            out += payload_nodes(value)
    elif isinstance(node, list):
        for value in node:
            out += payload_nodes(value)
    return out


def texts_of(payloads: list[Payload]) -> str:
    return "\n".join(p.data.decode("utf-8", "replace") for p in payloads)


async def codec_decoded(api: Api, payloads: list[Payload]) -> str:
    """The same payloads sealed again and sent through the codec server's /decode, as the
    Temporal UI does for a person who may read personal data."""
    codec = EncryptionCodec(at_rest.ring())
    app = create_app(at_rest.ring(), [], pool=api.pool)
    agent = bearer(await token_for(api.pool, "agent", "li.na"))
    body = json_format.MessageToJson(Payloads(payloads=await codec.encode(payloads)))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c") as http,
    ):
        answer = await http.post("/decode", content=body, headers=agent)
    assert answer.status_code == 200, answer.text
    return texts_of(list(json_format.Parse(answer.text, Payloads()).payloads))


def payload_texts(node: Any) -> list[str]:
    """Every payload's metadata and data, base64-decoded (the export keeps them base64)."""
    out: list[str] = []
    if isinstance(node, dict):
        if "data" in node and isinstance(node.get("metadata"), dict):
            for raw in [node.get("data") or "", *node["metadata"].values()]:
                out.append(base64.b64decode(raw).decode("utf-8", "replace"))
        for value in node.values():
            out += payload_texts(value)
    elif isinstance(node, list):
        for value in node:
            out += payload_texts(value)
    return out


def pg_dump(dsn: str) -> bytes:
    out = subprocess.run(
        [str(_pg_bin() / "pg_dump"), "--dbname", dsn, "--no-owner"],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return out.stdout


async def data_files(api: Api) -> list[Path]:
    """The database's own files and the WAL, after a checkpoint wrote everything out."""
    await api.pool.execute("CHECKPOINT")
    data_dir = Path(await api.pool.fetchval("SHOW data_directory"))
    oid = await api.pool.fetchval("SELECT oid FROM pg_database WHERE datname = current_database()")
    files = [p for p in (data_dir / "base" / str(oid)).iterdir() if p.is_file()]
    return files + [p for p in (data_dir / "pg_wal").iterdir() if p.is_file()]


async def analyst_answers(api: Api, n: str, task_id: str, week: str) -> str:
    analyst = bearer(await token_for(api.pool, "analyst"))
    paths = [
        f"/requests/{n}",
        f"/requests?customer_id={CUSTOMER_ID}",
        "/requests",
        "/improvements",
        f"/requests/{n}/customer",
        "/board/data",
        f"/reports/weekly/{week}.json",
        f"/reports/weekly/{week}.csv",
    ]
    answers = []
    for path in paths:
        r = await api.http.get(path, headers=analyst)
        assert r.status_code < 500, (path, r.text)
        answers.append(f"{path} {r.status_code} {r.text}")
    return "\n".join(answers)


async def weekly(api: Api, week: str) -> dict[str, Any]:
    report = await service.produce(
        api.pool, "weekly", week, "Asia/Shanghai", datetime(2026, 1, 1, tzinfo=UTC), refresh=True
    )
    return report.model_dump(mode="json", exclude={"generated_at"})


async def sealed_values(api: Api) -> list[bytes]:
    rows = await api.pool.fetch(
        """SELECT customer_sealed AS v FROM requests WHERE customer_id = $1
           UNION ALL SELECT e.sealed FROM request_events e JOIN requests r USING (number)
                     WHERE r.customer_id = $1 AND e.sealed IS NOT NULL
           UNION ALL SELECT t.problem_sealed FROM improvement_tasks t JOIN requests r
                     USING (number) WHERE r.customer_id = $1
           UNION ALL SELECT o.payload_sealed FROM outbox o JOIN requests r USING (number)
                     WHERE r.customer_id = $1 AND o.payload_sealed IS NOT NULL""",
        CUSTOMER_ID,
    )
    return [bytes(r["v"]) for r in rows if r["v"] is not None]


async def test_nothing_readable_anywhere_and_erasure_shreds_every_copy(
    api: Api, db: str, capfd: pytest.CaptureFixture[str]
) -> None:
    n, task_id = await lifecycle(api)
    received = await api.pool.fetchval("SELECT received_at FROM requests WHERE number = $1", n)
    iso = received.astimezone(UTC).isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"

    # The audited route opens every one of them for a person who may read them.
    agent = bearer(await token_for(api.pool, "agent", "li.na"))
    details = (await api.http.get(f"/requests/{n}/customer", headers=agent)).json()
    opened = " ".join(
        [
            details["name"],
            details["description"],
            str(details["contact"]),
            *(w["text"] for w in details["words"]),
        ]
    )
    assert set(found_in(opened)) >= {
        NAME,
        PHONE,
        EMAIL,
        DESCRIPTION,
        REPLY,
        PRAISE,
        SUGGESTION,
        PROBLEM,
    }
    assert await at_rest_lookup(api) == [n]

    histories = await raw_histories(api, [n, task_id])
    assert n in histories and "binary/encrypted" in histories
    assert found_in(histories) == [], "a history without the codec shows plaintext"
    # With the master ring alone, the personal fields are still sealed with the
    # customer's key; the codec server opens them for a reader who may see them.
    payloads = await master_opened(api, [n, task_id])
    inner = texts_of(payloads)
    assert n in inner and '"sealed:c:' in inner, "the personal fields travel sealed"
    assert found_in(inner) == [], "the master ring alone opens personal data"
    # The department head's alert carries a reference to the problem, which only the
    # sender resolves, to render the message.
    reference = f"@improvement_opened:{task_id}"
    assert any(b"staff_alert" in p.data and reference.encode() in p.data for p in payloads), (
        "the new task's alert names the problem by reference"
    )
    resolved = await personal.resolve_problem_references(api.pool, {"reason": reference})
    assert resolved == {"reason": PROBLEM}
    assert set(found_in(await codec_decoded(api, payloads))) >= {
        NAME,
        PHONE,
        EMAIL,
        DESCRIPTION,
        REPLY,
        PRAISE,
        SUGGESTION,
        PROBLEM,
    }
    dump = pg_dump(db)
    assert n.encode() in dump and CUSTOMER_ID.encode() in dump, "the dump holds the rows"
    assert found_in(dump) == [], "pg_dump shows plaintext"
    files = {path: path.read_bytes() for path in await data_files(api)}
    assert any(n.encode() in content for content in files.values()), "the files hold rows"
    for path, content in files.items():
        assert found_in(content) == [], f"plaintext in {path}"
    assert found_in(await analyst_answers(api, n, task_id, week)) == []
    before = await weekly(api, week)

    # Erasure: through the API, by a supervisor; an analyst may not.
    analyst = bearer(await token_for(api.pool, "analyst"))
    why = {"reason": "customer's request, ticket GDPR-77"}
    assert (
        await api.http.post(f"/customers/{CUSTOMER_ID}/erase", json=why, headers=analyst)
    ).status_code == 403
    sup = bearer(await token_for(api.pool, "supervisor", "boss"))
    assert (
        await api.http.post(f"/customers/{CUSTOMER_ID}/erase", json={}, headers=sup)
    ).status_code == 422
    r = await api.http.post(f"/customers/{CUSTOMER_ID}/erase", json=why, headers=sup)
    assert r.status_code == 200, r.text
    assert r.json()["requests"] == [n]

    sealed = await sealed_values(api)
    assert len(sealed) >= 5, "the request, its words, the task and the messages were sealed"
    for blob in sealed:  # with the ring in hand: the customer's key is gone
        with pytest.raises(Erased):
            await at_rest.open_sealed(api.pool, blob)
    gone = (await api.http.get(f"/requests/{n}/customer", headers=agent)).json()
    assert (gone["name"], gone["description"], gone["contact"]) == ("(erased)", "(erased)", {})
    assert {w["text"] for w in gone["words"]} == {"(erased)"}
    assert await at_rest_lookup(api) == [], "the blind index is dropped with the data"
    timeline = (await api.http.get(f"/requests/{n}")).json()["timeline"]
    assert timeline[-1]["kind"] == "personal_data_erased"
    assert timeline[-1]["actor"] == {"id": "boss", "role": "supervisor"}
    assert timeline[-1]["reason"].endswith("ticket GDPR-77")
    assert (
        await api.pool.fetchval(
            "SELECT count(*) FROM customer_keys WHERE customer_id = $1 AND wrapped IS NOT NULL",
            CUSTOMER_ID,
        )
        == 0
    )

    assert found_in(pg_dump(db)) == []
    for path in await data_files(api):
        assert found_in(path.read_bytes()) == [], f"plaintext in {path}"
    assert found_in(await analyst_answers(api, n, task_id, week)) == []
    assert found_in(await raw_histories(api, [n, task_id])) == []
    # Temporal history too: the master ring opens the payloads, the customer's key is gone.
    payloads = await master_opened(api, [n, task_id])
    assert found_in(texts_of(payloads)) == []
    shown = await codec_decoded(api, payloads)
    assert await personal.resolve_problem_references(api.pool, {"reason": reference}) == {
        "reason": "(erased)"
    }
    assert found_in(shown) == [] and "(erased)" in shown and '"sealed:c:' not in shown
    assert await weekly(api, week) == before, "erasure changes no figure"
    await asyncio.sleep(0)
    logs = capfd.readouterr()
    assert "persist.ok" in logs.out + logs.err, "the worker's log lines were captured"
    assert found_in(logs.out + logs.err) == [], "the logs show plaintext"


async def at_rest_lookup(api: Api) -> list[str]:
    by_phone = await personal.requests_by_contact(api.pool, phone="+86 139-8765-4321")
    by_email = await personal.requests_by_contact(api.pool, email=EMAIL.upper())
    assert by_phone == by_email
    return by_phone
