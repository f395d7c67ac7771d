"""`csflow notify …`: see a request's messages, and re-send those that were not delivered.

A message whose channels stayed down for the whole retry window ends `failed` (and ops
were alerted). Once the channel is fixed, `csflow notify retry` sends it again on
purpose — with the same outbox key, so a message is still delivered at most once even if
two operators retry at the same time. It runs in this process, with the worker's channel
settings (CSFLOW_NOTIFY_CONFIG and the secrets in the environment).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

notify_app = typer.Typer(
    help="Notifications: a request's messages, and undelivered ones listed and re-sent.",
    no_args_is_help=True,
)


def _when(at: datetime) -> str:
    """A row's time as both listings print it: UTC, to the second, said so."""
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _run(work: Any) -> Any:
    from csflow.cli import connect

    return connect.with_pool(work)


@notify_app.command("list")
def notify_list(
    number: Annotated[str | None, typer.Option(help="only this request's messages")] = None,
    retrying: Annotated[
        bool, typer.Option("--retrying", help="also messages still being retried")
    ] = False,
) -> None:
    """Messages that are failed or uncertain (and, with --retrying, still retried).

    A block per message, as `notify show` prints them: the key alone on its first line
    (to copy into `notify retry --key`), then its status, channel, last attempt and when
    it last changed. Exit code 0, with "nothing to attend to" when none match.
    """
    from csflow.store import outbox

    statuses = ("failed", "uncertain", *(("retrying",) if retrying else ()))
    rows = _run(lambda pool: outbox.waiting(pool, statuses=statuses, number=number))
    if not rows:
        typer.echo("nothing to attend to: no " + ", ".join(statuses) + " message")
    for r in rows:
        attempts = r["attempts"] or []
        typer.echo(r["key"])
        typer.echo(
            f"  {r['status']}"
            + (f" by {r['channel']}" if r["channel"] else "")
            + (f" · last attempt: {attempts[-1]}" if attempts else "")
            + f" · updated {_when(r['updated_at'])}"
        )


@notify_app.command("show")
def notify_show(
    number: Annotated[
        str, typer.Argument(help="request number, e.g. CS20261123-TEL-0001", show_default=False)
    ],
) -> None:
    """Every message of one request and its fate: queued, being sent, retried (and when
    next), sent, failed or uncertain. Never the message's text or address.

    Exit code 2 when the request has no messages (or no such request).
    """
    from csflow.store import outbox

    if not number.isprintable() or len(number) > 64:
        typer.echo("refused: a request number is at most 64 printable characters", err=True)
        raise typer.Exit(2)
    rows = _run(lambda pool: outbox.for_request(pool, number))
    if not rows:
        typer.echo(f"no messages for {number}", err=True)
        raise typer.Exit(2)

    # A block per message, the key alone on its first line: keys are long and are copied
    # into `notify retry --key`, so they must never wrap or squeeze the other columns.
    for r in rows:
        tries = r["tries"] if r["dispatch"] else len(r["attempts"] or [])
        by = "dispatcher" if r["dispatch"] else "send activity"
        fate = [f"{r['status']}" + (f" by {r['channel']}" if r["channel"] else "")]
        if r["sent_at"]:
            fate.append(f"sent {_when(r['sent_at'])}")
        elif r["failed_at"]:
            fate.append(f"failed {_when(r['failed_at'])}")
        elif r["next_attempt_at"]:
            fate.append(f"next try {_when(r['next_attempt_at'])}")
        typer.echo(r["key"])
        typer.echo(
            f"  {r['template']} to {r['recipient_kind']} · {' · '.join(fate)} · "
            f"{by}, {tries} {'try' if tries == 1 else 'tries'} · queued {_when(r['created_at'])}"
        )


@notify_app.command("retry")
def notify_retry(
    key: Annotated[
        list[str] | None,
        typer.Option("--key", help="a message key from `notify list` (repeatable)"),
    ] = None,
    number: Annotated[str | None, typer.Option(help="every failed message of a request")] = None,
    all_failed: Annotated[bool, typer.Option("--all", help="every failed message")] = False,
    uncertain: Annotated[
        bool,
        typer.Option(
            "--uncertain", help="also emails whose fate a crash left unknown (may duplicate)"
        ),
    ] = False,
) -> None:
    """Send failed messages again, once each, through the recipient's channels.

    Exit code 0 when every selected message was sent, 1 when some failed again (they stay
    `failed`, ops alerted), 2 when nothing was selected.
    """
    if not (key or number or all_failed):
        typer.echo("refused: name messages with --key, --number or --all", err=True)
        raise typer.Exit(2)
    from csflow.notify.config import load_notify_config
    from csflow.notify.sender import Sender, build_sender
    from csflow.store import outbox

    statuses = ("failed", "uncertain") if uncertain else ("failed",)

    async def work(pool: Any) -> list[tuple[str, str, str]]:
        sender = build_sender(pool, load_notify_config(), Sender)
        taken = await outbox.take_for_retry(pool, keys=key, number=number, statuses=statuses)
        done: list[tuple[str, str, str]] = []
        for n in taken:
            result = await sender.resend(n)
            done.append((n.key, result.status, result.channel or "; ".join(result.attempts)))
        return done

    results: list[tuple[str, str, str]] = _run(work)
    if not results:
        typer.echo("nothing to retry: no matching failed message with a stored payload", err=True)
        raise typer.Exit(2)
    for k, status, how in results:
        typer.echo(f"{status:<7} {k}  {how}")
    raise typer.Exit(0 if all(s == "sent" for _, s, _ in results) else 1)
