"""The ``sstransfer`` command line: the Python API, one command per call."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from .errors import InvalidInput, WorkflowError

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False,
                  add_completion=False)
definitions_app = typer.Typer(help="Check and draw workflow definitions.", no_args_is_help=True)
calendar_app = typer.Typer(help="The Chinese statutory working-day calendar.",
                           no_args_is_help=True)
app.add_typer(definitions_app, name="definitions")
app.add_typer(calendar_app, name="calendar")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class _Settings:
    db: str | None = None
    definitions: Path | None = None
    log_level: int = logging.WARNING

    def engine(self, settings_file: Path | None = None, **overrides: Any):
        from .engine import Engine
        from .settings import Settings

        return Engine(self.db, definitions=self.definitions,
                      settings=Settings.load(settings_file, **overrides))


settings = _Settings()

DbOpt = Annotated[str | None, typer.Option(
    "--db", envvar="SSTRANSFER_DATABASE_URL",
    help="Database URL (default: sqlite:///sstransfer.db in this folder).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ActorOpt = Annotated[str, typer.Option("--actor", help="Who acts: a user id.")]
RoleOpt = Annotated[str, typer.Option(
    "--role", help="self, employer, agent, origin_clerk, destination_clerk or supervisor.")]
AgencyOpt = Annotated[str | None, typer.Option(
    "--agency", help="The clerk's agency (6-digit division code).")]
OnOpt = Annotated[str | None, typer.Option(
    "--on", help="Business date YYYY-MM-DD (default: today in China).")]
DocsOpt = Annotated[list[str] | None, typer.Option(
    "--document", "-d", help="A document kind; repeat for several.")]


@app.callback()
def _main(
    db: DbOpt = None,
    definitions: Annotated[Path | None, typer.Option(
        "--definitions", envvar="SSTRANSFER_DEFINITIONS",
        help="Folder of workflow definitions (default: the shipped ones).")] = None,
    log_level: Annotated[str, typer.Option(
        help="Log events at this level and above go to stderr.")] = "warning",
) -> None:
    """sstransfer: transfers of social insurance between Chinese agencies, as guarded,
    persisted cases with statutory working-day time limits."""
    settings.db, settings.definitions = db, definitions
    level = logging.getLevelNamesMapping().get(log_level.upper())
    if level is None:
        raise InvalidInput(f"unknown log level '{log_level}'")
    settings.log_level = level
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def _date(value: str | None, what: str = "date") -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} must be a date as YYYY-MM-DD, not {value!r}") from None


def _actor(actor: str, role: str, agency: str | None):
    from .rules import Actor

    return Actor(id=actor, role=role, agency=agency)


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


def _show_case(case, as_json: bool, spans=None) -> None:
    if as_json:
        data = case.to_dict()
        if spans is not None:
            data["spans"] = [s.to_dict() for s in spans]
        _print_json(data)
        return
    table = Table(title=f"case {case.id}", show_header=False)
    for key, value in case.to_dict().items():
        table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    out.print(table)
    if spans:
        _spans_table(spans)


def _spans_table(spans) -> None:
    table = Table(title="spans")
    for col in ("span", "owner", "agency", "started", "committed due", "statutory due", "ended",
                "provisional", "note"):
        table.add_column(col)
    for s in spans:
        table.add_row(s.name, s.owner, s.owner_agency, str(s.started_on),
                      str(s.committed_due_on or "–"), str(s.due_on), str(s.ended_on or "running"),
                      "yes" if s.provisional else "", escape(s.due_note or ""))
    out.print(table)


@app.command("open")
def open_case(
    definition: Annotated[str, typer.Argument(help="pension_transfer or medical_transfer")],
    person_id: Annotated[str, typer.Option(help="18-character resident ID number.")],
    person_name: Annotated[str, typer.Option(help="The person's name.")],
    origin: Annotated[str, typer.Option(help="Origin agency, 6-digit division code.")],
    destination: Annotated[str, typer.Option(help="Destination agency, 6-digit code.")],
    applicant: Annotated[str, typer.Option(help="self, employer or agent.")],
    actor: ActorOpt, role: RoleOpt, agency: AgencyOpt = None,
    channel: Annotated[str, typer.Option(help="counter or online.")] = "counter",
    document: DocsOpt = None, on: OnOpt = None, as_json: JsonOpt = False,
    origin_scheme: Annotated[str | None, typer.Option(
        help="Medical (since 2021): urban_employee or urban_rural_resident at the origin.")] = None,
    destination_scheme: Annotated[str | None, typer.Option(
        help="Medical (since 2021): the scheme at the destination.")] = None,
) -> None:
    """Open a transfer case (the application is received)."""
    case = settings.engine().open_case(
        definition, person_id=person_id, person_name=person_name, origin=origin,
        destination=destination, applicant=applicant, channel=channel,
        documents=document or [], actor=_actor(actor, role, agency), on=_date(on, "--on"),
        origin_scheme=origin_scheme, destination_scheme=destination_scheme)
    _show_case(case, as_json)


@app.command()
def fire(
    case_id: int, trigger: str, actor: ActorOpt, role: RoleOpt, agency: AgencyOpt = None,
    on: OnOpt = None, document: DocsOpt = None,
    expected_version: Annotated[int | None, typer.Option(
        help="Refuse if the case is no longer at this version.")] = None,
    explanation: Annotated[str | None, typer.Option(help="Written explanation (reject).")] = None,
    needed: Annotated[list[str] | None, typer.Option(
        "--needed", help="A document still needed (request_documents); repeat.")] = None,
    amount: Annotated[str | None, typer.Option(help="Amount moved, yuan (move_funds).")] = None,
    months: Annotated[int | None, typer.Option(
        "--months", help="Cumulative contribution months (continue_relationship).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fire a trigger on a case: review, reject, request_documents, resubmit, send_letter,
    move_funds, continue_relationship or withdraw."""
    case = settings.engine().fire(
        case_id, trigger, actor=_actor(actor, role, agency), on=_date(on, "--on"),
        documents=document or [], expected_version=expected_version, explanation=explanation,
        documents_needed=needed, amount=amount, contribution_months=months)
    _show_case(case, as_json)


