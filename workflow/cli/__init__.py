"""The ``sstransfer`` command line: the Python API, one command per call.

Each group of commands is a module of its own, thin (parse, call the engine, print):
:mod:`.cases`, :mod:`.deadlines`, :mod:`.reports`, :mod:`.service`, :mod:`.papers`,
:mod:`.funds`, :mod:`.outbox` and :mod:`.admin`;
:mod:`.common` holds the app, its global options and the error handling of :func:`main`.
The commands are listed here, in the order ``sstransfer --help`` shows them.
"""

from __future__ import annotations

from . import admin, cases, deadlines, funds, outbox, papers, reports, service
from .common import app, main

app.command("open")(cases.open_case)
app.command()(cases.fire)
app.command()(cases.attach)
app.command("correct-date")(cases.correct_date)
app.command()(cases.show)
app.command()(cases.history)
app.command("list")(cases.list_cases)
app.command()(deadlines.scan)
app.command("alerts")(deadlines.list_alerts)
app.command()(admin.demo)
app.command()(service.serve)
app.command("import")(cases.import_cases)
app.add_typer(cases.cases_app, name="cases")
app.add_typer(admin.definitions_app, name="definitions")
app.add_typer(deadlines.calendar_app, name="calendar")
app.add_typer(reports.report_app, name="report")
app.add_typer(service.scheduler_app, name="scheduler")
app.add_typer(service.tokens_app, name="tokens")
app.add_typer(admin.db_app, name="db")
app.add_typer(papers.papers_app, name="papers")
app.add_typer(funds.funds_app, name="funds")
app.add_typer(outbox.outbox_app, name="outbox")
app.add_typer(outbox.subscriptions_app, name="subscriptions")

__all__ = ["app", "main"]
