"""Administration: the workflow definitions checked and drawn, the database schema, and the
demo database."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import InvalidInput
from .choices import complete_definition
from .common import JsonOpt, esc, group, out, print_json, progress, row, settings, table

if TYPE_CHECKING:
    from ..engine import Engine

definitions_app = group(help="Check and draw workflow definitions.")
db_app = group(help="The database schema (Alembic migrations).")


@definitions_app.command("validate")
def definitions_validate(
    folder: Annotated[Path | None, typer.Argument(
        help="Folder to check (default: the one in use).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Load and check every definition, the document catalogue and the calendars."""
    from ..loading import DefinitionSet, WorkingCalendar

    ds = DefinitionSet(folder or settings.definitions)
    cal = WorkingCalendar(ds.calendars_dir)
    if as_json:
        print_json({
            "definitions": [{"path": str(d.path), "name": d.name, "version": d.version,
                             "states": len(d.states), "triggers": len(d.triggers),
                             "spans": len(d.spans), "content_hash": d.content_hash}
                            for d in ds],
            "official_years": sorted(cal.official_years),
            "provisional_years": {str(y): m for y, m in sorted(cal.incomplete.items())},
            "committed_limits": len(ds.commitments.entries)})
        return
    for d in ds:
        out.print(esc(f"ok  {d.path}: {d.name} version {d.version} ({len(d.states)} states, "
                      f"{len(d.triggers)} triggers, {len(d.spans)} spans) {d.content_hash[:12]}"))
    years = sorted(cal.official_years)
    out.print(esc(f"ok  calendar: official years {years[0]}-{years[-1]}"
                  + (f", from files: {sorted(cal.schedules)}" if cal.schedules else "")))
    for year, missing in sorted(cal.incomplete.items()):
        out.print(esc(f"provisional  calendars/{year}.yaml: {year} stays provisional, it lacks "
                      f"{'、'.join(missing)}"))
    if ds.commitments.entries:
        out.print(f"ok  {len(ds.commitments.entries)} committed limit(s)")


@definitions_app.command("diagram")
def definitions_diagram(
    name: Annotated[str, typer.Argument(autocompletion=complete_definition)],
    version: Annotated[int | None, typer.Option(help="Default: the latest.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a Mermaid state diagram of a definition."""
    from ..loading import DefinitionSet

    ds = DefinitionSet(settings.definitions)
    d = ds.latest(name)
    if version is not None:
        found = ds.by_key.get((name, version))
        if found is None:
            raise InvalidInput(f"no {name} version {version} in {ds.folder}")
        d = found
    if as_json:
        print_json({"name": d.name, "version": d.version, "mermaid": d.mermaid()})
        return
    sys.stdout.write(d.mermaid())


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target (default: head).")] = "head",
               as_json: JsonOpt = False) -> None:
    """Bring the database to the schema this sstransfer needs (or to REVISION)."""
    from ..engine import upgrade_schema

    before, after = upgrade_schema(settings.db, revision)
    if as_json:
        print_json({"before": before.current, "after": after.current, "head": after.head,
                    "database": str(after.database)})
        return
    out.print(esc(f"schema: {before.current or 'empty'} -> {after.current} ({after.database})"))


@db_app.command("current")
def db_current(as_json: JsonOpt = False) -> None:
    """Say which schema revision the database is at, and which this sstransfer needs."""
    from ..engine import schema_state

    settings.check_exists()
    schema = schema_state(settings.db)
    current, head = schema.current, schema.head
    if as_json:
        print_json({"current": current, "head": head, "up_to_date": current == head})
        return
    state = "up to date" if current == head else (
        "empty: `sstransfer db upgrade` creates it" if current is None
        else "`sstransfer db upgrade` needed")
    out.print(esc(f"{current or 'empty'} (this sstransfer needs {head}): {state}"))


def demo(
    folder: Annotated[Path, typer.Option(help="Folder for the database and reports.")] = Path(
        "demo-output"),
    cases: Annotated[int, typer.Option(help="How many cases to open.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20251126,
) -> None:
    """The main job on the embedded SQLite default: build a demo database, scan it as of
    2026-11-20, and write the overdue report in HTML, XLSX and CSV."""
    from ..demo import build_demo, demo_definitions
    from ..engine import Engine
    from ..loading import shipped_definitions_dir
    from ..settings import Settings

    if cases < 1:
        raise InvalidInput(f"--cases must be at least 1, not {cases}")
    db = folder / "sstransfer-demo.db"
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    definitions = demo_definitions(Path(settings.definitions or shipped_definitions_dir()),
                                   folder / "definitions")
    with Engine(f"sqlite:///{db}", definitions=definitions,
                settings=Settings.load(report_dir=folder / "reports")) as engine:
        with progress() as bar:
            task = bar.add_task("opening and moving cases", total=cases)
            stats = build_demo(engine, cases=cases, seed=seed,
                               progress=lambda n: bar.update(task, completed=n))
        out.print(f"[bold]{stats.cases} cases, {stats.steps} steps[/] written to {esc(db)}")
        _print_summary(engine, folder / "reports")
        from ..demo import write_demo_papers

        papers = write_demo_papers(engine, folder / "papers")
        out.print(f"{len(papers)} papers (one of each kind, PDF and HTML) written to "
                  f"{esc(folder / 'papers')}")
        where = f"--db sqlite:///{db} --definitions {definitions}"
        _print_outbox(engine, where)
        _print_serve(engine, where)


def _print_outbox(engine: Engine, where: str) -> None:
    """The outbox of the demo's cases: its events by name and state, and how to deliver."""
    from ..core.notify import EVENT_NAMES

    counts = engine.outbox_service.counts()
    rows = table("the outbox: events to tell the applicants and the agencies, by name",
                 ("event", "pending", "delivered", "dead"),
                 whole=("event", "pending", "delivered", "dead"),
                 right=("pending", "delivered", "dead"))
    for name in EVENT_NAMES:
        row(rows, name, *(counts.get((name, state), 0)
                          for state in ("pending", "delivered", "dead")))
    out.print(rows)
    command = _own_command()
    out.print(esc(f"Deliver them (after `{command} {where} subscriptions add ...`, or with "
                  f"[notify] smtp_host for the applicants' mail): {command} {where} "
                  "outbox deliver"))


def _print_summary(engine: Engine, reports: Path) -> None:
    """The demo's summary tables, and its overdue report written in every format."""
    from ..demo import AS_OF, demo_summary
    from ..render import FORMATS, write_report

    report = None
    for summary in demo_summary(engine):
        rows = table(summary.title, summary.columns,
                     right=summary.columns[1:] if summary.numeric else ())
        for values in summary.rows:
            row(rows, *values)
        out.print(rows)
        report = summary.report or report
    assert report is not None
    reports.mkdir(exist_ok=True)
    for fmt in FORMATS:
        out.print(esc(f"report: {write_report(report, fmt, reports / f'overdue-{AS_OF}.{fmt}')}"))


def _print_serve(engine: Engine, where: str) -> None:
    """How to look around and serve the demo database, with its ready-made tokens."""
    from ..demo import demo_tokens

    command = _own_command()
    out.print(esc(f"Look around: {command} {where} alerts --level statutory_breach"))
    tokens = demo_tokens(engine)
    out.print(esc(f"Serve it (dashboard, API at /docs, progress page at /progress): "
                  f"{command} {where} serve"))
    out.print("then open http://127.0.0.1:8000/ and sign in with a demo token:")
    for t in tokens:
        out.print(esc(f"  {t.role} of {t.agency} {engine.divisions.name_of(t.agency) or ''}: "
                      f"{t.token}"))


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