@app.command()
def attach(case_id: int, actor: ActorOpt, role: RoleOpt, agency: AgencyOpt = None,
           document: DocsOpt = None, on: OnOpt = None, as_json: JsonOpt = False) -> None:
    """Attach documents to a running case."""
    case = settings.engine().attach_documents(
        case_id, document or [], actor=_actor(actor, role, agency), on=_date(on, "--on"))
    _show_case(case, as_json)


@app.command()
def show(case_id: int, as_json: JsonOpt = False) -> None:
    """Show a case and its spans."""
    engine = settings.engine()
    _show_case(engine.get(case_id), as_json, engine.spans(case_id))


@app.command()
def history(case_id: int, as_json: JsonOpt = False) -> None:
    """Every step of a case, in order."""
    entries = settings.engine().history(case_id)
    if as_json:
        _print_json([e.to_dict() for e in entries])
        return
    table = Table(title=f"history of case {case_id}")
    for col in ("seq", "date", "trigger", "from", "to", "actor", "documents", "comment"):
        table.add_column(col)
    for e in entries:
        who = f"{e.actor_role} {e.actor_id}" + (f" @{e.actor_agency}" if e.actor_agency else "")
        table.add_row(str(e.seq), str(e.business_date), e.trigger, e.from_state or "",
                      e.to_state, who, ", ".join(e.documents), e.comment or "")
    out.print(table)


