"""`csflow keys` and `csflow codec-server`: the encryption key ring and its codec server."""

from __future__ import annotations

from typing import Annotated

import typer

from csflow.cli import connect

keys_app = typer.Typer(
    help="The payload encryption key ring (docs/security.md).", no_args_is_help=True
)


@keys_app.command("rotate")
def rotate() -> None:
    """Add a new current key to the ring file; old keys stay so old histories decode.

    Restart the worker, API and codec server afterwards so they seal with the new key.
    """
    from csflow.crypto import keyring

    path = connect.settings().keyring_path()
    if not path.exists():
        typer.echo(
            f"no key ring at {path} (set CSFLOW_KEYRING_FILE, or run `csflow up` "
            "once to create a development ring)",
            err=True,
        )
        raise typer.Exit(2)
    try:
        ring = keyring.rotate(path)
    except keyring.KeyRingError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{path}: current key is now {ring.current} ({len(ring.keys)} keys)")


@keys_app.command("show")
def show() -> None:
    """The ring's key ids and which one is current (never the keys themselves)."""
    from csflow.crypto import keyring

    try:
        ring = keyring.load(connect.settings().keyring_path())
    except keyring.KeyRingError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    for key_id in sorted(ring.keys):
        typer.echo(f"{key_id}{'  (current)' if key_id == ring.current else ''}")


def codec_server(
    port: Annotated[int | None, typer.Option(help="Port (default CSFLOW_CODEC_PORT)")] = None,
) -> None:
    """Serve the codec server for the Temporal UI and CLI (tokens are checked in
    PostgreSQL: DATABASE_URL, or the embedded one)."""
    import uvicorn

    from csflow.crypto import assertions, keyring
    from csflow.crypto.server import create_app

    settings = connect.settings()
    try:
        ring = keyring.load(settings.keyring_path())
    except keyring.KeyRingError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    app = create_app(
        ring,
        settings.ui_origins(),
        dsn=settings.database_dsn,
        actor_key=assertions.load_key(settings.data_dir),
    )
    uvicorn.run(app, host=settings.codec_host, port=port or settings.codec_port, log_config=None)
