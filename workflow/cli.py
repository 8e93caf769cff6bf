"""The ``sstransfer`` command line: the Python API, one command per call."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, overload

import typer

from .errors import InvalidInput, SettingsError, WorkflowError

# Rich, structlog and SQLAlchemy are imported where a command needs them: `sstransfer --help`
# loads typer and this module only (tests/test_cli.py checks it; bench/bench_startup.py times it).
if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from .core.rules import Actor
    from .core.views import Case
    from .engine import Engine
    from .loading import WorkingCalendar
    from .records import Alert, Span

try:  # typer vendors click from 0.2x on; older releases depend on it
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException  # type: ignore[assignment]  # click's own copy of it


def _typer(**kwargs: Any) -> typer.Typer:
    """A command group whose help is plain text: brackets such as ``[monitor]`` stay visible."""
    return typer.Typer(no_args_is_help=True, rich_markup_mode=None, **kwargs)


app = _typer(pretty_exceptions_enable=False, add_completion=False)
definitions_app = _typer(help="Check and draw workflow definitions.")
calendar_app = _typer(help="The Chinese statutory working-day calendar.")
app.add_typer(definitions_app, name="definitions")
app.add_typer(calendar_app, name="calendar")


class _LazyConsole:
    """A Rich console made on first use (importing Rich is not free; ``--help`` needs none)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # own attributes not set (a copy): no recursion
            raise AttributeError(name)
        return getattr(self.console, name)


out = _LazyConsole(soft_wrap=True)
err = _LazyConsole(stderr=True, soft_wrap=True)


def _progress() -> Progress:
    """A progress bar on a terminal; nothing (not even a blank line) in a pipe or a log."""
    from rich.progress import Progress

    return Progress(console=err.console, transient=True, disable=not err.is_terminal)


def _table(**options: Any) -> Table:
    from rich.table import Table

    return Table(**options)


def _esc(value: object) -> str:
    """Data (names, documents, paths, messages) printed through Rich: shown, never markup."""
    from rich.markup import escape

    return escape(str(value))


def _row(table: Table, *values: object) -> None:
    table.add_row(*map(_esc, values))


class _Settings:
    db: str | None = None
    definitions: Path | None = None
    log_level: int = logging.WARNING

    def engine(self, settings_file: Path | None = None, *, read: bool = False,
               **overrides: Any) -> Engine:
        """The engine of ``--db``; ``read``: a command that only reads refuses a SQLite file
        that does not exist (a typo would otherwise create an empty database)."""
        from .engine import Engine
        from .settings import Settings

        if read:
            self.check_exists()
        try:
            loaded = Settings.load(settings_file, **overrides)
        except SettingsError as exc:  # a bad option is named as the user typed it
            if exc.source != "Settings.load()" or not exc.key:
                raise
            raise SettingsError(f"--{exc.key.replace('_', '-')}", None, exc.problem) from None
        return Engine(self.db, definitions=self.definitions, settings=loaded)

    def check_exists(self) -> None:
        from . import store

        path = store.sqlite_file(self.db)
        if path is not None and not path.exists():
            raise InvalidInput(f"database file {path} does not exist: check --db (a command that "
                               "writes, such as `open` or `db upgrade`, creates it)")


settings = _Settings()


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(f"sstransfer {version('sstransfer')}")
        raise typer.Exit()


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
IdNumberOpt = Annotated[str | None, typer.Option(
    "--actor-id-number", help="Role self: the acting person's own resident ID number.")]


@app.callback()
def _main(
    db: DbOpt = None,
    definitions: Annotated[Path | None, typer.Option(
        "--definitions", envvar="SSTRANSFER_DEFINITIONS",
        help="Folder of workflow definitions (default: the shipped ones).")] = None,
    log_level: Annotated[str, typer.Option(
        help="Log events at this level and above go to stderr.")] = "warning",
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_version, help="Print the version and exit.")] = False,
) -> None:
    """sstransfer: transfers of social insurance between Chinese agencies, as guarded,
    persisted cases with statutory working-day time limits."""
    settings.db, settings.definitions = db, definitions
    level = logging.getLevelNamesMapping().get(log_level.upper())
    if level is None:
        raise InvalidInput(f"unknown log level '{log_level}'")
    settings.log_level = level
    import structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


