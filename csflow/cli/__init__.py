"""`csflow` — the command line: run the stack or one of its parts, manage the schema,
the staff directory, tokens, customers' data and reports, and steer requests.

The entry point is `csflow.cli:app` (pyproject `[project.scripts]`). Each subcommand
group lives in its own module; all of them connect through `csflow.cli.connect` and
exit with the codes in `csflow.cli.exits`.
"""

from __future__ import annotations

import typer

from csflow.cli import (
    customers,
    imports,
    improvements,
    keys,
    notify,
    policy,
    reports,
    requests,
    scorecards,
    serve,
    staff,
    tokens,
)

app = typer.Typer(
    name="csflow",
    help="Customer-service requests as durable Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
)

app.command("up")(serve.up)
app.command("worker")(serve.worker)
app.command("api")(serve.api)
app.add_typer(policy.policy_app, name="policy")
app.add_typer(policy.calendar_app, name="calendar")
app.command("migrate")(serve.migrate)
app.add_typer(staff.staff_app, name="staff")
app.add_typer(improvements.improvement_app, name="improvement")
app.add_typer(reports.report_app, name="report")
app.add_typer(tokens.token_app, name="token")
app.command("import")(imports.import_command)
app.add_typer(requests.request_app, name="request")
app.add_typer(customers.customer_app, name="customer")
app.add_typer(scorecards.scorecard_app, name="scorecard")
app.add_typer(notify.notify_app, name="notify")
app.add_typer(keys.keys_app, name="keys")
app.command("codec-server")(keys.codec_server)
reports.report_app.command("monthly")(scorecards.report_monthly)

__all__ = ["app"]