@app.command("list")
def list_cases(
    state: Annotated[str | None, typer.Option(help="Only cases in this state.")] = None,
    agency: Annotated[str | None, typer.Option(help="Origin or destination agency.")] = None,
    definition: Annotated[str | None, typer.Option(help="Only this workflow.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many cases.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List cases."""
    cases = settings.engine().cases(state=state, agency=agency, definition=definition,
                                    limit=limit)
    if as_json:
        _print_json([c.to_dict() for c in cases])
        return
    table = Table(title=f"{len(cases)} case(s)")
    for col in ("id", "definition", "state", "person", "ID number", "origin", "destination",
                "opened", "last step"):
        table.add_column(col)
    for c in cases:
        table.add_row(str(c.id), c.definition, c.state, c.person_name, c.person_id_masked,
                      c.origin, c.destination, str(c.opened_on), str(c.last_event_on))
    out.print(table)


@definitions_app.command("validate")
def definitions_validate(
    folder: Annotated[Path | None, typer.Argument(
        help="Folder to check (default: the one in use).")] = None,
) -> None:
    """Load and check every definition, the document catalogue and the calendars."""
    from .calendar import WorkingCalendar
    from .definitions import DefinitionSet

    ds = DefinitionSet(folder or settings.definitions)
    cal = WorkingCalendar(ds.calendars_dir)
    for d in ds:
        out.print(f"ok  {d.path}: {d.name} version {d.version} ({len(d.states)} states, "
                  f"{len(d.triggers)} triggers, {len(d.spans)} spans) {d.content_hash[:12]}")
    years = sorted(cal.official_years)
    out.print(f"ok  calendar: official years {years[0]}-{years[-1]}"
              + (f", from files: {sorted(cal.schedules)}" if cal.schedules else ""))
    for year, missing in sorted(cal.incomplete.items()):
        out.print(escape(f"provisional  calendars/{year}.yaml: {year} stays provisional, it lacks "
                         f"{'、'.join(missing)}"))
    if ds.commitments.entries:
        out.print(f"ok  {len(ds.commitments.entries)} committed limit(s)")


@definitions_app.command("diagram")
def definitions_diagram(
    name: str,
    version: Annotated[int | None, typer.Option(help="Default: the latest.")] = None,
) -> None:
    """Print a Mermaid state diagram of a definition."""
    from .definitions import DefinitionSet

    ds = DefinitionSet(settings.definitions)
    d = ds.latest(name)
    if version is not None:
        d = ds.by_key.get((name, version))
        if d is None:
            raise InvalidInput(f"no {name} version {version} in {ds.folder}")
    sys.stdout.write(d.mermaid())


def _calendar():
    from .calendar import WorkingCalendar
    from .definitions import DefinitionSet

    return WorkingCalendar(DefinitionSet(settings.definitions).calendars_dir)


@calendar_app.command("due")
def calendar_due(
    received: Annotated[str, typer.Argument(help="Date of receipt, YYYY-MM-DD.")],
    days: Annotated[int, typer.Option(help="Limit in working days.")] = 15,
    as_json: JsonOpt = False,
) -> None:
    """The due date of a limit of N working days counted from a date of receipt."""
    start = _date(received, "the date of receipt")
    if days < 1:
        raise InvalidInput("--days must be at least 1")
    due = _calendar().due(start, days)
    if as_json:
        _print_json({"received": start.isoformat(), "working_days": days,
                     "due_on": due.on.isoformat(), "provisional": due.provisional})
        return
    note = " (provisional: the schedule of that year is not published yet)" if due.provisional else ""
    out.print(f"{days} working days after {start} is {due.on} ({due.on:%A}){note}")


@calendar_app.command("is-workday")
def calendar_is_workday(
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD")], as_json: JsonOpt = False,
) -> None:
    """Whether a date is a working day (exit code 0) or not (exit code 1)."""
    d = _date(day)
    cal = _calendar()
    working = cal.is_working_day(d)
    provisional = not cal.is_official(d.year)
    if as_json:
        _print_json({"date": d.isoformat(), "working_day": working, "provisional": provisional})
    else:
        kind = "a working day" if working else "not a working day"
        out.print(f"{d} ({d:%A}) is {kind}" + (" (provisional)" if provisional else ""))
    raise typer.Exit(0 if working else 1)


report_app = typer.Typer(help="Overdue reports.", no_args_is_help=True)
scheduler_app = typer.Typer(help="The scheduler of scans and reports.", no_args_is_help=True)
app.add_typer(report_app, name="report")
app.add_typer(scheduler_app, name="scheduler")
SettingsOpt = Annotated[Path | None, typer.Option(
    "--settings", envvar="SSTRANSFER_SETTINGS", help="TOML settings file ([monitor] table).")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="Business date YYYY-MM-DD (default: today in China).")]


def _alerts_table(alerts, title: str) -> Table:
    table = Table(title=title)
    for col in ("id", "level", "case", "span", "owner agency", "due", "working days late", "as of"):
        table.add_column(col)
    for a in alerts:
        table.add_row(str(a.id), a.level, str(a.case_id), a.subject, a.owner_agency,
                      str(a.due_on or ""), "" if a.working_days_late is None
                      else str(a.working_days_late), str(a.as_of))
    return table


@app.command()
def scan(as_of: AsOfOpt = None, settings_file: SettingsOpt = None, as_json: JsonOpt = False) -> None:
    """Raise due-soon, overdue and escalated alerts as of a date (each exactly once)."""
    engine = settings.engine(settings_file)
    result = engine.scan(_date(as_of, "--as-of"))
    if as_json:
        _print_json({"as_of": result.as_of.isoformat(), "ran": result.ran,
                     "reason": result.reason, "counts": result.counts,
                     "delivered": result.delivered})
        return
    if not result.ran:
        out.print(f"scan as of {result.as_of} not run: {result.reason}")
        return
    counts = ", ".join(f"{lvl} {result.count(lvl)}"
                       for lvl in ("due_soon", "overdue", "escalated", "statutory_breach",
                                   "advisory"))
    out.print(f"scan as of {result.as_of}: {result.raised} new alert(s): {counts}")


@app.command("alerts")
def list_alerts(
    level: Annotated[str | None, typer.Option(
        help="due_soon, overdue, escalated, statutory_breach or advisory.")] = None,
    agency: Annotated[str | None, typer.Option(help="Owner agency.")] = None,
    case: Annotated[int | None, typer.Option(help="One case.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List stored alerts, oldest first."""
    alerts = settings.engine().alerts(level=level, agency=agency, case_id=case, limit=limit)
    if as_json:
        _print_json([a.to_dict() for a in alerts])
    else:
        out.print(_alerts_table(alerts, f"{len(alerts)} alert(s)"))


@report_app.command("overdue")
def report_overdue(
    out_path: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx or html.")] = "html",
    as_of: AsOfOpt = None,
    since: Annotated[str | None, typer.Option(
        help="Start of the period for on-time rates (default: 7 days up to --as-of).")] = None,
    settings_file: SettingsOpt = None,
) -> None:
    """Write the overdue report: every overdue and escalated span by owner agency."""
    from .reports import write_report

    engine = settings.engine(settings_file)
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("collecting overdue spans", total=None)
        report = engine.overdue_report(
            _date(as_of, "--as-of"), since=_date(since, "--since"),
            progress=lambda done, total: bar.update(task, completed=done, total=total))
        bar.update(task, description=f"writing {fmt}")
        path = write_report(report, fmt, out_path)
    out.print(f"{report.total} overdue span(s) in {len(report.agencies)} agencies "
              f"as of {report.as_of}: {path}")


@scheduler_app.command("run")
def scheduler_run(
    settings_file: SettingsOpt = None,
    scan_at: Annotated[str | None, typer.Option(help="Daily scan time HH:MM (China).")] = None,
    report_day: Annotated[str | None, typer.Option(help="Weekly report day: mon..sun.")] = None,
    report_at: Annotated[str | None, typer.Option(help="Weekly report time HH:MM.")] = None,
    report_dir: Annotated[Path | None, typer.Option(help="Folder for report files.")] = None,
) -> None:
    """Run the scheduler in the foreground until interrupted (Ctrl+C)."""
    import signal
    import threading

    # A service logs every run: at least the info level, whatever --log-level said.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(
        min(settings.log_level, logging.INFO)))
    engine = settings.engine(settings_file, scan_at=scan_at, report_day=report_day,
                             report_at=report_at, report_dir=report_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine.start_scheduler()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        engine.shutdown()


@calendar_app.command("recompute")
def calendar_recompute(as_json: JsonOpt = False) -> None:
    """Recompute the due dates of running spans whose years' holiday schedules changed."""
    changes = settings.engine().recompute_due_dates()
    if as_json:
        _print_json(changes)
        return
    for c in changes:
        out.print(f"case {c['case_id']} {c['span']}: due {c['old_due_on']} -> {c['new_due_on']}"
                  + (" (still provisional)" if c["new_provisional"] else "")
                  + f"; {c['reason']}")
    out.print(f"{len(changes)} due date(s) changed")


@app.command()
def demo(
    folder: Annotated[Path, typer.Option(help="Folder for the database and reports.")] = Path(
        "demo-output"),
    cases: Annotated[int, typer.Option(help="How many cases to open.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20251126,
) -> None:
    """The main job on the embedded SQLite default: build a demo database, scan it as of
    2026-11-20, and write the overdue report in HTML, XLSX and CSV."""
    from .definitions import shipped_definitions_dir
    from .demo import AS_OF, build_demo, demo_definitions
    from .engine import Engine
    from .reports import write_report
    from .settings import Settings

    db = folder / "sstransfer-demo.db"
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    definitions = demo_definitions(Path(settings.definitions or shipped_definitions_dir()),
                                   folder / "definitions")
    engine = Engine(f"sqlite:///{db}", definitions=definitions,
                    settings=Settings.load(report_dir=folder / "reports"))
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("opening and moving cases", total=cases)
        stats = build_demo(engine, cases=cases, seed=seed,
                           progress=lambda n: bar.update(task, completed=n))
    out.print(f"[bold]{stats.cases} cases, {stats.steps} steps[/] written to {db}")

    by_state: dict[str, Counter] = defaultdict(Counter)
    for c in engine.cases():
        by_state[c.state][c.insurance] += 1
    table = Table(title="cases by state")
    for col in ("state", "pension", "medical", "total"):
        table.add_column(col, justify="right" if col != "state" else "left")
    for state in ("applied", "awaiting_documents", "reviewed", "letter_sent", "funds_moved",
                  "continued", "rejected", "withdrawn"):
        n = by_state.get(state, Counter())
        table.add_row(state, str(n["pension"]), str(n["medical"]), str(sum(n.values())))
    out.print(table)

    result = engine.scan(AS_OF)
    table = Table(title=f"alerts raised by the scan as of {AS_OF}")
    for col in ("level", "alerts"):
        table.add_column(col)
    for level in ("due_soon", "overdue", "escalated", "statutory_breach", "advisory"):
        table.add_row(level, str(result.count(level)))
    out.print(table)

    report = engine.overdue_report(AS_OF)
    table = Table(title=f"overdue spans per agency as of {AS_OF} (working days late, judged by "
                        "the committed limit where there is one)")
    for col in ("agency", "1–5", "6–10", "11–15", "over 15", "escalated", "past statutory due",
                "on time (week)"):
        table.add_column(col)
    for s in report.agencies.values():
        rate = "–" if s.on_time_rate is None else f"{s.on_time_rate:.0%} of {s.closed}"
        table.add_row(s.agency, *map(str, s.buckets.values()), str(s.escalated),
                      str(s.statutory_breaches), rate)
    out.print(table)
    committed = [x for x in report.lines() if x.committed_due_on is not None][:8]
    table = Table(title="overdue spans with a committed limit (demo commitments, illustrative)")
    for col in ("case", "insurance", "span", "agency", "committed due", "statutory due",
                "past statutory due"):
        table.add_column(col, no_wrap=True)
    for x in committed:
        table.add_row(str(x.case_id), x.insurance, x.span, x.agency, str(x.committed_due_on),
                      str(x.due_on), "yes" if x.statutory_breach else "")
    out.print(table)
    reports = folder / "reports"
    reports.mkdir(exist_ok=True)
    for fmt in ("html", "xlsx", "csv"):
        out.print(f"report: {write_report(report, fmt, reports / f'overdue-{AS_OF}.{fmt}')}")
    out.print(f"Look around: sstransfer --db sqlite:///{db} --definitions {definitions} "
              "alerts --level statutory_breach")


IMPORT_COLUMNS = ("definition", "person_id", "person_name", "origin", "destination", "applicant",
                  "channel", "documents", "received_on", "origin_scheme", "destination_scheme")


@app.command("import")
def import_cases(
    path: Annotated[Path, typer.Argument(help="CSV file with a header row.")],
    actor: ActorOpt, role: RoleOpt, agency: AgencyOpt = None, on: OnOpt = None,
) -> None:
    """Open every application of a CSV file in one batch; a bad line stops it, writing nothing.

    Columns: definition, person_id, person_name, origin, destination, applicant, channel,
    documents (separated by ';'), received_on (YYYY-MM-DD; default --on or today), and for
    medical insurance since 2021 origin_scheme and destination_scheme.
    """
    import csv

    if not path.is_file():
        raise InvalidInput(f"{path} is not a file")
    engine = settings.engine()

    def rows(f):
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        unknown = [c for c in header if c not in IMPORT_COLUMNS]
        if unknown:
            raise InvalidInput(f"{path}, line 1: unknown column(s) {', '.join(unknown)}; "
                               f"columns: {', '.join(IMPORT_COLUMNS)}")
        for n, row in enumerate(reader, 2):
            row = {k: (v or "").strip() for k, v in row.items() if k is not None}
            if "documents" in row:
                row["documents"] = [d.strip() for d in row["documents"].split(";") if d.strip()]
            for scheme in ("origin_scheme", "destination_scheme"):
                if not row.get(scheme, "x"):
                    del row[scheme]  # an empty cell: no scheme (pension, medical v1)
            received = row.pop("received_on", "")
            if received:
                row["on"] = _date(received, f"line {n}: received_on")
            yield row

    with path.open(newline="", encoding="utf-8-sig") as f, \
            Progress(console=err, transient=True) as bar:
        task = bar.add_task(f"opening cases from {path.name}", total=None)
        ids = engine.open_cases(rows(f), actor=_actor(actor, role, agency),
                                on=_date(on, "--on"), first_line=2,
                                progress=lambda n: bar.update(task, completed=n))
    span = f" (ids {ids[0]}–{ids[-1]})" if ids else ""
    out.print(f"{len(ids)} case(s) opened{span}")


db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target (default: head).")] = "head"
               ) -> None:
    """Bring the database to the schema this sstransfer needs (or to REVISION)."""
    from . import store

    db = store.connect(settings.db)
    before = store.current_revision(db)
    store.upgrade(db, revision)
    out.print(f"schema: {before or 'empty'} -> {store.current_revision(db)} ({db.url!r})")


@db_app.command("current")
def db_current() -> None:
    """Say which schema revision the database is at, and which this sstransfer needs."""
    from . import store

    db = store.connect(settings.db)
    current, head = store.current_revision(db), store.head_revision()
    state = "up to date" if current == head else (
        "empty: `sstransfer db upgrade` creates it" if current is None
        else "`sstransfer db upgrade` needed")
    out.print(f"{current or 'empty'} (this sstransfer needs {head}): {state}")


def main() -> None:
    """Entry point: a refused call prints one line and exits 1, never a traceback."""
    try:
        app()
    except WorkflowError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(1)
    except SQLAlchemyError as exc:
        err.print(f"[red]database error:[/] {exc.__class__.__name__}: "
                  f"{str(exc.orig if hasattr(exc, 'orig') else exc).splitlines()[0]}",
                  highlight=False)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