@overload
def _date(value: str, what: str = "date") -> dt.date: ...
@overload
def _date(value: str | None, what: str = "date") -> dt.date | None: ...
def _date(value: str | None, what: str = "date") -> dt.date | None:
    """A date typed as YYYY-MM-DD (see :func:`workflow.core.rules.parse_date`)."""
    from .core.rules import parse_date

    return None if value is None else parse_date(value, what)


def _one_of(value: str | None, known: set[str], what: str) -> None:
    """A filter of a read command: a typo is refused, not answered with nothing found."""
    if value is not None and value not in known:
        raise InvalidInput(f"{what} must be one of {', '.join(sorted(known))}, not {value!r}")


def _actor(actor: str, role: str, agency: str | None, id_number: str | None = None) -> Actor:
    from .core.rules import Actor

    return Actor(id=actor, role=role, agency=agency, person_id=id_number)


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


def _show_case(case: Case, as_json: bool, spans: list[Span] | None = None) -> None:
    if as_json:
        data = case.to_dict()
        if spans is not None:
            data["spans"] = [s.to_dict() for s in spans]
        _print_json(data)
        return
    table = _table(title=f"case {case.id}", show_header=False)
    for key, value in case.to_dict().items():
        _row(table, key, ", ".join(value) if isinstance(value, list) else value)
    out.print(table)
    if spans:
        _spans_table(spans)


def _spans_table(spans: list[Span]) -> None:
    table = _table(title="spans")
    for col in ("span", "owner", "agency", "started", "committed due", "statutory due", "ended",
                "provisional", "note"):
        table.add_column(col)
    for s in spans:
        _row(table, s.name, s.owner, s.owner_agency, s.started_on, s.committed_due_on or "–",
             s.due_on, s.ended_on or "running", "yes" if s.provisional else "", s.due_note or "")
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
    actor_id_number: IdNumberOpt = None,
    origin_scheme: Annotated[str | None, typer.Option(
        help="Medical (since 2021): urban_employee or urban_rural_resident at the origin.")] = None,
    destination_scheme: Annotated[str | None, typer.Option(
        help="Medical (since 2021): the scheme at the destination.")] = None,
) -> None:
    """Open a transfer case (the application is received)."""
    if role.strip() == "self" and actor_id_number is None:
        actor_id_number = person_id  # a person applies for themselves
    case = settings.engine().open_case(
        definition, person_id=person_id, person_name=person_name, origin=origin,
        destination=destination, applicant=applicant, channel=channel,
        documents=document or [], actor=_actor(actor, role, agency, actor_id_number),
        on=_date(on, "--on"), origin_scheme=origin_scheme, destination_scheme=destination_scheme)
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
    as_json: JsonOpt = False, actor_id_number: IdNumberOpt = None,
) -> None:
    """Fire a trigger on a case: review, reject, request_documents, resubmit, send_letter,
    move_funds, continue_relationship or withdraw."""
    case = settings.engine().fire(
        case_id, trigger, actor=_actor(actor, role, agency, actor_id_number),
        on=_date(on, "--on"),
        documents=document or [], expected_version=expected_version, explanation=explanation,
        documents_needed=needed, amount=amount, contribution_months=months)
    _show_case(case, as_json)


@app.command()
def attach(case_id: int, actor: ActorOpt, role: RoleOpt, agency: AgencyOpt = None,
           document: DocsOpt = None, on: OnOpt = None, as_json: JsonOpt = False,
           actor_id_number: IdNumberOpt = None) -> None:
    """Attach documents to a running case."""
    case = settings.engine().attach_documents(
        case_id, document or [], actor=_actor(actor, role, agency, actor_id_number),
        on=_date(on, "--on"))
    _show_case(case, as_json)


