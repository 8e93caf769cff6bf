"""Deadlines: the scan that raises alerts, the stored alerts, and the working-day calendar
(due dates, working days, due dates recomputed after a schedule changed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import InvalidInput
from .choices import AlertLevel, value
from .common import (
    AsOfOpt,
    JsonOpt,
    SettingsOpt,
    date,
    esc,
    group,
    out,
    print_json,
    row,
    settings,
    table,
)

if TYPE_CHECKING:
    from ..loading import WorkingCalendar
    from ..records import Alert
    from .common import Rows

calendar_app = group(help="The Chinese statutory working-day calendar.")


def scan(as_of: AsOfOpt = None, settings_file: SettingsOpt = None, as_json: JsonOpt = False) -> None:
    """Raise due-soon, overdue and escalated alerts as of a date (each exactly once)."""
    engine = settings.engine(settings_file)
    result = engine.scan(date(as_of, "--as-of"))
    if as_json:
        print_json({"as_of": result.as_of.isoformat(), "ran": result.ran,
                    "reason": result.reason, "counts": result.counts,
                    "delivered": result.delivered})
        return
    if not result.ran:
        out.print(esc(f"scan as of {result.as_of} not run: {result.reason}"))
        return
    from ..core.alerts import ALERT_LEVELS

    counts = ", ".join(f"{lvl} {result.count(lvl)}" for lvl in ALERT_LEVELS)
    out.print(f"scan as of {result.as_of}: {result.raised} new alert(s): {counts}")


def _alerts_table(alerts: list[Alert], title: str) -> Rows:
    rows = table(title, ("id", "level", "case", "span", "owner agency", "due",
                         "working days late", "as of"),
                 whole=("id", "case", "owner agency", "due", "as of"))
    for a in alerts:
        row(rows, a.id, a.level, a.case_id, a.subject, a.owner_agency, a.due_on or "",
            "" if a.working_days_late is None else a.working_days_late, a.as_of)
    return rows


def list_alerts(
    level: Annotated[AlertLevel | None, typer.Option(help="Only alerts of this level.")] = None,
    agency: Annotated[str | None, typer.Option(help="Owner agency.")] = None,
    case: Annotated[int | None, typer.Option(help="One case.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List stored alerts, oldest first."""
    alerts = settings.engine(read=True).alerts(level=value(level), agency=agency, case_id=case, limit=limit)
    if as_json:
        print_json([a.to_dict() for a in alerts])
    else:
        out.print(_alerts_table(alerts, f"{len(alerts)} alert(s)"))


def _calendar() -> WorkingCalendar:
    from ..loading import DefinitionSet, WorkingCalendar

    return WorkingCalendar(DefinitionSet(settings.definitions).calendars_dir)


@calendar_app.command("due")
def calendar_due(
    received: Annotated[str, typer.Argument(help="Date of receipt, YYYY-MM-DD.")],
    days: Annotated[int, typer.Option(help="Limit in working days.")] = 15,
    as_json: JsonOpt = False,
) -> None:
    """The due date of a limit of N working days counted from a date of receipt."""
    start = date(received, "the date of receipt")
    if days < 1:
        raise InvalidInput("--days must be at least 1")
    due = _calendar().due(start, days)
    if as_json:
        print_json({"received": start.isoformat(), "working_days": days,
                    "due_on": due.on.isoformat(), "provisional": due.provisional})
        return
    note = " (provisional: the schedule of that year is not published yet)" if due.provisional else ""
    out.print(f"{days} working days after {start} is {due.on} ({due.on:%A}){note}")


@calendar_app.command("is-workday")
def calendar_is_workday(
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD")], as_json: JsonOpt = False,
) -> None:
    """Whether a date is a working day (exit code 0) or not (exit code 1)."""
    d = date(day)
    cal = _calendar()
    working = cal.is_working_day(d)
    provisional = not cal.is_official(d.year)
    if as_json:
        print_json({"date": d.isoformat(), "working_day": working, "provisional": provisional})
    else:
        kind = "a working day" if working else "not a working day"
        out.print(f"{d} ({d:%A}) is {kind}" + (" (provisional)" if provisional else ""))
    raise typer.Exit(0 if working else 1)


@calendar_app.command("recompute")
def calendar_recompute(as_json: JsonOpt = False) -> None:
    """Recompute the due dates of running spans whose years' holiday schedules changed."""
    changes = settings.engine().recompute_due_dates()
    if as_json:
        print_json(changes)
        return
    for c in changes:
        out.print(esc(f"case {c['case_id']} {c['span']}: due {c['old_due_on']} -> "
                      f"{c['new_due_on']}" + (" (still provisional)" if c["new_provisional"] else "")
                      + f"; {c['reason']}"))
    out.print(f"{len(changes)} due date(s) changed")