@app.command("correct-date")
def correct_date(
    case_id: int,
    new_date: Annotated[str, typer.Argument(help="The right business date, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(help="Why the date was wrong (kept in the history).")],
    actor: ActorOpt, role: RoleOpt, agency: AgencyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Correct the business date of a case's last step (a supervisor of the case's agency)."""
    case = settings.engine().correct_business_date(
        case_id, _date(new_date, "the new date"), actor=_actor(actor, role, agency),
        reason=reason)
    _show_case(case, as_json)


@app.command()
def show(case_id: int, as_json: JsonOpt = False) -> None:
    """Show a case and its spans."""
    engine = settings.engine(read=True)
    _show_case(engine.get(case_id), as_json, engine.spans(case_id))


@app.command()
def history(case_id: int, as_json: JsonOpt = False) -> None:
    """Every step of a case, in order."""
    entries = settings.engine(read=True).history(case_id)
    if as_json:
        _print_json([e.to_dict() for e in entries])
        return
    table = _table(title=f"history of case {case_id}")
    for col in ("seq", "date", "trigger", "from", "to", "actor", "documents", "comment"):
        table.add_column(col)
    for e in entries:
        who = f"{e.actor_role} {e.actor_id}" + (f" @{e.actor_agency}" if e.actor_agency else "")
        _row(table, e.seq, e.business_date, e.trigger, e.from_state or "", e.to_state, who,
             ", ".join(e.documents), e.comment or "")
    out.print(table)


@app.command("list")
def list_cases(
    state: Annotated[str | None, typer.Option(help="Only cases in this state.")] = None,
    agency: Annotated[str | None, typer.Option(help="Origin or destination agency.")] = None,
    definition: Annotated[str | None, typer.Option(help="Only this workflow.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many cases.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List cases."""
    engine = settings.engine(read=True)
    _one_of(state, {s for d in engine.definitions for s in d.states}, "--state")
    _one_of(definition, {d.name for d in engine.definitions}, "--definition")
    cases = engine.cases(state=state, agency=agency, definition=definition, limit=limit)
    if as_json:
        _print_json([c.to_dict() for c in cases])
        return
    table = _table(title=f"{len(cases)} case(s)")
    for col in ("id", "definition", "state", "person", "ID number", "origin", "destination",
                "opened", "last step"):
        table.add_column(col)
    for c in cases:
        _row(table, c.id, c.definition, c.state, c.person_name, c.person_id_masked, c.origin,
             c.destination, c.opened_on, c.last_event_on)
    out.print(table)


@definitions_app.command("validate")
def definitions_validate(
    folder: Annotated[Path | None, typer.Argument(
        help="Folder to check (default: the one in use).")] = None,
) -> None:
    """Load and check every definition, the document catalogue and the calendars."""
    from .loading import DefinitionSet, WorkingCalendar

    ds = DefinitionSet(folder or settings.definitions)
    cal = WorkingCalendar(ds.calendars_dir)
    for d in ds:
        out.print(_esc(f"ok  {d.path}: {d.name} version {d.version} ({len(d.states)} states, "
                       f"{len(d.triggers)} triggers, {len(d.spans)} spans) {d.content_hash[:12]}"))
    years = sorted(cal.official_years)
    out.print(_esc(f"ok  calendar: official years {years[0]}-{years[-1]}"
                   + (f", from files: {sorted(cal.schedules)}" if cal.schedules else "")))
    for year, missing in sorted(cal.incomplete.items()):
        out.print(_esc(f"provisional  calendars/{year}.yaml: {year} stays provisional, it lacks "
                       f"{'、'.join(missing)}"))
    if ds.commitments.entries:
        out.print(f"ok  {len(ds.commitments.entries)} committed limit(s)")


@definitions_app.command("diagram")
def definitions_diagram(
    name: str,
    version: Annotated[int | None, typer.Option(help="Default: the latest.")] = None,
) -> None:
    """Print a Mermaid state diagram of a definition."""
    from .loading import DefinitionSet

    ds = DefinitionSet(settings.definitions)
    d = ds.latest(name)
    if version is not None:
        found = ds.by_key.get((name, version))
        if found is None:
            raise InvalidInput(f"no {name} version {version} in {ds.folder}")
        d = found
    sys.stdout.write(d.mermaid())


def _calendar() -> WorkingCalendar:
    from .loading import DefinitionSet, WorkingCalendar

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


def _alerts_table(alerts: list[Alert], title: str) -> Table:
    table = _table(title=title)
    for col in ("id", "level", "case", "span", "owner agency", "due", "working days late", "as of"):
        table.add_column(col)
    for a in alerts:
        _row(table, a.id, a.level, a.case_id, a.subject, a.owner_agency, a.due_on or "",
             "" if a.working_days_late is None else a.working_days_late, a.as_of)
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
        out.print(_esc(f"scan as of {result.as_of} not run: {result.reason}"))
        return
    from .core.alerts import ALERT_LEVELS

    counts = ", ".join(f"{lvl} {result.count(lvl)}" for lvl in ALERT_LEVELS)
    out.print(f"scan as of {result.as_of}: {result.raised} new alert(s): {counts}")


@app.command("alerts")
def list_alerts(
    level: Annotated[str | None, typer.Option(
        help="due_soon, overdue, escalated, statutory_breach or advisory.")] = None,
    agency: Annotated[str | None, typer.Option(help="Owner agency.")] = None,
    case: Annotated[int | None, typer.Option(help="One case.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List stored alerts, oldest first."""
    from .core.alerts import LEVELS

    _one_of(level, {*LEVELS, "advisory"}, "--level")
    alerts = settings.engine(read=True).alerts(level=level, agency=agency, case_id=case, limit=limit)
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
    lang: Annotated[str | None, typer.Option(
        "--lang", help="zh or en (default: [reports] language of the settings, else zh).")] = None,
    settings_file: SettingsOpt = None,
) -> None:
    """Write the overdue report: every overdue and escalated span by owner agency."""
    from .services.reports import check_language, check_target, write_report

    check_target(fmt, out_path)
    if lang is not None:
        check_language(lang)
    engine = settings.engine(settings_file, read=True)
    period = _date(as_of, "--as-of"), _date(since, "--since")
    with _progress() as bar:
        task = bar.add_task("collecting overdue spans", total=None)
        report = engine.overdue_report(
            period[0], since=period[1],
            progress=lambda done, total: bar.update(task, completed=done, total=total))
        bar.update(task, description=_esc(f"writing {fmt}"))
        path = write_report(report, fmt, out_path, lang)
    out.print(_esc(f"{report.total} overdue span(s) in {len(report.agencies)} agencies "
                   f"as of {report.as_of}: {path}"))


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

    import structlog

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
        out.print(_esc(f"case {c['case_id']} {c['span']}: due {c['old_due_on']} -> "
                       f"{c['new_due_on']}" + (" (still provisional)" if c["new_provisional"] else "")
                       + f"; {c['reason']}"))
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
    from .demo import AS_OF, build_demo, demo_definitions, demo_summary, demo_tokens
    from .engine import Engine
    from .loading import shipped_definitions_dir
    from .services.reports import FORMATS, write_report
    from .settings import Settings

    if cases < 1:
        raise InvalidInput(f"--cases must be at least 1, not {cases}")
    db = folder / "sstransfer-demo.db"
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    definitions = demo_definitions(Path(settings.definitions or shipped_definitions_dir()),
                                   folder / "definitions")
    engine = Engine(f"sqlite:///{db}", definitions=definitions,
                    settings=Settings.load(report_dir=folder / "reports"))
    with _progress() as bar:
        task = bar.add_task("opening and moving cases", total=cases)
        stats = build_demo(engine, cases=cases, seed=seed,
                           progress=lambda n: bar.update(task, completed=n))
    out.print(f"[bold]{stats.cases} cases, {stats.steps} steps[/] written to {_esc(db)}")

    report = None
    for summary in demo_summary(engine):
        table = _table(title=summary.title)
        for i, col in enumerate(summary.columns):
            table.add_column(col, justify="right" if summary.numeric and i else "left",
                             overflow="fold")
        for row in summary.rows:
            _row(table, *row)
        out.print(table)
        report = summary.report or report
    assert report is not None
    reports = folder / "reports"
    reports.mkdir(exist_ok=True)
    for fmt in FORMATS:
        out.print(_esc(f"report: {write_report(report, fmt, reports / f'overdue-{AS_OF}.{fmt}')}"))
    command = _own_command()
    where = f"--db sqlite:///{db} --definitions {definitions}"
    out.print(_esc(f"Look around: {command} {where} alerts --level statutory_breach"))
    tokens = demo_tokens(engine)
    out.print(_esc(f"Serve it (dashboard, API at /docs, progress page at /progress): "
                   f"{command} {where} serve"))
    out.print("then open http://127.0.0.1:8000/ and sign in with a demo token:")
    for t in tokens:
        out.print(_esc(f"  {t.role} of {t.agency} {engine.divisions.name_of(t.agency) or ''}: "
                       f"{t.token}"))
    engine.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (each with its own engine).")] = 1,
    settings_file: SettingsOpt = None,
) -> None:
    """Serve the REST API (/api/v1, schema at /docs), the supervisors' dashboard (/) and the
    person's progress page (/progress) with uvicorn. Every request needs a token from
    `sstransfer tokens create` (the progress page asks for the case number and ID number)."""
    import os

    import uvicorn

    if not 1 <= port <= 65535:
        raise InvalidInput(f"--port must be 1 to 65535, not {port}")
    if not 1 <= workers <= 64:
        raise InvalidInput(f"--workers must be 1 to 64, not {workers}")
    engine = settings.engine(settings_file, read=True)  # checks the database and settings now
    log_level = logging.getLevelName(settings.log_level).lower()
    if workers == 1:
        from .api import create_app

        uvicorn.run(create_app(engine, close_engine=True), host=host, port=port,
                    log_level=log_level)
        return
    engine.close()
    from .api.app import LOG_LEVEL_ENV
    from .store import URL_ENV

    os.environ[URL_ENV] = engine.url
    os.environ[LOG_LEVEL_ENV] = str(settings.log_level)
    if settings.definitions is not None:
        os.environ["SSTRANSFER_DEFINITIONS"] = str(settings.definitions)
    if settings_file is not None:
        os.environ["SSTRANSFER_SETTINGS"] = str(settings_file)
    uvicorn.run("workflow.api:from_environment", factory=True, host=host, port=port,
                workers=workers, log_level=log_level)


tokens_app = typer.Typer(help="API tokens of the service (stored hashed).", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


@tokens_app.command("create")
def tokens_create(
    actor: ActorOpt,
    role: Annotated[str, typer.Option(
        "--role", help="clerk (origin or destination clerk, by the case), origin_clerk, "
                       "destination_clerk, supervisor, self, employer or agent.")],
    agency: AgencyOpt = None,
    province: Annotated[str | None, typer.Option(
        help="A supervisor granted a whole province: its 2-digit code.")] = None,
    id_number: IdNumberOpt = None,
    label: Annotated[str, typer.Option(help="A note on what the token is for.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create an API token for an actor; the token is printed once and stored only hashed."""
    engine = settings.engine()
    with engine:
        token, record = engine.access_service.create_token(
            actor, role, agency, province=province, person_id=id_number, label=label)
    if as_json:
        _print_json({"token": token, "id": record.id, "actor": record.actor_id,
                     "role": record.role, "agency": record.agency, "province": record.province})
        return
    out.print(_esc(f"token {record.id} for {record.role} {record.actor_id}"
                   + (f" of {record.province or record.agency}"
                      if record.province or record.agency else "")
                   + " (shown only now):"))
    print(token)


@tokens_app.command("list")
def tokens_list(as_json: JsonOpt = False) -> None:
    """The API tokens (never their secrets), revoked ones included."""
    engine = settings.engine(read=True)
    with engine:
        records = engine.access_service.tokens()
    if as_json:
        _print_json([r.model_dump(mode="json", exclude={"token_hash", "person_id"})
                     for r in records])
        return
    table = _table(title="API tokens")
    for col in ("id", "actor", "role", "agency", "province", "label", "created", "revoked"):
        table.add_column(col)
    for r in records:
        _row(table, r.id, r.actor_id, r.role, r.agency or "", r.province or "", r.label,
             r.created_at.isoformat(timespec="seconds"),
             r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "")
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token: requests with it are refused from now on."""
    engine = settings.engine(read=True)
    with engine:
        engine.access_service.revoke_token(token_id)
    out.print(f"token {token_id} revoked")


def _own_command() -> str:
    """How the user can run this command again: the script's path relative to here when it
    is not on PATH (`make demo` runs .venv/bin/sstransfer), else plain ``sstransfer``."""
    import os
    import shlex
    import shutil

    script = Path(sys.argv[0])
    if script.name == "sstransfer" and script.exists() and shutil.which("sstransfer") != str(
            script.resolve()) and shutil.which("sstransfer") != str(script):
        return shlex.quote(os.path.relpath(script))
    return "sstransfer"


@app.command("import")
def import_cases(
    path: Annotated[Path, typer.Argument(help="CSV file with a header row.")],
    actor: ActorOpt, role: RoleOpt, agency: AgencyOpt = None, on: OnOpt = None,
) -> None:
    """Open every application of a CSV file in one batch; a bad line stops it, writing nothing.

    Columns: definition, person_id, person_name, origin, destination, applicant, channel,
    documents (separated by ';'), received_on (YYYY-MM-DD; default --on or today), and for
    medical insurance since 2021 origin_scheme and destination_scheme.
    The file may be UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK.
    """
    from .importing import read_applications

    if not path.is_file():
        raise InvalidInput(f"{path} is not a file")
    engine = settings.engine()
    applications = read_applications(path)
    with _progress() as bar:
        task = bar.add_task(_esc(f"opening cases from {path.name}"), total=None)
        ids = engine.open_cases(applications, actor=_actor(actor, role, agency),
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

    store.check_revision(revision)
    db = store.connect(settings.db)
    before = store.current_revision(db)
    store.upgrade(db, revision)
    out.print(_esc(f"schema: {before or 'empty'} -> {store.current_revision(db)} ({db.url!r})"))


@db_app.command("current")
def db_current() -> None:
    """Say which schema revision the database is at, and which this sstransfer needs."""
    from . import store

    settings.check_exists()
    db = store.connect(settings.db)
    current, head = store.current_revision(db), store.head_revision()
    state = "up to date" if current == head else (
        "empty: `sstransfer db upgrade` creates it" if current is None
        else "`sstransfer db upgrade` needed")
    out.print(_esc(f"{current or 'empty'} (this sstransfer needs {head}): {state}"))


def main() -> None:
    """Entry point: a refused call prints one line on stderr and exits non-zero, never a
    traceback (bad options too: typer's multi-line usage box becomes one line)."""
    try:
        code = app(standalone_mode=False)
    except WorkflowError as exc:
        _fail("error", exc, 1)
    except OSError as exc:  # a folder that cannot be made, a file that cannot be written
        where = f"{exc.filename}: " if exc.filename else ""
        _fail("error", f"{where}{exc.strerror or exc}", 1)
    except ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: show its help
            exc.show()
            sys.exit(exc.exit_code)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        _fail("error", f"{exc.format_message()}{hint}", exc.exit_code)
    except Exception as exc:
        if not _from_sqlalchemy(exc):
            raise
        orig = str(exc.orig if hasattr(exc, "orig") else exc).splitlines()
        _fail("database error", f"{exc.__class__.__name__}: {orig[0] if orig else ''}", 1)
    sys.exit(code if isinstance(code, int) else 0)


def _from_sqlalchemy(exc: BaseException) -> bool:
    """A database error from SQLAlchemy; only asked once SQLAlchemy is loaded (it then is)."""
    loaded = sys.modules.get("sqlalchemy.exc")
    return loaded is not None and isinstance(exc, loaded.SQLAlchemyError)


def _fail(label: str, message: object, code: int) -> None:
    line = " ".join(str(message).split())  # one line, whatever the message held
    err.print(f"[red]{label}:[/] {_esc(line)}", highlight=False)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
